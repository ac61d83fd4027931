//! `POST /v1/videos`: a multipart form with `file`, `title`, `description`,
//! `tags` (comma-separated or repeated) and `visibility` (`public`/`private`). The file streams straight into
//! the sources bucket; nothing is written to disk or held whole in memory.
//! Send the text fields first: a missing title is only noticed at the end.

use axum::extract::multipart::{Field, MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::Response;
use uuid::Uuid;
use vod_core::storage::ObjectStore;

use crate::auth::RequireUploader;
use crate::records::{self, VideoMeta};
use crate::source_upload::SourceUpload;
use crate::{ApiError, AppState};

/// Text fields are small; a bigger one is a mistake or an attack.
const MAX_TEXT_FIELD: usize = 64 * 1024;
/// Room for multipart boundaries and text fields over the file size limit.
const FORM_OVERHEAD: u64 = 1024 * 1024;

/// The multipart form of `POST /v1/videos`; send the text fields before `file`.
#[derive(utoipa::ToSchema)]
#[allow(
    dead_code,
    reason = "documents the form; the handler reads it as a stream"
)]
struct UploadForm {
    title: String,
    description: Option<String>,
    /// Comma-separated, or the field repeated.
    tags: Option<String>,
    /// The media file: MP4/MOV, Matroska/WebM, MPEG-TS, AVI, FLV, Ogg or a raw stream.
    #[schema(format = Binary, content_media_type = "application/octet-stream")]
    file: String,
}

#[derive(Default)]
struct Form {
    title: Option<String>,
    description: Option<String>,
    tags: Vec<String>,
    visibility: Option<vod_core::db::Visibility>,
}

/// Streams the file into the sources bucket as it arrives and queues its transcode.
#[utoipa::path(post, path = "/v1/videos", tag = "uploads", security(("bearer" = [])),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 201, body = records::Accepted),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody),
        (status = 413, description = "Larger than the upload limit", body = crate::openapi::ErrorBody),
        (status = 415, description = "Not a media file (checked by magic bytes)", body = crate::openapi::ErrorBody),
        (status = 422, body = crate::openapi::ErrorBody), (status = 429, body = crate::openapi::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    RequireUploader(who): RequireUploader,
    headers: HeaderMap,
    multipart: Result<Multipart, MultipartRejection>,
) -> Result<Response, ApiError> {
    let limit = state.config.max_upload_bytes;
    // Refuse an announced oversize body before reading any of it.
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|len| len > limit.saturating_add(FORM_OVERHEAD)) {
        return Err(ApiError::TooLarge { limit });
    }
    let mut multipart = multipart.map_err(|e| {
        ApiError::invalid(format!(
            "expected a multipart/form-data body: {}",
            e.body_text()
        ))
    })?;

    let video_id = Uuid::now_v7();
    let mut form = Form::default();
    let mut upload: Option<SourceUpload> = None;
    let read = read_form(&state, &mut multipart, video_id, &mut form, &mut upload).await;
    let meta = read.and_then(|()| {
        if upload.is_none() {
            return Err(ApiError::invalid("missing field `file`"));
        }
        VideoMeta::new(
            form.title.as_deref(),
            form.description.as_deref(),
            std::mem::take(&mut form.tags),
        )
        .map_err(ApiError::from)
        .map(|m| m.with_visibility(form.visibility))
    });
    let (meta, upload) = match (meta, upload) {
        (Ok(meta), Some(upload)) => (meta, upload),
        (Err(e), upload) => {
            if let Some(upload) = upload {
                upload.abort().await;
            }
            return Err(e);
        }
        (Ok(_), None) => return Err(ApiError::invalid("missing field `file`")),
    };
    let bytes = upload.received();
    let container = upload.container().map(|c| c.name()).unwrap_or("unknown");
    let key = upload.key().to_owned();
    upload.commit().await?;
    let video = records::insert_video(&state, video_id, &meta, &key, Some(bytes)).await;
    if let Err(e) = video {
        // The row is the only way to find the object again; without it, remove it.
        if let Err(del) = state.services.sources.delete(&key).await {
            tracing::warn!(%key, error = %del, "orphan source not deleted");
        }
        return Err(e);
    }
    let (video, job) = records::enqueue(&state, video_id).await?;
    tracing::info!(%video_id, bytes, container, uploader = %who.name, "source uploaded");
    Ok(records::accepted(StatusCode::CREATED, &video, &job))
}

async fn read_form(
    state: &AppState,
    multipart: &mut Multipart,
    video_id: Uuid,
    form: &mut Form,
    upload: &mut Option<SourceUpload>,
) -> Result<(), ApiError> {
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        match name.as_str() {
            "title" => form.title = Some(text(&mut field, &name).await?),
            "description" => form.description = Some(text(&mut field, &name).await?),
            "visibility" => {
                form.visibility = Some(records::parse_visibility(&text(&mut field, &name).await?)?);
            }
            "tags" => {
                let raw = text(&mut field, &name).await?;
                form.tags.extend(raw.split(',').map(str::to_owned));
            }
            "file" => {
                if upload.is_some() {
                    return Err(ApiError::invalid("field `file` given more than once"));
                }
                let file_name = field.file_name().unwrap_or_default().to_owned();
                let key =
                    records::source_key(&state.config.source_key_prefix, video_id, &file_name);
                let sink = upload.insert(SourceUpload::new(
                    &state.services.sources,
                    key,
                    state.config.max_upload_bytes,
                    "multipart",
                    state.upload_memory.clone(),
                ));
                while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                    sink.push(chunk).await?;
                }
                sink.finish().await?;
            }
            other => {
                return Err(ApiError::invalid(format!(
                    "unknown field `{other}`; expected file, title, description, tags, visibility"
                )));
            }
        }
    }
    Ok(())
}

async fn text(field: &mut Field<'_>, name: &str) -> Result<String, ApiError> {
    let mut buf = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
        if buf.len() + chunk.len() > MAX_TEXT_FIELD {
            return Err(ApiError::invalid(format!(
                "field `{name}` is longer than {MAX_TEXT_FIELD} bytes"
            )));
        }
        buf.extend_from_slice(&chunk);
    }
    String::from_utf8(buf).map_err(|_| ApiError::invalid(format!("field `{name}` is not UTF-8")))
}

fn multipart_error(e: MultipartError) -> ApiError {
    ApiError::invalid(format!("malformed multipart body: {}", e.body_text()))
}
