//! The transcoder backend port for a whole single-pass encode: "produce the
//! outputs of this plan under the video's prefix and describe them". The
//! prepare task calls it for sources that are not chunked (short ones, and
//! every source with MediaConvert, which parallelises by itself). Claiming,
//! downloading the source, planning, registration and retries stay in
//! [`crate::task`], shared by every backend.
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
use vod_core::store::{JobState, TaskRecord};
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

/// Everything a backend may use for one attempt of a prepare task.
pub struct BackendJob<'a> {
    pub services: &'a Services,
    pub task: &'a TaskRecord,
    /// What to produce.
    pub plan: &'a vod_plan::Plan,
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
    match vod_core::store::jobs::get_job(db, job_id).await {
        Ok(Some(job)) => job.state == JobState::Running,
        Ok(None) => false,
        // On a database error keep going: the final write will tell.
        Err(_) => true,
    }
}
