//! Direct uploads: the client PUTs parts straight to S3 with presigned URLs,
//! so large files never pass through the API. Completion trusts S3's list of
//! parts, never the client, and checks the stored file's first bytes.

use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use uuid::Uuid;
use vod_core::storage::ObjectStore;

use super::direct_parts::{PartUrl, abort, expected_part_size, plan_parts, presign, stored_parts};
use crate::auth::RequireUploader;
use crate::extract::ApiJson;
use crate::records::{self, VideoMeta};
use crate::sniff::{self, SNIFF_LEN};
use crate::source_upload::{s3_error, unsupported};
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUpload {
    title: Option<String>,
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    visibility: Option<vod_core::db::Visibility>,
    size: u64,
    content_type: Option<String>,
    /// Only its extension is used, for the source key.
    file_name: Option<String>,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct UploadRow {
    pub upload_id: String,
    pub key: String,
    size: i64,
    part_size: i64,
    part_count: i32,
    state: String,
}

/// The upload session a client drives: PUT each part to its URL, then `complete`.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UploadSession {
    video_id: Uuid,
    upload_id: String,
    part_size: u64,
    part_count: u64,
    expires_at: chrono::DateTime<chrono::Utc>,
    parts: Vec<PartUrl>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedUpload {
    video: vod_core::db::Video,
    upload: UploadSession,
}

/// What S3 holds of an upload, and fresh URLs for the parts still missing.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct UploadParts {
    video_id: Uuid,
    /// open, completed or aborted; only an open upload lists parts.
    state: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    upload_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    part_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    part_count: Option<u64>,
    parts: Vec<StoredPart>,
    missing: Vec<PartUrl>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct StoredPart {
    part_number: i32,
    size: u64,
    etag: String,
}

/// Creates a video and a presigned S3 multipart upload for its source.
#[utoipa::path(post, path = "/v1/uploads", tag = "uploads", security(("bearer" = [])),
    request_body = CreateUpload,
    responses((status = 201, body = CreatedUpload),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody),
        (status = 413, body = crate::openapi::ErrorBody), (status = 415, body = crate::openapi::ErrorBody), (status = 422, body = crate::openapi::ErrorBody),
        (status = 429, body = crate::openapi::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    RequireUploader(who): RequireUploader,
    ApiJson(req): ApiJson<CreateUpload>,
) -> Result<Response, ApiError> {
    let meta = VideoMeta::new(req.title.as_deref(), req.description.as_deref(), req.tags)?
        .with_visibility(req.visibility);
    let limit = state.config.max_upload_bytes;
    if req.size == 0 {
        return Err(ApiError::invalid("field `size` must be at least 1 byte"));
    }
    if req.size > limit {
        return Err(ApiError::TooLarge { limit });
    }
    if let Some(ct) = &req.content_type
        && (ct.len() > 127 || !ct.contains('/') || !ct.bytes().all(|b| b.is_ascii_graphic()))
    {
        return Err(ApiError::invalid(
            "field `content_type` is not a media type",
        ));
    }
    let (part_size, part_count) = plan_parts(req.size);
    let video_id = Uuid::now_v7();
    let key = records::source_key(
        &state.config.source_key_prefix,
        video_id,
        req.file_name.as_deref().unwrap_or_default(),
    );
    let sources = &state.services.sources;
    let created = sources
        .sdk()
        .create_multipart_upload()
        .bucket(sources.bucket())
        .key(&key)
        .set_content_type(req.content_type.clone())
        .send()
        .await
        .map_err(|e| s3_error("create_multipart_upload", e))?;
    let upload_id = created
        .upload_id()
        .ok_or_else(|| ApiError::Internal("S3 returned no upload id".into()))?
        .to_owned();
    let recorded = record(
        &state, video_id, &meta, &key, &upload_id, req.size, part_size, part_count, &who.name,
    )
    .await;
    let video = match recorded {
        Ok(video) => video,
        Err(e) => {
            abort(&state, &key, &upload_id).await;
            return Err(e);
        }
    };
    let (expires_at, urls) = presign(
        &state,
        &key,
        &upload_id,
        req.size,
        part_size,
        1..=part_count,
    )
    .await?;
    tracing::info!(%video_id, size = req.size, part_count, uploader = %who.name, "direct upload created");
    let body = CreatedUpload {
        video,
        upload: UploadSession {
            video_id,
            upload_id,
            part_size,
            part_count,
            expires_at,
            parts: urls,
        },
    };
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

#[allow(clippy::too_many_arguments, reason = "one row, written once")]
async fn record(
    state: &AppState,
    video_id: Uuid,
    meta: &VideoMeta,
    key: &str,
    upload_id: &str,
    size: u64,
    part_size: u64,
    part_count: u64,
    who: &str,
) -> Result<vod_core::db::Video, ApiError> {
    let video = records::insert_video(state, video_id, meta, key, Some(size)).await?;
    sqlx::query(
        "INSERT INTO uploads (video_id, upload_id, key, size, part_size, part_count, created_by)
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(video_id)
    .bind(upload_id)
    .bind(key)
    .bind(i64::try_from(size).unwrap_or(i64::MAX))
    .bind(i64::try_from(part_size).unwrap_or(i64::MAX))
    .bind(i32::try_from(part_count).unwrap_or(i32::MAX))
    .bind(who)
    .execute(&state.services.db)
    .await?;
    Ok(video)
}

async fn load(state: &AppState, raw_id: &str) -> Result<(Uuid, UploadRow), ApiError> {
    let video_id = records::parse_id(raw_id, "video")?;
    let row: Option<UploadRow> = sqlx::query_as(
        "SELECT upload_id, key, size, part_size, part_count, state FROM uploads WHERE video_id = $1",
    )
    .bind(video_id)
    .fetch_optional(&state.services.db)
    .await?;
    let row =
        row.ok_or_else(|| ApiError::NotFound(format!("no direct upload for video {video_id}")))?;
    Ok((video_id, row))
}

fn sizes(row: &UploadRow) -> (u64, u64, u64) {
    let size = u64::try_from(row.size).unwrap_or(0);
    let part_size = u64::try_from(row.part_size).unwrap_or(1);
    let count = u64::try_from(row.part_count).unwrap_or(0);
    (size, part_size, count)
}

/// `GET /v1/uploads/{video_id}/parts`: what S3 has, and fresh URLs for the
/// rest, so an interrupted client can resume.
#[utoipa::path(get, path = "/v1/uploads/{id}/parts", tag = "uploads", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Video id of the upload")),
    responses((status = 200, body = UploadParts),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody), (status = 404, body = crate::openapi::ErrorBody)))]
