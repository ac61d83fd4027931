//! `/cdn/{*key}`: the outputs bucket over HTTP, like CloudFront would serve it.

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{
    ACCEPT_RANGES, ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, CACHE_CONTROL,
    CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE, ETAG, IF_NONE_MATCH, LAST_MODIFIED, RANGE,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vod_core::storage::ObjectStore;
use vod_tests::TestEnv;
use vod_tests::api::{expect_error, spawn_api};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";

#[tokio::test]
async fn edge_serves_outputs_with_types_caching_cors_and_ranges() {
    let env = TestEnv::start("api_edge").await;
    let api = spawn_api(&env, |_| {}).await;
    let outputs = &env.services.outputs;
    let segment: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
    let files: [(&str, Vec<u8>, &str, &str); 4] = [
        (
            "hls/master.m3u8",
            b"#EXTM3U\n".to_vec(),
            "application/vnd.apple.mpegurl",
            "public, max-age=10",
        ),
        (
            "hls/360p/seg_00001.ts",
            segment.clone(),
            "video/mp2t",
            IMMUTABLE,
        ),
        (
            "thumbs/poster.jpg",
            b"\xff\xd8\xff\xe0jpeg".to_vec(),
            "image/jpeg",
            IMMUTABLE,
        ),
        (
            "thumbs/storyboard.vtt",
            b"WEBVTT\n".to_vec(),
            "text/vtt",
            "public, max-age=300",
        ),
    ];
    for (rel, body, _, _) in &files {
        outputs
            .put_bytes(&env.key(rel), Bytes::from(body.clone()), None)
            .await
            .unwrap();
    }
    let cdn = |rel: &str| format!("/cdn/{}", env.key(rel));

    for (rel, body, content_type, cache) in &files {
        let resp = api
            .request(Method::GET, &cdn(rel), None)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "{rel}");
        let h = resp.headers().clone();
        assert_eq!(h[CONTENT_TYPE], *content_type, "{rel}");
        assert_eq!(h[CACHE_CONTROL], *cache, "{rel}");
        assert_eq!(h[ACCESS_CONTROL_ALLOW_ORIGIN], "*", "{rel}");
        assert_eq!(h[ACCEPT_RANGES], "bytes");
        assert!(
            h.contains_key(ETAG) && h.contains_key(LAST_MODIFIED),
            "{h:?}"
        );
        assert_eq!(h[CONTENT_LENGTH], body.len().to_string());
        assert_eq!(
            resp.bytes().await.unwrap(),
            Bytes::from(body.clone()),
            "{rel}"
        );
    }

    let seg = cdn("hls/360p/seg_00001.ts");
    let get_range = |range: &'static str| {
        api.request(Method::GET, &seg, None)
            .header(RANGE, range)
            .send()
    };
    let resp = get_range("bytes=10-19").await.unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()[CONTENT_RANGE], "bytes 10-19/1000");
    assert_eq!(resp.headers()[CACHE_CONTROL], IMMUTABLE);
    assert_eq!(
        resp.bytes().await.unwrap(),
        Bytes::copy_from_slice(&segment[10..20])
    );
    let resp = get_range("bytes=-10").await.unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(
        resp.bytes().await.unwrap(),
        Bytes::copy_from_slice(&segment[990..])
    );
    let resp = get_range("bytes=990-").await.unwrap();
    assert_eq!(resp.status(), 206);
    assert_eq!(resp.headers()[CONTENT_RANGE], "bytes 990-999/1000");
    let resp = get_range("bytes=5000-").await.unwrap();
    assert_eq!(resp.headers()[CONTENT_RANGE], "bytes */1000");
    assert_eq!(resp.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    expect_error(resp, 416, "http.range_not_satisfiable").await;
    // Multiple ranges are not supported: the whole object, as RFC 9110 allows.
    let resp = get_range("bytes=0-1,5-6").await.unwrap();
    assert_eq!(resp.status(), 200);

    // Conditional GET.
    let etag = api
        .request(Method::GET, &seg, None)
        .send()
        .await
        .unwrap()
        .headers()[ETAG]
        .clone();
    let resp = api
        .request(Method::GET, &seg, None)
        .header(IF_NONE_MATCH, etag)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 304);

    let resp = api.request(Method::HEAD, &seg, None).send().await.unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()[CONTENT_LENGTH], "1000");
    assert_eq!(resp.headers()[CONTENT_TYPE], "video/mp2t");

    let resp = api
        .request(Method::OPTIONS, &seg, None)
        .header("Origin", "https://player.example")
        .header("Access-Control-Request-Method", "GET")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 204);
    assert_eq!(resp.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    assert!(
        resp.headers()[ACCESS_CONTROL_ALLOW_METHODS]
            .to_str()
            .unwrap()
            .contains("GET")
    );

    let resp = api
        .request(Method::GET, &cdn("hls/missing.m3u8"), None)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()[ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    expect_error(resp, 404, "http.not_found").await;

    // `..` must reach the server unnormalised, so send the request by hand.
    let addr = api.base_url.trim_start_matches("http://").to_owned();
    let mut conn = tokio::net::TcpStream::connect(&addr).await.unwrap();
    let request = format!(
        "GET /cdn/{}/../secret HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n",
        env.id
    );
    conn.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");

    drop(api);
    env.cleanup().await;
}
