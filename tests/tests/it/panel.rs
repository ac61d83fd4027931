//! The admin panel (`/admin`): its embedded assets and security headers, the
//! sources bucket's CORS rule that lets a browser PUT presigned parts, and
//! the whole panel end to end in Debian's Chromium (`api/panel/e2e/`).

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{self, HeaderMap};
use serde_json::json;
use vod_tests::TestEnv;
use vod_tests::api::{fake_mp4, spawn_api, spawn_api_on, status_json};
use vod_tests::worker::InProcessWorker;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_owned()
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> &'a str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
}

#[tokio::test]
async fn panel_assets_headers_and_sources_cors() {
    let env = TestEnv::start("panel_assets").await;
    let api = spawn_api(&env, |c| {
        c.playback.cdn_base_url = "https://cdn.example.test/media".into();
        c.sources_cors_origins = vec!["*".into()];
    })
    .await;
    vod_api::ensure_sources_cors(&env.services, &api.config)
        .await
        .unwrap();

    let page = api.http.get(api.url("/admin/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let h = page.headers().clone();
    assert!(header(&h, "content-type").starts_with("text/html"));
    let csp = header(&h, "content-security-policy");
    let s3 = env.config.s3.endpoint.clone().unwrap();
    for want in [
        "default-src 'none'",
        "script-src 'self';",
        "media-src 'self' blob: https://cdn.example.test;",
        &format!(
            "connect-src 'self' https://cdn.example.test {};",
            s3.trim_end_matches('/')
        ),
    ] {
        assert!(csp.contains(want), "CSP lacks {want:?}: {csp}");
    }
    assert!(page.text().await.unwrap().contains("app.js"));

    let js = api.http.get(api.url("/admin/app.js")).send().await.unwrap();
    assert_eq!(
        header(js.headers(), "content-type"),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(header(js.headers(), "cache-control"), "no-cache");
    let etag = header(js.headers(), "etag").to_owned();
    assert!(
        js.bytes().await.unwrap().len() > 100_000,
        "hls.js is in the bundle"
    );
    let again = api
        .http
        .get(api.url("/admin/app.js"))
        .header(header::IF_NONE_MATCH, &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 304);
    let css = api
        .http
        .get(api.url("/admin/app.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        header(css.headers(), "content-type"),
        "text/css; charset=utf-8"
    );
    let bare = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .build()
        .unwrap();
    let redirect = bare.get(api.url("/admin")).send().await.unwrap();
    assert_eq!(redirect.status(), 308);
    assert_eq!(header(redirect.headers(), "location"), "/admin/");
    let cfg: serde_json::Value = api
        .http
        .get(api.url("/admin/config.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(cfg["cdn_base_url"], "https://cdn.example.test/media");
    assert!(cfg["direct_upload_threshold"].as_u64().unwrap() > 0);

    // A browser's preflight and PUT against a presigned part URL.
    let origins = env.services.sources.cors_origins().await.unwrap();
    assert!(origins.contains(&"*".to_owned()), "{origins:?}");
    let token = api.token("uploader").await;
    let body = fake_mp4(4096);
    let resp = api
        .request(Method::POST, "/v1/uploads", Some(&token))
        .json(&json!({ "title": "cors", "size": body.len(), "file_name": "a.mp4" }))
        .send()
        .await
        .unwrap();
    let (status, created) = status_json(resp).await;
    assert_eq!(status, 201, "{created}");
    let url = created["upload"]["parts"][0]["url"].as_str().unwrap();
    let origin = api.base_url.clone();
    let preflight = api
        .http
        .request(Method::OPTIONS, url)
        .header(header::ORIGIN, &origin)
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "PUT")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
        .send()
        .await
        .unwrap();
    let ph = preflight.headers().clone();
    assert!(
        preflight.status().is_success(),
        "preflight: {}",
        preflight.status()
    );
    let allowed = header(&ph, "access-control-allow-origin");
    assert!(
        allowed == "*" || allowed == origin,
        "allow-origin {allowed:?}"
    );
    assert!(
        header(&ph, "access-control-allow-methods").contains("PUT"),
        "{ph:?}"
    );
    let put = api
        .http
        .put(url)
        .header(header::ORIGIN, &origin)
        .body(body)
        .send()
        .await
        .unwrap();
    assert!(put.status().is_success(), "PUT {}", put.status());
    let expose = header(put.headers(), "access-control-expose-headers").to_ascii_lowercase();
    assert!(
        expose.contains("etag"),
        "ETag readable by the page: {expose:?}"
    );
    let video_id = created["upload"]["video_id"].as_str().unwrap();
    let done = api
        .request(
            Method::POST,
            &format!("/v1/uploads/{video_id}/complete"),
            Some(&token),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    drop(api);
    env.cleanup().await;
}

/// Signs in, uploads a generated clip through the panel (direct path), sees
/// the progress bar move and the job reach ready over SSE, plays the video
/// (hls.js, two renditions, past 2 s) and hovers the storyboard; screenshots
/// go to `target/artifacts/panel/`.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn panel_end_to_end_in_chromium() {
    let panel = repo().join("api/panel");
    assert!(
        Path::new("/usr/bin/chromium").exists(),
        "/usr/bin/chromium is missing: run `bash infra/up.sh` (infra/lib/browser.sh installs Debian's chromium)"
    );
    assert!(
        panel.join("node_modules/playwright-core").exists(),
        "api/panel/node_modules is missing: run `bash infra/up.sh` or `npm ci` in api/panel"
    );
    let env = TestEnv::start("panel_e2e").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let api = spawn_api_on(&env, listener, |c| {
        // `localhost` is another origin than the page's 127.0.0.1, so the
        // player goes through the edge route's CORS and the CSP's CDN origin.
        c.playback.cdn_base_url = format!("http://localhost:{port}/cdn");
        // The bucket is shared by every test: the same rule as infra/up.sh's.
        c.sources_cors_origins = vec!["*".into()];
    })
    .await;
    vod_api::ensure_sources_cors(&env.services, &api.config)
        .await
        .unwrap();
    let worker = InProcessWorker::start(&env).await;
    let token = api.token("uploader").await;
    // 432p so the ladder has two video rungs (432p, 360p) to switch between
    // (a 360p source has one). Not 854x480: the pipeline drops the poster of
    // sources whose width is not a multiple of 4 (I420 row padding).
    let dir = std::env::temp_dir().join(&env.id);
    let clip = vod_tests::make_clip(&dir, "panel-clip.mp4", 8, 768, 432, true);
    let artifacts = repo().join("target/artifacts/panel");
    let _ = std::fs::remove_dir_all(&artifacts);

    std::fs::create_dir_all(&artifacts).unwrap();
    // Output goes to a file: a pipe nobody reads while we wait could fill up.
    let log_path = artifacts.join("e2e.log");
    let log = std::fs::File::create(&log_path).unwrap();
    let mut child = std::process::Command::new("node")
        .arg(panel.join("e2e/panel.e2e.mjs"))
        .current_dir(&panel)
        .env("VOD_PANEL_URL", &api.base_url)
        .env("VOD_PANEL_TOKEN", &token)
        .env("VOD_PANEL_CLIP", &clip)
        .env("VOD_PANEL_ARTIFACTS", &artifacts)
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .spawn()
        .expect("node must be installed (Node 20+)");
    let started = std::time::Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(420) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let output = std::fs::read_to_string(&log_path).unwrap_or_default();
    let status = status.unwrap_or_else(|| panic!("the browser test ran over 7 minutes:\n{output}"));
    assert!(
        status.success(),
        "panel e2e failed ({status}); artifacts in {}:\n{output}",
        artifacts.display()
    );
    println!("{output}");
    for shot in ["library.png", "video.png"] {
        let len = std::fs::metadata(artifacts.join(shot)).map_or(0, |m| m.len());
        assert!(len > 10_000, "{shot} missing or empty ({len} bytes)");
    }
    // The server side agrees: one video, uploaded directly, transcoded.
    let (status, upload): (String, String) = sqlx::query_as(
        "SELECT v.status, u.state FROM videos v JOIN uploads u ON u.video_id = v.id",
    )
    .fetch_one(&env.services.db)
    .await
    .unwrap();
    assert_eq!((status.as_str(), upload.as_str()), ("ready", "completed"));
    worker.stop().await;
    drop(api);
    let _ = std::fs::remove_dir_all(&dir);
    env.cleanup().await;
}
