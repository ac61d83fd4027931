use super::*;
use crate::cdn::policy::cf_base64_encode;
use crate::cdn::testkey::{other_signer, signer};

const MASTER: &str = "https://cdn.example/videos/1/hls/master.m3u8";
const SEGMENT: &str = "https://cdn.example/videos/1/hls/360p/seg_00001.ts";
const PREFIX: &str = "https://cdn.example/videos/1/*";
const NOW: u64 = 1_800_000_000;

/// The signing parameters of a signed URL, as the edge route extracts them.
fn presented(signed_url: &str) -> Presented {
    let mut p = Presented::default();
    let query = signed_url.split_once('?').map_or("", |(_, q)| q);
    for pair in query.split('&') {
        let (name, value) = pair.split_once('=').unwrap();
        p.query_param(name, value);
    }
    p
}

#[test]
fn canned_urls_hold_until_expiry_and_only_for_their_url() {
    let s = signer();
    let url = s.canned_url(MASTER, NOW + 60).unwrap();
    let p = presented(&url);
    assert_eq!(check(s, &p, MASTER, None, NOW), Ok(()));
    assert_eq!(check(s, &p, MASTER, None, NOW + 59), Ok(()));
    // DateLessThan is strict: at the expiry second it is over.
    for late in [NOW + 60, NOW + 3600] {
        let err = check(s, &p, MASTER, None, late).unwrap_err();
        assert_eq!(err.code(), "cdn.expired", "{err}");
    }
    // The canned policy is rebuilt from the URL asked for: another URL fails the signature.
    assert_eq!(check(s, &p, SEGMENT, None, NOW), Err(Denied::BadSignature));
    // Moving Expires forward invalidates the signature.
    let mut stretched = p.clone();
    stretched.expires = Some((NOW + 7200).to_string());
    assert_eq!(
        check(s, &stretched, MASTER, None, NOW),
        Err(Denied::BadSignature)
    );
}

#[test]
fn custom_policies_cover_a_prefix_with_time_and_address_conditions() {
    let s = signer();
    let policy = Policy::custom(PREFIX, NOW + 60).not_before(NOW - 10);
    let p = presented(&s.custom_url(MASTER, &policy).unwrap());
    for url in [
        MASTER,
        SEGMENT,
        "https://cdn.example/videos/1/thumbs/poster.jpg",
    ] {
        assert_eq!(check(s, &p, url, None, NOW), Ok(()), "{url}");
    }
    let other = "https://cdn.example/videos/2/hls/master.m3u8";
    let err = check(s, &p, other, None, NOW).unwrap_err();
    assert_eq!(err.code(), "cdn.resource_mismatch");
    assert!(err.to_string().contains(PREFIX), "{err}");
    let err = check(s, &p, MASTER, None, NOW - 11).unwrap_err();
    assert_eq!(err.code(), "cdn.not_yet_valid", "{err}");
    let err = check(s, &p, MASTER, None, NOW + 60).unwrap_err();
    assert_eq!(err.code(), "cdn.expired", "{err}");

    let local = Policy::custom(PREFIX, NOW + 60).source_ip("127.0.0.1/32".parse().unwrap());
    let p = presented(&s.custom_url(MASTER, &local).unwrap());
    let here = Some("127.0.0.1".parse().unwrap());
    let there = Some("192.0.2.1".parse().unwrap());
    assert_eq!(check(s, &p, MASTER, here, NOW), Ok(()));
    assert_eq!(
        check(s, &p, MASTER, there, NOW).unwrap_err().code(),
        "cdn.ip_mismatch"
    );
    assert_eq!(
        check(s, &p, MASTER, None, NOW).unwrap_err().code(),
        "cdn.ip_mismatch"
    );
}

#[test]
fn cookies_are_checked_like_query_parameters() {
    let s = signer();
    let cookies = s.cookies(&Policy::custom(PREFIX, NOW + 60)).unwrap();
    let mut p = Presented::default();
    for (name, value) in cookies.pairs() {
        assert!(p.cookie(name, value));
    }
    assert!(!p.cookie("session", "x"));
    assert!(!p.cookie("CloudFront-Other", "x"));
    assert_eq!(check(s, &p, SEGMENT, None, NOW), Ok(()));
    assert_eq!(presented(&format!("{SEGMENT}?{}", cookies.query())), p);
}

#[test]
fn tampering_and_foreign_keys_are_refused() {
    let s = signer();
    let policy = Policy::custom(PREFIX, NOW + 60);
    let good = presented(&s.custom_url(MASTER, &policy).unwrap());

    // A wider resource and a later expiry, re-encoded, with the old signature.
    let mut widened = good.clone();
    let forged = Policy::custom("https://cdn.example/*", NOW + 999_999).to_json();
    widened.policy = Some(cf_base64_encode(forged.as_bytes()));
    assert_eq!(
        check(s, &widened, MASTER, None, NOW),
        Err(Denied::BadSignature)
    );

    // Signed by another key but claiming our key pair id.
    let foreign = presented(&other_signer().custom_url(MASTER, &policy).unwrap());
    let mut foreign_claim = foreign.clone();
    foreign_claim.key_pair_id = good.key_pair_id.clone();
    assert_eq!(
        check(s, &foreign_claim, MASTER, None, NOW),
        Err(Denied::BadSignature)
    );
    // Signed by another key under its own id: that key pair is not trusted.
    assert_eq!(
        check(s, &foreign, MASTER, None, NOW).unwrap_err().code(),
        "cdn.unknown_key_pair"
    );

    let mut flipped = good.clone();
    let mut sig = flipped.signature.clone().unwrap();
    let flip = if &sig[10..11] == "A" { "B" } else { "A" };
    sig.replace_range(10..11, flip);
    flipped.signature = Some(sig);
    assert_eq!(
        check(s, &flipped, MASTER, None, NOW),
        Err(Denied::BadSignature)
    );
}

#[test]
fn missing_and_malformed_parameters_say_what_is_wrong() {
    let s = signer();
    let good = presented(&s.canned_url(MASTER, NOW + 60).unwrap());
    let code = |p: &Presented| check(s, p, MASTER, None, NOW).unwrap_err().code();
    assert_eq!(code(&Presented::default()), "cdn.missing_signature");
    let mut p = good.clone();
    p.signature = None;
    assert_eq!(code(&p), "cdn.incomplete_signature");
    let mut p = good.clone();
    p.key_pair_id = None;
    assert_eq!(code(&p), "cdn.incomplete_signature");
    let mut p = good.clone();
    p.expires = None;
    assert_eq!(code(&p), "cdn.incomplete_signature");
    let mut p = good.clone();
    p.policy = Some("e30_".into());
    assert_eq!(code(&p), "cdn.malformed_signature");
    let mut p = good.clone();
    p.expires = Some("tomorrow".into());
    assert_eq!(code(&p), "cdn.malformed_signature");
    let mut p = good.clone();
    p.expires = None;
    p.policy = Some("not base64!".into());
    assert_eq!(code(&p), "cdn.malformed_signature");
    // A correctly signed document that is not a policy.
    let junk = b"{\"Statement\":[]}";
    let p = Presented {
        policy: Some(cf_base64_encode(junk)),
        signature: Some(s.sign(junk).unwrap()),
        key_pair_id: Some(s.key_pair_id().to_owned()),
        expires: None,
    };
    assert_eq!(code(&p), "cdn.malformed_signature");
}
