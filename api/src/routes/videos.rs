//! Reads and metadata edits. PostgreSQL answers; Redis caches single-video
//! reads for a short TTL; MongoDB answers free-text search.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;
use vod_core::db::{Video, Visibility, get_video};
use vod_core::store::VideoStatus;
use vod_core::store::jobs::{get_job, with_tasks};

use crate::auth::{RequireUploader, RequireViewer};
use crate::extract::{ApiJson, ApiQuery};
use crate::records::{
    cache_key, invalidate, normalize_tags, parse_id, validate_description, validate_title,
};
use crate::{ApiError, AppState};

const MAX_PER_PAGE: u32 = 100;
/// Deep offsets are slow and nobody pages that far by hand.
const MAX_PAGE: u32 = 1000;

/// A video with its renditions and playback, poster and storyboard URLs (cached).
#[utoipa::path(get, path = "/v1/videos/{id}", tag = "videos", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Video id")),
    responses((status = 200, body = crate::view::VideoView),
        (status = 400, body = crate::openapi::ErrorBody), (status = 401, body = crate::openapi::ErrorBody), (status = 404, body = crate::openapi::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    RequireViewer(_): RequireViewer,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&raw_id, "video")?;
    let cache = &state.services.cache;
    match cache.get(&cache_key(id)).await {
        Ok(Some(cached)) => {
            return Ok(([(header::CONTENT_TYPE, "application/json")], cached).into_response());
        }
        Ok(None) => {}
        // The cache only saves work; without it, read through.
        Err(e) => tracing::warn!(%id, error = %e, "video cache read failed"),
    }
    let video = get_video(&state.services.db, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("video {id} does not exist")))?;
    let mut view =
        crate::view::video_view(&state.services.db, &state.config.playback, video).await?;
    crate::playback::sign_view(&state.config, &mut view)?;
    let body = serde_json::to_string(&view).map_err(|e| ApiError::Internal(e.to_string()))?;
    if let Err(e) = cache
        .set_ex(
            &cache_key(id),
            &body,
            state.config.video_cache_ttl_secs.max(1),
        )
        .await
    {
        tracing::warn!(%id, error = %e, "video cache write failed");
    }
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Patch {
    title: Option<String>,
    description: Option<String>,
    tags: Option<Vec<String>>,
    visibility: Option<Visibility>,
}

/// Edits title, description or tags; the catalog and cache follow.
#[utoipa::path(patch, path = "/v1/videos/{id}", tag = "videos", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Video id")), request_body = Patch,
    responses((status = 200, body = Video),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody), (status = 404, body = crate::openapi::ErrorBody),
        (status = 422, body = crate::openapi::ErrorBody)))]
