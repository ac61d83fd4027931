//! Direct uploads: presigned part URLs against the real S3 (Garage).

use reqwest::Method;
use serde_json::Value;
use vod_core::storage::ObjectStore;
use vod_tests::TestEnv;
use vod_tests::api::{
    ApiHandle, assert_no_open_uploads, expect_error, fake_mp4, spawn_api, status_json,
};

async fn create(api: &ApiHandle, token: &str, body: Value) -> (u16, Value) {
    let resp = api
        .request(Method::POST, "/v1/uploads", Some(token))
        .json(&body)
        .send()
        .await
        .unwrap();
    status_json(resp).await
}

async fn put_part(api: &ApiHandle, url: &str, bytes: Vec<u8>) {
    let resp = api.http.put(url).body(bytes).send().await.unwrap();
    let status = resp.status();
    assert!(
        status.is_success(),
        "{status}: {}",
        resp.text().await.unwrap()
    );
}

fn part_url(parts: &Value, n: u64) -> String {
    parts
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["part_number"] == n)
        .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn direct_upload_with_presigned_parts_resumes_and_completes() {
    let env = TestEnv::start("api_direct").await;
    let api = spawn_api(&env, |_| {}).await;
    let token = api.token("uploader").await;
    let file = fake_mp4(9 * 1024 * 1024 + 100);
    let (status, body) = create(
        &api,
        &token,
        serde_json::json!({ "title": "Direct", "tags": ["x"], "size": file.len(), "file_name": "d.mov" }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["video"]["status"], "uploading");
    let upload = &body["upload"];
    let id = upload["video_id"].as_str().unwrap().to_owned();
    assert_eq!(upload["part_count"], 2);
    assert_eq!(upload["part_size"], 8 * 1024 * 1024);
    assert_eq!(upload["parts"][1]["size"], 100 + 1024 * 1024);
    let part_size = 8 * 1024 * 1024;

    // Completing early names the missing part and keeps the upload open.
    let complete = format!("/v1/uploads/{id}/complete");
    let resp = api
        .request(Method::POST, &complete, Some(&token))
        .send()
        .await
        .unwrap();
    expect_error(resp, 422, "upload.incomplete").await;

    put_part(
        &api,
        &part_url(&upload["parts"], 1),
        file[..part_size].to_vec(),
    )
    .await;

    // The client lost its state: list what S3 has and get URLs for the rest.
    let resp = api
        .request(
            Method::GET,
            &format!("/v1/uploads/{id}/parts"),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    let (status, listing) = status_json(resp).await;
    assert_eq!(status, 200, "{listing}");
    assert_eq!(listing["parts"].as_array().unwrap().len(), 1);
    assert_eq!(listing["parts"][0]["size"], part_size);
    assert_eq!(listing["missing"].as_array().unwrap().len(), 1);
    put_part(
        &api,
        &part_url(&listing["missing"], 2),
        file[part_size..].to_vec(),
    )
    .await;

    let resp = api
        .request(Method::POST, &complete, Some(&token))
        .send()
        .await
        .unwrap();
    let (status, done) = status_json(resp).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["video"]["status"], "queued");
    assert_eq!(done["job"]["state"], "queued");
    let key = done["video"]["source_key"].as_str().unwrap();
    assert!(key.ends_with("/source.mov"), "{key}");
    let meta = env.services.sources.head(key).await.unwrap().unwrap();
    assert_eq!(meta.size, file.len() as u64);

    // Completing again is harmless: same job.
    let resp = api
        .request(Method::POST, &complete, Some(&token))
        .send()
        .await
        .unwrap();
    let (status, again) = status_json(resp).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["job"]["id"], done["job"]["id"]);
    assert_no_open_uploads(&env).await;

    drop(api);
    env.cleanup().await;
}

#[tokio::test]
async fn direct_upload_rejections() {
    let env = TestEnv::start("api_direct_reject").await;
    let api = spawn_api(&env, |c| c.max_upload_bytes = 1024 * 1024).await;
    let token = api.token("uploader").await;

    let (status, body) = create(
        &api,
        &token,
        serde_json::json!({ "title": "t", "size": 2_000_000 }),
    )
    .await;
    assert_eq!(
        (status, &body["error"]["code"]),
        (413, &"upload.too_large".into()),
        "{body}"
    );
    let (status, body) = create(&api, &token, serde_json::json!({ "size": 10 })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("title"));
    let (status, body) = create(&api, &token, serde_json::json!({ "title": "t" })).await;
    assert_eq!(status, 422, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("size"));
    let (status, _) = create(&api, &token, serde_json::json!({ "title": "t", "size": 0 })).await;
    assert_eq!(status, 422);

    // A text file uploaded directly is caught at completion, deleted, and the video failed.
    let text = b"hello, this is not a video\n".repeat(10);
    let (status, body) = create(
        &api,
        &token,
        serde_json::json!({ "title": "t", "size": text.len() }),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    let id = body["upload"]["video_id"].as_str().unwrap().to_owned();
    put_part(&api, &part_url(&body["upload"]["parts"], 1), text).await;
    let resp = api
        .request(
            Method::POST,
            &format!("/v1/uploads/{id}/complete"),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    expect_error(resp, 415, "upload.unsupported_type").await;
    let key = body["video"]["source_key"].as_str().unwrap();
    assert!(env.services.sources.head(key).await.unwrap().is_none());
    let status: String = sqlx::query_scalar("SELECT status FROM videos WHERE id = $1::uuid")
        .bind(&id)
        .fetch_one(&env.services.db)
        .await
        .unwrap();
    assert_eq!(status, "failed");
    let resp = api
        .request(
            Method::POST,
            &format!("/v1/uploads/{id}/complete"),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    expect_error(resp, 409, "http.conflict").await;

    let resp = api
        .request(
            Method::POST,
            &format!("/v1/uploads/{}/complete", uuid::Uuid::now_v7()),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "http.not_found").await;
    assert_no_open_uploads(&env).await;

    drop(api);
    env.cleanup().await;
}
