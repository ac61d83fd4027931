//! Visibility on the three upload paths (multipart is in `signed_playback`)
//! and in PATCH: stored, defaulted to public, unknown values refused.

use reqwest::Method;
use serde_json::{Value, json};
use vod_core::storage::ObjectStore;
use vod_tests::TestEnv;
use vod_tests::api::{expect_error, spawn_api, status_json};

#[tokio::test]
async fn visibility_is_chosen_on_every_upload_path_and_validated() {
    let env = TestEnv::start("visibility_paths").await;
    let api = spawn_api(&env, |c| {
        c.pull_allowed_ips = vec!["127.0.0.1".parse().unwrap()]
    })
    .await;
    let token = api.token("uploader").await;
    let post = |path: &'static str, body: Value| {
        api.request(Method::POST, path, Some(&token))
            .json(&body)
            .send()
    };

    let direct = |visibility: Value| {
        let mut body = json!({ "title": "Direct", "size": 4096, "file_name": "d.mp4" });
        if !visibility.is_null() {
            body["visibility"] = visibility;
        }
        post("/v1/uploads", body)
    };
    let (status, body) = status_json(direct(json!("private")).await.unwrap()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["video"]["visibility"], "private");
    let (status, body) = status_json(direct(Value::Null).await.unwrap()).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["video"]["visibility"], "public", "the default");
    let msg = expect_error(
        direct(json!("hidden")).await.unwrap(),
        422,
        "http.invalid_json",
    )
    .await;
    assert!(msg.contains("visibility"), "{msg}");

    // Pull from this server's own edge route: a loopback origin the test controls.
    let key = env.key("origin/clip.mp4");
    env.services
        .outputs
        .put_bytes(&key, vod_tests::api::fake_mp4(4096).into(), None)
        .await
        .unwrap();
    let url = api.url(&format!("/cdn/{key}"));
    let resp = post(
        "/v1/videos/pull",
        json!({ "url": url, "title": "Pulled", "visibility": "private" }),
    )
    .await
    .unwrap();
    let (status, body) = status_json(resp).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["video"]["visibility"], "private");
    let id = body["video"]["id"].as_str().unwrap();
    let row: String = sqlx::query_scalar("SELECT visibility FROM videos WHERE id = $1::uuid")
        .bind(id)
        .fetch_one(&env.services.db)
        .await
        .unwrap();
    assert_eq!(row, "private");

    let resp = api
        .request(Method::PATCH, &format!("/v1/videos/{id}"), Some(&token))
        .json(&json!({ "visibility": "everyone" }))
        .send()
        .await
        .unwrap();
    expect_error(resp, 422, "http.invalid_json").await;

    // The direct uploads were never completed: abort them so nothing is left open.
    let sources = &env.services.sources;
    let open = sources
        .sdk()
        .list_multipart_uploads()
        .bucket(sources.bucket())
        .prefix(format!("{}/", env.id))
        .send()
        .await
        .unwrap();
    for upload in open.uploads() {
        sources
            .sdk()
            .abort_multipart_upload()
            .bucket(sources.bucket())
            .key(upload.key().unwrap())
            .upload_id(upload.upload_id().unwrap())
            .send()
            .await
            .unwrap();
    }
    vod_tests::api::assert_no_open_uploads(&env).await;
    drop(api);
    env.cleanup().await;
}
