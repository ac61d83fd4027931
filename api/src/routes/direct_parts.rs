//! The S3 side of direct uploads: how a size is cut into parts, presigned
//! part URLs, and what S3 already holds.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use chrono::{DateTime, Utc};
use serde::Serialize;
use vod_core::storage::PART_SIZE;

use super::direct::UploadRow;
use crate::source_upload::s3_error;
use crate::{ApiError, AppState};

pub const MAX_PARTS: u64 = 10_000;
/// SigV4 presigned URLs cannot live longer than a week.
const MAX_PRESIGN_SECS: u64 = 7 * 24 * 3600;

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PartUrl {
    part_number: i32,
    size: u64,
    url: String,
}

/// Part size and count: 8 MiB parts, larger when S3's 10 000-part cap needs it.
pub fn plan_parts(size: u64) -> (u64, u64) {
    let mut part = PART_SIZE as u64;
    if size.div_ceil(part) > MAX_PARTS {
        part = size.div_ceil(MAX_PARTS).next_multiple_of(1024 * 1024);
    }
    (part, size.div_ceil(part).max(1))
}

pub fn expected_part_size(size: u64, part_size: u64, n: u64) -> u64 {
    let start = (n - 1) * part_size;
    part_size.min(size.saturating_sub(start))
}

pub async fn abort(state: &AppState, key: &str, upload_id: &str) {
    let sources = &state.services.sources;
    if let Err(e) = sources
        .sdk()
        .abort_multipart_upload()
        .bucket(sources.bucket())
        .key(key)
        .upload_id(upload_id)
        .send()
        .await
    {
        tracing::warn!(%key, error = %s3_error("abort_multipart_upload", e), "abort failed");
    }
}

pub async fn presign(
    state: &AppState,
    key: &str,
    upload_id: &str,
    size: u64,
    part_size: u64,
    parts: impl IntoIterator<Item = u64>,
) -> Result<(DateTime<Utc>, Vec<PartUrl>), ApiError> {
    let secs = state.config.presign_expiry_secs.clamp(60, MAX_PRESIGN_SECS);
    let expires_at = Utc::now() + chrono::Duration::seconds(i64::try_from(secs).unwrap_or(3600));
    let config = PresigningConfig::expires_in(Duration::from_secs(secs))
        .map_err(|e| ApiError::Internal(format!("presigning config: {e}")))?;
    let sources = &state.services.sources;
    let mut urls = Vec::new();
    for n in parts {
        let part_number = i32::try_from(n).map_err(|_| ApiError::Internal("part number".into()))?;
        let request = sources
            .sdk()
            .upload_part()
            .bucket(sources.bucket())
            .key(key)
            .upload_id(upload_id)
            .part_number(part_number)
            .presigned(config.clone())
            .await
            .map_err(|e| s3_error("presign upload_part", e))?;
        urls.push(PartUrl {
            part_number,
            size: expected_part_size(size, part_size, n),
            url: request.uri().to_owned(),
        });
    }
    Ok((expires_at, urls))
}

/// Parts S3 holds, in order, with their sizes and ETags.
pub async fn stored_parts(
    state: &AppState,
    row: &UploadRow,
) -> Result<Vec<(i32, u64, String)>, ApiError> {
    let sources = &state.services.sources;
    let mut pages = sources
        .sdk()
        .list_parts()
        .bucket(sources.bucket())
        .key(&row.key)
        .upload_id(&row.upload_id)
        .into_paginator()
        .send();
    let mut parts = Vec::new();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| s3_error("list_parts", e))?;
        for p in page.parts() {
            let (Some(n), Some(etag)) = (p.part_number(), p.e_tag()) else {
                continue;
            };
            let size = p.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0);
            parts.push((n, size, etag.to_owned()));
        }
    }
    parts.sort_by_key(|p| p.0);
    Ok(parts)
}
