//! `rediss://` (ElastiCache with transit encryption) against the TLS-only
//! Redis that `infra/up.sh` starts with a throwaway CA: the cache, live
//! events, and the apalis queue (a real worker consumes the job over TLS);
//! then a wrong or missing CA fails start-up quickly, naming the cause.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use futures::StreamExt;
use vod_core::storage::ObjectStore;
use vod_core::{Services, ServicesConfig};
use vod_tests::TestEnv;
use vod_tests::worker::{is_terminal, test_worker_config, wait_for_job};

/// The TLS server's URL and CA from `.state/env`; missing is a failure.
fn tls_server() -> (String, PathBuf) {
    let get = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!(
                "{name} is not set: run `bash infra/up.sh` (it starts the TLS test Redis) \
                 and `source .state/env`"
            )
        })
    };
    (
        get("VOD_TEST_REDIS_TLS_URL"),
        get("VOD_TEST_REDIS_CA_FILE").into(),
    )
}

fn over_tls(env: &TestEnv, ca: Option<PathBuf>) -> ServicesConfig {
    let (url, _) = tls_server();
    let mut cfg = env.config.clone();
    cfg.redis_url = url.parse().unwrap();
    cfg.redis_ca_file = ca;
    cfg
}

/// Deletes this test's keys on the TLS server (TestEnv cleans the plain one).
async fn clean_tls_keys(services: &Services, prefix: &str) {
    let mut conn = services.cache.connection();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{prefix}*"))
        .query_async(&mut conn)
        .await
        .unwrap();
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL")
            .arg(keys)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn cache_events_and_the_job_queue_work_over_rediss_with_the_ca_file() {
    let env = TestEnv::start("redis_tls").await;
    let (_, ca) = tls_server();
    let cfg = over_tls(&env, Some(ca));
    let tls = Services::connect(&cfg).await.unwrap();

    tls.cache.set_ex("tls:k", "over TLS", 60).await.unwrap();
    assert_eq!(
        tls.cache.get("tls:k").await.unwrap().as_deref(),
        Some("over TLS")
    );
    // The plain server has none of it: this really went to the TLS one.
    assert_eq!(env.services.cache.get("tls:k").await.unwrap(), None);

    // Pub/sub opens its own connection from the same TLS client.
    let channel = tls.cache.key("events:tls");
    let mut messages = Box::pin(tls.cache.subscribe(&channel).await.unwrap());
    tls.cache.publish(&channel, "hello").await.unwrap();
    let got = tokio::time::timeout(Duration::from_secs(5), messages.next()).await;
    assert_eq!(got.unwrap().as_deref(), Some("hello"));

    // apalis: push over TLS, and a worker whose only Redis is the TLS one
    // fetches and finishes the job.
    let dir = std::env::temp_dir().join(format!("vod-it-{}", env.id));
    let clip = vod_tests::make_clip(&dir, "tls.mp4", 1, 160, 120, false);
    let video_id = env.video_with_source("Over TLS", &clip).await;
    let job = tls
        .jobs
        .enqueue_transcode(&tls.db, video_id, "tls:1")
        .await
        .unwrap();
    assert_eq!(tls.jobs.waiting().await.unwrap(), 1);
    assert_eq!(env.services.jobs.waiting().await.unwrap(), 0);

    let worker_services = Services::connect(&cfg).await.unwrap();
    let (stop, rx) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(vod_workers::runner::run(
        worker_services,
        env.playback(),
        test_worker_config(),
        rx,
    ));
    let done = wait_for_job(&env, job.id, Duration::from_secs(120), is_terminal).await;
    assert_eq!(done.state, "succeeded", "{done:?}");
    assert_eq!(tls.jobs.waiting().await.unwrap(), 0);
    stop.send(true).unwrap();
    worker.await.unwrap().unwrap();

    for key in env
        .services
        .outputs
        .list(&format!("videos/{video_id}/"))
        .await
        .unwrap()
    {
        env.services.outputs.delete(&key.key).await.unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
    clean_tls_keys(&tls, &cfg.redis_prefix).await;
    env.cleanup().await;
}

/// A CA that did not sign the server's certificate.
fn wrong_ca(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir).unwrap();
    let (key, cert) = (dir.join("wrong.key"), dir.join("wrong.pem"));
    let status = Command::new("openssl")
        .args(["req", "-x509", "-new", "-nodes", "-newkey", "ec"])
        .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-days", "1"])
        .args(["-subj", "/CN=not the vod test CA", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .stderr(std::process::Stdio::null())
        .status()
        .expect("openssl must be installed (infra/up.sh installs it)");
    assert!(status.success());
    cert
}

async fn refused(cfg: &ServicesConfig) -> (String, &'static str, Duration) {
    let started = Instant::now();
    let err = Services::connect(cfg).await.unwrap_err();
    (err.to_string(), err.code(), started.elapsed())
}

#[tokio::test]
async fn a_wrong_or_missing_ca_fails_start_up_at_once_naming_the_cause() {
    let env = TestEnv::start("redis_tls_bad_ca").await;
    let dir = std::env::temp_dir().join(format!("vod-it-{}", env.id));

    // Signed by another CA, and no CA file (the public roots): the TLS
    // handshake fails, reported as such well before the connect timeout.
    for ca in [Some(wrong_ca(&dir)), None] {
        let (msg, code, took) = refused(&over_tls(&env, ca.clone())).await;
        assert_eq!(code, "startup.service_unreachable", "{msg}");
        assert!(
            msg.starts_with("Redis is unreachable at rediss://"),
            "{msg}"
        );
        assert!(
            msg.contains("certificate") && msg.contains("VOD_REDIS_CA_FILE"),
            "{ca:?}: {msg}"
        );
        assert!(!msg.contains("no answer within"), "{msg}");
        assert!(took < Duration::from_secs(4), "{ca:?} took {took:?}");
    }

    // A CA path that does not exist: a configuration error before connecting.
    let (msg, code, _) = refused(&over_tls(&env, Some(dir.join("missing.pem")))).await;
    assert_eq!(code, "config.ca_file", "{msg}");
    assert!(msg.contains("missing.pem"), "{msg}");

    // A CA file with a plain redis:// URL is a mistake, not silently ignored.
    let mut plain = env.config.clone();
    plain.redis_ca_file = Some(wrong_ca(&dir));
    let (msg, code, _) = refused(&plain).await;
    assert_eq!(code, "config.ca_file_without_tls", "{msg}");

    let _ = std::fs::remove_dir_all(&dir);
    env.cleanup().await;
}
