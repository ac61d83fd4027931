//! A local HTTP server standing in for the regional MediaConvert endpoint:
//! it records what the real SDK client sends and answers with scripted
//! REST-JSON responses and error bodies shaped per the service model.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use vod_mediaconvert::{MediaConvert, MediaConvertConfig};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Option<Value>,
}

/// A scripted answer: a JSON body with a status, or a modelled error
/// (`x-amzn-ErrorType` header + `{"message": …}`).
#[derive(Debug, Clone)]
pub enum Reply {
    Json(u16, Value),
    Error(u16, &'static str, String),
}

impl Reply {
    /// A `GetJob` answer for a job in `status`, with extra `job` members.
    pub fn job(status: &str, extra: Value) -> Self {
        let mut job = json!({
            "id": JOB_ID,
            "arn": format!("arn:aws:mediaconvert:us-east-1:111122223333:jobs/{JOB_ID}"),
            "role": ROLE,
            "settings": {},
            "status": status,
            "createdAt": 1_700_000_000,
        });
        if let (Some(job), Value::Object(extra)) = (job.as_object_mut(), extra) {
            job.extend(extra);
        }
        Self::Json(200, json!({ "job": job }))
    }
}

pub const JOB_ID: &str = "1700000000000-abc123";
pub const ROLE: &str = "arn:aws:iam::111122223333:role/vod-mediaconvert";

#[derive(Default)]
pub struct Script {
    pub requests: Vec<Recorded>,
    pub create: VecDeque<Reply>,
    /// Popped per `GetJob`; the last one repeats once the queue is empty.
    pub get: VecDeque<Reply>,
    last_get: Option<Reply>,
}

#[derive(Clone)]
pub struct StandIn {
    pub url: String,
    pub script: Arc<Mutex<Script>>,
}

type Shared = Arc<Mutex<Script>>;

fn lock(s: &Shared) -> std::sync::MutexGuard<'_, Script> {
    s.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn respond(reply: Reply) -> Response {
    match reply {
        Reply::Json(status, body) => (
            StatusCode::from_u16(status).unwrap(),
            [("content-type", "application/json")],
            body.to_string(),
        )
            .into_response(),
        Reply::Error(status, kind, message) => (
            StatusCode::from_u16(status).unwrap(),
            [
                ("content-type", "application/json".to_owned()),
                // AWS appends the shape's namespace after a colon at times.
                (
                    "x-amzn-errortype",
                    format!("{kind}:http://internal.amazon.com/coral/com.amazonaws.mediaconvert/"),
                ),
            ],
            json!({ "message": message }).to_string(),
        )
            .into_response(),
    }
}

fn record(s: &Shared, method: Method, path: String, headers: HeaderMap, body: &Bytes) {
    let body = (!body.is_empty()).then(|| serde_json::from_slice(body).expect("JSON body"));
    lock(s).requests.push(Recorded {
        method,
        path,
        headers,
        body,
    });
}

async fn create(State(s): State<Shared>, headers: HeaderMap, body: Bytes) -> Response {
    record(&s, Method::POST, "/2017-08-29/jobs".into(), headers, &body);
    let scripted = lock(&s).create.pop_front();
    respond(scripted.unwrap_or_else(|| {
        let req: Value = serde_json::from_slice(&body).unwrap_or_default();
        let mut job = json!({
            "id": JOB_ID,
            "role": req["role"],
            "settings": req["settings"],
            "status": "SUBMITTED",
            "createdAt": 1_700_000_000,
        });
        if let Some(q) = req.get("queue") {
            job["queue"] = q.clone();
        }
        Reply::Json(201, json!({ "job": job }))
    }))
}

async fn get_job(State(s): State<Shared>, Path(id): Path<String>, headers: HeaderMap) -> Response {
    record(
        &s,
        Method::GET,
        format!("/2017-08-29/jobs/{id}"),
        headers,
        &Bytes::new(),
    );
    let mut script = lock(&s);
    let reply = script.get.pop_front().or_else(|| script.last_get.clone());
    script.last_get = reply.clone();
    drop(script);
    respond(reply.unwrap_or_else(|| Reply::Error(404, "NotFoundException", format!("no job {id}"))))
}

async fn cancel_job(
    State(s): State<Shared>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Response {
    record(
        &s,
        Method::DELETE,
        format!("/2017-08-29/jobs/{id}"),
        headers,
        &Bytes::new(),
    );
    respond(Reply::Json(202, json!({})))
}

impl StandIn {
    pub async fn start() -> Self {
        let script: Shared = Arc::default();
        let app = Router::new()
            .route("/2017-08-29/jobs", post(create))
            .route("/2017-08-29/jobs/{id}", get(get_job).delete(cancel_job))
            .with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, script }
    }

    pub fn config(&self) -> MediaConvertConfig {
        MediaConvertConfig {
            endpoint: Some(self.url.clone()),
            role_arn: ROLE.into(),
            queue_arn: Some("arn:aws:mediaconvert:us-east-1:111122223333:queues/Default".into()),
            region: Some("us-east-1".into()),
            poll_ms: 20,
            poll_max_ms: 80,
            job_timeout_secs: 30,
            // One attempt: the tests see our mapping, not the SDK's retries.
            max_attempts: 1,
            access_key_id: Some("AKIDSTANDIN".into()),
            secret_access_key: Some(vod_core::Secret::new("stand-in-secret")),
        }
    }

    pub async fn client(&self) -> MediaConvert {
        MediaConvert::from_config(&self.config(), "unused-region")
            .await
            .unwrap()
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.script).requests.clone()
    }

    pub fn script_get(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.script).get.extend(replies);
    }

    pub fn script_create(&self, replies: impl IntoIterator<Item = Reply>) {
        lock(&self.script).create.extend(replies);
    }
}
