//! `POST /v1/videos/pull`: fetch from a URL with SSRF protection. The origin
//! is a local axum server; loopback is allowed only through the config knob.

use std::net::SocketAddr;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use reqwest::Method;
use serde_json::{Value, json};
use vod_core::storage::ObjectStore;
use vod_tests::TestEnv;
use vod_tests::api::{
    ApiHandle, assert_no_open_uploads, expect_error, fake_mp4, spawn_api, status_json,
    stored_sources,
};

const CLIP_LEN: usize = 300 * 1024;

async fn origin() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let redirect = |to: String| {
        move || {
            let to = to.clone();
            async move { (StatusCode::FOUND, [(header::LOCATION, to)]).into_response() }
        }
    };
    let app = Router::new()
        .route("/clip.mp4", get(|| async { fake_mp4(CLIP_LEN) }))
        .route(
            "/notes.txt",
            get(|| async { "plain text, not a video ".repeat(50) }),
        )
        .route("/missing", get(|| async { StatusCode::NOT_FOUND }))
        .route("/redirect", get(redirect("/clip.mp4".into())))
        .route("/loop", get(redirect("/loop".into())))
        .route(
            "/to-loopback",
            get(redirect(format!(
                "http://127.0.0.2:{}/clip.mp4",
                addr.port()
            ))),
        )
        .route(
            "/to-metadata",
            get(redirect("http://169.254.169.254/latest/meta-data/".into())),
        );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn pull(api: &ApiHandle, token: &str, url: &str) -> reqwest::Response {
    api.request(Method::POST, "/v1/videos/pull", Some(token))
        .json(&json!({ "url": url, "title": "Pulled", "tags": ["web"] }))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn pull_fetches_checked_addresses_and_follows_checked_redirects() {
    let env = TestEnv::start("api_pull").await;
    let origin = origin().await;
    // Both loopback forms, so `localhost` (which may resolve to either) is allowed.
    let api = spawn_api(&env, |c| {
        c.pull_allowed_ips = vec!["127.0.0.1".parse().unwrap(), "::1".parse().unwrap()]
    })
    .await;
    let token = api.token("uploader").await;
    let base = format!("http://127.0.0.1:{}", origin.port());

    let by_name = format!("http://localhost:{}/clip.mp4", origin.port());
    for url in [
        format!("{base}/clip.mp4"),
        format!("{base}/redirect"),
        by_name,
    ] {
        let (status, body): (u16, Value) = status_json(pull(&api, &token, &url).await).await;
        assert_eq!(status, 201, "{url}: {body}");
        assert_eq!(body["video"]["status"], "queued");
        assert_eq!(body["job"]["state"], "queued");
        let key = body["video"]["source_key"].as_str().unwrap();
        assert!(key.ends_with("/source.mp4"), "{key}");
        let meta = env.services.sources.head(key).await.unwrap().unwrap();
        assert_eq!(meta.size, CLIP_LEN as u64);
    }

    let resp = pull(&api, &token, &format!("{base}/notes.txt")).await;
    expect_error(resp, 415, "upload.unsupported_type").await;
    let msg = expect_error(
        pull(&api, &token, &format!("{base}/to-loopback")).await,
        422,
        "pull.address_refused",
    )
    .await;
    assert!(
        msg.contains("127.0.0.2") && msg.contains("loopback"),
        "{msg}"
    );
    let msg = expect_error(
        pull(&api, &token, &format!("{base}/to-metadata")).await,
        422,
        "pull.address_refused",
    )
    .await;
    assert!(msg.contains("metadata"), "{msg}");
    let msg = expect_error(
        pull(&api, &token, &format!("{base}/loop")).await,
        422,
        "pull.fetch_failed",
    )
    .await;
    assert!(msg.contains("redirects"), "{msg}");
    let msg = expect_error(
        pull(&api, &token, &format!("{base}/missing")).await,
        422,
        "pull.fetch_failed",
    )
    .await;
    assert!(msg.contains("404"), "{msg}");
    for (url, why) in [
        ("http://10.0.0.1/video.mp4", "private"),
        ("http://169.254.169.254/latest/meta-data/", "metadata"),
        ("http://127.0.0.2:9/x.mp4", "loopback"),
        ("http://[fd00::1]/x.mp4", "unique-local"),
        ("http://100.64.1.2/x.mp4", "carrier-grade"),
    ] {
        let msg = expect_error(pull(&api, &token, url).await, 422, "pull.address_refused").await;
        assert!(msg.contains(why), "{url}: {msg}");
    }
    for url in ["ftp://example.com/x.mp4", "file:///etc/passwd", "not a url"] {
        expect_error(pull(&api, &token, url).await, 422, "pull.invalid_url").await;
    }
    let videos: i64 = sqlx::query_scalar("SELECT count(*) FROM videos")
        .fetch_one(&env.services.db)
        .await
        .unwrap();
    assert_eq!(videos, 3, "only the good pulls created videos");
    assert_eq!(stored_sources(&env).await.len(), 3);
    assert_no_open_uploads(&env).await;

    drop(api);
    env.cleanup().await;
}

#[tokio::test]
async fn pull_refuses_loopback_without_the_knob_and_enforces_the_size_limit() {
    let env = TestEnv::start("api_pull_default").await;
    let origin = origin().await;
    let port = origin.port();
    let api = spawn_api(&env, |_| {}).await;
    assert!(api.config.pull_allowed_ips.is_empty(), "default config");
    let token = api.token("uploader").await;
    for url in [
        format!("http://127.0.0.1:{port}/clip.mp4"),
        format!("http://localhost:{port}/clip.mp4"),
        format!("http://[::ffff:127.0.0.1]:{port}/clip.mp4"),
    ] {
        let msg = expect_error(pull(&api, &token, &url).await, 422, "pull.address_refused").await;
        assert!(msg.contains("loopback"), "{url}: {msg}");
    }
    drop(api);

    let small = spawn_api(&env, |c| {
        c.pull_allowed_ips = vec!["127.0.0.1".parse().unwrap()];
        c.max_upload_bytes = 100 * 1024;
    })
    .await;
    let token = small.token("uploader").await;
    let resp = pull(&small, &token, &format!("http://127.0.0.1:{port}/clip.mp4")).await;
    let msg = expect_error(resp, 413, "upload.too_large").await;
    assert!(msg.contains("102400"), "{msg}");
    assert!(stored_sources(&env).await.is_empty());
    assert_no_open_uploads(&env).await;

    drop(small);
    env.cleanup().await;
}
