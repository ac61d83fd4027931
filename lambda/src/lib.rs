//! The AWS Lambda ingest trigger. S3 `ObjectCreated` events on the ingest
//! prefix of the sources bucket, and batch manifests there, become videos
//! and transcode jobs through the same steps as the API's uploads
//! (`vod_core::ingest`).
//!
//! Error policy: an unusable object or manifest row is reported in the
//! [`Report`] and the batch goes on; a failure of a service (PostgreSQL,
//! S3) fails the invocation so Lambda retries it, which is safe because
//! every step is idempotent. A job queue (Redis) that refuses the push does
//! not: the job is recorded in PostgreSQL and the queue relay of the API and
//! the workers pushes it once Redis answers.

use aws_lambda_events::event::s3::S3Event;
use vod_core::Services;
use vod_core::ingest::IngestError;
use vod_core::storage::StorageError;

pub mod config;
pub mod event;
pub mod ingest;
pub mod manifest;
pub mod report;
pub mod source;

pub use config::{IngestConfig, LambdaEnv};
pub use report::Report;

#[derive(Debug, thiserror::Error)]
pub enum LambdaError {
    #[error(transparent)]
    Storage(#[from] StorageError),
    #[error(transparent)]
    Ingest(#[from] IngestError),
    #[error("object {0} changed while it was being ingested; a retry reads the new version")]
    Changed(String),
    #[error("invalid configuration: {0}")]
    Config(String),
    #[error(transparent)]
    Startup(#[from] vod_core::StartupError),
}

impl LambdaError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Storage(e) => e.code(),
            Self::Ingest(e) => e.code(),
            Self::Changed(_) => "lambda.object_changed",
            Self::Config(_) => "lambda.config",
            Self::Startup(e) => e.code(),
        }
    }
}

/// Lambda's error report names the stable code as the error type.
impl From<LambdaError> for lambda_runtime::Diagnostic {
    fn from(e: LambdaError) -> Self {
        Self {
            error_type: e.code().to_owned(),
            error_message: e.to_string(),
        }
    }
}

/// Handles one invocation: each record in order, manifests row by row.
pub async fn handle(
    services: &Services,
    config: &IngestConfig,
    event: S3Event,
) -> Result<Report, LambdaError> {
    let mut report = Report::default();
    let bucket = services.sources.bucket().to_owned();
    for record in &event.records {
        match event::classify(record, config, &bucket) {
            event::Decision::Ignore(r) => {
                tracing::debug!(key = %r.key, code = r.code, "record ignored");
                report.ignored.push(r);
            }
            event::Decision::Reject(r) => report.rejected.push(r),
            event::Decision::Object(key) => {
                let outcome = ingest::object(services, config, &key, None).await?;
                report.push(outcome, None);
            }
            event::Decision::Manifest(key) => {
                ingest::manifest(services, config, &key, &mut report).await?;
            }
        }
    }
    for r in &report.rejected {
        tracing::warn!(key = %r.key, code = r.code, reason = %r.reason, "ingest rejected");
    }
    tracing::info!(
        records = event.records.len(),
        created = report.created.len(),
        duplicates = report.duplicates.len(),
        rejected = report.rejected.len(),
        ignored = report.ignored.len(),
        "ingest event handled"
    );
    Ok(report)
}
