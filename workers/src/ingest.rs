//! One-shot ingest of a local file through the real services: source to S3,
//! pipeline, outputs to S3, registration. The queued path (API upload →
//! apalis job) will reuse these steps.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use serde::Serialize;
use tracing::Instrument;
use uuid::Uuid;
use vod_core::catalog::CatalogEntry;
use vod_core::db::{self, NewVideo, Video};
use vod_core::storage::{ObjectStore, content_type_for};
use vod_core::{PlaybackConfig, Services};

use crate::publish::{PublishedAsset, publish_dir};
use crate::register::register;

#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub file: PathBuf,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub settings: vod_pipeline::Settings,
}

#[derive(Debug, Serialize)]
pub struct IngestOutcome {
    pub video: Video,
    pub source_key: String,
    pub assets: Vec<PublishedAsset>,
    pub catalog: CatalogEntry,
    pub manifest: vod_plan::Manifest,
}

/// A failure the uploader caused (bad media) rather than the platform.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct Rejected {
    pub code: &'static str,
    pub message: String,
}

pub async fn ingest(
    services: &Services,
    playback: &PlaybackConfig,
    req: IngestRequest,
) -> anyhow::Result<IngestOutcome> {
    let video_id = Uuid::now_v7();
    let span = tracing::info_span!("ingest", %video_id);
    async move {
        let file_name = req.file.file_name().and_then(|n| n.to_str()).unwrap_or("source");
        db::insert_video(
            &services.db,
            &NewVideo { id: video_id, title: &req.title, description: &req.description, tags: &req.tags },
        )
        .await?;

        let source_key = crate::source_key(video_id, file_name);
        let bytes = services
            .sources
            .put_file(&source_key, &req.file, Some(content_type_for(file_name)))
            .await
            .context("uploading the source")?;
        sqlx::query(
            "UPDATE videos SET source_key = $2, source_bytes = $3, status = 'processing', updated_at = now() WHERE id = $1",
        )
        .bind(video_id)
        .bind(&source_key)
        .bind(i64::try_from(bytes).unwrap_or(i64::MAX))
        .execute(&services.db)
        .await?;
        tracing::info!(%source_key, bytes, "source stored");

        let workdir = std::env::temp_dir().join(format!("vod-ingest-{video_id}"));
        let result = transcode(&req.file, &workdir, req.settings.clone()).await;
        let manifest = match result {
            Ok(m) => m,
            Err(err) => {
                let _ = std::fs::remove_dir_all(&workdir);
                let (code, message) = match err.downcast_ref::<Rejected>() {
                    Some(r) => (r.code.to_owned(), r.message.clone()),
                    None => ("pipeline.internal".to_owned(), format!("{err:#}")),
                };
                sqlx::query(
                    "UPDATE videos SET status = 'failed', error_code = $2, error_message = $3, updated_at = now() WHERE id = $1",
                )
                .bind(video_id)
                .bind(&code)
                .bind(&message)
                .execute(&services.db)
                .await?;
                return Err(err);
            }
        };

        let prefix = crate::output_prefix(video_id);
        let published = publish_dir(&services.outputs, &workdir, &prefix).await;
        let _ = std::fs::remove_dir_all(&workdir);
        let assets = published?;
        let catalog =
            register(&services.db, &services.catalog, playback, video_id, &prefix, &manifest, &assets).await?;
        let video = db::get_video(&services.db, video_id).await?.context("video row vanished")?;
        Ok(IngestOutcome { video, source_key, assets, catalog, manifest })
    }
    .instrument(span)
    .await
}

/// Runs the blocking pipeline off the async runtime, logging progress at most every 2 s.
async fn transcode(
    input: &Path,
    outdir: &Path,
    settings: vod_pipeline::Settings,
) -> anyhow::Result<vod_plan::Manifest> {
    let mut last = Instant::now() - Duration::from_secs(10);
    let joined = crate::transcode_blocking(input, outdir, settings, move |p| {
        if last.elapsed() >= Duration::from_secs(2) {
            last = Instant::now();
            tracing::info!(stage = ?p.stage, percent = format!("{:.1}", p.percent), "progress");
        }
    })
    .await
    .context("pipeline task panicked")?;
    joined.map_err(|e| {
        if e.kind() == vod_pipeline::ErrorKind::Media {
            anyhow::Error::new(Rejected {
                code: e.code(),
                message: e.to_string(),
            })
        } else {
            anyhow::Error::new(e).context("transcoding")
        }
    })
}
