//! The API side of the rows the upload paths write (multipart, direct,
//! pull): thin wrappers over `vod_core::ingest`, which the Lambda ingest
//! trigger shares, mapping its errors to HTTP ones.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;
use vod_core::db::{Video, Visibility};
use vod_core::ingest;
use vod_core::store::JobRecord;

use crate::{ApiError, AppState};

pub use vod_core::ingest::{VideoMeta, normalize_tags, validate_description, validate_title};
pub use vod_core::keys::{source_key, video_cache_key as cache_key};

/// A `visibility` form field: `public` or `private`.
pub fn parse_visibility(raw: &str) -> Result<Visibility, ApiError> {
    Visibility::parse(raw).ok_or_else(|| {
        ApiError::invalid(format!(
            "field `visibility`: {raw:?} is neither \"public\" nor \"private\""
        ))
    })
}

pub async fn insert_video(
    state: &AppState,
    id: Uuid,
    meta: &VideoMeta,
    source_key: &str,
    source_bytes: Option<u64>,
) -> Result<Video, ApiError> {
    ingest::insert_video(&state.services.db, id, meta, source_key, source_bytes)
        .await?
        // The API's ids are fresh UUIDv7s: a clash means a bug, not a retry.
        .ok_or_else(|| ApiError::Conflict(format!("video {id} already exists")))
}

/// Queues the transcode of a stored source, once per video whatever the
/// number of calls, and returns the video as it is now.
pub async fn enqueue(state: &AppState, video_id: Uuid) -> Result<(Video, JobRecord), ApiError> {
    Ok(ingest::enqueue(&state.services, video_id).await?)
}

/// Drops the cached read of a video; a failure only delays freshness by the TTL.
pub async fn invalidate(state: &AppState, video_id: Uuid) {
    ingest::invalidate(&state.services.cache, video_id).await;
}

/// What every upload way answers once the source is stored and queued.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Accepted<'a> {
    pub video: &'a Video,
    pub job: &'a JobRecord,
}

pub fn accepted(status: StatusCode, video: &Video, job: &JobRecord) -> Response {
    (status, Json(Accepted { video, job })).into_response()
}

pub fn parse_id(raw: &str, what: &str) -> Result<Uuid, ApiError> {
    raw.parse()
        .map_err(|_| ApiError::BadRequest(format!("{raw:?} is not a valid {what} id")))
}
