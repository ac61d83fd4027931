//! The queue never strands a job (issue 13): a Redis of the test's own is
//! shut down and started again on the same data (what a failover or an
//! upgrade does) under a real `vod-worker` process and the in-process API.

use std::time::{Duration, Instant};

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use uuid::Uuid;
use vod_tests::TestEnv;
use vod_tests::api::{ApiHandle, expect_error, spawn_api, sse_events_at, status_json};
use vod_tests::redis_server::{OwnRedis, free_port};
use vod_tests::worker::{WorkerProcess, spawn_worker_process_with, wait_for_job, worker_binary};

fn scratch(env: &TestEnv) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("vod-it-{}", env.id))
}

fn worker_log(env: &TestEnv, label: &str) -> String {
    std::fs::read_to_string(std::env::temp_dir().join(format!("{}-{label}.log", env.id)))
        .unwrap_or_default()
}

/// A worker process with its `/healthz` on a port of its own.
fn spawn_worker(env: &TestEnv, label: &str, extra: &[(&str, &str)]) -> (WorkerProcess, u16) {
    let port = free_port();
    let listen = format!("127.0.0.1:{port}");
    let mut settings = vec![("VOD_WORKER_METRICS_LISTEN", listen.as_str())];
    settings.extend_from_slice(extra);
    (spawn_worker_process_with(env, label, &settings), port)
}

async fn health(port: u16) -> Option<(u16, Value)> {
    let resp = reqwest::Client::new()
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()?;
    let status = resp.status().as_u16();
    Some((status, resp.json().await.ok()?))
}

