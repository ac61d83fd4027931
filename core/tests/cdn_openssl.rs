//! Our CloudFront signatures checked by an independent implementation:
//! OpenSSL makes the key pair, decodes the base64 and verifies RSA-SHA1 over
//! a policy document this test rebuilds by hand from the signed URL.
//! openssl is required: a missing binary fails the test.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a panic is the failure report"
)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use vod_core::cdn::{CdnKey, Policy, UrlSigner};

const KEY_PAIR_ID: &str = "K2JCJMDEHXQW5F";

fn openssl(args: &[&str], stdin: Option<&[u8]>) -> std::process::Output {
    let mut child = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl must be installed (infra/up.sh installs it)");
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.unwrap_or_default()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str]) {
    let out = openssl(args, None);
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

struct Keys {
    dir: PathBuf,
    pkcs8: PathBuf,
    pkcs1: PathBuf,
    public: PathBuf,
}

impl Drop for Keys {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn keys() -> Keys {
    let dir = std::env::temp_dir().join(format!("vod-cdn-openssl-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = |name: &str| dir.join(name).to_str().unwrap().to_owned();
    let (pkcs8, pkcs1, public) = (path("key.pem"), path("key-rsa.pem"), path("pub.pem"));
    // OpenSSL 3 writes PKCS#8 by default; -traditional gives the PKCS#1 form.
    ok(&["genrsa", "-out", &pkcs8, "2048"]);
    ok(&["rsa", "-in", &pkcs8, "-traditional", "-out", &pkcs1]);
    ok(&["rsa", "-in", &pkcs8, "-pubout", "-out", &public]);
    Keys {
        pkcs8: pkcs8.into(),
        pkcs1: pkcs1.into(),
        public: public.into(),
        dir,
    }
}

/// The query parameter `name` of a signed URL.
fn param<'a>(url: &'a str, name: &str) -> &'a str {
    let query = url.split_once('?').expect("a signed URL has a query").1;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("{name} missing from {url}"))
}

/// Undoes CloudFront's character swap, then lets OpenSSL decode the base64.
fn cf_decode(text: &str) -> Vec<u8> {
    let standard: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '=',
            '~' => '/',
            c => c,
        })
        .collect();
    let out = openssl(&["base64", "-d", "-A"], Some(standard.as_bytes()));
    assert!(out.status.success());
    assert!(!out.stdout.is_empty(), "{text} did not decode");
    out.stdout
}

