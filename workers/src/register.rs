//! Registers a published video: PostgreSQL first (the record of truth, in one
//! transaction), then the MongoDB catalog derived from it. Registration adds
//! to what the video has: each rendition and asset is inserted or updated
//! by its name or key and nothing else is deleted, so a later task can
//! extend a ready video (one more rendition, one more asset), and
//! registering twice leaves one result.

use sqlx::PgPool;
use uuid::Uuid;
use vod_core::PlaybackConfig;
use vod_core::catalog::{CatalogEntry, CatalogError, CatalogRendition, MongoCatalog};
use vod_core::db::{DbError, Video};
use vod_plan::Manifest;
use vod_plan::{Rendition, RenditionKind};

use crate::publish::{AssetKind, PublishedAsset};

#[derive(Debug, thiserror::Error)]
pub enum RegisterError {
    #[error("video {0} does not exist")]
    UnknownVideo(Uuid),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Catalog(#[from] CatalogError),
}

impl RegisterError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownVideo(_) => "register.unknown_video",
            Self::Db(e) => e.code(),
            Self::Catalog(e) => e.code(),
        }
    }
}

impl From<sqlx::Error> for RegisterError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

fn ms(seconds: f64) -> i64 {
    (seconds * 1000.0).round() as i64
}

fn i64_of(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn i32_of(v: Option<u32>) -> Option<i32> {
    v.and_then(|v| i32::try_from(v).ok())
}

/// Writes renditions and assets, marks the video ready, and upserts its catalog entry.
pub async fn register(
    db: &PgPool,
    catalog: &MongoCatalog,
    playback: &PlaybackConfig,
    video_id: Uuid,
    output_prefix: &str,
    manifest: &Manifest,
    assets: &[PublishedAsset],
) -> Result<CatalogEntry, RegisterError> {
    let top = manifest.video.iter().max_by_key(|r| r.height.unwrap_or(0));
    let mut tx = db.begin().await?;
    let video: Video = sqlx::query_as(
        "UPDATE videos SET status = $6, output_prefix = $2, duration_ms = $3, width = $4, height = $5,
                error_code = NULL, error_message = NULL, updated_at = now()
         WHERE id = $1 RETURNING *",
    )
    .bind(video_id)
    .bind(output_prefix)
    .bind(ms(manifest.duration_s))
    .bind(top.and_then(|r| i32_of(r.width)))
    .bind(top.and_then(|r| i32_of(r.height)))
    .bind(vod_core::store::VideoStatus::Ready)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(RegisterError::UnknownVideo(video_id))?;

    for r in manifest.video.iter().chain(manifest.audio.iter()) {
        upsert_rendition(&mut tx, video_id, output_prefix, r).await?;
    }
    for a in assets {
        sqlx::query(
            "INSERT INTO assets (video_id, key, kind, bytes, content_type) VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (video_id, key) DO UPDATE SET kind = EXCLUDED.kind, bytes = EXCLUDED.bytes,
                 content_type = EXCLUDED.content_type",
        )
        .bind(video_id)
        .bind(&a.key)
        .bind(a.kind.as_str())
        .bind(i64_of(a.bytes))
        .bind(a.content_type)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;

    let entry = catalog_entry(&video, playback, manifest, assets);
    catalog.upsert(&entry).await?;
    Ok(entry)
}

async fn upsert_rendition(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    video_id: Uuid,
    output_prefix: &str,
    r: &Rendition,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO renditions (video_id, name, kind, width, height, frame_rate, bandwidth,
             average_bandwidth, codecs, playlist_key, segment_count, bytes, duration_ms)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
         ON CONFLICT (video_id, name) DO UPDATE SET kind = EXCLUDED.kind, width = EXCLUDED.width,
             height = EXCLUDED.height, frame_rate = EXCLUDED.frame_rate, bandwidth = EXCLUDED.bandwidth,
             average_bandwidth = EXCLUDED.average_bandwidth, codecs = EXCLUDED.codecs,
             playlist_key = EXCLUDED.playlist_key, segment_count = EXCLUDED.segment_count,
             bytes = EXCLUDED.bytes, duration_ms = EXCLUDED.duration_ms",
    )
    .bind(video_id)
    .bind(&r.name)
    .bind(match r.kind {
        RenditionKind::Video => "video",
        RenditionKind::Audio => "audio",
    })
    .bind(i32_of(r.width))
    .bind(i32_of(r.height))
    .bind(r.frame_rate)
    .bind(i64_of(r.peak_bitrate_bps))
    .bind(i64_of(r.average_bitrate_bps))
    .bind(&r.codecs)
    .bind(format!("{output_prefix}{}", r.playlist))
    .bind(i32::try_from(r.segment_count).unwrap_or(i32::MAX))
    .bind(i64_of(r.bytes))
    .bind(ms(r.duration_s))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// The catalog document is a projection of the Postgres record plus URLs.
pub fn catalog_entry(
    video: &Video,
    playback: &PlaybackConfig,
    manifest: &Manifest,
    assets: &[PublishedAsset],
) -> CatalogEntry {
    let url_of = |kind: AssetKind| {
        assets
            .iter()
            .find(|a| a.kind == kind)
            .map(|a| playback.url(&a.key))
    };
    CatalogEntry {
        id: video.id.to_string(),
        title: video.title.clone(),
        description: video.description.clone(),
        tags: video.tags.clone(),
        status: video.status.to_string(),
        duration_s: Some(manifest.duration_s),
        playback_url: url_of(AssetKind::MasterPlaylist),
        poster_url: url_of(AssetKind::Poster),
        storyboard_url: url_of(AssetKind::Storyboard),
        renditions: manifest
            .video
            .iter()
            .chain(manifest.audio.iter())
            .map(|r| CatalogRendition {
                name: r.name.clone(),
                width: r.width,
                height: r.height,
                bandwidth: r.peak_bitrate_bps,
                codecs: r.codecs.clone(),
            })
            .collect(),
        updated_at: video.updated_at.to_rfc3339(),
    }
}
