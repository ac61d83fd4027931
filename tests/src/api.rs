//! The API served in-process for tests: the real router on 127.0.0.1:0 with
//! this test's namespaced services, and helpers to call it.

use std::time::{Duration, Instant};

use futures::StreamExt;
use reqwest::{Method, RequestBuilder, Response};
use serde_json::Value;
use vod_api::{ApiConfig, AppState};
use vod_core::{Secret, Services};

use crate::TestEnv;

pub struct ApiHandle {
    pub base_url: String,
    /// Stops the API's background work (the queue relay) when dropped.
    _background: tokio::sync::watch::Sender<bool>,
    /// The bootstrap admin token this server accepts.
    pub admin_token: String,
    pub http: reqwest::Client,
    pub config: ApiConfig,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ApiHandle {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Serves the API for `env`. Sources go under the test's S3 prefix, so
/// `env.cleanup()` removes them; `configure` adjusts anything else.
pub async fn spawn_api(env: &TestEnv, configure: impl FnOnce(&mut ApiConfig)) -> ApiHandle {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    spawn_api_on(env, listener, configure).await
}

/// [`spawn_api`] on a listener the caller bound, for settings that must
/// name the server's own address (such as a CDN base URL).
pub async fn spawn_api_on(
    env: &TestEnv,
    listener: tokio::net::TcpListener,
    configure: impl FnOnce(&mut ApiConfig),
) -> ApiHandle {
    let admin_token = format!("bootstrap-{}", uuid::Uuid::new_v4());
    let mut config = ApiConfig {
        bootstrap_admin_token: Secret::new(admin_token.clone()),
        source_key_prefix: format!("{}/", env.id),
        ..ApiConfig::default()
    };
    configure(&mut config);
    let services = Services::connect(&env.config).await.unwrap();
    let state = AppState::new(
        services,
        vod_api::metrics_handle().unwrap(),
        Duration::from_secs(2),
        config.clone(),
    );
    let addr = listener.local_addr().unwrap();
    let (background, stopped) = tokio::sync::watch::channel(false);
    vod_api::spawn_background(&state, stopped);
    let app = vod_api::router(state);
    let task = tokio::spawn(async move {
        let app = app.into_make_service_with_connect_info::<std::net::SocketAddr>();
        axum::serve(listener, app).await.unwrap();
    });
    ApiHandle {
        base_url: format!("http://{addr}"),
        _background: background,
        admin_token,
        http: reqwest::Client::builder().no_proxy().build().unwrap(),
        config,
        task,
    }
}

impl ApiHandle {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn request(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let req = self.http.request(method, self.url(path));
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    }

    /// `POST /v1/videos` with `form`; asserts 201 and returns the body (`{video, job}`).
    pub async fn upload(&self, token: &str, form: reqwest::multipart::Form) -> Value {
        let resp = self
            .request(Method::POST, "/v1/videos", Some(token))
            .multipart(form)
            .send()
            .await
            .unwrap();
        let (status, body) = status_json(resp).await;
        assert_eq!(status, 201, "{body}");
        body
    }

    /// A new token with `role`, created through the API by the bootstrap admin.
    pub async fn token(&self, role: &str) -> String {
        let resp = self
            .request(Method::POST, "/v1/tokens", Some(&self.admin_token))
            .json(&serde_json::json!({ "name": format!("test {role}"), "role": role }))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 201);
        let body: Value = resp.json().await.unwrap();
        body["token"].as_str().unwrap().to_owned()
    }
}

/// Status and JSON body of a response (`Null` when the body is not JSON).
pub async fn status_json(resp: Response) -> (u16, Value) {
    let status = resp.status().as_u16();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Asserts an error response's status and stable code; returns its message.
pub async fn expect_error(resp: Response, status: u16, code: &str) -> String {
    let (got, body) = status_json(resp).await;
    assert_eq!(got, status, "{body}");
    assert_eq!(body["error"]["code"], code, "{body}");
    body["error"]["message"].as_str().unwrap().to_owned()
}

/// Bytes that start like an MP4 (an `ftyp` box), padded to `len`.
pub fn fake_mp4(len: usize) -> Vec<u8> {
    let mut v = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2".to_vec();
    let mut x = 7u32;
    while v.len() < len {
        x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        v.push((x >> 16) as u8);
    }
    v.truncate(len);
    v
}

/// Keys of S3 multipart uploads still open under this test's prefix.
pub async fn open_uploads(env: &TestEnv) -> Vec<String> {
    let sources = &env.services.sources;
    let out = sources
        .sdk()
        .list_multipart_uploads()
        .bucket(sources.bucket())
        .prefix(format!("{}/", env.id))
        .send()
        .await
        .unwrap();
    out.uploads()
        .iter()
        .filter_map(|u| u.key().map(str::to_owned))
        .collect()
}

/// Waits (aborts after a disconnect run in the background) until no
/// multipart upload is open under this test's prefix.
pub async fn assert_no_open_uploads(env: &TestEnv) {
    let started = Instant::now();
    loop {
        let open = open_uploads(env).await;
        if open.is_empty() {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "multipart uploads left open: {open:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Objects stored under this test's prefix in the sources bucket.
pub async fn stored_sources(env: &TestEnv) -> Vec<vod_core::storage::ObjectMeta> {
    use vod_core::storage::ObjectStore;
    env.services
        .sources
        .list(&format!("{}/", env.id))
        .await
        .unwrap()
}

/// Reads `progress` events until the stream ends (the server closes it after a final state).
pub async fn sse_events(api: &ApiHandle, token: &str, video: uuid::Uuid) -> Vec<Value> {
    sse_events_at(&api.http, &api.base_url, token, video).await
}

/// [`sse_events`] without the handle (for a task of its own).
pub async fn sse_events_at(
    http: &reqwest::Client,
    base_url: &str,
    token: &str,
    video: uuid::Uuid,
) -> Vec<Value> {
    let resp = http
        .get(format!("{base_url}/v1/videos/{video}/events"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "text/event-stream");
    let mut stream = resp.bytes_stream();
    let mut buf = String::new();
    let mut events = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(180), async {
        while let Some(chunk) = stream.next().await {
            buf.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            while let Some(end) = buf.find("\n\n") {
                let block: String = buf.drain(..end + 2).collect();
                if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: ")) {
                    events.push(serde_json::from_str::<Value>(data).unwrap());
                }
            }
        }
    })
    .await;
    assert!(read.is_ok(), "the event stream did not end; got {events:?}");
    events
}
