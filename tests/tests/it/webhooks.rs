//! Webhook delivery to a local receiver: a valid signature (checked with
//! `openssl`), retries after a failing answer, and the delivery log.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use vod_tests::TestEnv;
use vod_tests::worker::{InProcessWorker, is_terminal, wait_for_job};

type Call = (HeaderMap, Vec<u8>);

#[derive(Clone, Default)]
struct Received {
    calls: Arc<Mutex<Vec<Call>>>,
}

async fn receiver() -> (String, Received) {
    let received = Received::default();
    let state = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |headers: HeaderMap, body: axum::body::Bytes| {
            let state = state.clone();
            async move {
                let mut calls = state.calls.lock().unwrap();
                calls.push((headers, body.to_vec()));
                // Fail the first delivery to exercise the retry path.
                if calls.len() == 1 {
                    StatusCode::SERVICE_UNAVAILABLE
                } else {
                    StatusCode::NO_CONTENT
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}/hook"), received)
}

fn openssl_hmac(secret: &str, message: &[u8]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("openssl")
        .args(["dgst", "-sha256", "-hmac", secret])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("openssl must be installed");
    child.stdin.take().unwrap().write_all(message).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    text.rsplit("= ").next().unwrap().trim().to_owned()
}

#[tokio::test]
async fn ready_event_is_signed_retried_and_logged() {
    let env = TestEnv::start("webhooks").await;
    let (url, received) = receiver().await;
    let secret = "whsec-test-123";
    sqlx::query("INSERT INTO webhooks (id, url, secret) VALUES ($1, $2, $3)")
        .bind(uuid::Uuid::now_v7())
        .bind(&url)
        .bind(secret)
        .execute(&env.services.db)
        .await
        .unwrap();
    let dir = std::env::temp_dir().join(format!("vod-it-{}", env.id));
    let clip = vod_tests::make_clip(&dir, "w.mp4", 2, 320, 240, true);
    let video_id = env.video_with_source("Webhook clip", &clip).await;
    let worker = InProcessWorker::start(&env).await;
    let job = env
        .services
        .jobs
        .enqueue_transcode(&env.services.db, video_id, "wh")
        .await
        .unwrap();
    let done = wait_for_job(&env, job.id, Duration::from_secs(120), is_terminal).await;
    assert_eq!(done.state, "succeeded");

    let started = std::time::Instant::now();
    let (state, attempts, code): (String, i32, Option<i32>) = loop {
        let row: (String, i32, Option<i32>) =
            sqlx::query_as("SELECT state, attempts, last_status_code FROM webhook_deliveries")
                .fetch_one(&env.services.db)
                .await
                .unwrap();
        if row.0 != "pending" || started.elapsed() > Duration::from_secs(30) {
            break row;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        (state.as_str(), attempts, code),
        ("delivered", 2, Some(204))
    );

    let calls = received.calls.lock().unwrap().clone();
    assert_eq!(calls.len(), 2, "one failed attempt, one success");
    let (headers, body) = &calls[1];
    assert_eq!(headers["x-vod-event"], "video.ready");
    let signature = headers["x-vod-signature"].to_str().unwrap();
    let (t, v1) = signature.split_once(",v1=").unwrap();
    let t = t.strip_prefix("t=").unwrap();
    let mut signed = format!("{t}.").into_bytes();
    signed.extend_from_slice(body);
    assert_eq!(
        v1,
        openssl_hmac(secret, &signed),
        "signature verifies with openssl"
    );
    assert_ne!(v1, openssl_hmac("wrong-secret", &signed));
    let event: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(event["type"], "video.ready");
    assert_eq!(event["data"]["video_id"], video_id.to_string());

    worker.stop().await;
    for obj in
        vod_core::storage::ObjectStore::list(&env.services.outputs, &format!("videos/{video_id}/"))
            .await
            .unwrap()
    {
        vod_core::storage::ObjectStore::delete(&env.services.outputs, &obj.key)
            .await
            .unwrap();
    }
    env.cleanup().await;
}
