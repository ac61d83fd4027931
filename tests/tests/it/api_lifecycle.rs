//! The whole path through the API with a real worker: upload, live progress
//! over SSE, playback through the edge route (checked with ffprobe), then
//! retry, cancel and delete.

use std::time::Duration;

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::Value;
use vod_core::storage::ObjectStore;
use vod_tests::TestEnv;
use vod_tests::api::{ApiHandle, expect_error, fake_mp4, spawn_api, sse_events, status_json};
use vod_tests::worker::{InProcessWorker, is_terminal, wait_for_job};

async fn upload(
    api: &ApiHandle,
    token: &str,
    title: &str,
    name: &str,
    bytes: Vec<u8>,
) -> (uuid::Uuid, uuid::Uuid) {
    let form = Form::new()
        .text("title", title.to_owned())
        .part("file", Part::bytes(bytes).file_name(name.to_owned()));
    let body = api.upload(token, form).await;
    let video = body["video"]["id"].as_str().unwrap().parse().unwrap();
    let job = body["job"]["id"].as_str().unwrap().parse().unwrap();
    (video, job)
}

#[tokio::test]
async fn upload_progress_playback_and_delete() {
    let env = TestEnv::start("api_life").await;
    let api = spawn_api(&env, |_| {}).await;
    let uploader = api.token("uploader").await;
    let viewer = api.token("viewer").await;
    let dir = std::env::temp_dir().join(format!("vod-it-{}", env.id));
    let clip = vod_tests::make_clip(&dir, "life.mp4", 8, 640, 360, true);
    let worker = InProcessWorker::start(&env).await;

    let (video, job) = upload(
        &api,
        &uploader,
        "Lighthouse timelapse",
        "life.mp4",
        std::fs::read(&clip).unwrap(),
    )
    .await;
    let events = sse_events(&api, &viewer, video).await;
    let last = events.last().unwrap();
    assert_eq!(last["state"], "succeeded", "{events:?}");
    assert!(
        events.iter().any(|e| e["state"] == "running"),
        "live progress seen: {events:?}"
    );
    let percents: Vec<f64> = events
        .iter()
        .filter(|e| e["state"] == "running")
        .map(|e| e["percent"].as_f64().unwrap())
        .collect();
    assert!(
        percents.windows(2).all(|w| w[0] <= w[1] + 0.01),
        "progress only goes up: {percents:?}"
    );
    let job_now = wait_for_job(&env, job, Duration::from_secs(10), is_terminal).await;
    assert_eq!(job_now.state, "succeeded");

    // Playback through the edge route, as a player would: ffprobe reads the HLS stream.
    let (status, body) = status_json(
        api.request(Method::GET, &format!("/v1/videos/{video}"), Some(&viewer))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["status"], "ready", "{body}");
    let playback = body["playback_url"].as_str().unwrap();
    assert!(
        playback.ends_with(&format!("/videos/{video}/hls/master.m3u8")),
        "{body}"
    );
    let renditions = body["renditions"].as_array().unwrap();
    assert!(
        renditions
            .iter()
            .any(|r| r["kind"] == "video" && r["height"] == 360),
        "{body}"
    );
    assert!(
        renditions
            .iter()
            .any(|r| r["kind"] == "audio" && r["codecs"] == "mp4a.40.2"),
        "{body}"
    );
    assert!(
        body["storyboard_url"]
            .as_str()
            .unwrap()
            .ends_with("/thumbs/storyboard.vtt")
    );
    let master = api.url(&format!("/cdn/videos/{video}/hls/master.m3u8"));
    // Off the runtime thread: the API under test is served by this same runtime.
    let probe = tokio::task::spawn_blocking(move || {
        std::process::Command::new("ffprobe")
            .args([
                "-v",
                "error",
                "-show_entries",
                "stream=codec_name,width,height",
                "-of",
                "json",
                &master,
            ])
            .output()
            .expect("ffprobe must be installed")
    })
    .await
    .unwrap();
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let streams: Value = serde_json::from_slice(&probe.stdout).unwrap();
    let codecs: Vec<&str> = streams["streams"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["codec_name"].as_str())
        .collect();
    assert!(
        codecs.contains(&"h264") && codecs.contains(&"aac"),
        "{streams}"
    );

    // Delete removes everything; a second delete is a 404.
    let resp = api
        .request(
            Method::DELETE,
            &format!("/v1/videos/{video}"),
            Some(&uploader),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert!(
        env.services
            .outputs
            .list(&format!("videos/{video}/"))
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        env.services
            .catalog
            .get(&video.to_string())
            .await
            .unwrap()
            .is_none()
    );
    let resp = api
        .request(Method::GET, &format!("/v1/videos/{video}"), Some(&viewer))
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "http.not_found").await;
    let resp = api
        .request(
            Method::DELETE,
            &format!("/v1/videos/{video}"),
            Some(&uploader),
        )
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "http.not_found").await;
    let resp = api
        .request(
            Method::DELETE,
            &format!("/v1/videos/{video}"),
            Some(&viewer),
        )
        .send()
        .await
        .unwrap();
    expect_error(resp, 403, "auth.forbidden").await;

    worker.stop().await;
    env.cleanup().await;
}

