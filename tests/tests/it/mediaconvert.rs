//! A job through the worker with `VOD_WORKER_BACKEND=mediaconvert`, against
//! a local MediaConvert stand-in that writes a genuinely encoded package
//! into the real outputs bucket, and the real Postgres, Redis and MongoDB.

use std::time::Duration;

use vod_core::storage::ObjectStore;
use vod_tests::TestEnv;
use vod_tests::mediaconvert::{MediaConvertStandIn, ROLE};
use vod_tests::worker::{InProcessWorker, is_terminal, test_worker_config, wait_for_job};

#[tokio::test]
async fn a_mediaconvert_job_is_registered_like_a_local_one() {
    let env = TestEnv::start("job_mediaconvert").await;
    let dir = std::env::temp_dir().join(format!("vod-it-{}", env.id));
    let clip = vod_tests::make_clip(&dir, "mc.mp4", 8, 640, 480, true);
    let video_id = env
        .video_with_source("Lighthouse by MediaConvert", &clip)
        .await;
    let standin = MediaConvertStandIn::start(&env).await;
    let mut cfg = test_worker_config();
    cfg.backend = standin.backend_config();
    let worker = InProcessWorker::start_with(&env, cfg).await;

    let job = env
        .services
        .jobs
        .enqueue_transcode(&env.services.db, video_id, "mc:1")
        .await
        .unwrap();
    let stages = std::sync::Mutex::new(std::collections::BTreeSet::new());
    let done = wait_for_job(&env, job.id, Duration::from_secs(180), |j| {
        if let Some(s) = &j.stage {
            stages.lock().unwrap().insert(s.clone());
        }
        is_terminal(j)
    })
    .await;
    worker.stop().await;
    assert_eq!(done.state, "succeeded", "{done:?}");
    let stages = stages.into_inner().unwrap();
    assert!(
        stages.contains("transcoding"),
        "MediaConvert's phase reached the job row: {stages:?}"
    );

    // One CreateJob, signed, with our role, reading our source.
    let jobs = standin.jobs();
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].status, "COMPLETE");
    assert_eq!(jobs[0].request["role"], ROLE);
    assert!(
        jobs[0]
            .authorization
            .contains("/us-east-1/mediaconvert/aws4_request")
    );
    let input = jobs[0].request["settings"]["inputs"][0]["fileInput"]
        .as_str()
        .unwrap();
    assert!(
        input.ends_with(&format!("sources/{video_id}/source")),
        "{input}"
    );

    let video = vod_core::db::get_video(&env.services.db, video_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((video.status.as_str(), video.height), ("ready", Some(480)));

    let prefix = format!("videos/{video_id}/");
    let rows: Vec<(String, String, String, i64, i32)> = sqlx::query_as(
        "SELECT name, playlist_key, codecs, bandwidth, segment_count FROM renditions WHERE video_id = $1 ORDER BY name",
    )
    .bind(video_id)
    .fetch_all(&env.services.db)
    .await
    .unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.0.as_str()).collect();
    assert_eq!(names, ["360p", "480p", "audio"]);
    for (name, key, codecs, bandwidth, segments) in &rows {
        assert_eq!(key, &format!("{prefix}hls/master_{name}.m3u8"));
        let want = if name == "audio" {
            "mp4a.40.2"
        } else {
            "avc1."
        };
        assert!(codecs.starts_with(want), "{name}: {codecs}");
        assert!(
            *bandwidth > 0 && *segments == 2,
            "{name}: {bandwidth} b/s, {segments} segments"
        );
    }

    // Objects: MediaConvert's package, its poster promoted, our sprites,
    // storyboard and manifest; one asset row per object.
    let keys: Vec<String> = env
        .services
        .outputs
        .list(&prefix)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    for rel in [
        "hls/master.m3u8",
        "hls/master_480p_00001.ts",
        "thumbs/poster.jpg",
        "thumbs/sprite_000.jpg",
        "thumbs/storyboard.vtt",
        "manifest.json",
    ] {
        assert!(
            keys.contains(&format!("{prefix}{rel}")),
            "{rel} missing: {keys:?}"
        );
    }
    assert!(
        !keys.iter().any(|k| k.contains("poster.000")),
        "frame captures left: {keys:?}"
    );
    let kinds: Vec<(String, String)> =
        sqlx::query_as("SELECT key, kind FROM assets WHERE video_id = $1 AND kind <> 'source'")
            .bind(video_id)
            .fetch_all(&env.services.db)
            .await
            .unwrap();
    assert_eq!(kinds.len(), keys.len());
    let kind_of = |rel: &str| {
        kinds
            .iter()
            .find(|(k, _)| k == &format!("{prefix}{rel}"))
            .map(|(_, kind)| kind.as_str())
    };
    assert_eq!(kind_of("thumbs/poster.jpg"), Some("poster"));
    assert_eq!(kind_of("thumbs/storyboard.vtt"), Some("storyboard"));
    assert_eq!(kind_of("hls/master.m3u8"), Some("master_playlist"));

    // The poster is the capture at the poster time, not the one at 0 s.
    let poster = env
        .services
        .outputs
        .get_bytes(&format!("{prefix}thumbs/poster.jpg"))
        .await
        .unwrap();
    let sprite = env
        .services
        .outputs
        .get_bytes(&format!("{prefix}thumbs/sprite_000.jpg"))
        .await
        .unwrap();
    assert_ne!(poster, sprite);
    let manifest: vod_plan::Manifest = serde_json::from_slice(
        &env.services
            .outputs
            .get_bytes(&format!("{prefix}manifest.json"))
            .await
            .unwrap(),
    )
    .unwrap();
    let thumbs = manifest.thumbnails.unwrap();
    assert_eq!(thumbs.poster.as_deref(), Some("thumbs/poster.jpg"));
    let vtt = String::from_utf8(
        env.services
            .outputs
            .get_bytes(&format!("{prefix}thumbs/storyboard.vtt"))
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    assert_eq!(vtt.matches(" --> ").count(), thumbs.tile_count);

    let entry = env
        .services
        .catalog
        .get(&video_id.to_string())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(entry.status, "ready");
    assert_eq!(entry.renditions.len(), 3);
    assert!(entry.poster_url.unwrap().ends_with("/thumbs/poster.jpg"));
    assert!(
        entry
            .storyboard_url
            .unwrap()
            .ends_with("/thumbs/storyboard.vtt")
    );
    assert!(entry.playback_url.unwrap().ends_with("/hls/master.m3u8"));

    for key in keys {
        env.services.outputs.delete(&key).await.unwrap();
    }
    env.cleanup().await;
}

