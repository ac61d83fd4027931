//! The worker's HTTP endpoint on `VOD_WORKER_METRICS_LISTEN`: Prometheus
//! `/metrics` (stage durations and job outcomes are measured where they
//! happen, in the worker; the API's `/metrics` counts jobs by state from
//! Postgres) and `/healthz` (the queue connection, the last poll and the
//! jobs held; 503 once the worker is exiting for want of the queue).

use std::net::SocketAddr;
use std::time::Duration;

use std::sync::Arc;

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::task::Outcome;
use vod_core::store::TaskKind;

/// Buckets for stage and job durations: seconds to a few hours.
const DURATION_BUCKETS: &[f64] = &[
    0.1, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0, 10800.0,
];

#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    #[error("metrics recorder: {0}")]
    Recorder(String),
    #[error("metrics endpoint cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

impl MetricsError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Recorder(_) => "metrics.recorder",
            Self::Listen { .. } => "metrics.listen",
        }
    }
}

/// The process-wide recorder; installing it twice (tests) returns the first.
pub fn handle() -> Result<PrometheusHandle, MetricsError> {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let handle = PrometheusBuilder::new()
        .set_buckets(DURATION_BUCKETS)
        .map_err(|e| MetricsError::Recorder(e.to_string()))?
        .install_recorder()
        .map_err(|e| MetricsError::Recorder(e.to_string()))?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}

/// Serves `/metrics` and `/healthz` until the process ends; returns the
/// bound address (useful with port 0).
pub async fn serve(
    addr: SocketAddr,
    health: Arc<crate::health::Health>,
) -> Result<SocketAddr, MetricsError> {
    let handle = handle()?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| MetricsError::Listen { addr, source })?;
    let bound = listener
        .local_addr()
        .map_err(|source| MetricsError::Listen { addr, source })?;
    let app = Router::new()
        .route(
            "/metrics",
            get(move || {
                let body = handle.render();
                async move { ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], body) }
            }),
        )
        .route(
            "/healthz",
            get(move || {
                let report = health.report();
                async move {
                    let status = match report.status {
                        crate::health::Status::Failing => StatusCode::SERVICE_UNAVAILABLE,
                        _ => StatusCode::OK,
                    };
                    (status, Json(report)).into_response()
                }
            }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "metrics endpoint stopped");
        }
    });
    tracing::info!(%bound, "worker metrics on /metrics, health on /healthz");
    Ok(bound)
}

/// A stage of a job (downloading, transcoding, packaging, publishing,
/// registering) that ran to its end.
pub fn stage_finished(stage: &'static str, took: Duration) {
    metrics::histogram!("vod_job_stage_seconds", "stage" => stage).record(took.as_secs_f64());
}

/// A task run ended; counted and timed by its kind and outcome.
pub fn task_finished(kind: TaskKind, outcome: &Outcome, took: Duration) {
    let label = match outcome {
        Outcome::Succeeded => "succeeded",
        Outcome::Failed { .. } => "failed",
        Outcome::Retrying { .. } => "retrying",
        Outcome::Cancelled => "cancelled",
        Outcome::Dead => "dead",
        // Not this worker's run to count (finished already, held elsewhere…).
        Outcome::Skipped(_) => return,
    };
    metrics::counter!("vod_worker_tasks_total", "kind" => kind.as_str(), "outcome" => label)
        .increment(1);
    metrics::histogram!("vod_task_duration_seconds", "kind" => kind.as_str(), "outcome" => label)
        .record(took.as_secs_f64());
}
