//! `/cdn/{*key}`: the outputs bucket over HTTP, standing in for CloudFront
//! locally (and usable as its origin). Bodies stream from S3; ranges and
//! conditional requests are passed to S3 rather than re-implemented.

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::primitives::{DateTime, DateTimeFormat};
use axum::body::Body;
use axum::extract::{Path, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use vod_core::storage::{content_type_for, validate_key};

use crate::source_upload::s3_error;
use crate::{ApiError, AppState};

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Short, so a re-published package is picked up quickly.
const PLAYLIST: &str = "public, max-age=10";
const OTHER: &str = "public, max-age=300";

pub fn cache_control(key: &str) -> &'static str {
    let ext = key.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "m3u8" => PLAYLIST,
        // Segment and image names are never reused for different content.
        "ts" | "m4s" | "mp4" | "aac" | "jpg" | "jpeg" | "png" | "webp" => IMMUTABLE,
        _ => OTHER,
    }
}

/// A single `bytes=` range in a form S3 accepts, or `None` (RFC 9110 lets a
/// server ignore a Range it does not support, serving the whole object).
pub fn single_range(value: &str) -> Option<String> {
    let spec = value.trim().strip_prefix("bytes=")?.trim();
    if spec.contains(',') {
        return None;
    }
    let (start, end) = spec.split_once('-')?;
    let num = |s: &str| s.parse::<u64>().ok();
    match (start.is_empty(), end.is_empty()) {
        (false, true) => {
            num(start)?;
        }
        (false, false) => {
            if num(end)? < num(start)? {
                return None;
            }
        }
        (true, false) => {
            num(end)?;
        }
        (true, true) => return None,
    }
    Some(format!("bytes={spec}"))
}

/// CORS on every edge answer, errors included, so players see real statuses.
pub async fn cors(req: Request, next: Next) -> Response {
    let mut response = next.run(req).await;
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_EXPOSE_HEADERS,
        HeaderValue::from_static(
            "Content-Length, Content-Range, Accept-Ranges, ETag, Last-Modified",
        ),
    );
    response
}

pub async fn preflight() -> Response {
    (
        StatusCode::NO_CONTENT,
        [
            (header::ACCESS_CONTROL_ALLOW_METHODS, "GET, HEAD, OPTIONS"),
            (
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                "Range, If-None-Match, If-Modified-Since",
            ),
            (header::ACCESS_CONTROL_MAX_AGE, "86400"),
        ],
    )
        .into_response()
}

fn checked(key: &str) -> Result<(), ApiError> {
    validate_key(key).map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn http_date(t: Option<&DateTime>) -> Option<HeaderValue> {
    t.and_then(|t| t.fmt(DateTimeFormat::HttpDate).ok())
        .and_then(|s| HeaderValue::from_str(&s).ok())
}

fn common_headers(
    key: &str,
    stored_type: Option<&str>,
    etag: Option<&str>,
    modified: Option<&DateTime>,
) -> HeaderMap {
    let mut h = HeaderMap::new();
    let mut content_type = content_type_for(key);
    if content_type == "application/octet-stream"
        && let Some(stored) = stored_type
    {
        content_type = stored;
    }
    let pairs = [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_str(content_type).ok(),
        ),
        (
            header::CACHE_CONTROL,
            Some(HeaderValue::from_static(cache_control(key))),
        ),
        (
            header::ACCEPT_RANGES,
            Some(HeaderValue::from_static("bytes")),
        ),
        (
            header::ETAG,
            etag.and_then(|e| HeaderValue::from_str(e).ok()),
        ),
        (header::LAST_MODIFIED, http_date(modified)),
    ];
    for (name, value) in pairs {
        if let Some(value) = value {
            h.insert(name, value);
        }
    }
    h
}

fn status_of<E>(e: &SdkError<E, HttpResponse>) -> Option<u16> {
    e.raw_response().map(|r| r.status().as_u16())
}

/// An object of the outputs bucket, as the CDN serves it: Content-Type by
/// extension, `Range`, conditional requests, CORS and `Cache-Control`.
#[utoipa::path(get, path = "/cdn/{key}", tag = "edge",
    params(("key" = String, Path, description = "Object key, e.g. `videos/<id>/hls/master.m3u8`"),
        ("Range" = Option<String>, Header, description = "One byte range, `bytes=a-b`")),
    responses((status = 200, description = "The object", content_type = "application/octet-stream"),
        (status = 206, description = "The requested range"),
        (status = 304, description = "Not modified"),
        (status = 404, body = crate::openapi::ErrorBody), (status = 416, body = crate::openapi::ErrorBody)))]
