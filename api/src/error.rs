//! The HTTP error boundary: every failure leaves as JSON
//! `{"error": {"code", "message"}}` with a fitting status. Codes are stable;
//! messages are for people. Internal details are logged, not returned.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use vod_core::cache::CacheError;
use vod_core::catalog::CatalogError;
use vod_core::db::DbError;
use vod_core::ingest::IngestError;
use vod_core::jobs::QueueError;
use vod_core::storage::StorageError;
use vod_core::store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    /// 401; `code` is `auth.missing_token` or `auth.invalid_token`.
    #[error("{reason}")]
    Unauthorized { code: &'static str, reason: String },
    #[error("this request needs the {needed} role or higher; the token has {have}")]
    Forbidden {
        needed: &'static str,
        have: &'static str,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("the file is larger than the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("{0}")]
    UnsupportedType(String),
    /// 422 with a specific code (`upload.invalid_request`, `pull.address_refused`…).
    #[error("{message}")]
    Unprocessable { code: &'static str, message: String },
    #[error("the requested range is not satisfiable")]
    RangeNotSatisfiable { size: Option<u64> },
    #[error("too many write requests: the limit is {limit} per minute; retry in {retry_after} s")]
    RateLimited { limit: u32, retry_after: u64 },
    #[error("a dependency is unavailable: {0}")]
    Unavailable(String),
    /// 503 whose reason is ours to tell (no internal detail in it).
    #[error("{message}")]
    ServiceUnavailable {
        code: &'static str,
        message: String,
        retry_after: u64,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "http.not_found",
            Self::BadRequest(_) => "http.bad_request",
            Self::Unauthorized { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::ServiceUnavailable { code, .. } => code,
            Self::Forbidden { .. } => "auth.forbidden",
            Self::Conflict(_) => "http.conflict",
            Self::TooLarge { .. } => "upload.too_large",
            Self::UnsupportedType(_) => "upload.unsupported_type",
            Self::RangeNotSatisfiable { .. } => "http.range_not_satisfiable",
            Self::RateLimited { .. } => "http.rate_limited",
            Self::Unavailable(_) => "http.unavailable",
            Self::Internal(_) => "http.internal",
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthorized { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RangeNotSatisfiable { .. } => StatusCode::RANGE_NOT_SATISFIABLE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable(_) | Self::ServiceUnavailable { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A 422 `upload.invalid_request` naming what is wrong.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self::Unprocessable {
            code: "upload.invalid_request",
            message: message.into(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = match &self {
            Self::Internal(detail) => {
                tracing::error!(code = self.code(), %detail, "internal error");
                "internal error; see the server log".to_owned()
            }
            Self::Unavailable(detail) => {
                tracing::warn!(code = self.code(), %detail, "dependency unavailable");
                "a dependency is unavailable; retry later".to_owned()
            }
            other => other.to_string(),
        };
        let body = json!({ "error": { "code": self.code(), "message": message } });
        let mut response = (self.status(), Json(body)).into_response();
        let headers = response.headers_mut();
        match &self {
            Self::Unauthorized { code, .. } => {
                // RFC 6750: no error attribute when no credentials were sent.
                let value = if *code == "auth.missing_token" {
                    HeaderValue::from_static("Bearer realm=\"vod\"")
                } else {
                    HeaderValue::from_static("Bearer realm=\"vod\", error=\"invalid_token\"")
                };
                headers.insert(header::WWW_AUTHENTICATE, value);
            }
            Self::RateLimited { retry_after, .. }
            | Self::ServiceUnavailable { retry_after, .. } => {
                headers.insert(header::RETRY_AFTER, HeaderValue::from(*retry_after));
            }
            Self::RangeNotSatisfiable { size: Some(size) } => {
                if let Ok(v) = HeaderValue::from_str(&format!("bytes */{size}")) {
                    headers.insert(header::CONTENT_RANGE, v);
                }
            }
            _ => {}
        }
        response
    }
}

impl From<DbError> for ApiError {
    fn from(e: DbError) -> Self {
        Self::Internal(e.to_string())
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        match e {
            sqlx::Error::PoolTimedOut => Self::Unavailable(e.to_string()),
            other => Self::Internal(other.to_string()),
        }
    }
}

impl From<QueueError> for ApiError {
    fn from(e: QueueError) -> Self {
        match e {
            QueueError::Backend(m) => Self::Unavailable(format!("job queue: {m}")),
            QueueError::Store(s) => s.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::UnknownVideo(id) => Self::NotFound(format!("video {id} does not exist")),
            StoreError::UnknownJob(id) => Self::NotFound(format!("job {id} does not exist")),
            StoreError::Transition { .. } => Self::Internal(e.to_string()),
            // Through the sqlx mapping, so a pool timeout stays a 503.
            StoreError::Db(DbError::Query(e)) => e.into(),
            StoreError::Db(other) => other.into(),
        }
    }
}

impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        match e {
            StorageError::NotFound { key } => Self::NotFound(format!("object {key} not found")),
            StorageError::InvalidKey { .. } => Self::BadRequest(e.to_string()),
            other => Self::Unavailable(other.to_string()),
        }
    }
}

impl From<CacheError> for ApiError {
    fn from(e: CacheError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<CatalogError> for ApiError {
    fn from(e: CatalogError) -> Self {
        Self::Unavailable(e.to_string())
    }
}

impl From<IngestError> for ApiError {
    fn from(e: IngestError) -> Self {
        match e {
            IngestError::InvalidMetadata(message) => Self::invalid(message),
            IngestError::VideoMissing(id) => Self::NotFound(format!("video {id} does not exist")),
            IngestError::Queue(q) => q.into(),
            // Through the sqlx mapping, so a pool timeout stays a 503.
            IngestError::Db(DbError::Query(e)) => e.into(),
            IngestError::Db(other) => other.into(),
        }
    }
}
