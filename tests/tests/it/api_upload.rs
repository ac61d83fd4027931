//! `POST /v1/videos`: streamed multipart upload into S3, then a queued job.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use reqwest::Method;
use reqwest::multipart::{Form, Part};
use vod_core::storage::ObjectStore;
use vod_tests::TestEnv;
use vod_tests::api::{
    assert_no_open_uploads, expect_error, fake_mp4, open_uploads, spawn_api, status_json,
    stored_sources,
};

fn form(title: Option<&str>, file: Option<(&str, Vec<u8>)>) -> Form {
    let mut form = Form::new()
        .text("description", "a test upload")
        .text("tags", "demo, test ,demo");
    if let Some(title) = title {
        form = form.text("title", title.to_owned());
    }
    if let Some((name, bytes)) = file {
        form = form.part("file", Part::bytes(bytes).file_name(name.to_owned()));
    }
    form
}

#[tokio::test]
async fn multipart_upload_streams_to_s3_and_queues_a_job() {
    let env = TestEnv::start("api_upload").await;
    let api = spawn_api(&env, |_| {}).await;
    let uploader = api.token("uploader").await;
    // Several S3 parts (5 MiB each) and a short last one.
    let body = fake_mp4(17 * 1024 * 1024 + 123);
    let resp = api
        .request(Method::POST, "/v1/videos", Some(&uploader))
        .multipart(form(Some("My clip"), Some(("Clip.MP4", body.clone()))))
        .send()
        .await
        .unwrap();
    let (status, json) = status_json(resp).await;
    assert_eq!(status, 201, "{json}");
    let video = &json["video"];
    assert_eq!(video["status"], "queued");
    assert_eq!(video["title"], "My clip");
    assert_eq!(video["tags"], serde_json::json!(["demo", "test"]));
    assert_eq!(video["source_bytes"], body.len());
    assert_eq!(json["job"]["state"], "queued");
    let id = video["id"].as_str().unwrap();
    let key = video["source_key"].as_str().unwrap();
    assert_eq!(key, format!("{}/sources/{id}/source.mp4", env.id));

    let meta = env.services.sources.head(key).await.unwrap().unwrap();
    assert_eq!(meta.size, body.len() as u64);
    let stored = env.services.sources.get_bytes(key).await.unwrap();
    assert!(stored == body, "stored bytes differ");

    let (state, idem): (String, String) =
        sqlx::query_as("SELECT state, idempotency_key FROM jobs WHERE video_id = $1::uuid")
            .bind(id)
            .fetch_one(&env.services.db)
            .await
            .unwrap();
    assert_eq!(state, "queued");
    assert_eq!(idem, format!("upload:{id}"));
    assert_no_open_uploads(&env).await;

    let metrics = api
        .request(Method::GET, "/metrics", None)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("vod_upload_bytes_total"), "{metrics}");

    drop(api);
    env.cleanup().await;
}