#[tokio::test]
async fn a_mediaconvert_job_error_fails_or_retries_the_job_by_its_code() {
    let env = TestEnv::start("job_mediaconvert_err").await;
    let dir = std::env::temp_dir().join(format!("vod-it-{}", env.id));
    let clip = vod_tests::make_clip(&dir, "bad.mp4", 2, 320, 240, true);
    let standin = MediaConvertStandIn::start(&env).await;
    let mut cfg = test_worker_config();
    cfg.backend = standin.backend_config();
    let worker = InProcessWorker::start_with(&env, cfg).await;

    // The source is the uploader's problem: failed at once, reason shown.
    standin.fail_jobs_with(1010, "Unable to open input file: [Failed probe/open]");
    let bad = env.video_with_source("Unreadable", &clip).await;
    let job = env
        .services
        .jobs
        .enqueue_transcode(&env.services.db, bad, "mc:bad")
        .await
        .unwrap();
    let done = wait_for_job(&env, job.id, Duration::from_secs(60), is_terminal).await;
    assert_eq!(done.state, "failed", "{done:?}");
    assert_eq!(done.attempts, 1, "an input error is not retried");
    assert_eq!(done.error_code.as_deref(), Some("media.mediaconvert_input"));
    let video = vod_core::db::get_video(&env.services.db, bad)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(video.status, "failed");
    assert!(video.error_message.unwrap().contains("Failed probe/open"));

    // A failure on MediaConvert's side is retried with a backoff.
    standin.fail_jobs_with(3450, "Internal error writing outputs");
    let flaky = env.video_with_source("Flaky", &clip).await;
    let job = env
        .services
        .jobs
        .enqueue_transcode(&env.services.db, flaky, "mc:flaky")
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let (job, task) = loop {
        let j = vod_core::store::jobs::get_job(&env.services.db, job.id)
            .await
            .unwrap()
            .unwrap();
        let j = vod_core::store::jobs::with_tasks(&env.services.db, j)
            .await
            .unwrap();
        let task = j.tasks[0].clone();
        if task.state == "retrying" || is_terminal(&j) {
            break (j, task);
        }
        assert!(std::time::Instant::now() < deadline, "never retried: {j:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    // The task waits for its retry; the job stays running and shows why.
    assert_eq!(task.state, "retrying", "{job:?}");
    assert_eq!(job.state, "running", "{job:?}");
    assert_eq!(task.error_code.as_deref(), Some("mediaconvert.job_failed"));
    assert_eq!(job.error_code.as_deref(), Some("mediaconvert.job_failed"));

    worker.stop().await;
    env.cleanup().await;
}