pub async fn parts(
    State(state): State<AppState>,
    RequireUploader(_): RequireUploader,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let (video_id, row) = load(&state, &raw_id).await?;
    if row.state != "open" {
        return Ok(Json(UploadParts {
            video_id,
            state: row.state,
            upload_id: None,
            part_size: None,
            part_count: None,
            parts: Vec::new(),
            missing: Vec::new(),
            expires_at: None,
        })
        .into_response());
    }
    let (size, part_size, count) = sizes(&row);
    let stored = stored_parts(&state, &row).await?;
    let missing: Vec<u64> = (1..=count)
        .filter(|n| !stored.iter().any(|p| u64::try_from(p.0).ok() == Some(*n)))
        .collect();
    let (expires_at, urls) =
        presign(&state, &row.key, &row.upload_id, size, part_size, missing).await?;
    let present: Vec<_> = stored
        .iter()
        .map(|(n, size, etag)| StoredPart {
            part_number: *n,
            size: *size,
            etag: etag.clone(),
        })
        .collect();
    Ok(Json(UploadParts {
        video_id,
        upload_id: Some(row.upload_id),
        state: row.state,
        part_size: Some(part_size),
        part_count: Some(count),
        parts: present,
        missing: urls,
        expires_at: Some(expires_at),
    })
    .into_response())
}

/// `POST /v1/uploads/{video_id}/complete`. Repeating it after success
/// returns the same video and job.
#[utoipa::path(post, path = "/v1/uploads/{id}/complete", tag = "uploads", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Video id of the upload")),
    responses((status = 200, body = crate::records::Accepted),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody), (status = 404, body = crate::openapi::ErrorBody),
        (status = 409, description = "Parts are missing or the upload was aborted", body = crate::openapi::ErrorBody),
        (status = 415, body = crate::openapi::ErrorBody)))]
