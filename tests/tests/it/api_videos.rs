//! Reads, metadata edits, the Redis read cache and catalog search.

use reqwest::Method;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};
use vod_core::catalog::CatalogEntry;
use vod_tests::TestEnv;
use vod_tests::api::{ApiHandle, expect_error, fake_mp4, spawn_api, status_json};

async fn upload(api: &ApiHandle, token: &str, title: &str, tags: &str) -> Value {
    let form = Form::new()
        .text("title", title.to_owned())
        .text("tags", tags.to_owned())
        .part("file", Part::bytes(fake_mp4(4096)).file_name("a.mp4"));
    api.upload(token, form).await
}

#[tokio::test]
async fn reads_edits_cache_and_search() {
    let env = TestEnv::start("api_videos").await;
    env.services.catalog.ensure_indexes().await.unwrap();
    let api = spawn_api(&env, |_| {}).await;
    let uploader = api.token("uploader").await;
    let viewer = api.token("viewer").await;
    let a = upload(&api, &uploader, "Harbour at dusk", "travel,sea").await;
    let b = upload(&api, &uploader, "Pasta night", "food").await;
    let id = a["video"]["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/videos/{id}");

    let get = |token: &str| api.request(Method::GET, &path, Some(token)).send();
    let (status, video) = status_json(get(&viewer).await.unwrap()).await;
    assert_eq!(status, 200, "{video}");
    assert_eq!(video["title"], "Harbour at dusk");
    let cached = env
        .services
        .cache
        .get(&format!("video:{id}"))
        .await
        .unwrap();
    assert!(cached.is_some(), "the read is cached");

    // The catalog has an entry once a video is registered; PATCH keeps it in step.
    let entry = CatalogEntry {
        id: id.clone(),
        title: "Harbour at dusk".into(),
        description: String::new(),
        tags: vec!["travel".into()],
        status: "ready".into(),
        duration_s: None,
        playback_url: None,
        poster_url: None,
        storyboard_url: None,
        renditions: vec![],
        updated_at: chrono::Utc::now().to_rfc3339(),
    };
    env.services.catalog.upsert(&entry).await.unwrap();

    let resp = api
        .request(Method::PATCH, &path, Some(&viewer))
        .json(&json!({ "title": "x" }))
        .send()
        .await
        .unwrap();
    expect_error(resp, 403, "auth.forbidden").await;
    let resp = api
        .request(Method::PATCH, &path, Some(&uploader))
        .json(&json!({ "title": "Lighthouse at dusk", "tags": ["travel", "coast"] }))
        .send()
        .await
        .unwrap();
    let (status, patched) = status_json(resp).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["tags"], json!(["travel", "coast"]));
    let (_, video) = status_json(get(&viewer).await.unwrap()).await;
    assert_eq!(
        video["title"], "Lighthouse at dusk",
        "cache was invalidated"
    );
    let entry = env.services.catalog.get(&id).await.unwrap().unwrap();
    assert_eq!(entry.title, "Lighthouse at dusk");
    assert_eq!(entry.tags, ["travel", "coast"]);
    for bad in [
        json!({}),
        json!({ "title": "" }),
        json!({ "colour": "red" }),
    ] {
        let resp = api
            .request(Method::PATCH, &path, Some(&uploader))
            .json(&bad)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 422, "{bad}");
    }

    let list = |query: &str| {
        api.request(Method::GET, &format!("/v1/videos{query}"), Some(&viewer))
            .send()
    };
    let ids = |body: &Value| -> Vec<String> {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let b_id = b["video"]["id"].as_str().unwrap().to_owned();
    let (_, all) = status_json(list("").await.unwrap()).await;
    assert_eq!(ids(&all), [b_id.clone(), id.clone()], "newest first");
    let (_, page) = status_json(list("?per_page=1&page=2").await.unwrap()).await;
    assert_eq!(ids(&page), std::slice::from_ref(&id));
    assert_eq!(page["has_more"], false);
    let (_, food) = status_json(list("?tag=food&status=queued").await.unwrap()).await;
    assert_eq!(ids(&food), std::slice::from_ref(&b_id));
    let (_, found) = status_json(list("?q=lighthouse").await.unwrap()).await;
    assert_eq!(ids(&found), std::slice::from_ref(&id));
    expect_error(
        list("?status=bogus").await.unwrap(),
        400,
        "http.bad_request",
    )
    .await;
    expect_error(list("?page=0").await.unwrap(), 400, "http.bad_request").await;

    let job_id = a["job"]["id"].as_str().unwrap();
    let resp = api
        .request(Method::GET, &format!("/v1/jobs/{job_id}"), Some(&viewer))
        .send()
        .await
        .unwrap();
    let (status, job) = status_json(resp).await;
    assert_eq!(status, 200, "{job}");
    assert_eq!(job["video_id"], id.as_str());
    let unknown = uuid::Uuid::now_v7();
    for p in [
        format!("/v1/jobs/{unknown}"),
        format!("/v1/videos/{unknown}"),
    ] {
        let resp = api
            .request(Method::GET, &p, Some(&viewer))
            .send()
            .await
            .unwrap();
        expect_error(resp, 404, "http.not_found").await;
    }
    let resp = api
        .request(Method::GET, "/v1/videos/nope", Some(&viewer))
        .send()
        .await
        .unwrap();
    expect_error(resp, 400, "http.bad_request").await;

    drop(api);
    env.cleanup().await;
}
