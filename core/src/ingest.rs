//! The last steps every way a source arrives shares (API multipart, direct
//! and pull uploads, the Lambda ingest trigger): validate the metadata,
//! write the `videos` row for a stored source, queue its transcode once, and
//! drop the stale cached read. Callers map [`IngestError`] to their boundary.

use sqlx::PgPool;
use uuid::Uuid;

use crate::Services;
use crate::cache::Cache;
use crate::db::{DbError, Video, get_video};
use crate::jobs::QueueError;
use crate::keys::video_cache_key;
use crate::store::{JobRecord, StoreError};

pub const MAX_TITLE_CHARS: usize = 500;
pub const MAX_DESCRIPTION_CHARS: usize = 10_000;
pub const MAX_TAGS: usize = 32;
pub const MAX_TAG_CHARS: usize = 64;

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Metadata a person supplied is not acceptable; the message names the field.
    #[error("{0}")]
    InvalidMetadata(String),
    #[error("video {0} does not exist")]
    VideoMissing(Uuid),
    #[error(transparent)]
    Queue(#[from] QueueError),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl IngestError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidMetadata(_) => "ingest.invalid_metadata",
            Self::VideoMissing(_) => "ingest.video_missing",
            Self::Queue(e) => e.code(),
            Self::Db(e) => e.code(),
        }
    }

    /// Whether the same call may succeed later (a service was unavailable),
    /// as opposed to bad input or a missing video.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            Self::Queue(QueueError::Backend(_) | QueueError::Store(StoreError::Db(_)))
                | Self::Db(_)
        )
    }
}

impl From<sqlx::Error> for IngestError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

fn invalid(message: String) -> IngestError {
    IngestError::InvalidMetadata(message)
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VideoMeta {
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    pub visibility: crate::db::Visibility,
}

/// Trims, drops empty and duplicate tags; refuses too many or too long ones.
pub fn normalize_tags(raw: impl IntoIterator<Item = String>) -> Result<Vec<String>, IngestError> {
    let mut tags: Vec<String> = Vec::new();
    for tag in raw {
        let tag = tag.trim();
        if tag.is_empty() || tags.iter().any(|t| t == tag) {
            continue;
        }
        if tag.chars().count() > MAX_TAG_CHARS {
            return Err(invalid(format!(
                "field `tags`: a tag is longer than {MAX_TAG_CHARS} characters"
            )));
        }
        tags.push(tag.to_owned());
    }
    if tags.len() > MAX_TAGS {
        return Err(invalid(format!("field `tags`: more than {MAX_TAGS} tags")));
    }
    Ok(tags)
}

pub fn validate_title(title: Option<&str>) -> Result<String, IngestError> {
    let title = title.map(str::trim).unwrap_or_default();
    if title.is_empty() {
        return Err(invalid("missing field `title`".to_owned()));
    }
    if title.chars().count() > MAX_TITLE_CHARS {
        return Err(invalid(format!(
            "field `title` is longer than {MAX_TITLE_CHARS} characters"
        )));
    }
    Ok(title.to_owned())
}

pub fn validate_description(description: Option<&str>) -> Result<String, IngestError> {
    let description = description.unwrap_or_default();
    if description.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(invalid(format!(
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
    ) -> Result<Self, IngestError> {
        Ok(Self {
            title: validate_title(title)?,
            description: validate_description(description)?,
            tags: normalize_tags(tags)?,
            visibility: crate::db::Visibility::default(),
        })
    }

    pub fn with_visibility(mut self, visibility: Option<crate::db::Visibility>) -> Self {
        self.visibility = visibility.unwrap_or_default();
        self
    }
}

/// Writes the row of a video whose source is (or will be) at `source_key`.
/// `None` when a video with this id already exists: callers that derive the
/// id from their input (the Lambda ingest) use that to stay idempotent.
pub async fn insert_video(
    db: &PgPool,
    id: Uuid,
    meta: &VideoMeta,
    source_key: &str,
    source_bytes: Option<u64>,
) -> Result<Option<Video>, IngestError> {
    let bytes = source_bytes.map(|b| i64::try_from(b).unwrap_or(i64::MAX));
    Ok(sqlx::query_as(
        "INSERT INTO videos (id, title, description, tags, status, source_key, source_bytes, visibility)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
         ON CONFLICT (id) DO NOTHING RETURNING *",
    )
    .bind(id)
    .bind(&meta.title)
    .bind(&meta.description)
    .bind(&meta.tags)
    .bind(crate::store::VideoStatus::Uploading)
    .bind(source_key)
    .bind(bytes)
    .bind(meta.visibility.as_str())
    .fetch_optional(db)
    .await?)
}

/// The idempotency key of a video's first transcode: one job per video
/// however many times its source is reported stored.
pub fn transcode_key(video_id: Uuid) -> String {
    format!("upload:{video_id}")
}

/// Queues the transcode of a stored source, once per video whatever the
/// number of calls, and returns the video as it is now.
pub async fn enqueue(
    services: &Services,
    video_id: Uuid,
) -> Result<(Video, JobRecord), IngestError> {
    let job = services
        .jobs
        .enqueue_transcode(&services.db, video_id, &transcode_key(video_id))
        .await?;
    invalidate(&services.cache, video_id).await;
    let video = get_video(&services.db, video_id)
        .await?
        .ok_or(IngestError::VideoMissing(video_id))?;
    Ok((video, job))
}

/// Drops the cached read of a video; a failure only delays freshness by the TTL.
pub async fn invalidate(cache: &Cache, video_id: Uuid) {
    if let Err(e) = cache.del(&video_cache_key(video_id)).await {
        tracing::warn!(%video_id, error = %e, "cache invalidation failed");
    }
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
        let err = normalize_tags(many).unwrap_err();
        assert_eq!(err.code(), "ingest.invalid_metadata");
        assert!(!err.is_transient());
    }
}
