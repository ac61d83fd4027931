//! Admin management of API tokens. The plain token is returned once, at
//! creation; only its hash is kept.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::auth::{RequireAdmin, Role, generate_token, hash_token};
use crate::extract::ApiJson;
use crate::records::parse_id;
use crate::{ApiError, AppState};

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    name: String,
    role: Role,
}

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TokenInfo {
    id: Uuid,
    name: String,
    role: String,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
}

/// A new token; the plain value is in this answer only.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct NewToken {
    #[serde(flatten)]
    info: TokenInfo,
    /// The bearer token. Shown once: only its hash is stored.
    token: String,
}

#[utoipa::path(post, path = "/v1/tokens", tag = "tokens", security(("bearer" = [])),
    request_body = CreateToken,
    responses(
        (status = 201, body = NewToken),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody),
        (status = 422, body = crate::openapi::ErrorBody)))]
pub async fn create(
    State(state): State<AppState>,
    RequireAdmin(admin): RequireAdmin,
    ApiJson(req): ApiJson<CreateToken>,
) -> Result<Response, ApiError> {
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(ApiError::invalid(
            "field `name` must be 1 to 100 characters",
        ));
    }
    let token = generate_token()?;
    let info: TokenInfo = sqlx::query_as(
        "INSERT INTO api_tokens (id, name, token_hash, role) VALUES ($1, $2, $3, $4)
         RETURNING id, name, role, created_at, last_used_at, revoked_at",
    )
    .bind(Uuid::now_v7())
    .bind(name)
    .bind(hash_token(&token))
    .bind(req.role.as_str())
    .fetch_one(&state.services.db)
    .await?;
    tracing::info!(token_id = %info.id, role = %info.role, by = %admin.name, "API token created");
    Ok((StatusCode::CREATED, Json(NewToken { info, token })).into_response())
}

#[utoipa::path(get, path = "/v1/tokens", tag = "tokens", security(("bearer" = [])),
    responses((status = 200, body = Vec<TokenInfo>),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody)))]
pub async fn list(
    State(state): State<AppState>,
    RequireAdmin(_): RequireAdmin,
) -> Result<Json<Vec<TokenInfo>>, ApiError> {
    let tokens = sqlx::query_as(
        "SELECT id, name, role, created_at, last_used_at, revoked_at FROM api_tokens ORDER BY created_at",
    )
    .fetch_all(&state.services.db)
    .await?;
    Ok(Json(tokens))
}

/// Revoking twice is not an error; the first revocation time is kept.
#[utoipa::path(delete, path = "/v1/tokens/{id}", tag = "tokens", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Token id")),
    responses((status = 204, description = "Revoked"),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody),
        (status = 404, body = crate::openapi::ErrorBody)))]
pub async fn revoke(
    State(state): State<AppState>,
    RequireAdmin(admin): RequireAdmin,
    Path(raw_id): Path<String>,
) -> Result<StatusCode, ApiError> {
    let id = parse_id(&raw_id, "token")?;
    let found =
        sqlx::query("UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, now()) WHERE id = $1")
            .bind(id)
            .execute(&state.services.db)
            .await?;
    if found.rows_affected() == 0 {
        return Err(ApiError::NotFound(format!("token {id} does not exist")));
    }
    tracing::info!(token_id = %id, by = %admin.name, "API token revoked");
    Ok(StatusCode::NO_CONTENT)
}