pub async fn get(
    State(state): State<AppState>,
    Path(key): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    checked(&key)?;
    let outputs = &state.services.outputs;
    let range = headers
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .and_then(single_range);
    let if_none_match = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok());
    let if_modified_since = headers
        .get(header::IF_MODIFIED_SINCE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::from_str(v, DateTimeFormat::HttpDate).ok());
    let result = outputs
        .sdk()
        .get_object()
        .bucket(outputs.bucket())
        .key(&key)
        .set_range(range)
        .set_if_none_match(if_none_match.map(str::to_owned))
        .set_if_modified_since(if_modified_since)
        .send()
        .await;
    let out = match result {
        Ok(out) => out,
        Err(e) => {
            return match status_of(&e) {
                Some(404) => Err(ApiError::NotFound(format!("{key} not found"))),
                Some(304) => {
                    let mut h = common_headers(&key, None, if_none_match, None);
                    h.remove(header::CONTENT_TYPE);
                    Ok((StatusCode::NOT_MODIFIED, h).into_response())
                }
                Some(416) => {
                    let size = outputs
                        .sdk()
                        .head_object()
                        .bucket(outputs.bucket())
                        .key(&key)
                        .send()
                        .await
                        .ok()
                        .and_then(|h| h.content_length())
                        .and_then(|l| u64::try_from(l).ok());
                    Err(ApiError::RangeNotSatisfiable { size })
                }
                _ => Err(s3_error("get_object", e)),
            };
        }
    };
    let mut h = common_headers(&key, out.content_type(), out.e_tag(), out.last_modified());
    if let Some(len) = out
        .content_length()
        .and_then(|l| HeaderValue::from_str(&l.to_string()).ok())
    {
        h.insert(header::CONTENT_LENGTH, len);
    }
    let status = match out
        .content_range()
        .and_then(|r| HeaderValue::from_str(r).ok())
    {
        Some(range) => {
            h.insert(header::CONTENT_RANGE, range);
            StatusCode::PARTIAL_CONTENT
        }
        None => StatusCode::OK,
    };
    let stream = futures::stream::unfold(out.body, |mut body| async move {
        body.next().await.map(|chunk| (chunk, body))
    });
    Ok((status, h, Body::from_stream(stream)).into_response())
}

#[utoipa::path(head, path = "/cdn/{key}", tag = "edge",
    params(("key" = String, Path, description = "Object key")),
    responses((status = 200, description = "Headers of the object"), (status = 404, description = "No such object")))]
pub async fn head(
    State(state): State<AppState>,
    Path(key): Path<String>,
) -> Result<Response, ApiError> {
    checked(&key)?;
    let outputs = &state.services.outputs;
    let out = outputs
        .sdk()
        .head_object()
        .bucket(outputs.bucket())
        .key(&key)
        .send()
        .await
        .map_err(|e| match status_of(&e) {
            Some(404) => ApiError::NotFound(format!("{key} not found")),
            _ => s3_error("head_object", e),
        })?;
    let mut h = common_headers(&key, out.content_type(), out.e_tag(), out.last_modified());
    if let Some(len) = out
        .content_length()
        .and_then(|l| HeaderValue::from_str(&l.to_string()).ok())
    {
        h.insert(header::CONTENT_LENGTH, len);
    }
    Ok((StatusCode::OK, h).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(single_range("bytes=0-99").as_deref(), Some("bytes=0-99"));
        assert_eq!(single_range("bytes=100-").as_deref(), Some("bytes=100-"));
        assert_eq!(single_range("bytes=-5").as_deref(), Some("bytes=-5"));
        for bad in [
            "bytes=5-1",
            "bytes=0-1,4-5",
            "items=0-1",
            "bytes=-",
            "bytes=a-b",
            "",
        ] {
            assert_eq!(single_range(bad), None, "{bad}");
        }
    }

    #[test]
    fn cache_lifetimes() {
        assert_eq!(cache_control("v/hls/master.m3u8"), PLAYLIST);
        assert_eq!(cache_control("v/hls/720p/seg_00001.ts"), IMMUTABLE);
        assert_eq!(cache_control("v/thumbs/poster.jpg"), IMMUTABLE);
        assert_eq!(cache_control("v/thumbs/storyboard.vtt"), OTHER);
    }
}