pub async fn patch(
    State(state): State<AppState>,
    RequireUploader(who): RequireUploader,
    Path(raw_id): Path<String>,
    ApiJson(req): ApiJson<Patch>,
) -> Result<Json<Video>, ApiError> {
    let id = parse_id(&raw_id, "video")?;
    if req.title.is_none()
        && req.description.is_none()
        && req.tags.is_none()
        && req.visibility.is_none()
    {
        return Err(ApiError::invalid(
            "nothing to change: give title, description, tags or visibility",
        ));
    }
    let title = req
        .title
        .as_deref()
        .map(|t| validate_title(Some(t)))
        .transpose()?;
    let description = req
        .description
        .as_deref()
        .map(|d| validate_description(Some(d)))
        .transpose()?;
    let tags = req.tags.map(normalize_tags).transpose()?;
    let video: Option<Video> = sqlx::query_as(
        "UPDATE videos SET title = COALESCE($2, title), description = COALESCE($3, description),
             tags = COALESCE($4, tags), visibility = COALESCE($5, visibility), updated_at = now()
         WHERE id = $1 AND status <> $6 RETURNING *",
    )
    .bind(id)
    .bind(&title)
    .bind(&description)
    .bind(&tags)
    .bind(req.visibility.map(Visibility::as_str))
    .bind(VideoStatus::Deleted)
    .fetch_optional(&state.services.db)
    .await?;
    let video = video.ok_or_else(|| ApiError::NotFound(format!("video {id} does not exist")))?;
    invalidate(&state, id).await;
    // The catalog is derived: keep its searchable fields in step when it has the video.
    let catalog = &state.services.catalog;
    if let Some(mut entry) = catalog.get(&id.to_string()).await? {
        entry.title = video.title.clone();
        entry.description = video.description.clone();
        entry.tags = video.tags.clone();
        entry.updated_at = video.updated_at.to_rfc3339();
        catalog.upsert(&entry).await?;
    }
    tracing::info!(%id, by = %who.name, "video metadata updated");
    Ok(Json(video))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Words searched in title, description and tags (the catalog's text index).
    q: Option<String>,
    tag: Option<String>,
    /// created, uploading, queued, processing, ready, failed or deleted.
    status: Option<String>,
    /// From 1.
    page: Option<u32>,
    /// 1 to 100, default 20.
    per_page: Option<u32>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct VideoPage {
    items: Vec<Video>,
    page: u32,
    per_page: u32,
    has_more: bool,
}

/// Lists videos, newest first, or by relevance when `q` is given.
#[utoipa::path(get, path = "/v1/videos", tag = "videos", security(("bearer" = [])),
    params(ListParams),
    responses((status = 200, body = VideoPage),
        (status = 400, body = crate::openapi::ErrorBody), (status = 401, body = crate::openapi::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    RequireViewer(_): RequireViewer,
    ApiQuery(params): ApiQuery<ListParams>,
) -> Result<Json<VideoPage>, ApiError> {
    let page = params.page.unwrap_or(1);
    if page == 0 || page > MAX_PAGE {
        return Err(ApiError::BadRequest(format!(
            "page must be between 1 and {MAX_PAGE}"
        )));
    }
    let per_page = params.per_page.unwrap_or(20).clamp(1, MAX_PER_PAGE);
    let status: Option<VideoStatus> = match &params.status {
        None => None,
        Some(text) => Some(
            VideoStatus::ALL
                .iter()
                .copied()
                .find(|s| s.as_str() == text)
                .ok_or_else(|| {
                    let names: Vec<&str> = VideoStatus::ALL.iter().map(|s| s.as_str()).collect();
                    ApiError::BadRequest(format!(
                        "unknown status {text:?}; one of {}",
                        names.join(", ")
                    ))
                })?,
        ),
    };
    let offset = i64::from((page - 1) * per_page);
    let limit = i64::from(per_page);
    let db = &state.services.db;
    let q = params.q.as_deref().map(str::trim).filter(|q| !q.is_empty());
    let (items, has_more) = if let Some(q) = q {
        // Text relevance comes from the catalog; filters and fields from Postgres.
        let hits = state.services.catalog.search(q, offset + limit + 1).await?;
        let ids: Vec<Uuid> = hits.iter().filter_map(|e| e.id.parse().ok()).collect();
        let rows: Vec<Video> = sqlx::query_as(
            "SELECT * FROM videos WHERE id = ANY($1)
               AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR $3 = ANY(tags))",
        )
        .bind(&ids)
        .bind(status)
        .bind(&params.tag)
        .fetch_all(db)
        .await?;
        let ordered: Vec<Video> = ids
            .iter()
            .filter_map(|id| rows.iter().find(|v| v.id == *id).cloned())
            .collect();
        let has_more = ordered.len() as i64 > offset + limit;
        let start = usize::try_from(offset).unwrap_or(usize::MAX);
        let page_items = ordered
            .into_iter()
            .skip(start)
            .take(per_page as usize)
            .collect();
        (page_items, has_more)
    } else {
        let mut rows: Vec<Video> = sqlx::query_as(
            "SELECT * FROM videos
             WHERE ($1::text IS NULL OR status = $1) AND ($2::text IS NULL OR $2 = ANY(tags))
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4",
        )
        .bind(status)
        .bind(&params.tag)
        .bind(limit + 1)
        .bind(offset)
        .fetch_all(db)
        .await?;
        let has_more = rows.len() as i64 > limit;
        rows.truncate(per_page as usize);
        (rows, has_more)
    };
    Ok(Json(VideoPage {
        items,
        page,
        per_page,
        has_more,
    }))
}

#[utoipa::path(get, path = "/v1/jobs/{id}", tag = "jobs", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 200, description = "The job with its plan and its tasks (state, worker, timings)", body = vod_core::store::JobRecord),
        (status = 400, body = crate::openapi::ErrorBody), (status = 401, body = crate::openapi::ErrorBody), (status = 404, body = crate::openapi::ErrorBody)))]
pub async fn job(
    State(state): State<AppState>,
    RequireViewer(_): RequireViewer,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&raw_id, "job")?;
    let db = &state.services.db;
    let job = get_job(db, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("job {id} does not exist")))?;
    Ok(Json(with_tasks(db, job).await?).into_response())
}
