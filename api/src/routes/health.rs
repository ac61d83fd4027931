use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use serde_json::json;

use vod_core::store::JobState;

use crate::AppState;

/// The process is up; says nothing about dependencies.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "The process is up", body = serde_json::Value,
        example = json!({"status": "ok"}))))]
pub async fn healthz() -> impl IntoResponse {
    Json(json!({ "status": "ok" }))
}

/// Every dependency answered within the timeout; 503 naming the ones that did
/// not. The body also counts queued tasks `waiting` in the Redis queue and
/// `stranded` outside it (the relay pushes those once Redis answers).
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "Every dependency answered", body = serde_json::Value),
    (status = 503, description = "Some dependency did not answer; the body names it", body = serde_json::Value)))]
pub async fn readyz(State(state): State<AppState>) -> impl IntoResponse {
    let (checks, queue) = tokio::join!(
        state.services.readiness(state.readiness_timeout),
        tokio::time::timeout(
            state.readiness_timeout,
            vod_core::jobs::queued_counts(&state.services.db)
        )
    );
    let queue = queue.ok().and_then(Result::ok);
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
            json!({ "status": if ready { "ready" } else { "not_ready" }, "dependencies": checks, "queue": queue }),
        ),
    )
}

/// Prometheus text: requests, upload bytes, jobs by state, queued tasks
/// waiting in the queue or stranded outside it.
#[utoipa::path(get, path = "/metrics", tag = "health",
    responses((status = 200, description = "Prometheus exposition format", body = String, content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    // Job counts by state come from the record of truth at scrape time, so
    // they are right whichever process changed them.
    match vod_core::store::jobs::counts_by_state(&state.services.db).await {
        Ok(counts) => {
            for s in JobState::ALL {
                let n = counts.iter().find(|(k, _)| k == s).map_or(0, |(_, n)| *n);
                metrics::gauge!("vod_jobs", "state" => s.as_str()).set(n as f64);
            }
        }
        Err(e) => tracing::warn!(error = %e, "counting jobs for /metrics failed"),
    }
    match vod_core::jobs::queued_counts(&state.services.db).await {
        Ok(q) => {
            metrics::gauge!("vod_queued_tasks", "queue" => "waiting").set(q.waiting as f64);
            metrics::gauge!("vod_queued_tasks", "queue" => "stranded").set(q.stranded as f64);
            metrics::gauge!("vod_oldest_stranded_task_seconds")
                .set(q.oldest_stranded_secs.unwrap_or(0.0));
        }
        Err(e) => tracing::warn!(error = %e, "counting queued jobs for /metrics failed"),
    }
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
