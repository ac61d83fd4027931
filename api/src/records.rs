//! Video metadata validation and the rows the upload paths write, shared by
//! the three ways a source arrives (multipart, direct, pull).

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use uuid::Uuid;
use vod_core::db::{Video, Visibility};
use vod_core::jobs::JobRecord;

use crate::{ApiError, AppState};

pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
pub const MAX_TAGS: usize = 32;
pub const MAX_TAG_CHARS: usize = 64;

#[derive(Debug, Clone, Default)]
pub struct VideoMeta {
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub visibility: Visibility,
}

/// Trims, drops empty and duplicate tags; refuses too many or too long ones.
pub fn normalize_tags(raw: impl IntoIterator<Item = String>) -> Result<Vec<String>, ApiError> {
    let mut tags: Vec<String> = Vec::new();
    for tag in raw {
        let tag = tag.trim();
        if tag.is_empty() || tags.iter().any(|t| t == tag) {
            continue;
        }
        if tag.chars().count() > MAX_TAG_CHARS {
            return Err(ApiError::invalid(format!(
                "field `tags`: a tag is longer than {MAX_TAG_CHARS} characters"
            )));
        }
        tags.push(tag.to_owned());
    }
    if tags.len() > MAX_TAGS {
        return Err(ApiError::invalid(format!(
            "field `tags`: more than {MAX_TAGS} tags"
        )));
    }
    Ok(tags)
}

pub fn validate_title(title: Option<&str>) -> Result<String, ApiError> {
    let title = title.map(str::trim).unwrap_or_default();
    if title.is_empty() {
        return Err(ApiError::invalid("missing field `title`"));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(ApiError::invalid(format!(
            "field `title` is longer than {MAX_TITLE_CHARS} characters"
        )));
    }
    Ok(title.to_owned())
}

pub fn validate_description(description: Option<&str>) -> Result<String, ApiError> {
    let description = description.unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(ApiError::invalid(format!(
            "field `description` is longer than {MAX_DESCRIPTION_CHARS} characters"
        )));
    }
    Ok(description.to_owned())
}

impl VideoMeta {
    pub fn new(
        title: Option<&str>,
        description: Option<&str>,
        tags: Vec<String>,
    ) -> Result<Self, ApiError> {
        Ok(Self {
            title: validate_title(title)?,
            description: validate_description(description)?,
            tags: normalize_tags(tags)?,
            visibility: Visibility::default(),
        })
    }

    pub fn with_visibility(mut self, visibility: Option<Visibility>) -> Self {
        self.visibility = visibility.unwrap_or_default();
        self
    }
}

/// A `visibility` form field: `public` or `private`.
pub fn parse_visibility(raw: &str) -> Result<Visibility, ApiError> {
    Visibility::parse(raw).ok_or_else(|| {
        ApiError::invalid(format!(
            "field `visibility`: {raw:?} is neither \"public\" nor \"private\""
        ))
    })
}

pub use vod_core::keys::{source_key, video_cache_key as cache_key};

pub async fn insert_video(
    state: &AppState,
    id: Uuid,
    meta: &VideoMeta,
    status: &str,
    source_key: &str,
    source_bytes: Option<u64>,
) -> Result<Video, ApiError> {
    let bytes = source_bytes.map(|b| i64::try_from(b).unwrap_or(i64::MAX));
    Ok(sqlx::query_as(
        "INSERT INTO videos (id, title, description, tags, status, source_key, source_bytes, visibility)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *",
    )
    .bind(id)
    .bind(&meta.title)
    .bind(&meta.description)
    .bind(&meta.tags)
    .bind(status)
    .bind(source_key)
    .bind(bytes)
    .bind(meta.visibility.as_str())
    .fetch_one(&state.services.db)
    .await?)
}

/// Queues the transcode of a stored source, once per video whatever the
/// number of calls, and returns the video as it is now.
pub async fn enqueue(state: &AppState, video_id: Uuid) -> Result<(Video, JobRecord), ApiError> {
    let services = &state.services;
    let job = services
        .jobs
        .enqueue_transcode(&services.db, video_id, &format!("upload:{video_id}"))
        .await?;
    invalidate(state, video_id).await;
    let video = vod_core::db::get_video(&services.db, video_id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("video {video_id} does not exist")))?;
    Ok((video, job))
}

/// Drops the cached read of a video; a failure only delays freshness by the TTL.
pub async fn invalidate(state: &AppState, video_id: Uuid) {
    if let Err(e) = state.services.cache.del(&cache_key(video_id)).await {
        tracing::warn!(%video_id, error = %e, "cache invalidation failed");
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_is_validated() {
        assert!(VideoMeta::new(None, None, vec![]).is_err());
        assert!(VideoMeta::new(Some("  "), None, vec![]).is_err());
        let long = "x".repeat(MAX_TITLE_CHARS + 1);
        assert!(VideoMeta::new(Some(&long), None, vec![]).is_err());
        let m = VideoMeta::new(
            Some(" A "),
            None,
            vec![" a ".into(), "a".into(), "".into(), "b".into()],
        )
        .unwrap();
        assert_eq!(m.title, "A");
        assert_eq!(m.tags, ["a", "b"]);
        let many = (0..=MAX_TAGS).map(|i| i.to_string());
        assert!(normalize_tags(many).is_err());
    }
}
