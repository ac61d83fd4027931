//! Transcode jobs through apalis on Redis and real workers: success and
//! idempotency, bad input, a worker killed mid-run, the dead-letter rule,
//! scheduled retries and cancellation.

use std::time::Duration;

use vod_core::storage::ObjectStore;
use vod_core::store::jobs::get_job;
use vod_tests::TestEnv;
use vod_tests::worker::{
    InProcessWorker, is_terminal, spawn_worker_process, spawn_worker_process_with, wait_for_job,
};

fn scratch(env: &TestEnv) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("vod-it-{}", env.id))
}

async fn output_keys(env: &TestEnv, video_id: uuid::Uuid) -> Vec<String> {
    env.services
        .outputs
        .list(&format!("videos/{video_id}/"))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect()
}

async fn cleanup_outputs(env: &TestEnv, video_id: uuid::Uuid) {
    for key in output_keys(env, video_id).await {
        env.services.outputs.delete(&key).await.unwrap();
    }
}

#[tokio::test]
async fn a_queued_job_is_transcoded_published_and_registered_once() {
    let env = TestEnv::start("job_ok").await;
    let clip = vod_tests::make_clip(&scratch(&env), "ok.mp4", 3, 320, 240, true);
    let video_id = env.video_with_source("Harbour at dawn", &clip).await;
    let worker = InProcessWorker::start(&env).await;

    let job = env
        .services
        .jobs
        .enqueue_transcode(&env.services.db, video_id, "t:1")
        .await
        .unwrap();
    // The same request again maps to the same job and pushes nothing.
    let again = env
        .services
        .jobs
        .enqueue_transcode(&env.services.db, video_id, "t:1")
        .await
        .unwrap();
    assert_eq!(job.id, again.id);

    let done = wait_for_job(&env, job.id, Duration::from_secs(120), is_terminal).await;
    assert_eq!(done.state, "succeeded", "{done:?}");
    assert_eq!(done.attempts, 1);
    assert_eq!(done.percent, Some(100.0));
    let video = vod_core::db::get_video(&env.services.db, video_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(video.status, "ready");
    assert_eq!(video.height, Some(240));

    let keys = output_keys(&env, video_id).await;
    assert!(
        keys.contains(&format!("videos/{video_id}/hls/master.m3u8")),
        "{keys:?}"
    );
    assert!(keys.iter().any(|k| k.ends_with(".ts")));
    let rows: i64 = sqlx::query_scalar("SELECT count(*) FROM assets WHERE video_id = $1")
        .bind(video_id)
        .fetch_one(&env.services.db)
        .await
        .unwrap();
    assert_eq!(
        rows as usize,
        keys.len(),
        "one asset row per published object"
    );

    let entry = env
        .services
        .catalog
        .get(&video_id.to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.status, "ready");
    assert!(entry.playback_url.unwrap().ends_with("/hls/master.m3u8"));
    let hits = env.services.catalog.search("harbour", 10).await.unwrap();
    assert_eq!(hits.len(), 1);

    // Give a duplicate delivery a chance to show up: the job must still have run once.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        get_job(&env.services.db, job.id)
            .await
            .unwrap()
            .unwrap()
            .attempts,
        1
    );

    worker.stop().await;
    cleanup_outputs(&env, video_id).await;
    env.cleanup().await;
}

#[tokio::test]
async fn bad_media_fails_at_once_with_a_reason_and_the_worker_carries_on() {
    let env = TestEnv::start("job_bad").await;
    let dir = scratch(&env);
    std::fs::create_dir_all(&dir).unwrap();
    let text = dir.join("notes.mp4");
    std::fs::write(&text, "this is a text file, not a video\n".repeat(50)).unwrap();
    let bad = env.video_with_source("Not a video", &text).await;
    let clip = vod_tests::make_clip(&dir, "good.mp4", 2, 320, 240, false);
    let good = env.video_with_source("Good one", &clip).await;
    let worker = InProcessWorker::start(&env).await;

    let bad_job = env
        .services
        .jobs
        .enqueue_transcode(&env.services.db, bad, "bad")
        .await
        .unwrap();
    let failed = wait_for_job(&env, bad_job.id, Duration::from_secs(60), is_terminal).await;
    assert_eq!(failed.state, "failed");
    assert_eq!(failed.attempts, 1, "media errors are not retried");
    let code = failed.error_code.clone().unwrap();
    assert!(code.starts_with("media."), "{code}");
    let video = vod_core::db::get_video(&env.services.db, bad)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(video.status, "failed");
    assert_eq!(video.error_code.as_deref(), Some(code.as_str()));
    assert!(!video.error_message.unwrap_or_default().is_empty());

    let good_job = env
        .services
        .jobs
        .enqueue_transcode(&env.services.db, good, "good")
        .await
        .unwrap();
    let ok = wait_for_job(&env, good_job.id, Duration::from_secs(120), is_terminal).await;
    assert_eq!(ok.state, "succeeded", "{ok:?}");

    worker.stop().await;
    cleanup_outputs(&env, good).await;
    env.cleanup().await;
}

