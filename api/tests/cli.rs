//! The `vod-api` binary's command line: config precedence, secret hygiene,
//! and start-up failures that name the missing service.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::process::Command;

fn vod_api() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_vod-api"));
    // Start from a clean slate: only what each test sets counts.
    for (key, _) in std::env::vars() {
        if key.starts_with("VOD_") {
            cmd.env_remove(key);
        }
    }
    cmd
}

#[test]
fn defaults_then_environment_then_flags() {
    let out = vod_api()
        .env("VOD_S3_SOURCES_BUCKET", "from-env")
        .env("VOD_S3_OUTPUTS_BUCKET", "outputs-from-env")
        .env("VOD_LISTEN", "127.0.0.1:9000")
        .args(["config", "--s3-outputs-bucket", "outputs-from-flag"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(
        shown.contains("\"from-env\""),
        "env beats default:\n{shown}"
    );
    assert!(
        shown.contains("\"outputs-from-flag\""),
        "flag beats env:\n{shown}"
    );
    assert!(!shown.contains("outputs-from-env"), "{shown}");
    assert!(shown.contains("127.0.0.1:9000"), "{shown}");
    assert!(
        shown.contains("mongodb://127.0.0.1:27017/"),
        "defaults apply:\n{shown}"
    );
}

#[test]
fn secrets_never_appear_in_config_or_help() {
    let out = vod_api()
        .env(
            "VOD_DATABASE_URL",
            "postgres://vod:pg-password-123@127.0.0.1:5432/vod",
        )
        .env("VOD_S3_SECRET_ACCESS_KEY", "s3-secret-456")
        .env("VOD_BOOTSTRAP_ADMIN_TOKEN", "boot-secret-789")
        .arg("config")
        .output()
        .unwrap();
    let shown = String::from_utf8(out.stdout).unwrap();
    assert!(
        shown.contains("postgres://vod:***@127.0.0.1:5432/vod"),
        "{shown}"
    );
    assert!(
        !shown.contains("pg-password-123")
            && !shown.contains("s3-secret-456")
            && !shown.contains("boot-secret-789"),
        "{shown}"
    );
    assert!(
        shown.contains("bootstrap_admin_token: Secret(***)"),
        "{shown}"
    );

    let help = vod_api()
        .env("VOD_S3_SECRET_ACCESS_KEY", "s3-secret-456")
        .env("VOD_BOOTSTRAP_ADMIN_TOKEN", "boot-secret-789")
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(help.stdout).unwrap();
    assert!(help.contains("VOD_DATABASE_URL"), "{help}");
    assert!(!help.contains("s3-secret-456"), "{help}");
    assert!(help.contains("VOD_BOOTSTRAP_ADMIN_TOKEN"), "{help}");
    assert!(!help.contains("boot-secret-789"), "{help}");
}

/// A port on loopback with nothing listening (bound, then released).
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Start-up against the real services with one of them pointed at a dead port.
fn serve_with(var: &str, value: String) -> String {
    let mut cmd = vod_api();
    for (key, val) in std::env::vars() {
        if key.starts_with("VOD_") {
            cmd.env(key, val);
        }
    }
    let out = cmd
        .env(var, value)
        .env("VOD_CONNECT_TIMEOUT_SECS", "2")
        .env("VOD_LISTEN", "127.0.0.1:0")
        .arg("serve")
        .output()
        .unwrap();
    assert!(
        !out.status.success(),
        "serve must fail when a service is missing"
    );
    String::from_utf8(out.stderr).unwrap()
}

#[test]
fn unreachable_services_fail_startup_with_their_name_and_a_hint() {
    vod_tests_env_required();
    let port = closed_port();
    let cases = [
        (
            "VOD_DATABASE_URL",
            format!("postgres://vod:vod@127.0.0.1:{port}/vod"),
            "PostgreSQL",
        ),
        (
            "VOD_REDIS_URL",
            format!("redis://127.0.0.1:{port}/"),
            "Redis",
        ),
        (
            "VOD_S3_ENDPOINT",
            format!("http://127.0.0.1:{port}"),
            "S3 object store",
        ),
        (
            "VOD_MONGODB_URL",
            format!("mongodb://127.0.0.1:{port}/"),
            "MongoDB catalog",
        ),
    ];
    for (var, value, service) in cases {
        let stderr = serve_with(var, value);
        assert!(stderr.contains(service), "{var}: {stderr}");
        assert!(stderr.contains(var), "{var}: names the variable: {stderr}");
        assert!(
            stderr.contains("infra/up.sh"),
            "{var}: says how to start it: {stderr}"
        );
    }
}

/// The other services must really be up, or the case above proves nothing.
fn vod_tests_env_required() {
    assert!(
        std::env::var("VOD_S3_ACCESS_KEY_ID").is_ok_and(|v| !v.is_empty()),
        "run the suite through `bash infra/test.sh` (needs the services from infra/up.sh)"
    );
}
