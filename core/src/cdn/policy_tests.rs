use super::*;

const URL: &str = "https://d111111abcdef8.cloudfront.net/videos/0190/hls/master.m3u8";

#[test]
fn canned_policy_is_the_exact_document_cloudfront_rebuilds() {
    let json = Policy::canned(URL, 1_767_225_600).to_json();
    assert_eq!(
        json,
        format!(
            r#"{{"Statement":[{{"Resource":"{URL}","Condition":{{"DateLessThan":{{"AWS:EpochTime":1767225600}}}}}}]}}"#
        )
    );
    assert!(!json.contains(char::is_whitespace));
    assert!(Policy::canned(URL, 1).is_canned());
}

#[test]
fn custom_policy_carries_every_condition_and_parses_back() {
    let policy = Policy::custom("https://cdn.example/videos/0190/*", 2_000)
        .not_before(1_000)
        .source_ip("192.0.2.0/24".parse().unwrap());
    assert!(!policy.is_canned());
    let json = policy.to_json();
    assert_eq!(
        json,
        r#"{"Statement":[{"Resource":"https://cdn.example/videos/0190/*","Condition":{"DateLessThan":{"AWS:EpochTime":2000},"DateGreaterThan":{"AWS:EpochTime":1000},"IpAddress":{"AWS:SourceIp":"192.0.2.0/24"}}}]}"#
    );
    assert_eq!(Policy::from_json(json.as_bytes()).unwrap(), policy);
    // Clients may send AWS's documented, indented form.
    let pretty = r#"{
        "Statement": [ {
            "Resource": "https://cdn.example/videos/0190/*",
            "Condition": {
                "IpAddress": { "AWS:SourceIp": "192.0.2.0/24" },
                "DateGreaterThan": { "AWS:EpochTime": 1000 },
                "DateLessThan": { "AWS:EpochTime": 2000 }
            }
        } ]
    }"#;
    assert_eq!(Policy::from_json(pretty.as_bytes()).unwrap(), policy);
    // A wildcard alone already needs a custom policy.
    assert!(!Policy::custom("https://cdn.example/*", 5).is_canned());
}

#[test]
fn malformed_policies_are_refused() {
    let bad: [&[u8]; 6] = [
        b"not json",
        br#"{"Statement":[]}"#,
        br#"{"Statement":[{"Resource":"a","Condition":{}}]}"#,
        br#"{"Statement":[{"Resource":"a","Condition":{"DateLessThan":{"AWS:EpochTime":"soon"}}}]}"#,
        br#"{"Statement":[{"Resource":"a","Condition":{"DateLessThan":{"AWS:EpochTime":1}},"Extra":1}]}"#,
        br#"{"Statement":[{"Resource":"a","Condition":{"DateLessThan":{"AWS:EpochTime":1},"IpAddress":{"AWS:SourceIp":"300.1.1.1/8"}}}]}"#,
    ];
    for json in bad {
        let err = Policy::from_json(json).unwrap_err();
        assert_eq!(
            err.code(),
            "cdn.bad_policy",
            "{}",
            String::from_utf8_lossy(json)
        );
    }
}

#[test]
fn base64_variant_swaps_the_three_characters_and_round_trips() {
    // 0xfb 0xff 0xbf encodes to "+/+/" in standard base64; 1 byte pads with "==".
    assert_eq!(STANDARD.encode([0xfb, 0xff, 0xbf]), "+/+/");
    assert_eq!(cf_base64_encode(&[0xfb, 0xff, 0xbf]), "-~-~");
    assert_eq!(cf_base64_encode(b"a"), "YQ__");
    assert_eq!(cf_base64_decode("YQ__").unwrap(), b"a");
    for len in 0..64u8 {
        let bytes: Vec<u8> = (0..len)
            .map(|i| i.wrapping_mul(97).wrapping_add(251))
            .collect();
        let text = cf_base64_encode(&bytes);
        assert!(!text.contains(['+', '=', '/']), "{text}");
        assert_eq!(cf_base64_decode(&text).unwrap(), bytes);
    }
    assert!(cf_base64_decode("a!b_").is_err());
    // Standard characters are not CloudFront's; refusing them keeps one spelling.
    assert!(cf_base64_decode("YQ==").is_err());
}

#[test]
fn wildcards_match_like_cloudfront() {
    let cases = [
        (
            "https://cdn/videos/1/*",
            "https://cdn/videos/1/hls/720p/seg_00001.ts",
            true,
        ),
        ("https://cdn/videos/1/*", "https://cdn/videos/1/", true),
        (
            "https://cdn/videos/1/*",
            "https://cdn/videos/12/hls/master.m3u8",
            false,
        ),
        (
            "https://cdn/videos/1/*",
            "https://cdn/videos/2/hls/master.m3u8",
            false,
        ),
        ("https://cdn/videos/1/*", "http://cdn/videos/1/a", false),
        (
            "https://cdn/*.jpg",
            "https://cdn/videos/1/thumbs/poster.jpg",
            true,
        ),
        (
            "https://cdn/*.jpg",
            "https://cdn/videos/1/thumbs/poster.jpgx",
            false,
        ),
        ("https://cdn/seg_0000?.ts", "https://cdn/seg_00001.ts", true),
        (
            "https://cdn/seg_0000?.ts",
            "https://cdn/seg_000012.ts",
            false,
        ),
        ("https://cdn/a*b*c", "https://cdn/a-b-b-c", true),
        ("https://cdn/a*b*c", "https://cdn/a-c-b", false),
        ("*", "anything at all", true),
        ("https://cdn/exact", "https://cdn/exact", true),
        ("https://cdn/exact", "https://cdn/Exact", false),
        ("https://cdn/exact", "https://cdn/exact2", false),
    ];
    for (pattern, url, want) in cases {
        assert_eq!(wildcard_match(pattern, url), want, "{pattern} vs {url}");
    }
}

#[test]
fn address_ranges() {
    let net: Cidr = "192.0.2.0/24".parse().unwrap();
    assert!(net.contains("192.0.2.77".parse().unwrap()));
    assert!(net.contains("::ffff:192.0.2.77".parse().unwrap()));
    assert!(!net.contains("192.0.3.1".parse().unwrap()));
    assert!(!net.contains("2001:db8::1".parse().unwrap()));
    let one: Cidr = "127.0.0.1".parse().unwrap();
    assert_eq!(one.to_string(), "127.0.0.1/32");
    assert!(one.contains("127.0.0.1".parse().unwrap()));
    assert!(!one.contains("127.0.0.2".parse().unwrap()));
    let v6: Cidr = "2001:db8::/32".parse().unwrap();
    assert!(v6.contains("2001:db8:ffff::1".parse().unwrap()));
    let all: Cidr = "0.0.0.0/0".parse().unwrap();
    assert!(all.contains("203.0.113.9".parse().unwrap()));
    for bad in ["192.0.2.0/33", "nope", "1.2.3.4/x", "::/129"] {
        assert!(bad.parse::<Cidr>().is_err(), "{bad}");
    }
}
