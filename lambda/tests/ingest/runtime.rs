//! The `bootstrap` executable as Lambda runs it: configured only by
//! environment variables, polling a Runtime API (here a local stand-in that
//! serves one recorded event) and posting the report as the response.

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use tokio::sync::mpsc;
use vod_tests::TestEnv;

use crate::support::{count, event, fake_mp4, put};

const REQUEST_ID: &str = "8476a536-e9f4-11e8-9739-2dfe598c3fcd";

#[derive(Clone)]
struct FakeRuntime {
    event: Arc<String>,
    served: Arc<AtomicBool>,
    results: mpsc::UnboundedSender<(String, String)>,
}

async fn next(State(rt): State<FakeRuntime>) -> impl IntoResponse {
    if rt.served.swap(true, Ordering::SeqCst) {
        // Lambda long-polls; the test ends the process before another event.
        std::future::pending::<()>().await;
    }
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", REQUEST_ID.parse().unwrap());
    headers.insert(
        "lambda-runtime-deadline-ms",
        "4102444800000".parse().unwrap(),
    );
    let arn = "arn:aws:lambda:eu-west-1:123456789012:function:vod-ingest";
    headers.insert("lambda-runtime-invoked-function-arn", arn.parse().unwrap());
    (headers, rt.event.as_str().to_owned())
}

async fn outcome(
    State(rt): State<FakeRuntime>,
    Path((id, kind)): Path<(String, String)>,
    body: String,
) -> &'static str {
    let _ = rt.results.send((format!("{id}/{kind}"), body));
    "{}"
}

async fn init_error(State(rt): State<FakeRuntime>, body: String) -> &'static str {
    let _ = rt.results.send(("init/error".to_owned(), body));
    "{}"
}

#[tokio::test]
async fn the_bootstrap_binary_handles_an_invocation_from_the_runtime_api() {
    let env = TestEnv::start("lambda_bootstrap").await;
    put(
        &env,
        &env.key("ingest/clip one.mp4"),
        fake_mp4(2048, 31),
        &[("title", "Via bootstrap")],
    )
    .await;
    let payload = serde_json::to_string(&event(&env, "object_created_put.json")).unwrap();

    let (tx, mut rx) = mpsc::unbounded_channel();
    let state = FakeRuntime {
        event: Arc::new(payload),
        served: Arc::new(AtomicBool::new(false)),
        results: tx,
    };
    let app = Router::new()
        .route("/2018-06-01/runtime/invocation/next", get(next))
        .route("/2018-06-01/runtime/invocation/{id}/{kind}", post(outcome))
        .route("/2018-06-01/runtime/init/error", post(init_error))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let c = &env.config;
    let log_path = std::env::temp_dir().join(format!("{}-bootstrap.log", env.id));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_bootstrap"));
    for (key, _) in std::env::vars() {
        if key.starts_with("VOD_") || key.starts_with("AWS_") {
            cmd.env_remove(key);
        }
    }
    cmd.env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
        .env("AWS_LAMBDA_FUNCTION_NAME", "vod-ingest")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("VOD_DATABASE_URL", c.database_url.expose())
        .env(
            "VOD_DATABASE_SCHEMA",
            c.database_schema.clone().unwrap_or_default(),
        )
        .env("VOD_DATABASE_MAX_CONNECTIONS", "2")
        .env("VOD_REDIS_URL", c.redis_url.expose())
        .env("VOD_REDIS_PREFIX", &c.redis_prefix)
        .env("VOD_MONGODB_URL", c.mongodb_url.expose())
        .env("VOD_MONGODB_DATABASE", &c.mongodb_database)
        .env("VOD_S3_ENDPOINT", c.s3.endpoint.clone().unwrap_or_default())
        .env("VOD_S3_REGION", &c.s3.region)
        .env("VOD_S3_ACCESS_KEY_ID", &c.s3.access_key_id)
        .env("VOD_S3_SECRET_ACCESS_KEY", c.s3.secret_access_key.expose())
        .env("VOD_S3_SOURCES_BUCKET", &c.s3.sources_bucket)
        .env("VOD_S3_OUTPUTS_BUCKET", &c.s3.outputs_bucket)
        .env("VOD_LAMBDA_INGEST_PREFIX", env.key("ingest/"))
        .env("VOD_SOURCE_KEY_PREFIX", format!("{}/", env.id))
        .env("VOD_LOG", "info")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log_path).unwrap());
    let mut child = cmd.spawn().unwrap();

    let got = tokio::time::timeout(Duration::from_secs(60), rx.recv()).await;
    let _ = child.kill();
    let _ = child.wait();
    server.abort();
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let (path, body) = got
        .unwrap_or_else(|_| panic!("no answer from bootstrap within 60 s; its log:\n{log}"))
        .unwrap();
    assert_eq!(path, format!("{REQUEST_ID}/response"), "{body}\n{log}");
    let report: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(report["created"][0]["title"], "Via bootstrap", "{report}");
    assert_eq!(report["created"][0]["key"], env.key("ingest/clip one.mp4"));
    assert_eq!(
        (count(&env, "videos").await, count(&env, "jobs").await),
        (1, 1)
    );
    assert!(
        !log.contains(c.s3.secret_access_key.expose()) && !log.contains(c.database_url.expose()),
        "secrets in the log"
    );
    let _ = std::fs::remove_file(log_path);
    env.cleanup().await;
}
