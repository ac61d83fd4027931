//! A private video end to end: uploaded private, transcoded by a real
//! worker, its view's URLs signed, the edge route refusing every unsigned
//! playlist, segment and thumbnail and accepting signed URLs, the session
//! cookies (ffprobe plays the whole ladder with them) and their query form.

use std::time::Duration;

use reqwest::header::{CACHE_CONTROL, COOKIE, SET_COOKIE};
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use vod_core::Secret;
use vod_core::cdn::{CdnKey, Policy, UrlSigner, epoch_now};
use vod_tests::TestEnv;
use vod_tests::api::{ApiHandle, expect_error, spawn_api, status_json};
use vod_tests::worker::{InProcessWorker, is_terminal, wait_for_job};

const KEY_PAIR_ID: &str = "KVODTESTKEY01";
/// The configured CDN base (the default); the test server listens elsewhere.
const CDN: &str = "http://127.0.0.1:8080/cdn";

fn openssl_private_key() -> String {
    let out = std::process::Command::new("openssl")
        .args(["genrsa", "2048"])
        .output()
        .expect("openssl must be installed (infra/up.sh installs it)");
    assert!(out.status.success(), "openssl genrsa failed");
    String::from_utf8(out.stdout).unwrap()
}

struct Edge<'a> {
    api: &'a ApiHandle,
}

impl Edge<'_> {
    /// A CDN URL (as the API hands them out) on the test server.
    fn local(&self, url: &str) -> String {
        assert!(url.starts_with(CDN), "{url}");
        url.replacen(CDN, &self.api.url("/cdn"), 1)
    }

    async fn get(&self, url: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut req = self.api.http.get(self.local(url));
        if let Some(c) = cookie {
            req = req.header(COOKIE, c);
        }
        req.send().await.unwrap()
    }

    async fn ok(&self, url: &str, cookie: Option<&str>) -> String {
        let resp = self.get(url, cookie).await;
        assert_eq!(resp.status(), StatusCode::OK, "{url}");
        let cache = resp.headers()[CACHE_CONTROL].to_str().unwrap().to_owned();
        assert!(cache.starts_with("private"), "{url}: {cache}");
        String::from_utf8_lossy(&resp.bytes().await.unwrap()).into_owned()
    }

    async fn refused(&self, url: &str, cookie: Option<&str>, code: &str) {
        let resp = self.get(url, cookie).await;
        assert_eq!(resp.headers()["access-control-allow-origin"], "*", "{url}");
        let message = expect_error(resp, 403, code).await;
        assert!(!message.is_empty());
    }
}

/// The first line of a playlist or storyboard that names another file.
fn first_reference(body: &str) -> String {
    body.lines()
        .map(str::trim)
        .find(|l| l.ends_with(".ts") || l.ends_with(".m3u8") || l.contains(".jpg#"))
        .unwrap_or_else(|| panic!("no reference in {body}"))
        .split('#')
        .next()
        .unwrap()
        .to_owned()
}

fn is_signed(url: &str) -> bool {
    url.contains("?Expires=") && url.contains(&format!("&Key-Pair-Id={KEY_PAIR_ID}"))
}

async fn view(api: &ApiHandle, token: &str, id: &str) -> Value {
    let resp = api
        .request(Method::GET, &format!("/v1/videos/{id}"), Some(token))
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(resp).await;
    assert_eq!(status, 200, "{body}");
    body
}

async fn session(api: &ApiHandle, token: &str, id: &str) -> (Vec<String>, Value) {
    let resp = api
        .request(
            Method::POST,
            &format!("/v1/videos/{id}/playback-session"),
            Some(token),
        )
        .send()
        .await
        .unwrap();
    let set_cookies = resp
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let (status, body) = status_json(resp).await;
    assert_eq!(status, 200, "{body}");
    (set_cookies, body)
}

async fn patch_visibility(api: &ApiHandle, token: &str, id: &str, visibility: &str) {
    let resp = api
        .request(Method::PATCH, &format!("/v1/videos/{id}"), Some(token))
        .json(&json!({ "visibility": visibility }))
        .send()
        .await
        .unwrap();
    let (status, body) = status_json(resp).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["visibility"], visibility);
}

