//! Bearer tokens: hashed storage, roles, revocation, public routes.

use reqwest::Method;
use reqwest::header::WWW_AUTHENTICATE;
use sha2::Digest;
use vod_tests::TestEnv;
use vod_tests::api::{expect_error, spawn_api, status_json};

#[tokio::test]
async fn tokens_roles_and_revocation() {
    let env = TestEnv::start("api_auth").await;
    let api = spawn_api(&env, |_| {}).await;

    // Public routes need no token.
    for path in ["/healthz", "/metrics"] {
        let resp = api.request(Method::GET, path, None).send().await.unwrap();
        assert_eq!(resp.status(), 200, "{path}");
    }

    let resp = api
        .request(Method::GET, "/v1/videos", None)
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers()[WWW_AUTHENTICATE].to_str().unwrap(),
        "Bearer realm=\"vod\""
    );
    expect_error(resp, 401, "auth.missing_token").await;

    let resp = api
        .request(Method::GET, "/v1/videos", Some("vod_not-a-real-token"))
        .send()
        .await
        .unwrap();
    assert!(
        resp.headers()[WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    let msg = expect_error(resp, 401, "auth.invalid_token").await;
    assert!(msg.contains("unknown"), "{msg}");

    let resp = api
        .http
        .get(api.url("/v1/videos"))
        .basic_auth("admin", Some("pw"))
        .send()
        .await
        .unwrap();
    expect_error(resp, 401, "auth.invalid_token").await;

    // Admin creates a viewer token; only its hash is stored.
    let resp = api
        .request(Method::POST, "/v1/tokens", Some(&api.admin_token))
        .json(&serde_json::json!({ "name": "player", "role": "viewer" }))
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(resp).await;
    assert_eq!(status, 201, "{body}");
    let viewer = body["token"].as_str().unwrap().to_owned();
    let id = body["id"].as_str().unwrap().to_owned();
    let stored: Vec<u8> =
        sqlx::query_scalar("SELECT token_hash FROM api_tokens WHERE id = $1::uuid")
            .bind(&id)
            .fetch_one(&env.services.db)
            .await
            .unwrap();
    assert_eq!(stored, sha2::Sha256::digest(viewer.as_bytes()).to_vec());

    let listed = api
        .request(Method::GET, "/v1/tokens", Some(&api.admin_token))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("player") && !listed.contains(&viewer),
        "{listed}"
    );

    // Viewer reads, but may not upload or manage tokens.
    let resp = api
        .request(Method::GET, "/v1/videos", Some(&viewer))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let resp = api
        .request(Method::POST, "/v1/uploads", Some(&viewer))
        .json(&serde_json::json!({ "title": "x", "size": 10 }))
        .send()
        .await
        .unwrap();
    let msg = expect_error(resp, 403, "auth.forbidden").await;
    assert!(msg.contains("uploader") && msg.contains("viewer"), "{msg}");
    let resp = api
        .request(Method::POST, "/v1/videos", Some(&viewer))
        .send()
        .await
        .unwrap();
    expect_error(resp, 403, "auth.forbidden").await;
    let resp = api
        .request(Method::POST, "/v1/tokens", Some(&viewer))
        .json(&serde_json::json!({ "name": "x", "role": "admin" }))
        .send()
        .await
        .unwrap();
    let msg = expect_error(resp, 403, "auth.forbidden").await;
    assert!(msg.contains("admin"), "{msg}");

    // Uploader may create uploads (here: a request that then fails validation).
    let uploader = api.token("uploader").await;
    let resp = api
        .request(Method::POST, "/v1/uploads", Some(&uploader))
        .json(&serde_json::json!({ "size": 10 }))
        .send()
        .await
        .unwrap();
    expect_error(resp, 422, "upload.invalid_request").await;

    // Bad token requests.
    let resp = api
        .request(Method::POST, "/v1/tokens", Some(&api.admin_token))
        .json(&serde_json::json!({ "name": "x", "role": "root" }))
        .send()
        .await
        .unwrap();
    expect_error(resp, 422, "http.invalid_json").await;

    // Revocation takes effect at once and is idempotent.
    for _ in 0..2 {
        let resp = api
            .request(
                Method::DELETE,
                &format!("/v1/tokens/{id}"),
                Some(&api.admin_token),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 204);
    }
    let resp = api
        .request(Method::GET, "/v1/videos", Some(&viewer))
        .send()
        .await
        .unwrap();
    let msg = expect_error(resp, 401, "auth.invalid_token").await;
    assert!(msg.contains("revoked"), "{msg}");
    let unknown = uuid::Uuid::now_v7();
    let resp = api
        .request(
            Method::DELETE,
            &format!("/v1/tokens/{unknown}"),
            Some(&api.admin_token),
        )
        .send()
        .await
        .unwrap();
    expect_error(resp, 404, "http.not_found").await;
    let resp = api
        .request(
            Method::DELETE,
            "/v1/tokens/not-a-uuid",
            Some(&api.admin_token),
        )
        .send()
        .await
        .unwrap();
    expect_error(resp, 400, "http.bad_request").await;

    drop(api);
    env.cleanup().await;
}
