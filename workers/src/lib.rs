//! Worker-side glue between the pipeline and the services: publishing a
//! finished output directory to the outputs bucket and registering the
//! result in PostgreSQL and the MongoDB catalog.

pub mod backend;
pub mod health;
pub mod ingest;
pub mod metrics;
pub mod progress;
pub mod publish;
pub mod queue_metric;
pub mod register;
pub mod runner;
pub mod task;
pub mod webhooks;

pub use vod_core::keys::output_prefix;

/// Runs `plan` with the (blocking) pipeline on tokio's blocking pool inside
/// the caller's tracing span. The outer error is a panic of the pipeline thread.
pub async fn run_blocking(
    plan: &vod_plan::Plan,
    input: &std::path::Path,
    outdir: &std::path::Path,
    run: vod_pipeline::RunOptions,
    progress: impl FnMut(vod_pipeline::Progress) + Send + 'static,
) -> Result<vod_pipeline::Result<vod_plan::Manifest>, tokio::task::JoinError> {
    let (plan, input, outdir) = (plan.clone(), input.to_path_buf(), outdir.to_path_buf());
    blocking(move || vod_pipeline::run(&plan, &input, &outdir, &run, progress)).await
}

/// Runs a blocking closure (a pipeline step) on tokio's blocking pool
/// inside the caller's tracing span.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, tokio::task::JoinError> {
    let span = tracing::Span::current();
    tokio::task::spawn_blocking(move || {
        let _entered = span.enter();
        f()
    })
    .await
}

/// Where a video's source lives in the sources bucket.
pub fn source_key(video_id: uuid::Uuid, file_name: &str) -> String {
    vod_core::keys::source_key("", video_id, file_name)
}