/// Polls `/healthz` until `want` holds; returns that report.
async fn health_until(port: u16, what: &str, want: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = None;
    loop {
        if let Some((_, report)) = health(port).await {
            if want(&report) {
                return report;
            }
            last = Some(report);
        }
        assert!(
            Instant::now() < deadline,
            "worker health never showed {what}; last: {last:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn upload(api: &ApiHandle, token: &str, title: &str, clip: &std::path::Path) -> (Uuid, Uuid) {
    let form = Form::new().text("title", title.to_owned()).part(
        "file",
        Part::bytes(std::fs::read(clip).unwrap()).file_name("clip.mp4"),
    );
    let body = api.upload(token, form).await;
    (
        body["video"]["id"].as_str().unwrap().parse().unwrap(),
        body["job"]["id"].as_str().unwrap().parse().unwrap(),
    )
}

/// Lines of the (coloured) log that mention `job` and `what`.
fn count(log: &str, job: Uuid, what: &str) -> usize {
    strip_ansi(log)
        .lines()
        .filter(|l| l.contains(&job.to_string()) && l.contains(what))
        .count()
}

fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters… final byte (a letter).
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[tokio::test]
async fn after_a_redis_restart_the_same_worker_resumes_and_a_running_job_finishes_once() {
    let mut redis = OwnRedis::start("restart");
    let env = TestEnv::start_with_redis("redis_restart", &redis.url()).await;
    let api = spawn_api(&env, |_| {}).await;
    let token = api.token("uploader").await;
    let dir = scratch(&env);
    // Long enough to be mid-transcode while Redis is gone.
    let long = vod_tests::make_clip(&dir, "long.mp4", 30, 1280, 720, true);
    let short = vod_tests::make_clip(&dir, "short.mp4", 3, 320, 240, true);
    let (mut worker, port) = spawn_worker(&env, "restart", &[]);
    health_until(port, "a first poll", |h| {
        !h["queue"]["last_poll_at"].is_null()
    })
    .await;

    let (video_a, job_a) = upload(&api, &token, "running through the restart", &long).await;
    // Its live events, followed across the restart.
    let events = {
        let (url, http) = (api.base_url.clone(), api.http.clone());
        let token = token.clone();
        tokio::spawn(async move { sse_events_at(&http, &url, &token, video_a).await })
    };
    let running = wait_for_job(&env, job_a, Duration::from_secs(120), |j| {
        j.state == "running" && j.stage.as_deref() == Some("transcoding")
    })
    .await;

    redis.stop();
    let down = health_until(port, "the outage", |h| {
        h["queue"]["connected"] == false && h["status"] == "degraded"
    })
    .await;
    assert!(!down["queue"]["unreachable_since"].is_null(), "{down}");
    assert_eq!(down["jobs"][0]["job_id"], job_a.to_string(), "{down}");
    tokio::time::sleep(Duration::from_secs(2)).await;
    redis.start_again();
    let back_at = chrono::Utc::now();

    // The first calls after the restart succeed (cache read, rate limit, push).
    let resp = api
        .request(Method::GET, &format!("/v1/videos/{video_a}"), Some(&token))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let (video_b, job_b) = upload(&api, &token, "uploaded after the restart", &short).await;

    let a = wait_for_job(
        &env,
        job_a,
        Duration::from_secs(240),
        vod_tests::worker::is_terminal,
    )
    .await;
    assert_eq!(a.state, "succeeded", "{a:?}");
    assert_eq!((a.attempts, a.worker_losses), (1, 0), "{a:?}");
    let b = wait_for_job(
        &env,
        job_b,
        Duration::from_secs(120),
        vod_tests::worker::is_terminal,
    )
    .await;
    assert_eq!(b.state, "succeeded", "{b:?}");
    assert_eq!(b.worker, running.worker, "the same worker process ran both");
    assert!(
        worker.try_wait().unwrap().is_none(),
        "the worker process is still up"
    );
    let video_b_status: String = sqlx::query_scalar("SELECT status FROM videos WHERE id = $1")
        .bind(video_b)
        .fetch_one(&env.services.db)
        .await
        .unwrap();
    assert_eq!(video_b_status, "ready");

    let ok = health_until(port, "the recovery", |h| {
        h["status"] == "ok"
            && h["queue"]["connected"] == true
            && h["queue"]["last_poll_at"]
                .as_str()
                .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
                .is_some_and(|t| t > back_at)
    })
    .await;
    assert!(
        ok["queue"]["consumer_restarts"].as_u64().unwrap() >= 1,
        "{ok}"
    );
    assert_eq!(ok["jobs"], serde_json::json!([]));

    // Once: one start and one success in the worker's log, however many
    // deliveries the restart left behind (later ones are skipped).
    let log = worker_log(&env, "restart");
    assert_eq!(count(&log, job_a, "task started"), 1, "{log}");
    assert_eq!(count(&log, job_a, "outcome=Succeeded"), 1, "{log}");
    let renditions: i64 = sqlx::query_scalar("SELECT count(*) FROM renditions WHERE video_id = $1")
        .bind(video_a)
        .fetch_one(&env.services.db)
        .await
        .unwrap();
    assert_eq!(renditions, 4, "720p, 480p, 360p and audio, registered once");

    // The SSE stream opened before the restart subscribed again and ended
    // with the final state.
    let events = tokio::time::timeout(Duration::from_secs(30), events)
        .await
        .expect("the event stream ended")
        .unwrap();
    assert_eq!(events.last().unwrap()["state"], "succeeded", "{events:?}");

    drop(worker);
    env.cleanup().await;
}

/// Streams `clip` as a multipart upload whose last bytes are held back
/// until `release` fires, so Redis can be stopped while the upload runs.
fn held_back_form(clip: &[u8], release: tokio::sync::oneshot::Receiver<()>) -> Form {
    use futures::StreamExt;
    let (head, tail) = clip.split_at(clip.len() / 2);
    let (head, tail) = (
        bytes::Bytes::copy_from_slice(head),
        bytes::Bytes::copy_from_slice(tail),
    );
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(head) }).chain(
        futures::stream::once(async move {
            let _ = release.await;
            Ok(tail)
        }),
    );
    Form::new()
        .text("title", "uploaded while Redis stops")
        .part(
            "file",
            Part::stream(reqwest::Body::wrap_stream(body)).file_name("clip.mp4"),
        )
}

