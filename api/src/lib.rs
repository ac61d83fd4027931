//! The HTTP API. `router` builds the whole axum app from [`AppState`]; the
//! binary only parses config, connects services and serves.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use metrics_exporter_prometheus::PrometheusHandle;
use vod_core::Services;

pub mod auth;
pub mod cli;
pub mod error;
mod extract;
mod metrics_layer;
pub mod openapi;
mod playback;
mod ratelimit;
mod records;
mod routes;
mod source_upload;
pub mod ssrf;
mod view;

pub use cli::ApiConfig;
pub use error::ApiError;
pub use routes::admin::ensure_sources_cors;
/// Moved to `vod-core` so the Lambda ingest checks sources the same way.
pub use vod_core::sniff;

#[derive(Clone)]
pub struct AppState {
    pub services: Arc<Services>,
    pub metrics: PrometheusHandle,
    pub readiness_timeout: Duration,
    pub config: Arc<ApiConfig>,
    /// Part buffers of streamed uploads; see `source_upload::memory_budget`.
    pub upload_memory: Arc<tokio::sync::Semaphore>,
}

impl AppState {
    pub fn new(
        services: Services,
        metrics: PrometheusHandle,
        readiness_timeout: Duration,
        config: ApiConfig,
    ) -> Self {
        let upload_memory = source_upload::memory_budget(config.upload_memory_mib);
        Self {
            services: Arc::new(services),
            metrics,
            readiness_timeout,
            config: Arc::new(config),
            upload_memory,
        }
    }
}

pub fn router(state: AppState) -> Router {
    routes::router()
        // Signed playback: CloudFront's access check in front of `/cdn/…`.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            routes::edge_access::guard,
        ))
        .layer(axum::middleware::from_fn(metrics_layer::track))
        .layer(
            tower_http::trace::TraceLayer::new_for_http().make_span_with(
                |req: &axum::http::Request<_>| {
                    let id = req
                        .headers()
                        .get("x-request-id")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("-");
                    tracing::info_span!("request", method = %req.method(), uri = %req.uri(), request_id = %id)
                },
            ),
        )
        .layer(tower_http::request_id::PropagateRequestIdLayer::x_request_id())
        .layer(tower_http::request_id::SetRequestIdLayer::x_request_id(
            tower_http::request_id::MakeRequestUuid,
        ))
        .with_state(state)
}

/// The API's background work, until `shutdown`: the queue relay, which
/// pushes jobs that were recorded but never reached the queue (an upload
/// acknowledged while Redis refused the push) once Redis answers.
pub fn spawn_background(
    state: &AppState,
    shutdown: tokio::sync::watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    vod_core::jobs::relay::spawn(
        Services::clone(&state.services),
        vod_core::jobs::relay::RelaySettings::default(),
        shutdown,
    )
}

/// Installs the process-wide Prometheus recorder once and returns its handle.
pub fn metrics_handle() -> Result<PrometheusHandle, ApiError> {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    if let Some(h) = HANDLE.get() {
        return Ok(h.clone());
    }
    let handle = metrics_exporter_prometheus::PrometheusBuilder::new()
        .install_recorder()
        .map_err(|e| ApiError::Internal(format!("metrics recorder: {e}")))?;
    Ok(HANDLE.get_or_init(|| handle).clone())
}
