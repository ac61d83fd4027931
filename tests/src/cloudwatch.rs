//! A local stand-in for the CloudWatch endpoint. The Rust SDK speaks Smithy
//! RPC v2 CBOR to CloudWatch, which moto cannot serve, so the stand-in
//! records each request and answers like the service (an empty success, or
//! a modelled error), and `tests/python/cloudwatch_check.py` decodes the
//! recorded body with an independent CBOR library and checks it against
//! botocore's CloudWatch model.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use serde_json::{Value, json};

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: Method,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Recorded {
    /// The JSON file format `cloudwatch_check.py request` reads.
    pub fn to_json(&self) -> Value {
        let headers: serde_json::Map<String, Value> = self
            .headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_owned(),
                    Value::String(v.to_str().unwrap_or_default().to_owned()),
                )
            })
            .collect();
        json!({
            "method": self.method.as_str(),
            "path": self.path,
            "headers": headers,
            "body_b64": base64::engine::general_purpose::STANDARD.encode(&self.body),
        })
    }
}

#[derive(Default)]
struct Inner {
    requests: Vec<Recorded>,
    /// The next answers are errors with this code (query-compatible name).
    fail_with: Option<&'static str>,
}

#[derive(Clone)]
pub struct CloudWatchStandIn {
    pub url: String,
    inner: Arc<Mutex<Inner>>,
}

fn lock(m: &Mutex<Inner>) -> std::sync::MutexGuard<'_, Inner> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// A CBOR text string (RFC 8949 major type 3), for the error bodies.
fn cbor_text(out: &mut Vec<u8>, s: &str) {
    let n = s.len();
    if n < 24 {
        out.push(0x60 | n as u8);
    } else {
        out.push(0x78);
        out.push(u8::try_from(n).unwrap());
    }
    out.extend_from_slice(s.as_bytes());
}

async fn handle(
    State(inner): State<Arc<Mutex<Inner>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let fail_with = {
        let mut inner = lock(&inner);
        inner.requests.push(Recorded {
            method,
            path: uri.path().to_owned(),
            headers,
            body,
        });
        inner.fail_with
    };
    let protocol = [
        ("smithy-protocol", "rpc-v2-cbor"),
        ("content-type", "application/cbor"),
    ];
    match fail_with {
        // PutMetricData has no output: an empty body is the whole answer.
        None => (StatusCode::OK, protocol).into_response(),
        Some(code) => {
            // {"__type": "...#<Code>Exception", "message": "..."} as CloudWatch sends it.
            let mut body = vec![0xa2];
            cbor_text(&mut body, "__type");
            cbor_text(
                &mut body,
                &format!("com.amazonaws.cloudwatch#{code}Exception"),
            );
            cbor_text(&mut body, "message");
            cbor_text(&mut body, "refused by the stand-in");
            let query_error = format!("{code};Sender");
            let mut resp = (StatusCode::BAD_REQUEST, protocol, body).into_response();
            resp.headers_mut()
                .insert("x-amzn-query-error", query_error.parse().unwrap());
            resp
        }
    }
}

impl CloudWatchStandIn {
    /// Serves on a free loopback port until the test ends.
    pub async fn start() -> Self {
        let inner: Arc<Mutex<Inner>> = Arc::default();
        let app = Router::new().fallback(handle).with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, inner }
    }

    pub fn requests(&self) -> Vec<Recorded> {
        lock(&self.inner).requests.clone()
    }

    /// Answer every following request with CloudWatch's error `code`.
    pub fn fail_with(&self, code: &'static str) {
        lock(&self.inner).fail_with = Some(code);
    }
}

/// `VOD_CHECKS_PYTHON`, else the checks venv of `infra/up.sh`. Missing
/// python, botocore or cbor2 is a failure, never a skip.
pub fn python() -> PathBuf {
    let path = std::env::var_os("VOD_CHECKS_PYTHON").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.state/venv-checks/bin/python"),
        PathBuf::from,
    );
    assert!(
        path.exists(),
        "{} does not exist: the CloudWatch model check needs python with botocore and cbor2 \
         (run `bash infra/up.sh`, or set VOD_CHECKS_PYTHON)",
        path.display()
    );
    path
}

fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("python/cloudwatch_check.py")
}

/// What the model check found wrong (empty when it conforms) and the body
/// decoded to JSON (timestamps as epoch seconds).
pub fn check(operation: &str, req: &Recorded) -> (Vec<Value>, Value) {
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let file = std::env::temp_dir().join(format!("vod-cw-{}-{n}.json", std::process::id()));
    std::fs::write(&file, req.to_json().to_string()).unwrap();
    let out = Command::new(python())
        .arg(script())
        .args(["request", operation])
        .arg(&file)
        .output()
        .expect("running cloudwatch_check.py");
    let _ = std::fs::remove_file(&file);
    let code = out.status.code();
    assert!(
        matches!(code, Some(0 | 1)),
        "cloudwatch_check.py could not run (exit {code:?}): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = report["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(
        code == Some(0),
        errors.is_empty(),
        "exit code and report disagree"
    );
    (errors, report["decoded"].clone())
}

/// The checker's own test: broken requests must be reported.
pub fn selftest() -> Value {
    let out = Command::new(python())
        .arg(script())
        .arg("selftest")
        .output()
        .expect("running cloudwatch_check.py selftest");
    assert!(
        out.status.success(),
        "cloudwatch_check.py selftest failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}