#[tokio::test]
async fn failed_jobs_can_be_retried_and_queued_jobs_cancelled() {
    let env = TestEnv::start("api_retry").await;
    let api = spawn_api(&env, |_| {}).await;
    let uploader = api.token("uploader").await;

    // Starts like an MP4, so the API takes it; the pipeline then refuses it.
    let (bad, bad_job) = upload(&api, &uploader, "Broken", "broken.mp4", fake_mp4(64 * 1024)).await;
    let retry_path = format!("/v1/videos/{bad}/retry");
    let resp = api
        .request(Method::POST, &retry_path, Some(&uploader))
        .send()
        .await
        .unwrap();
    expect_error(resp, 409, "http.conflict").await; // still queued

    let worker = InProcessWorker::start(&env).await;
    let failed = wait_for_job(&env, bad_job, Duration::from_secs(60), is_terminal).await;
    assert_eq!(failed.state, "failed");
    let (status, body) = status_json(
        api.request(Method::GET, &format!("/v1/jobs/{bad_job}"), Some(&uploader))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(status, 200);
    assert!(
        body["error_code"].as_str().unwrap().starts_with("media."),
        "{body}"
    );
    assert!(
        !body["error_message"].as_str().unwrap().is_empty(),
        "the uploader is told why: {body}"
    );

    let resp = api
        .request(Method::POST, &retry_path, Some(&uploader))
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(resp).await;
    assert_eq!(status, 202, "{body}");
    let retried: uuid::Uuid = body["job"]["id"].as_str().unwrap().parse().unwrap();
    assert_ne!(retried, bad_job);
    let again = wait_for_job(&env, retried, Duration::from_secs(60), is_terminal).await;
    assert_eq!(
        again.state, "failed",
        "the same bad file fails again, with its reason"
    );
    worker.stop().await;

    // With no worker running, a queued job can be cancelled before it starts.
    let (queued, queued_job) = upload(&api, &uploader, "Never mind", "x.mp4", fake_mp4(4096)).await;
    let cancel_path = format!("/v1/jobs/{queued_job}/cancel");
    let resp = api
        .request(Method::POST, &cancel_path, Some(&uploader))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let resp = api
        .request(Method::POST, &cancel_path, Some(&uploader))
        .send()
        .await
        .unwrap();
    expect_error(resp, 409, "http.conflict").await;
    let (_, video) = status_json(
        api.request(
            Method::GET,
            &format!("/v1/videos/{queued}"),
            Some(&uploader),
        )
        .send()
        .await
        .unwrap(),
    )
    .await;
    assert_eq!(video["status"], "failed");
    assert_eq!(video["error_code"], "job.cancelled");
    // A worker that picks the task up later leaves it cancelled.
    let worker = InProcessWorker::start(&env).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let job = vod_core::store::jobs::get_job(&env.services.db, queued_job)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((job.state.as_str(), job.attempts), ("cancelled", 0));
    worker.stop().await;
    env.cleanup().await;
}
