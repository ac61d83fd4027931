//! The job the trigger queues is an ordinary transcode job: a worker takes
//! it and the video becomes ready.

use std::time::Duration;

use vod_core::storage::ObjectStore;
use vod_lambda::handle;
use vod_tests::TestEnv;
use vod_tests::worker::{InProcessWorker, is_terminal, wait_for_job};

use crate::support::{config, event, put};

#[tokio::test]
async fn a_lambda_created_video_is_transcoded_to_ready() {
    let env = TestEnv::start("lambda_worker").await;
    let scratch = std::env::temp_dir().join(format!("vod-lambda-{}", env.id));
    let clip = vod_tests::make_clip(&scratch, "clip.mp4", 1, 160, 120, false);
    put(
        &env,
        &env.key("ingest/clip one.mp4"),
        std::fs::read(&clip).unwrap(),
        &[],
    )
    .await;
    let report = handle(
        &env.services,
        &config(&env),
        event(&env, "object_created_put.json"),
    )
    .await
    .unwrap();
    assert_eq!(report.created.len(), 1, "{report:?}");
    let created = &report.created[0];

    let worker = InProcessWorker::start(&env).await;
    let job = wait_for_job(&env, created.job_id, Duration::from_secs(120), is_terminal).await;
    worker.stop().await;
    assert_eq!(job.state, "succeeded", "{job:?}");
    let video = vod_core::db::get_video(&env.services.db, created.video_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((video.status.as_str(), video.height), ("ready", Some(120)));
    assert_eq!(video.title, "clip one");

    let outputs = &env.services.outputs;
    let prefix = format!("videos/{}/", video.id);
    let keys: Vec<String> = outputs
        .list(&prefix)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert!(
        keys.contains(&format!("{prefix}hls/master.m3u8")),
        "{keys:?}"
    );
    for key in keys {
        outputs.delete(&key).await.unwrap();
    }
    let _ = std::fs::remove_dir_all(scratch);
    env.cleanup().await;
}
