//! Retry, cancel and delete: the state changes an editor makes on a video.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use vod_core::events::{JobEvent, publish};
use vod_core::jobs::Repush;
use vod_core::storage::ObjectStore;
use vod_core::store::jobs::{latest_job_for_video, with_tasks};
use vod_core::store::{JobRecord, JobState, VideoStatus};

use crate::auth::RequireUploader;
use crate::records::{invalidate, parse_id};
use crate::{ApiError, AppState};

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct JobEnvelope {
    job: JobRecord,
}

/// `POST /v1/videos/{id}/retry`: a new job for a video whose last one failed,
/// or, for an unfinished job, its queued tasks pushed again when the queue
/// does not hold them.
#[utoipa::path(post, path = "/v1/videos/{id}/retry", tag = "videos", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Video id")),
    responses((status = 202, description = "A new job, or the stranded job's tasks pushed again", body = JobEnvelope),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody), (status = 404, body = crate::openapi::ErrorBody),
        (status = 409, description = "The last job is running, waiting in the queue, or succeeded", body = crate::openapi::ErrorBody),
        (status = 503, description = "The job is stranded and the queue (Redis) cannot be reached; it is sent when it answers", body = crate::openapi::ErrorBody)))]
pub async fn retry(
    State(state): State<AppState>,
    RequireUploader(who): RequireUploader,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "video")?;
    let s = &state.services;
    let video = vod_core::db::get_video(&s.db, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("video {id} does not exist")))?;
    if video.source_key.is_none() {
        return Err(ApiError::Conflict(
            "the video has no stored source to transcode".into(),
        ));
    }
    if let Some(job) = latest_job_for_video(&s.db, id).await? {
        if job.state.is_active() {
            let job = with_tasks(&s.db, job).await?;
            if job.queue_status.is_some() {
                return repush(&state, job, &who.name).await;
            }
            return Err(ApiError::Conflict(format!(
                "job {} is still {}",
                job.id, job.state
            )));
        }
        if job.state == JobState::Succeeded && video.status == VideoStatus::Ready {
            return Err(ApiError::Conflict(
                "the video is ready; nothing to retry".into(),
            ));
        }
    }
    let attempt = vod_core::store::jobs::count_for_video(&s.db, id).await?;
    let job = s
        .jobs
        .enqueue_transcode(&s.db, id, &format!("retry:{id}:{attempt}"))
        .await?;
    invalidate(&state, id).await;
    tracing::info!(video_id = %id, job_id = %job.id, by = %who.name, "retry requested");
    Ok((StatusCode::ACCEPTED, Json(JobEnvelope { job })).into_response())
}

/// Queued tasks the queue does not hold (a refused push, or lost by Redis)
/// are pushed again at once rather than left to the relay.
async fn repush(state: &AppState, job: JobRecord, by: &str) -> Result<Response, ApiError> {
    let s = &state.services;
    match s.jobs.repush_if_missing(&s.db, &job).await {
        Ok(Repush::Held) => Err(ApiError::Conflict(format!(
            "job {} is {} and its queued tasks wait for a worker",
            job.id, job.state
        ))),
        Ok(Repush::Pushed(job)) => {
            invalidate(state, job.video_id).await;
            tracing::info!(video_id = %job.video_id, job_id = %job.id, by, "stranded tasks pushed again on retry");
            Ok((StatusCode::ACCEPTED, Json(JobEnvelope { job: *job })).into_response())
        }
        Err(vod_core::jobs::QueueError::Backend(e)) => {
            tracing::warn!(job_id = %job.id, error = %e, "retry: the queue cannot be reached");
            Err(ApiError::ServiceUnavailable {
                code: "queue.unavailable",
                message: format!(
                    "job {} is queued but the job queue (Redis) cannot be reached; it is sent \
                     automatically as soon as the queue answers",
                    job.id
                ),
                retry_after: 5,
            })
        }
        Err(e) => Err(e.into()),
    }
}

/// `POST /v1/jobs/{id}/cancel`: a queued job never starts; its running tasks
/// stop at their next heartbeat (within seconds) and publish nothing playable.
#[utoipa::path(post, path = "/v1/jobs/{id}/cancel", tag = "jobs", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Job id")),
    responses((status = 202, body = JobEnvelope),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody), (status = 404, body = crate::openapi::ErrorBody),
        (status = 409, description = "The job already finished", body = crate::openapi::ErrorBody)))]
pub async fn cancel(
    State(state): State<AppState>,
    RequireUploader(who): RequireUploader,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&id, "job")?;
    let s = &state.services;
    let job = match vod_core::store::jobs::cancel(&s.db, id).await? {
        Ok(job) => with_tasks(&s.db, job).await?,
        Err(ended) => return Err(ApiError::Conflict(format!("job {id} is already {ended}"))),
    };
    invalidate(&state, job.video_id).await;
    let event = JobEvent {
        video_id: job.video_id,
        job_id: job.id,
        state: JobState::Cancelled.to_string(),
        stage: "cancelled".into(),
        percent: job.percent.unwrap_or(0.0),
        eta_seconds: None,
        error_code: Some("job.cancelled".into()),
        error_message: Some("cancelled by a user".into()),
        queue: None,
    };
    publish(&s.cache, &event).await;
    tracing::info!(job_id = %id, by = %who.name, "job cancelled");
    Ok((StatusCode::ACCEPTED, Json(JobEnvelope { job })).into_response())
}

/// `DELETE /v1/videos/{id}`: cancels its jobs, removes its source and outputs,
/// its catalog entry and its records.
#[utoipa::path(delete, path = "/v1/videos/{id}", tag = "videos", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Video id")),
    responses((status = 204, description = "Deleted"),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody), (status = 404, body = crate::openapi::ErrorBody)))]
pub async fn delete(
    State(state): State<AppState>,
    RequireUploader(who): RequireUploader,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&id, "video")?;
    let s = &state.services;
    let video = vod_core::db::get_video(&s.db, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("video {id} does not exist")))?;
    // Stop workers first: a running task checks its record before publishing.
    vod_core::store::jobs::cancel_all_for_video(&s.db, id).await?;
    let mut removed = 0usize;
    for obj in s.outputs.list(&format!("videos/{id}/")).await? {
        s.outputs.delete(&obj.key).await?;
        removed += 1;
    }
    if let Some(source) = &video.source_key {
        s.sources.delete(source).await?;
        removed += 1;
    }
    s.catalog.delete(&id.to_string()).await?;
    sqlx::query("DELETE FROM videos WHERE id = $1")
        .bind(id)
        .execute(&s.db)
        .await?;
    invalidate(&state, id).await;
    tracing::info!(video_id = %id, objects = removed, by = %who.name, "video deleted");
    Ok(StatusCode::NO_CONTENT)
}
