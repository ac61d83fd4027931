//! The transcoder backend port: the one step of a job that differs between
//! backends, "produce the outputs under the video's prefix and describe
//! them". Claiming, downloading the source, registration, finishing and
//! retries stay in [`crate::job`], shared by every backend.
//!
//! - [`gstreamer::GStreamerBackend`]: our pipeline on the worker, then
//!   [`crate::publish::publish_dir`] (master playlist last).
//! - [`mediaconvert::MediaConvertBackend`]: an AWS Elemental MediaConvert
//!   job writes the HLS package and poster straight to the outputs bucket;
//!   the worker makes the sprites and storyboard from the downloaded source.

use std::path::Path;
use std::sync::Arc;

use async_trait::async_trait;
use clap::{Args, ValueEnum};
use sqlx::PgPool;
use uuid::Uuid;
use vod_core::Services;
use vod_core::jobs::JobRecord;
use vod_mediaconvert::MediaConvertConfig;
use vod_plan::Manifest;

use crate::progress::Reporter;
use crate::publish::PublishedAsset;

pub mod gstreamer;
pub mod mediaconvert;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, ValueEnum)]
pub enum BackendKind {
    #[default]
    Gstreamer,
    Mediaconvert,
}

#[derive(Debug, Clone, Default, Args)]
pub struct BackendConfig {
    /// Which transcoder produces the outputs.
    #[arg(
        long = "backend",
        env = "VOD_WORKER_BACKEND",
        value_enum,
        default_value_t = BackendKind::Gstreamer
    )]
    pub kind: BackendKind,
    #[command(flatten)]
    pub mediaconvert: MediaConvertConfig,
}

/// Everything a backend may use for one job attempt.
pub struct BackendJob<'a> {
    pub services: &'a Services,
    pub job: &'a JobRecord,
    pub video_id: Uuid,
    /// Key of the source in the sources bucket.
    pub source_key: &'a str,
    /// The source, downloaded into `workdir`.
    pub input: &'a Path,
    /// This attempt's scratch directory (removed after the job).
    pub workdir: &'a Path,
    /// `videos/<id>/` in the outputs bucket.
    pub output_prefix: &'a str,
    pub pipeline: &'a vod_pipeline::Settings,
}

/// What registration needs: the package description and every object.
pub struct Produced {
    pub manifest: Manifest,
    pub assets: Vec<PublishedAsset>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendError {
    pub code: String,
    pub message: String,
    /// Retrying may help (network, storage, throttling, a crashed dependency).
    pub transient: bool,
}

impl BackendError {
    pub fn transient(code: &str, err: impl std::fmt::Display) -> Self {
        Self {
            code: code.to_owned(),
            message: err.to_string(),
            transient: true,
        }
    }

    /// Media errors are the uploader's and final; the rest are ours.
    pub fn pipeline(e: &vod_pipeline::PipelineError) -> Self {
        Self {
            code: e.code().to_owned(),
            message: e.to_string(),
            transient: e.kind() != vod_pipeline::ErrorKind::Media,
        }
    }
}

#[async_trait]
pub trait TranscodeBackend: Send + Sync {
    fn name(&self) -> &'static str;

    /// Produces the outputs under `job.output_prefix`. `Ok(None)`: the job
    /// was cancelled meanwhile (the reporter's cancel flag is set) and
    /// nothing must be registered.
    async fn produce(
        &self,
        job: &BackendJob<'_>,
        reporter: &Reporter,
    ) -> Result<Option<Produced>, BackendError>;
}

/// The S3 client's region: the default of the other AWS clients.
pub(crate) fn s3_region(services: &Services) -> String {
    services
        .outputs
        .sdk()
        .config()
        .region()
        .map_or_else(|| "us-east-1".to_owned(), ToString::to_string)
}

/// The configured backend. MediaConvert's client is built once per process.
pub async fn build(
    cfg: &BackendConfig,
    services: &Services,
) -> Result<Arc<dyn TranscodeBackend>, vod_mediaconvert::MediaConvertError> {
    Ok(match cfg.kind {
        BackendKind::Gstreamer => Arc::new(gstreamer::GStreamerBackend),
        BackendKind::Mediaconvert => {
            let region = s3_region(services);
            let client =
                vod_mediaconvert::MediaConvert::from_config(&cfg.mediaconvert, &region).await?;
            Arc::new(mediaconvert::MediaConvertBackend::new(
                client,
                services.sources.bucket().to_owned(),
                services.outputs.bucket().to_owned(),
            ))
        }
    })
}

/// Asks the record directly: the reporter only looks every few seconds,
/// and a cancelled job must not publish or register a playable package.
pub(crate) async fn still_running(db: &PgPool, job_id: Uuid) -> bool {
    let state: Result<Option<String>, _> =
        sqlx::query_scalar("SELECT state FROM jobs WHERE id = $1")
            .bind(job_id)
            .fetch_optional(db)
            .await;
    // On a database error keep going: the final write will tell.
    !matches!(state, Ok(None))
        && !matches!(state.as_ref().map(|s| s.as_deref()), Ok(Some(s)) if s != "running")
}