#[tokio::test]
async fn multipart_rejections_leave_nothing_behind() {
    let env = TestEnv::start("api_upload_reject").await;
    let api = spawn_api(&env, |c| c.max_upload_bytes = 64 * 1024).await;
    let token = api.token("uploader").await;
    let post = |form: Form| {
        api.request(Method::POST, "/v1/videos", Some(&token))
            .multipart(form)
            .send()
    };

    let text = b"just some text, not a video at all\n".repeat(40);
    let msg = expect_error(
        post(form(Some("t"), Some(("movie.mp4", text))))
            .await
            .unwrap(),
        415,
        "upload.unsupported_type",
    )
    .await;
    assert!(msg.contains("MP4"), "names what is accepted: {msg}");

    // Announced too large: refused before reading the body.
    let msg = expect_error(
        post(form(
            Some("t"),
            Some(("a.mp4", fake_mp4(100 * 1024 + 1024 * 1024))),
        ))
        .await
        .unwrap(),
        413,
        "upload.too_large",
    )
    .await;
    assert!(msg.contains("65536"), "names the limit: {msg}");

    // Too large while streaming (no Content-Length: chunked body).
    let chunks: Vec<Result<Bytes, std::io::Error>> = fake_mp4(100 * 1024)
        .chunks(16 * 1024)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let part =
        Part::stream(reqwest::Body::wrap_stream(futures::stream::iter(chunks))).file_name("a.mp4");
    let resp = post(Form::new().text("title", "t").part("file", part)).await;
    if let Ok(resp) = resp {
        expect_error(resp, 413, "upload.too_large").await;
    }

    let msg = expect_error(
        post(form(None, Some(("a.mp4", fake_mp4(1000)))))
            .await
            .unwrap(),
        422,
        "upload.invalid_request",
    )
    .await;
    assert!(msg.contains("title"), "{msg}");
    let msg = expect_error(
        post(form(Some("t"), None)).await.unwrap(),
        422,
        "upload.invalid_request",
    )
    .await;
    assert!(msg.contains("file"), "{msg}");
    let msg = expect_error(
        post(form(Some("t"), Some(("a.mp4", Vec::new()))))
            .await
            .unwrap(),
        422,
        "upload.invalid_request",
    )
    .await;
    assert!(msg.contains("empty"), "{msg}");
    let msg = expect_error(
        post(Form::new().text("title", "t").text("colour", "red"))
            .await
            .unwrap(),
        422,
        "upload.invalid_request",
    )
    .await;
    assert!(msg.contains("colour"), "{msg}");
    let resp = api
        .request(Method::POST, "/v1/videos", Some(&token))
        .json(&serde_json::json!({ "title": "t" }))
        .send()
        .await
        .unwrap();
    expect_error(resp, 422, "upload.invalid_request").await;

    assert_no_open_uploads(&env).await;
    assert!(stored_sources(&env).await.is_empty());
    let videos: i64 = sqlx::query_scalar("SELECT count(*) FROM videos")
        .fetch_one(&env.services.db)
        .await
        .unwrap();
    assert_eq!(videos, 0);
    // The process is still serving.
    let resp = api
        .request(Method::GET, "/healthz", None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);

    drop(api);
    env.cleanup().await;
}

/// A client that goes away after a part reached S3: the upload is aborted.
#[tokio::test]
async fn client_disconnect_aborts_the_s3_upload() {
    let env = TestEnv::start("api_upload_disconnect").await;
    let api = spawn_api(&env, |_| {}).await;
    let token = api.token("uploader").await;

    let sources = env.services.sources.clone();
    let prefix = format!("{}/", env.id);
    let mib = Bytes::from(fake_mp4(1024 * 1024));
    let seen_open = Arc::new(AtomicBool::new(false));
    let seen = seen_open.clone();
    // 10 MiB, then wait until S3 shows the upload open, then fail the body.
    let stream = futures::stream::unfold(0u32, move |sent| {
        let (mib, sources, prefix) = (mib.clone(), sources.clone(), prefix.clone());
        let seen = seen.clone();
        async move {
            if sent < 10 {
                return Some((Ok::<Bytes, std::io::Error>(mib), sent + 1));
            }
            if sent == 10 {
                for _ in 0..100 {
                    let open = sources
                        .sdk()
                        .list_multipart_uploads()
                        .bucket(sources.bucket())
                        .prefix(&prefix)
                        .send()
                        .await
                        .unwrap();
                    if !open.uploads().is_empty() {
                        seen.store(true, Ordering::SeqCst);
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                return Some((Err(std::io::Error::other("client gone")), sent + 1));
            }
            None
        }
    });
    let part = Part::stream(reqwest::Body::wrap_stream(stream)).file_name("big.mp4");
    let result = api
        .request(Method::POST, "/v1/videos", Some(&token))
        .multipart(Form::new().text("title", "t").part("file", part))
        .send()
        .await;
    assert!(result.is_err(), "the request was cut off");
    assert!(
        seen_open.load(Ordering::SeqCst),
        "a part reached S3 before the cut"
    );
    assert_no_open_uploads(&env).await;
    assert!(open_uploads(&env).await.is_empty());
    assert!(stored_sources(&env).await.is_empty());

    drop(api);
    env.cleanup().await;
}
