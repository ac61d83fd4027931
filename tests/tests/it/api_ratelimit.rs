//! Per-token write rate limit (Redis) and the Prometheus endpoint.

use reqwest::Method;
use vod_tests::TestEnv;
use vod_tests::api::{expect_error, spawn_api};

#[tokio::test]
async fn writes_over_the_limit_get_429_with_retry_after() {
    let env = TestEnv::start("api_rate").await;
    let api = spawn_api(&env, |cfg| cfg.rate_limit_writes_per_minute = 3).await;
    let a = api.token("uploader").await;
    let b = api.token("uploader").await;
    // A fixed window: if the minute turns during the burst, run it again.
    let mut limited = None;
    for _ in 0..2 {
        let minute = chrono::Utc::now().timestamp() / 60;
        let mut statuses = Vec::new();
        for _ in 0..4 {
            let resp = api
                .request(Method::POST, "/v1/videos", Some(&a))
                .body("not multipart")
                .send()
                .await
                .unwrap();
            statuses.push((resp.status().as_u16(), resp));
        }
        if chrono::Utc::now().timestamp() / 60 == minute {
            limited = Some(statuses);
            break;
        }
    }
    let mut statuses = limited.expect("two bursts straddled minute boundaries");
    let (last_status, last) = statuses.pop().unwrap();
    assert!(
        statuses.iter().all(|(s, _)| *s == 422),
        "the first three are judged on their merits"
    );
    assert_eq!(last_status, 429);
    let retry_after: u64 = last.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry_after));
    expect_error(last, 429, "http.rate_limited").await;

    // Reads are not limited, and the count is per token.
    let resp = api
        .request(Method::GET, "/v1/videos", Some(&a))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = api
        .request(Method::POST, "/v1/videos", Some(&b))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 422);
    env.cleanup().await;
}

#[tokio::test]
async fn metrics_expose_requests_and_jobs_by_state() {
    let env = TestEnv::start("api_metrics").await;
    let api = spawn_api(&env, |_| {}).await;
    let _ = api
        .request(Method::GET, "/healthz", None)
        .send()
        .await
        .unwrap();
    let text = api
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("vod_http_requests_total"), "{text}");
    assert!(text.contains("vod_jobs{state=\"queued\"}"), "{text}");
    env.cleanup().await;
}
