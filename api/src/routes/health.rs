use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use crate::AppState;

/// The process is up; says nothing about dependencies.
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Every dependency answered within the timeout; 503 naming the ones that did not.
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let checks = state.services.readiness(state.readiness_timeout).await;
    let ready = checks.iter().all(|c| c.ok);
    for c in checks.iter().filter(|c| !c.ok) {
        tracing::warn!(dependency = c.name, error = ?c.error, "dependency not ready");
    }
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(
            json!({ "status": if ready { "ready" } else { "not_ready" }, "dependencies": checks }),
        ),
    )
}

pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // Job counts by state come from the record of truth at scrape time, so
    // they are right whichever process changed them.
    let counts: Result<Vec<(String, i64)>, _> =
        sqlx::query_as("SELECT state, count(*) FROM jobs GROUP BY state")
            .fetch_all(&state.services.db)
            .await;
    match counts {
        Ok(counts) => {
            for s in [
                "queued",
                "running",
                "retrying",
                "succeeded",
                "failed",
                "cancelled",
                "dead",
            ] {
                let n = counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
                metrics::gauge!("vod_jobs", "state" => s).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "counting jobs for /metrics failed"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
