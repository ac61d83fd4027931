//! S3 without `VOD_S3_ACCESS_KEY_ID`/`…SECRET…`: the AWS default credential
//! chain, as on ECS (task role) and Lambda, against the real Garage. The
//! chain is the SDK's own; only its environment is injected (no process env
//! is changed, so parallel tests are unaffected) and the machine's profile
//! files are hidden. IMDS is disabled so a miss never leaves loopback.

use std::sync::{Arc, Mutex};

use aws_types::os_shim_internal::{Env, Fs};
use axum::Router;
use axum::http::HeaderMap;
use axum::routing::get;
use bytes::Bytes;
use vod_core::aws::{ConfigLoader, default_loader};
use vod_core::storage::ObjectStore;
use vod_core::{Secret, Services, ServicesConfig};
use vod_tests::TestEnv;

fn chain(vars: &[(&str, &str)]) -> ConfigLoader {
    let mut all = vec![("AWS_EC2_METADATA_DISABLED", "true")];
    all.extend_from_slice(vars);
    default_loader()
        .env(Env::from_slice(&all))
        .fs(Fs::from_slice(&[]))
}

/// This test's config with the static keys removed; returns Garage's key.
fn without_static_keys(env: &TestEnv) -> (ServicesConfig, String, String) {
    let mut cfg = env.config.clone();
    let id = std::mem::take(&mut cfg.s3.access_key_id);
    let secret = std::mem::take(&mut cfg.s3.secret_access_key);
    assert!(cfg.s3.static_keys().unwrap().is_none());
    (cfg, id, secret.expose().to_owned())
}

async fn round_trip(services: &Services, key: &str) {
    let body = Bytes::from(format!("signed by the default chain: {key}"));
    services
        .sources
        .put_bytes(key, body.clone(), Some("text/plain"))
        .await
        .unwrap();
    assert_eq!(services.sources.get_bytes(key).await.unwrap(), body);
    services.sources.delete(key).await.unwrap();
}

#[tokio::test]
async fn s3_signs_with_aws_env_keys_when_the_vod_keys_are_empty() {
    let env = TestEnv::start("s3_chain_env").await;
    let (cfg, id, secret) = without_static_keys(&env);
    let aws = chain(&[
        ("AWS_ACCESS_KEY_ID", &id),
        ("AWS_SECRET_ACCESS_KEY", &secret),
    ]);
    // The whole start-up path: validation, both buckets checked, then use.
    let services = Services::connect_with(&cfg, aws).await.unwrap();
    round_trip(&services, &env.key("chain/env.txt")).await;
    env.cleanup().await;
}

/// What ECS gives a task: `AWS_CONTAINER_CREDENTIALS_FULL_URI` (here a
/// loopback stand-in of the agent's endpoint) answering with the task
/// role's temporary keys, refreshed before `Expiration`.
#[tokio::test]
async fn s3_signs_with_ecs_container_credentials() {
    let env = TestEnv::start("s3_chain_ecs").await;
    let (cfg, id, secret) = without_static_keys(&env);
    let seen: Arc<Mutex<Vec<String>>> = Arc::default();
    let log = seen.clone();
    let expires = (chrono::Utc::now() + chrono::Duration::hours(6))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let body = serde_json::json!({
        "RoleArn": "arn:aws:iam::111122223333:role/vod-worker",
        "AccessKeyId": id,
        "SecretAccessKey": secret,
        "Token": "task-role-session-token",
        "Expiration": expires,
    })
    .to_string();
    let app = Router::new().route(
        "/v2/credentials/task",
        get(move |headers: HeaderMap| {
            let auth = headers
                .get("authorization")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            log.lock().unwrap().push(auth);
            let body = body.clone();
            async move { ([("content-type", "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let uri = format!("http://{addr}/v2/credentials/task");
    let aws = chain(&[
        ("AWS_CONTAINER_CREDENTIALS_FULL_URI", &uri),
        ("AWS_CONTAINER_AUTHORIZATION_TOKEN", "agent-token"),
    ]);
    let services = Services::connect_with(&cfg, aws).await.unwrap();
    round_trip(&services, &env.key("chain/ecs.txt")).await;
    let calls = seen.lock().unwrap().clone();
    // Fetched once and cached: the keys are valid for hours.
    assert_eq!(calls, ["agent-token"], "{calls:?}");
    env.cleanup().await;
}

#[tokio::test]
async fn the_chain_is_what_signs_a_wrong_key_there_is_refused() {
    let env = TestEnv::start("s3_chain_wrong").await;
    let (cfg, id, _) = without_static_keys(&env);
    let aws = chain(&[
        ("AWS_ACCESS_KEY_ID", &id),
        ("AWS_SECRET_ACCESS_KEY", "not-the-secret"),
    ]);
    let err = Services::connect_with(&cfg, aws).await.unwrap_err();
    assert_eq!(err.code(), "startup.service_unreachable");
    assert!(err.to_string().starts_with("S3 object store"), "{err}");

    // Nothing anywhere in the chain: a clear failure, not a hang.
    let started = std::time::Instant::now();
    let err = Services::connect_with(&cfg, chain(&[])).await.unwrap_err();
    let msg = err.to_string();
    assert!(msg.starts_with("S3 object store"), "{msg}");
    assert!(msg.contains("credentials"), "{msg}");
    assert!(started.elapsed() < std::time::Duration::from_secs(15));
    env.cleanup().await;
}

#[tokio::test]
async fn half_set_vod_keys_fail_start_up_before_any_connection() {
    let env = TestEnv::start("s3_half_keys").await;
    let mut cfg = env.config.clone();
    cfg.s3.secret_access_key = Secret::default();
    // An unreachable database proves nothing was contacted first.
    cfg.database_url = "postgres://vod@127.0.0.1:9/none".parse().unwrap();
    let err = Services::connect_with(&cfg, chain(&[])).await.unwrap_err();
    assert_eq!(err.code(), "config.half_set_credentials");
    assert!(
        err.to_string()
            .contains("VOD_S3_ACCESS_KEY_ID is set but VOD_S3_SECRET_ACCESS_KEY is not"),
        "{err}"
    );
    env.cleanup().await;
}