#[tokio::test]
async fn a_worker_killed_mid_transcode_hands_the_job_to_another() {
    let env = TestEnv::start("job_kill").await;
    let clip = vod_tests::make_clip(&scratch(&env), "long.mp4", 40, 1280, 720, true);
    let video_id = env.video_with_source("Killed midway", &clip).await;
    let mut first = spawn_worker_process(&env, "first");
    let job = env
        .services
        .jobs
        .enqueue_transcode(&env.services.db, video_id, "kill")
        .await
        .unwrap();
    wait_for_job(&env, job.id, Duration::from_secs(60), |j| {
        j.state == "running"
            && j.stage.as_deref() == Some("transcoding")
            && j.percent.unwrap_or(0.0) > 1.0
    })
    .await;
    first.kill().unwrap(); // SIGKILL: no chance to hand anything back
    first.wait().unwrap();

    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut second =
        spawn_worker_process_with(&env, "second", &[("VOD_WORKER_METRICS_LISTEN", &listen)]);
    let done = wait_for_job(&env, job.id, Duration::from_secs(240), is_terminal).await;
    // The worker that finished the job timed each of its stages.
    let scrape = reqwest::get(format!("http://{listen}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    second.kill().unwrap();
    second.wait().unwrap();
    assert_eq!(done.state, "succeeded", "{done:?}");
    assert_eq!(done.worker_losses, 1);
    assert_eq!(done.attempts, 2);
    for stage in ["downloading", "transcoding", "publishing", "registering"] {
        let line = format!("vod_job_stage_seconds_count{{stage=\"{stage}\"}} 1");
        assert!(scrape.contains(&line), "no `{line}` in:\n{scrape}");
    }
    assert!(
        scrape.contains("vod_worker_tasks_total{kind=\"prepare\",outcome=\"succeeded\"} 1"),
        "{scrape}"
    );

    let manifest: serde_json::Value = serde_json::from_slice(
        &env.services
            .outputs
            .get_bytes(&format!("videos/{video_id}/manifest.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    let segments: u64 = manifest["video"]
        .as_array()
        .unwrap()
        .iter()
        .chain(
            manifest["audio"]
                .as_object()
                .into_iter()
                .map(|_| &manifest["audio"]),
        )
        .map(|r| r["segment_count"].as_u64().unwrap())
        .sum();
    let keys = output_keys(&env, video_id).await;
    let ts = keys.iter().filter(|k| k.ends_with(".ts")).count() as u64;
    assert_eq!(ts, segments, "exactly one set of segments");
    let entries = env.services.catalog.search("killed", 10).await.unwrap();
    assert_eq!(entries.len(), 1, "one catalog entry");

    cleanup_outputs(&env, video_id).await;
    env.cleanup().await;
}

#[tokio::test]
async fn a_job_that_lost_its_worker_three_times_goes_dead() {
    let env = TestEnv::start("job_dead").await;
    let clip = vod_tests::make_clip(&scratch(&env), "d.mp4", 2, 160, 120, false);
    let video_id = env.video_with_source("Poison", &clip).await;
    let job = env
        .services
        .jobs
        .enqueue_transcode(&env.services.db, video_id, "dead")
        .await
        .unwrap();
    // As if two earlier workers died holding its task and a third just did.
    sqlx::query(
        "UPDATE tasks SET state = 'running', worker_losses = 2, worker = 'gone', heartbeat_at = now() - interval '1 hour' WHERE job_id = $1",
    )
    .bind(job.id)
    .execute(&env.services.db)
    .await
    .unwrap();
    sqlx::query("UPDATE jobs SET state = 'running' WHERE id = $1")
        .bind(job.id)
        .execute(&env.services.db)
        .await
        .unwrap();
    let worker = InProcessWorker::start(&env).await;
    let dead = wait_for_job(&env, job.id, Duration::from_secs(60), is_terminal).await;
    assert_eq!(dead.state, "dead");
    assert_eq!(dead.worker_losses, 3);
    assert_eq!(dead.error_code.as_deref(), Some("job.worker_lost"));
    let video = vod_core::db::get_video(&env.services.db, video_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(video.status, "failed");
    worker.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn due_retries_are_requeued_and_cancelled_jobs_stop() {
    let env = TestEnv::start("job_retry").await;
    let dir = scratch(&env);
    let clip = vod_tests::make_clip(&dir, "r.mp4", 2, 320, 240, false);
    let retried = env.video_with_source("Retry me", &clip).await;
    let long = vod_tests::make_clip(&dir, "c.mp4", 30, 1280, 720, false);
    let cancelled = env.video_with_source("Cancel me", &long).await;

    // A job whose task was parked by an earlier transient failure, due now.
    let job = env
        .services
        .jobs
        .enqueue_transcode(&env.services.db, retried, "retry")
        .await
        .unwrap();
    sqlx::query(
        "UPDATE tasks SET state = 'retrying', attempts = 1, error_code = 'storage.backend', next_attempt_at = now() WHERE job_id = $1",
    )
    .bind(job.id)
    .execute(&env.services.db)
    .await
    .unwrap();
    sqlx::query("UPDATE jobs SET state = 'running', attempts = 1 WHERE id = $1")
        .bind(job.id)
        .execute(&env.services.db)
        .await
        .unwrap();
    let worker = InProcessWorker::start(&env).await;
    let done = wait_for_job(&env, job.id, Duration::from_secs(120), is_terminal).await;
    assert_eq!(done.state, "succeeded", "{done:?}");
    assert!(done.attempts >= 2);
    assert_eq!(
        done.error_code, None,
        "a success clears the earlier failure"
    );

    let job = env
        .services
        .jobs
        .enqueue_transcode(&env.services.db, cancelled, "cancel")
        .await
        .unwrap();
    wait_for_job(&env, job.id, Duration::from_secs(60), |j| {
        j.state == "running"
    })
    .await;
    // What `POST /v1/jobs/{id}/cancel` does.
    vod_core::store::jobs::cancel(&env.services.db, job.id)
        .await
        .unwrap()
        .unwrap();
    let video = loop {
        let v = vod_core::db::get_video(&env.services.db, cancelled)
            .await
            .unwrap()
            .unwrap();
        if v.status == "failed" {
            break v;
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    };
    assert_eq!(video.error_code.as_deref(), Some("job.cancelled"));
    assert!(
        !output_keys(&env, cancelled)
            .await
            .iter()
            .any(|k| k.ends_with("master.m3u8")),
        "a cancelled job publishes no playable package"
    );
    assert_eq!(
        get_job(&env.services.db, job.id)
            .await
            .unwrap()
            .unwrap()
            .state,
        "cancelled"
    );

    worker.stop().await;
    cleanup_outputs(&env, retried).await;
    cleanup_outputs(&env, cancelled).await;
    env.cleanup().await;
}

#[tokio::test]
async fn sigterm_hands_a_long_job_back_without_counting_a_loss() {
    let env = TestEnv::start("job_term").await;
    let clip = vod_tests::make_clip(&scratch(&env), "term.mp4", 40, 1280, 720, false);
    let video_id = env.video_with_source("Handed back", &clip).await;
    let mut first =
        spawn_worker_process_with(&env, "term", &[("VOD_WORKER_SHUTDOWN_GRACE_SECS", "1")]);
    let job = env
        .services
        .jobs
        .enqueue_transcode(&env.services.db, video_id, "term")
        .await
        .unwrap();
    wait_for_job(&env, job.id, Duration::from_secs(60), |j| {
        j.state == "running" && j.percent.unwrap_or(0.0) > 1.0
    })
    .await;
    let term = std::process::Command::new("kill")
        .args(["-TERM", &first.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    // The grace period (1 s) is far shorter than the job: it must be handed back and the process exit.
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = first.try_wait().unwrap() {
            break status;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "worker did not exit after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(status.success(), "orderly exit: {status:?}");
    let handed = get_job(&env.services.db, job.id).await.unwrap().unwrap();
    assert_eq!(handed.state, "queued", "{handed:?}");
    assert_eq!(
        handed.worker_losses, 0,
        "an orderly stop is not a lost worker"
    );

    let worker = InProcessWorker::start(&env).await;
    let done = wait_for_job(&env, job.id, Duration::from_secs(240), is_terminal).await;
    assert_eq!(done.state, "succeeded", "{done:?}");
    assert_eq!((done.attempts, done.worker_losses), (2, 0));
    worker.stop().await;
    cleanup_outputs(&env, video_id).await;
    env.cleanup().await;
}
