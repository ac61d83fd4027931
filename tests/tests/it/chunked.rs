//! A video as a plan and tasks (issue 14), through real workers and services:
//! a long enough source fans out into chunk tasks, an audio task and an
//! assembly that any worker takes; a lost worker costs one chunk; cancel
//! stops running chunks; a task that fails for good fails the job with its
//! reason. Chunks are short here (12 s: two 6 s segments) so the sources
//! stay small.

use std::time::Duration;

use reqwest::Method;
use serde_json::Value;
use uuid::Uuid;
use vod_core::storage::ObjectStore;
use vod_core::store::{JobRecord, TaskKind, TaskState};
use vod_tests::TestEnv;
use vod_tests::api::{spawn_api, status_json};
use vod_tests::worker::{
    InProcessWorker, is_terminal, job_with_tasks, spawn_worker_process_with, task_runner,
    test_worker_config, wait_for_job,
};

const CHUNK_S: &str = "12";

fn scratch(env: &TestEnv) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("vod-it-{}", env.id))
}

fn chunked_config() -> vod_workers::runner::WorkerConfig {
    vod_workers::runner::WorkerConfig {
        chunk_seconds: 12.0,
        concurrency: Some(2),
        ..test_worker_config()
    }
}

async fn enqueue(env: &TestEnv, video: Uuid, key: &str) -> JobRecord {
    env.services
        .jobs
        .enqueue_transcode(&env.services.db, video, key)
        .await
        .unwrap()
}

async fn keys(env: &TestEnv, prefix: &str) -> Vec<String> {
    env.services
        .outputs
        .list(prefix)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect()
}

async fn playlist(env: &TestEnv, key: &str) -> String {
    String::from_utf8(env.services.outputs.get_bytes(key).await.unwrap().to_vec()).unwrap()
}