pub async fn complete(
    State(state): State<AppState>,
    RequireUploader(who): RequireUploader,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let (video_id, row) = load(&state, &raw_id).await?;
    match row.state.as_str() {
        "completed" => {}
        "open" => {
            let claimed = sqlx::query(
                "UPDATE uploads SET state = 'completing' WHERE video_id = $1 AND state = 'open'",
            )
            .bind(video_id)
            .execute(&state.services.db)
            .await?;
            if claimed.rows_affected() != 1 {
                return Err(ApiError::Conflict(
                    "the upload is being completed by another request".into(),
                ));
            }
            let assembled = assemble(&state, &row).await;
            // Failures before the object exists (missing parts, S3 down) leave
            // the upload open for another try.
            let next = if assembled.is_ok() {
                "completed"
            } else {
                "open"
            };
            sqlx::query(
                "UPDATE uploads SET state = $2,
                     completed_at = CASE WHEN $2 = 'completed' THEN now() END
                 WHERE video_id = $1",
            )
            .bind(video_id)
            .bind(next)
            .execute(&state.services.db)
            .await?;
            assembled?;
        }
        other => return Err(ApiError::Conflict(format!("the upload is {other}"))),
    }
    // Checked on every call, so a completion whose check failed transiently
    // is never queued unchecked by a repeat.
    verify(&state, video_id, &row).await?;
    let (video, job) = records::enqueue(&state, video_id).await?;
    tracing::info!(%video_id, uploader = %who.name, "direct upload completed");
    Ok(records::accepted(StatusCode::OK, &video, &job))
}

/// Turns the uploaded parts into the source object.
async fn assemble(state: &AppState, row: &UploadRow) -> Result<(), ApiError> {
    let (size, part_size, count) = sizes(row);
    let sources = &state.services.sources;
    // A previous call may have completed S3 and then failed to record it.
    if sources
        .head(&row.key)
        .await?
        .is_some_and(|m| m.size == size)
    {
        return Ok(());
    }
    let stored = stored_parts(state, row).await?;
    let mut completed = Vec::new();
    for n in 1..=count {
        let want = expected_part_size(size, part_size, n);
        let Some((number, got, etag)) = stored.iter().find(|p| u64::try_from(p.0).ok() == Some(n))
        else {
            return Err(ApiError::Unprocessable {
                code: "upload.incomplete",
                message: format!("part {n} of {count} has not been uploaded"),
            });
        };
        if *got != want {
            return Err(ApiError::Unprocessable {
                code: "upload.incomplete",
                message: format!("part {n} has {got} bytes; expected {want}"),
            });
        }
        completed.push(
            CompletedPart::builder()
                .part_number(*number)
                .e_tag(etag)
                .build(),
        );
    }
    sources
        .sdk()
        .complete_multipart_upload()
        .bucket(sources.bucket())
        .key(&row.key)
        .upload_id(&row.upload_id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(completed))
                .build(),
        )
        .send()
        .await
        .map_err(|e| s3_error("complete_multipart_upload", e))?;
    metrics::counter!("vod_upload_bytes_total", "method" => "direct").increment(size);
    Ok(())
}

/// The stored object's first bytes must be a supported container; if not,
/// the object goes and the video fails.
async fn verify(state: &AppState, video_id: Uuid, row: &UploadRow) -> Result<(), ApiError> {
    let sources = &state.services.sources;
    let head = sources
        .sdk()
        .get_object()
        .bucket(sources.bucket())
        .key(&row.key)
        .range(format!("bytes=0-{}", SNIFF_LEN - 1))
        .send()
        .await
        .map_err(|e| s3_error("get_object", e))?
        .body
        .collect()
        .await
        .map_err(|e| ApiError::Unavailable(format!("S3 get_object body: {e}")))?
        .into_bytes();
    if sniff::sniff(&head).is_some() {
        return Ok(());
    }
    let err = unsupported(&head);
    sources.delete(&row.key).await?;
    let db = &state.services.db;
    sqlx::query(
        "UPDATE videos SET status = 'failed', error_code = $2, error_message = $3, updated_at = now()
         WHERE id = $1",
    )
    .bind(video_id)
    .bind(err.code())
    .bind(err.to_string())
    .execute(db)
    .await?;
    sqlx::query("UPDATE uploads SET state = 'rejected' WHERE video_id = $1")
        .bind(video_id)
        .execute(db)
        .await?;
    records::invalidate(state, video_id).await;
    Err(err)
}