#[tokio::test]
async fn private_videos_play_only_with_signed_urls_or_cookies() {
    let env = TestEnv::start("signed_playback").await;
    let pem = openssl_private_key();
    let key = pem.clone();
    let api = spawn_api(&env, move |c| {
        c.cdn_signing.key_pair_id = Some(KEY_PAIR_ID.into());
        c.cdn_signing.private_key = Some(Secret::new(key));
        c.cdn_signing.signed_url_ttl = Duration::from_secs(600);
    })
    .await;
    let signer = UrlSigner::new(KEY_PAIR_ID, &CdnKey::from_pem(&pem).unwrap()).unwrap();
    let uploader = api.token("uploader").await;
    let viewer = api.token("viewer").await;
    let dir = std::env::temp_dir().join(format!("vod-it-{}", env.id));
    let clip = std::fs::read(vod_tests::make_clip(&dir, "p.mp4", 3, 320, 240, true)).unwrap();
    let form = |visibility: &str| {
        Form::new()
            .text("title", "Private rehearsal")
            .text("visibility", visibility.to_owned())
            .part("file", Part::bytes(clip.clone()).file_name("p.mp4"))
    };
    let resp = api
        .request(Method::POST, "/v1/videos", Some(&uploader))
        .multipart(form("secret"))
        .send()
        .await
        .unwrap();
    expect_error(resp, 422, "upload.invalid_request").await;

    let worker = InProcessWorker::start(&env).await;
    let created = api.upload(&uploader, form("private")).await;
    assert_eq!(created["video"]["visibility"], "private", "{created}");
    let id = created["video"]["id"].as_str().unwrap().to_owned();
    let job = created["job"]["id"].as_str().unwrap().parse().unwrap();
    let done = wait_for_job(&env, job, Duration::from_secs(180), is_terminal).await;
    assert_eq!(done.state, "succeeded", "{done:?}");
    worker.stop().await;

    // The view: every CDN URL carries a canned-policy signature.
    let v = view(&api, &viewer, &id).await;
    assert_eq!(v["visibility"], "private");
    let mut urls: Vec<String> = ["playback_url", "poster_url", "storyboard_url"]
        .iter()
        .map(|k| {
            v[k].as_str()
                .unwrap_or_else(|| panic!("{k}: {v}"))
                .to_owned()
        })
        .collect();
    for r in v["renditions"].as_array().unwrap() {
        urls.push(r["playlist_url"].as_str().unwrap().to_owned());
    }
    assert!(urls.len() >= 5, "{v}");
    assert!(urls.iter().all(|u| is_signed(u)), "{urls:#?}");
    let expires = chrono::DateTime::parse_from_rfc3339(v["urls_expire_at"].as_str().unwrap())
        .unwrap()
        .timestamp();
    let now = i64::try_from(epoch_now()).unwrap();
    assert!(
        (now + 590..=now + 610).contains(&expires),
        "{expires} vs {now}"
    );

    let edge = Edge { api: &api };
    let base = |u: &str| u.split('?').next().unwrap().to_owned();
    let master = base(&urls[0]);
    let prefix = master.trim_end_matches("hls/master.m3u8").to_owned();
    let rendition_playlist = base(&urls[3]);
    let rendition_dir = rendition_playlist.trim_end_matches("index.m3u8").to_owned();

    // Signed view URLs open their object; the unsigned URLs of everything are refused.
    assert!(edge.ok(&urls[0], None).await.starts_with("#EXTM3U"));
    let playlist = edge.ok(&urls[3], None).await;
    let segment = format!("{rendition_dir}{}", first_reference(&playlist));
    let storyboard = edge.ok(&urls[2], None).await;
    let sprite = format!("{prefix}thumbs/{}", first_reference(&storyboard));
    assert!(edge.ok(&urls[1], None).await.len() > 100, "poster");
    for url in [
        &master,
        &rendition_playlist,
        &segment,
        &base(&urls[1]),
        &base(&urls[2]),
        &sprite,
    ] {
        edge.refused(url, None, "cdn.missing_signature").await;
    }
    let head = api.http.head(edge.local(&segment)).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::FORBIDDEN);
    // A view URL's signature covers its own object only.
    let moved = urls[0].replacen("hls/master.m3u8", "hls/other.m3u8", 1);
    edge.refused(&moved, None, "cdn.bad_signature").await;

    // Expiry, tampering and foreign keys, with URLs this test signs itself.
    let now = epoch_now();
    let expired = signer.canned_url(&segment, now - 5).unwrap();
    edge.refused(&expired, None, "cdn.expired").await;
    let fresh = signer.canned_url(&segment, now + 60).unwrap();
    assert!(!edge.ok(&fresh, None).await.is_empty());
    let stretched = expired.replace(
        &format!("Expires={}", now - 5),
        &format!("Expires={}", now + 60),
    );
    edge.refused(&stretched, None, "cdn.bad_signature").await;
    let foreign = fresh.replace(KEY_PAIR_ID, "KSOMEOTHERKEY");
    edge.refused(&foreign, None, "cdn.unknown_key_pair").await;
    let whole_video = Policy::custom(format!("{prefix}*"), now + 60);
    let from_here = whole_video
        .clone()
        .source_ip("127.0.0.1/32".parse().unwrap());
    edge.ok(&signer.custom_url(&segment, &from_here).unwrap(), None)
        .await;
    let elsewhere = whole_video
        .clone()
        .source_ip("192.0.2.0/24".parse().unwrap());
    edge.refused(
        &signer.custom_url(&segment, &elsewhere).unwrap(),
        None,
        "cdn.ip_mismatch",
    )
    .await;
    let later = whole_video.clone().not_before(now + 30);
    edge.refused(
        &signer.custom_url(&segment, &later).unwrap(),
        None,
        "cdn.not_yet_valid",
    )
    .await;

    // The playback session: three cookies over the video prefix, and their query form.
    let (set_cookies, grant) = session(&api, &viewer, &id).await;
    assert_eq!(grant["signed"], true, "{grant}");
    assert_eq!(set_cookies.len(), 3, "{set_cookies:?}");
    for c in &set_cookies {
        assert!(c.starts_with("CloudFront-"), "{c}");
        assert!(c.contains(&format!("; Path=/cdn/videos/{id}/;")), "{c}");
        assert!(c.contains("HttpOnly") && c.contains("Max-Age=600"), "{c}");
    }
    assert_eq!(grant["resource"], format!("{prefix}*"));
    let cookie_pairs: Vec<String> = grant["cookies"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap()))
        .collect();
    let cookie = cookie_pairs.join("; ");
    for url in [
        &master,
        &rendition_playlist,
        &segment,
        &sprite,
        &base(&urls[1]),
    ] {
        edge.ok(url, Some(&cookie)).await;
    }
    let query = grant["query"].as_str().unwrap();
    edge.ok(&format!("{segment}?{query}"), None).await;
    assert!(
        edge.ok(grant["playback_url"].as_str().unwrap(), None)
            .await
            .starts_with("#EXTM3U")
    );
    let tampered = cookie.replacen("CloudFront-Signature=", "CloudFront-Signature=A", 1);
    edge.refused(&segment, Some(&tampered), "cdn.bad_signature")
        .await;

    // A player with only the cookies: ffprobe follows the master to every rendition.
    let local_master = edge.local(&master);
    let probe = |cookies: Option<String>| {
        let url = local_master.clone();
        tokio::task::spawn_blocking(move || {
            let mut cmd = std::process::Command::new("ffprobe");
            cmd.args(["-v", "error"]);
            if let Some(c) = cookies {
                cmd.args(["-cookies", &c]);
            }
            cmd.args(["-show_entries", "stream=codec_name", "-of", "json", &url])
                .output()
                .expect("ffprobe must be installed")
        })
    };
    let jar: String = cookie_pairs
        .iter()
        .map(|c| format!("{c}; path=/cdn/videos/{id}/;\n"))
        .collect();
    let played = probe(Some(jar)).await.unwrap();
    assert!(
        played.status.success(),
        "{}",
        String::from_utf8_lossy(&played.stderr)
    );
    let streams: Value = serde_json::from_slice(&played.stdout).unwrap();
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
    assert!(
        !probe(None).await.unwrap().status.success(),
        "unsigned playback must fail"
    );

    // The cookies of one video open nothing of another private video.
    let other = api.upload(&uploader, form("private")).await;
    let other_id = other["video"]["id"].as_str().unwrap();
    let other_master = master.replace(&id, other_id);
    edge.refused(&other_master, Some(&cookie), "cdn.resource_mismatch")
        .await;

    // Made public, the video plays unsigned; made private again, it does not.
    patch_visibility(&api, &uploader, &id, "public").await;
    let public = view(&api, &viewer, &id).await;
    assert_eq!(
        public["playback_url"].as_str().unwrap(),
        master,
        "unsigned, cache invalidated"
    );
    assert!(public.get("urls_expire_at").is_none(), "{public}");
    let resp = edge.get(&segment, None).await;
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()[CACHE_CONTROL]
            .to_str()
            .unwrap()
            .starts_with("public")
    );
    let (set_cookies, grant) = session(&api, &viewer, &id).await;
    assert_eq!(grant["signed"], false, "{grant}");
    assert!(set_cookies.is_empty());
    patch_visibility(&api, &uploader, &id, "private").await;
    edge.refused(&segment, None, "cdn.missing_signature").await;

    for video in [id.as_str(), other_id] {
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
    }
    let _ = std::fs::remove_dir_all(&dir);
    drop(api);
    env.cleanup().await;
}