/// Waits until some task of the job is in `state` (and returns the job).
async fn until_task(env: &TestEnv, job: Uuid, kind: TaskKind, state: TaskState) -> JobRecord {
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    loop {
        let j = job_with_tasks(env, job).await;
        if j.tasks.iter().any(|t| t.kind == kind && t.state == state) {
            return j;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {kind} task reached {state}: {:?}",
            j.tasks
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
async fn a_long_source_fans_out_into_chunk_tasks_and_assembles_one_seamless_package() {
    let env = TestEnv::start("chunked_ok").await;
    let clip = vod_tests::make_clip(&scratch(&env), "c.mp4", 40, 640, 360, true);
    let video = env.video_with_source("Chunked", &clip).await;
    let api = spawn_api(&env, |_| {}).await;
    let viewer = api.token("viewer").await;
    let worker = InProcessWorker::start_with(&env, chunked_config()).await;
    let job = enqueue(&env, video, "chunked").await;
    let done = wait_for_job(&env, job.id, Duration::from_secs(240), is_terminal).await;
    worker.stop().await;
    assert_eq!(done.state, "succeeded", "{done:?}");
    assert_eq!(done.percent, Some(100.0));

    // The plan and the tasks, as the API shows them.
    let (status, body) = status_json(
        api.request(Method::GET, &format!("/v1/jobs/{}", job.id), Some(&viewer))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let chunks = body["plan"]["chunks"]["chunks"].as_array().unwrap().len();
    assert_eq!(chunks, 4, "40 s in 12 s chunks: {body}");
    let tasks = body["tasks"].as_array().unwrap();
    let kinds: Vec<&str> = tasks.iter().map(|t| t["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds.iter().filter(|k| **k == "encode_chunk").count(), 4);
    for kind in ["prepare", "audio", "assemble"] {
        assert_eq!(kinds.iter().filter(|k| **k == kind).count(), 1, "{kinds:?}");
    }
    assert!(
        tasks
            .iter()
            .all(|t| t["state"] == "succeeded" && t["attempts"] == 1 && t["worker"].is_string()),
        "{body}"
    );

    // One seamless package: continuous numbering, no discontinuity.
    let prefix = format!("videos/{video}/");
    let all = keys(&env, &prefix).await;
    let master = playlist(&env, &format!("{prefix}hls/master.m3u8")).await;
    let manifest: Value = serde_json::from_slice(
        &env.services
            .outputs
            .get_bytes(&format!("{prefix}manifest.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    for r in manifest["video"]
        .as_array()
        .unwrap()
        .iter()
        .chain([&manifest["audio"]])
    {
        let name = r["name"].as_str().unwrap();
        let media = playlist(&env, &format!("{prefix}hls/{name}/index.m3u8")).await;
        assert!(!media.contains("DISCONTINUITY"), "{name}: {media}");
        assert!(media.contains("#EXT-X-ENDLIST"));
        let segs = r["segment_count"].as_u64().unwrap();
        let on_s3 = all
            .iter()
            .filter(|k| k.starts_with(&format!("{prefix}hls/{name}/seg_")))
            .count() as u64;
        assert_eq!(
            on_s3, segs,
            "{name}: every listed segment exists, no stray one"
        );
        assert!(
            (r["duration_s"].as_f64().unwrap() - 40.0).abs() < 0.5,
            "{r}"
        );
        assert!(master.contains(&format!("{name}/index.m3u8")), "{master}");
    }
    let registered: i64 = sqlx::query_scalar("SELECT count(*) FROM assets WHERE video_id = $1")
        .bind(video)
        .fetch_one(&env.services.db)
        .await
        .unwrap();
    assert_eq!(
        registered as usize,
        all.len(),
        "every object under the video's prefix is registered: {all:?}"
    );
    assert!(all.iter().any(|k| k.ends_with("thumbs/poster.jpg")));
    assert!(all.iter().any(|k| k.ends_with("thumbs/storyboard.vtt")));
    assert!(
        keys(&env, &format!("work/{}/", job.id)).await.is_empty(),
        "the assembly removes its work objects"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn a_worker_killed_mid_chunk_costs_one_chunk_and_the_job_succeeds_once() {
    let env = TestEnv::start("chunked_kill").await;
    let clip = vod_tests::make_clip(&scratch(&env), "k.mp4", 60, 1280, 720, true);
    let video = env.video_with_source("Killed chunk", &clip).await;
    let settings = [
        ("VOD_CHUNK_SECONDS", CHUNK_S),
        ("VOD_WORKER_CONCURRENCY", "1"),
    ];
    let mut first = spawn_worker_process_with(&env, "first", &settings);
    let job = enqueue(&env, video, "kill-chunk").await;
    let running = until_task(&env, job.id, TaskKind::EncodeChunk, TaskState::Running).await;
    let victim = running
        .tasks
        .iter()
        .find(|t| t.kind == TaskKind::EncodeChunk && t.state == TaskState::Running)
        .unwrap()
        .clone();
    first.kill().unwrap(); // SIGKILL mid-chunk
    first.wait().unwrap();
    let second = spawn_worker_process_with(&env, "second", &settings);
    let done = wait_for_job(&env, job.id, Duration::from_secs(300), is_terminal).await;
    drop(second);
    assert_eq!(done.state, "succeeded", "{done:?}");
    let job = job_with_tasks(&env, job.id).await;
    let redone = job.tasks.iter().find(|t| t.id == victim.id).unwrap();
    assert_eq!(
        (redone.attempts, redone.worker_losses),
        (2, 1),
        "{redone:?}"
    );
    assert_ne!(redone.worker, victim.worker, "another worker redid it");
    assert_eq!(done.worker_losses, 1, "one lost chunk, not the video");
    let others_once = job
        .tasks
        .iter()
        .filter(|t| t.id != victim.id && t.kind != TaskKind::Prepare)
        .all(|t| t.attempts == 1);
    assert!(others_once, "{:?}", job.tasks);
    // One set of outputs: what the manifest lists is what is stored.
    let prefix = format!("videos/{video}/");
    let registered: i64 = sqlx::query_scalar("SELECT count(*) FROM assets WHERE video_id = $1")
        .bind(video)
        .fetch_one(&env.services.db)
        .await
        .unwrap();
    assert_eq!(registered as usize, keys(&env, &prefix).await.len());
    env.cleanup().await;
}

#[tokio::test]
async fn cancel_stops_running_chunks_and_publishes_nothing_playable() {
    let env = TestEnv::start("chunked_cancel").await;
    let clip = vod_tests::make_clip(&scratch(&env), "x.mp4", 60, 1280, 720, false);
    let video = env.video_with_source("Cancelled chunks", &clip).await;
    let api = spawn_api(&env, |_| {}).await;
    let token = api.token("uploader").await;
    let worker = InProcessWorker::start_with(&env, chunked_config()).await;
    let job = enqueue(&env, video, "cancel-chunks").await;
    until_task(&env, job.id, TaskKind::EncodeChunk, TaskState::Running).await;
    let resp = api
        .request(
            Method::POST,
            &format!("/v1/jobs/{}/cancel", job.id),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let asked = std::time::Instant::now();
    // Within a few heartbeats no task runs any more.
    loop {
        let j = job_with_tasks(&env, job.id).await;
        let running = j
            .tasks
            .iter()
            .filter(|t| t.state == TaskState::Running)
            .count();
        if running == 0 {
            assert!(j.tasks.iter().all(|t| t.state.is_final()), "{:?}", j.tasks);
            break;
        }
        assert!(
            asked.elapsed() < Duration::from_secs(15),
            "chunks still running: {:?}",
            j.tasks
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The slots are free again: the worker stops promptly.
    tokio::time::timeout(Duration::from_secs(20), worker.stop())
        .await
        .expect("the running chunks stopped");
    let video_row = vod_core::db::get_video(&env.services.db, video)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(video_row.status, "failed");
    assert_eq!(video_row.error_code.as_deref(), Some("job.cancelled"));
    assert!(
        !keys(&env, &format!("videos/{video}/"))
            .await
            .iter()
            .any(|k| k.ends_with("master.m3u8")),
        "a cancelled job publishes no playable package"
    );
    env.cleanup().await;
}

#[tokio::test]
async fn a_chunk_that_fails_for_good_fails_the_job_with_its_reason() {
    let env = TestEnv::start("chunked_fail").await;
    let clip = vod_tests::make_clip(&scratch(&env), "f.mp4", 40, 320, 240, false);
    let video = env.video_with_source("Replaced source", &clip).await;
    let job = enqueue(&env, video, "fail-chunk").await;
    let runner = task_runner(&env, &chunked_config()).await;
    let prepare = job.tasks[0].message();
    let outcome = runner.process(prepare).await;
    assert_eq!(outcome, vod_workers::task::Outcome::Succeeded);
    let planned = job_with_tasks(&env, job.id).await;
    assert_eq!(
        planned.tasks.len(),
        1 + 4 + 1,
        "prepare, 4 chunks, assemble"
    );

    // The source changes under the job (a bad re-upload): not media any more.
    let source = vod_core::db::get_video(&env.services.db, video)
        .await
        .unwrap()
        .unwrap()
        .source_key
        .unwrap();
    env.services
        .sources
        .put_bytes(&source, bytes::Bytes::from(vec![0x5a; 200_000]), None)
        .await
        .unwrap();
    let chunk = planned
        .tasks
        .iter()
        .find(|t| t.kind == TaskKind::EncodeChunk && t.seq == 1)
        .unwrap();
    let outcome = runner.process(chunk.message()).await;
    assert!(
        matches!(&outcome, vod_workers::task::Outcome::Failed { code } if code.starts_with("media.")),
        "{outcome:?}"
    );
    let failed = job_with_tasks(&env, job.id).await;
    assert_eq!(failed.state, "failed");
    let code = failed.error_code.clone().unwrap();
    assert!(code.starts_with("media."), "{failed:?}");
    assert!(!failed.error_message.clone().unwrap().is_empty());
    assert!(
        failed
            .tasks
            .iter()
            .filter(|t| t.id != chunk.id && t.kind != TaskKind::Prepare)
            .all(|t| t.state == TaskState::Cancelled),
        "the other tasks are cancelled: {:?}",
        failed.tasks
    );
    let row = vod_core::db::get_video(&env.services.db, video)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(row.status, "failed");
    assert_eq!(row.error_code.as_deref(), Some(code.as_str()));
    env.cleanup().await;
}