/// `openssl dgst -sha1 -verify pub.pem -signature sig.bin policy.json`.
fn openssl_verifies(dir: &Path, public: &Path, policy: &[u8], signature: &[u8]) -> bool {
    let (policy_file, sig_file) = (dir.join("policy.json"), dir.join("sig.bin"));
    std::fs::write(&policy_file, policy).unwrap();
    std::fs::write(&sig_file, signature).unwrap();
    let out = openssl(
        &[
            "dgst",
            "-sha1",
            "-verify",
            public.to_str().unwrap(),
            "-signature",
            sig_file.to_str().unwrap(),
            policy_file.to_str().unwrap(),
        ],
        None,
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    match stdout.trim() {
        "Verified OK" => {
            assert!(out.status.success());
            true
        }
        "Verification failure" => false,
        other => panic!(
            "unexpected openssl output: {other} {}",
            String::from_utf8_lossy(&out.stderr)
        ),
    }
}

#[test]
fn openssl_verifies_canned_custom_and_cookie_signatures() {
    let k = keys();
    let key = CdnKey::from_file(&k.pkcs8).unwrap();
    let signer = UrlSigner::new(KEY_PAIR_ID, &key).unwrap();
    // The public key we derive is the one OpenSSL derives (what goes to CloudFront).
    assert_eq!(
        key.public_key_pem().unwrap().trim(),
        std::fs::read_to_string(&k.public).unwrap().trim()
    );
    // PKCS#1 v1.5 is deterministic: both PEM forms of the key sign identically.
    let pkcs1 = UrlSigner::new(KEY_PAIR_ID, &CdnKey::from_file(&k.pkcs1).unwrap()).unwrap();
    assert_eq!(pkcs1.sign(b"x").unwrap(), signer.sign(b"x").unwrap());

    // Canned: CloudFront rebuilds the policy from the URL and Expires; so do we, by hand.
    let base = "https://d111111abcdef8.cloudfront.net/videos/0190/hls/master.m3u8";
    let url = signer.canned_url(base, 1_893_456_000).unwrap();
    assert!(url.starts_with(&format!("{base}?Expires=1893456000&Signature=")));
    assert_eq!(param(&url, "Key-Pair-Id"), KEY_PAIR_ID);
    let canned = format!(
        "{{\"Statement\":[{{\"Resource\":\"{base}\",\"Condition\":{{\"DateLessThan\":{{\"AWS:EpochTime\":{}}}}}}}]}}",
        param(&url, "Expires")
    );
    let signature = cf_decode(param(&url, "Signature"));
    assert_eq!(signature.len(), 256);
    assert!(openssl_verifies(
        &k.dir,
        &k.public,
        canned.as_bytes(),
        &signature
    ));
    let tampered = canned.replace("1893456000", "1893456001");
    assert!(!openssl_verifies(
        &k.dir,
        &k.public,
        tampered.as_bytes(),
        &signature
    ));

    // Custom: the policy travels in the URL; decode it and check what it says.
    let prefix = "https://d111111abcdef8.cloudfront.net/videos/0190/*";
    let policy = Policy::custom(prefix, 1_893_456_000)
        .not_before(1_800_000_000)
        .source_ip("192.0.2.0/24".parse().unwrap());
    let url = signer.custom_url(base, &policy).unwrap();
    let json = cf_decode(param(&url, "Policy"));
    let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    let statement = &doc["Statement"][0];
    assert_eq!(statement["Resource"], prefix);
    assert_eq!(
        statement["Condition"]["DateLessThan"]["AWS:EpochTime"],
        1_893_456_000
    );
    assert_eq!(
        statement["Condition"]["DateGreaterThan"]["AWS:EpochTime"],
        1_800_000_000
    );
    assert_eq!(
        statement["Condition"]["IpAddress"]["AWS:SourceIp"],
        "192.0.2.0/24"
    );
    let signature = cf_decode(param(&url, "Signature"));
    assert!(openssl_verifies(&k.dir, &k.public, &json, &signature));
    let widened = String::from_utf8(json.clone())
        .unwrap()
        .replace("/videos/0190/*", "/*");
    assert!(!openssl_verifies(
        &k.dir,
        &k.public,
        widened.as_bytes(),
        &signature
    ));

    // Cookies carry the same three values.
    let cookies = signer
        .cookies(&Policy::custom(prefix, 1_893_456_000))
        .unwrap();
    let json = cf_decode(&cookies.policy);
    assert!(openssl_verifies(
        &k.dir,
        &k.public,
        &json,
        &cf_decode(&cookies.signature)
    ));
    assert_eq!(cookies.key_pair_id, KEY_PAIR_ID);
    let mut flipped = json.clone();
    flipped[5] ^= 0x01;
    assert!(!openssl_verifies(
        &k.dir,
        &k.public,
        &flipped,
        &cf_decode(&cookies.signature)
    ));
}

#[test]
fn signatures_made_by_openssl_pass_our_verification() {
    let k = keys();
    let signer = UrlSigner::new(KEY_PAIR_ID, &CdnKey::from_file(&k.pkcs1).unwrap()).unwrap();
    let policy = Policy::custom("https://cdn.example/videos/1/*", 1_893_456_000).to_json();
    let policy_file = k.dir.join("p.json");
    std::fs::write(&policy_file, &policy).unwrap();
    let out = openssl(
        &[
            "dgst",
            "-sha1",
            "-sign",
            k.pkcs8.to_str().unwrap(),
            policy_file.to_str().unwrap(),
        ],
        None,
    );
    assert!(out.status.success());
    let theirs = out.stdout;
    let ours = cf_decode(&signer.sign(policy.as_bytes()).unwrap());
    assert_eq!(
        ours, theirs,
        "the same key signs the same bytes identically"
    );
    let encoded = vod_core::cdn::cf_base64_encode(&theirs);
    assert!(signer.verify(policy.as_bytes(), &encoded));
    assert!(!signer.verify(b"another document", &encoded));
}
