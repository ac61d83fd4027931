//! Bearer-token authentication and role checks. Tokens are random strings
//! shown once; only their SHA-256 is stored, so a database leak does not
//! leak usable credentials. Handlers state the role they need by taking one
//! of [`RequireViewer`], [`RequireUploader`] or [`RequireAdmin`].

use std::time::Duration;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::{ApiError, AppState};

/// Ordered: each role can do everything the ones before it can.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Viewer,
    Uploader,
    Admin,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Viewer => "viewer",
            Self::Uploader => "uploader",
            Self::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "viewer" => Some(Self::Viewer),
            "uploader" => Some(Self::Uploader),
            "admin" => Some(Self::Admin),
            _ => None,
        }
    }
}

/// Who made the request. `token_id` is `None` for the bootstrap token.
#[derive(Debug, Clone)]
pub struct Principal {
    pub token_id: Option<Uuid>,
    pub name: String,
    pub role: Role,
}

pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

/// A new token: a recognisable prefix and 256 random bits, hex-encoded.
pub fn generate_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::Internal(format!("random source: {e}")))?;
    let mut token = String::with_capacity(4 + 64);
    token.push_str("vod_");
    for b in bytes {
        token.push_str(&format!("{b:02x}"));
    }
    Ok(token)
}

/// Headers beyond this are not tokens we issued; refuse before hashing.
const MAX_TOKEN_LEN: usize = 512;
/// `last_used_at` is informational; writing it on every request would turn
/// each read into a write.
const LAST_USED_RESOLUTION: Duration = Duration::from_secs(60);

fn unauthorized(code: &'static str, reason: impl Into<String>) -> ApiError {
    ApiError::Unauthorized {
        code,
        reason: reason.into(),
    }
}

fn bearer(parts: &Parts) -> Result<&str, ApiError> {
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(unauthorized(
            "auth.missing_token",
            "missing `Authorization: Bearer <token>` header",
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| unauthorized("auth.invalid_token", "Authorization header is not ASCII"))?;
    let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(unauthorized(
            "auth.invalid_token",
            "only `Authorization: Bearer <token>` is accepted",
        ));
    }
    let token = token.trim();
    if token.is_empty() || token.len() > MAX_TOKEN_LEN {
        return Err(unauthorized("auth.invalid_token", "malformed bearer token"));
    }
    Ok(token)
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: Uuid,
    name: String,
    role: String,
    revoked_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

pub async fn authenticate(state: &AppState, parts: &Parts) -> Result<Principal, ApiError> {
    let token = bearer(parts)?;
    let hash = hash_token(token);
    let bootstrap = &state.config.bootstrap_admin_token;
    // Comparing digests keeps the comparison time independent of the secret.
    if !bootstrap.is_empty() && hash == hash_token(bootstrap.expose()) {
        return Ok(Principal {
            token_id: None,
            name: "bootstrap".to_owned(),
            role: Role::Admin,
        });
    }
    let db = &state.services.db;
    let row: Option<TokenRow> = sqlx::query_as(
        "SELECT id, name, role, revoked_at, last_used_at FROM api_tokens WHERE token_hash = $1",
    )
    .bind(&hash)
    .fetch_optional(db)
    .await?;
    let Some(row) = row else {
        return Err(unauthorized("auth.invalid_token", "unknown token"));
    };
    if row.revoked_at.is_some() {
        return Err(unauthorized("auth.invalid_token", "token has been revoked"));
    }
    let role = Role::parse(&row.role)
        .ok_or_else(|| ApiError::Internal(format!("token {} has role {:?}", row.id, row.role)))?;
    let stale = row
        .last_used_at
        .is_none_or(|t| (Utc::now() - t).to_std().unwrap_or_default() >= LAST_USED_RESOLUTION);
    if stale
        && let Err(e) = sqlx::query("UPDATE api_tokens SET last_used_at = now() WHERE id = $1")
            .bind(row.id)
            .execute(db)
            .await
    {
        tracing::warn!(token_id = %row.id, error = %e, "recording last_used_at failed");
    }
    Ok(Principal {
        token_id: Some(row.id),
        name: row.name,
        role,
    })
}

fn require(principal: Principal, needed: Role) -> Result<Principal, ApiError> {
    if principal.role >= needed {
        Ok(principal)
    } else {
        Err(ApiError::Forbidden {
            needed: needed.as_str(),
            have: principal.role.as_str(),
        })
    }
}

macro_rules! role_extractor {
    ($name:ident, $role:expr, $doc:literal) => {
        #[doc = $doc]
        #[derive(Debug, Clone)]
        pub struct $name(pub Principal);

        impl FromRequestParts<AppState> for $name {
            type Rejection = ApiError;

            async fn from_request_parts(
                parts: &mut Parts,
                state: &AppState,
            ) -> Result<Self, Self::Rejection> {
                let principal = require(authenticate(state, parts).await?, $role)?;
                crate::ratelimit::check(state, &principal, &parts.method).await?;
                Ok(Self(principal))
            }
        }
    };
}

role_extractor!(RequireViewer, Role::Viewer, "Any valid token.");
role_extractor!(
    RequireUploader,
    Role::Uploader,
    "An uploader or admin token."
);
role_extractor!(RequireAdmin, Role::Admin, "An admin token.");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_are_ordered() {
        assert!(Role::Admin > Role::Uploader && Role::Uploader > Role::Viewer);
        for r in [Role::Viewer, Role::Uploader, Role::Admin] {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn tokens_are_random_and_hash_to_32_bytes() {
        let a = generate_token().unwrap();
        let b = generate_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("vod_") && a.len() == 68, "{a}");
        assert_eq!(hash_token(&a).len(), 32);
    }

    #[test]
    fn forbidden_names_the_needed_role() {
        let p = Principal {
            token_id: None,
            name: "t".into(),
            role: Role::Viewer,
        };
        let err = require(p, Role::Uploader).unwrap_err();
        assert_eq!(err.code(), "auth.forbidden");
        assert!(err.to_string().contains("uploader"), "{err}");
    }
}