#[tokio::test]
async fn a_job_acknowledged_while_redis_is_down_runs_once_it_is_back() {
    let mut redis = OwnRedis::start("upload");
    let env = TestEnv::start_with_redis("redis_upload", &redis.url()).await;
    let api = spawn_api(&env, |_| {}).await;
    let token = api.token("uploader").await;
    let clip = vod_tests::make_clip(&scratch(&env), "clip.mp4", 3, 320, 240, true);
    let (mut worker, port) = spawn_worker(&env, "upload", &[]);
    health_until(port, "a first poll", |h| {
        !h["queue"]["last_poll_at"].is_null()
    })
    .await;

    let (release, held) = tokio::sync::oneshot::channel();
    let request = api
        .request(Method::POST, "/v1/videos", Some(&token))
        .multipart(held_back_form(&std::fs::read(&clip).unwrap(), held))
        .send();
    let upload = tokio::spawn(request);
    // The request is in (the rate limit was checked); now Redis goes away.
    tokio::time::sleep(Duration::from_millis(500)).await;
    redis.stop();
    release.send(()).unwrap();
    let (status, body) = status_json(upload.await.unwrap().unwrap()).await;
    assert_eq!(status, 201, "source in S3, job in PostgreSQL: {body}");
    assert_eq!(body["job"]["state"], "queued");
    assert_eq!(body["job"]["queue_status"], "stranded", "{body}");
    let job_id: Uuid = body["job"]["id"].as_str().unwrap().parse().unwrap();
    let video_id = body["video"]["id"].as_str().unwrap();

    // Readiness and metrics tell it apart from a waiting job.
    let (ready_status, ready) = status_json(
        api.request(Method::GET, "/readyz", None)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ready_status, 503, "{ready}");
    assert_eq!(ready["queue"]["stranded"], 1, "{ready}");
    assert_eq!(ready["queue"]["waiting"], 0, "{ready}");
    let metrics = api
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("vod_queued_tasks{queue=\"stranded\"}"),
        "{metrics}"
    );
    // The rate limit's written choice while Redis is down: refuse writes.
    let refused = api
        .request(
            Method::POST,
            &format!("/v1/videos/{video_id}/retry"),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(refused.headers()["retry-after"], "5");
    let reason = expect_error(refused, 503, "ratelimit.unavailable").await;
    assert!(reason.contains("Redis"), "{reason}");

    redis.start_again();
    let back = Instant::now();
    let started = wait_for_job(&env, job_id, Duration::from_secs(60), |j| {
        j.state != "queued"
    })
    .await;
    eprintln!(
        "stranded job started {:.1} s after Redis was back",
        back.elapsed().as_secs_f64()
    );
    let done = wait_for_job(
        &env,
        job_id,
        Duration::from_secs(120),
        vod_tests::worker::is_terminal,
    )
    .await;
    assert_eq!(done.state, "succeeded", "{done:?}");
    assert_eq!(done.attempts, 1, "{done:?}");
    let prepare = &vod_core::store::jobs::with_tasks(&env.services.db, started)
        .await
        .unwrap()
        .tasks[0];
    assert!(
        prepare.pushed_at.is_some(),
        "the relay pushed it: {prepare:?}"
    );
    assert!(worker.try_wait().unwrap().is_none());
    drop(worker);
    env.cleanup().await;
}

#[tokio::test]
async fn a_worker_without_redis_past_its_limit_exits_non_zero_with_the_reason() {
    let mut redis = OwnRedis::start("exit");
    let env = TestEnv::start_with_redis("redis_exit", &redis.url()).await;
    let (mut worker, port) =
        spawn_worker(&env, "exit", &[("VOD_WORKER_QUEUE_OUTAGE_EXIT_SECS", "3")]);
    health_until(port, "a first poll", |h| {
        h["status"] == "ok" && !h["queue"]["last_poll_at"].is_null()
    })
    .await;
    // `vod-worker health` (the ECS health check) passes while it polls.
    let check = |port: u16| {
        std::process::Command::new(worker_binary())
            .arg("health")
            .env("VOD_WORKER_METRICS_LISTEN", format!("127.0.0.1:{port}"))
            .output()
            .unwrap()
    };
    let out = check(port);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"status\":\"ok\""));

    redis.stop();
    let stopped = Instant::now();
    let exit = loop {
        if let Some(status) = worker.try_wait().unwrap() {
            break status;
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(60),
            "the worker is still up without Redis"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert!(!exit.success(), "{exit:?}");
    assert!(
        stopped.elapsed() >= Duration::from_secs(3),
        "it waited for its limit"
    );
    let log = worker_log(&env, "exit");
    assert!(
        log.contains("the job queue (Redis) has been unreachable for")
            && log.contains("VOD_WORKER_QUEUE_OUTAGE_EXIT_SECS=3"),
        "{log}"
    );
    // And the health check fails once nothing answers.
    assert!(!check(port).status.success());

    redis.start_again();
    env.cleanup().await;
}

#[tokio::test]
async fn with_allow_the_rate_limit_lets_writes_through_while_redis_is_down_and_counts_them() {
    let mut redis = OwnRedis::start("allow");
    let env = TestEnv::start_with_redis("redis_allow", &redis.url()).await;
    let api = spawn_api(&env, |c| {
        c.rate_limit_when_redis_down = vod_api::cli::RateLimitFallback::Allow;
    })
    .await;
    let token = api.token("uploader").await;
    let video = env
        .video_with_source(
            "before",
            &vod_tests::make_clip(&scratch(&env), "c.mp4", 1, 160, 120, false),
        )
        .await;
    redis.stop();
    let resp = api
        .request(Method::PATCH, &format!("/v1/videos/{video}"), Some(&token))
        .json(&serde_json::json!({ "title": "edited while Redis was down" }))
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["title"], "edited while Redis was down");
    let metrics = api
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("vod_ratelimit_unavailable_total{decision=\"allowed\"}"),
        "{metrics}"
    );
    redis.start_again();
    env.cleanup().await;
}
