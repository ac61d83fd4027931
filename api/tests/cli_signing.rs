//! `vod-api` and the CDN signing settings: a half-configured or unreadable
//! key stops `serve` before it connects to anything, and the key never shows.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::process::{Command, Output};

fn vod_api(vars: &[(&str, &str)], args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vod-api"));
    for (key, _) in std::env::vars() {
        if key.starts_with("VOD_") {
            cmd.env_remove(key);
        }
    }
    // Nothing listens here: a start-up that got past the key check would
    // fail on PostgreSQL instead, with a different message.
    cmd.env("VOD_DATABASE_URL", "postgres://vod:vod@127.0.0.1:1/vod")
        .env("VOD_CONNECT_TIMEOUT_SECS", "1");
    cmd.envs(vars.iter().copied()).args(args).output().unwrap()
}

fn openssl_key() -> String {
    let out = Command::new("openssl")
        .args(["genrsa", "2048"])
        .output()
        .expect("openssl must be installed (infra/up.sh installs it)");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn half_configured_signing_stops_serve_with_the_reason() {
    let pem = openssl_key();
    let cases: [(&[(&str, &str)], &str); 4] = [
        (
            &[("VOD_CDN_KEY_PAIR_ID", "K2JCJMDEHXQW5F")],
            "cdn.missing_key",
        ),
        (
            &[("VOD_CDN_PRIVATE_KEY", pem.as_str())],
            "cdn.missing_key_pair_id",
        ),
        (
            &[
                ("VOD_CDN_KEY_PAIR_ID", "K2JCJMDEHXQW5F"),
                ("VOD_CDN_PRIVATE_KEY_FILE", "/nonexistent/cdn-key.pem"),
            ],
            "cdn.key_file",
        ),
        (
            &[
                ("VOD_CDN_KEY_PAIR_ID", "K2JCJMDEHXQW5F"),
                ("VOD_CDN_PRIVATE_KEY", "not a key"),
            ],
            "cdn.bad_key",
        ),
    ];
    for (vars, code) in cases {
        let out = vod_api(vars, &["serve"]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{code}: {stderr}");
        assert!(stderr.contains(code), "{code}: {stderr}");
        assert!(
            !stderr.contains("PostgreSQL"),
            "checked before connecting: {stderr}"
        );
        assert!(!stderr.contains("PRIVATE KEY-----"), "{stderr}");
    }
}

#[test]
fn the_key_is_redacted_and_the_settings_are_documented() {
    let pem = openssl_key();
    let out = vod_api(
        &[
            ("VOD_CDN_KEY_PAIR_ID", "K2JCJMDEHXQW5F"),
            ("VOD_CDN_PRIVATE_KEY", pem.as_str()),
            ("VOD_CDN_SIGNED_URL_TTL", "90m"),
        ],
        &["config"],
    );
    assert!(out.status.success());
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(shown.contains("K2JCJMDEHXQW5F"), "{shown}");
    assert!(shown.contains("5400s"), "TTL parsed: {shown}");
    assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    let pem_body = pem.lines().nth(1).unwrap();
    assert!(!shown.contains(pem_body), "{shown}");

    let help = vod_api(
        &[("VOD_CDN_PRIVATE_KEY", pem.as_str())],
        &["serve", "--help"],
    );
    let help = String::from_utf8(help.stdout).unwrap();
    for var in [
        "VOD_CDN_KEY_PAIR_ID",
        "VOD_CDN_PRIVATE_KEY_FILE",
        "VOD_CDN_PRIVATE_KEY",
        "VOD_CDN_SIGNED_URL_TTL",
        "VOD_CDN_SIGN_ALL",
        "VOD_CDN_COOKIE_DOMAIN",
    ] {
        assert!(help.contains(var), "{var}: {help}");
    }
    assert!(!help.contains(pem_body), "{help}");
}
