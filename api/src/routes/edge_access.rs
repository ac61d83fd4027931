//! CloudFront's signed-URL check in front of the edge route: a request for
//! an object under `videos/<id>/` of a video that needs signing must carry a
//! valid signed URL or the signed cookies, checked with the public half of
//! the configured key. Refusals are 403 with the reason's stable code.
//! Without signing configured, the edge serves everything as before.

use std::net::{IpAddr, SocketAddr};

use axum::Json;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use percent_encoding::percent_decode_str;
use serde_json::json;
use uuid::Uuid;
use vod_core::cdn::{Denied, Presented, check, epoch_now};
use vod_core::db::Visibility;

use crate::playback::{needs_signing, signer};
use crate::{ApiError, AppState};

const EDGE_PREFIX: &str = "/cdn/";

/// Layered over the whole router; acts only on `/cdn/…` reads.
pub async fn guard(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if !matches!(*req.method(), Method::GET | Method::HEAD) {
        return next.run(req).await;
    }
    let Some(raw) = req.uri().path().strip_prefix(EDGE_PREFIX) else {
        return next.run(req).await;
    };
    // Decode as the route's `Path` extractor does, so `%2F` cannot hide a prefix.
    let Ok(key) = percent_decode_str(raw).decode_utf8() else {
        return next.run(req).await;
    };
    let key = key.into_owned();
    let client: Option<IpAddr> = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    let decision = decide(
        &state,
        &key,
        req.uri().query().unwrap_or(""),
        req.headers(),
        client,
    )
    .await;
    let mut refused = match decision {
        Ok(false) => return next.run(req).await,
        Ok(true) => {
            let mut response = next.run(req).await;
            keep_out_of_shared_caches(response.headers_mut());
            return response;
        }
        Err(Refusal::Denied(denied)) => {
            tracing::info!(%key, code = denied.code(), reason = %denied, "edge refused an unsigned or invalid request");
            let body = json!({ "error": { "code": denied.code(), "message": denied.to_string() } });
            (StatusCode::FORBIDDEN, Json(body)).into_response()
        }
        Err(Refusal::Api(e)) => e.into_response(),
    };
    // Refusals skip the edge router's CORS layer; players must still see the status.
    refused.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    refused
}

enum Refusal {
    Denied(Denied),
    Api(ApiError),
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        Self::Api(e)
    }
}

/// The video whose outputs `key` belongs to (`videos/<id>/…`).
pub fn video_of(key: &str) -> Option<Uuid> {
    let (id, rest) = key.strip_prefix("videos/")?.split_once('/')?;
    if rest.is_empty() {
        return None;
    }
    id.parse().ok()
}

/// `Ok(true)` when the request needed a signature and carried a valid one,
/// `Ok(false)` when it needed none.
async fn decide(
    state: &AppState,
    key: &str,
    query: &str,
    headers: &HeaderMap,
    client: Option<IpAddr>,
) -> Result<bool, Refusal> {
    let signing = &state.config.cdn_signing;
    let Some(signer) = signer(signing)? else {
        return Ok(false);
    };
    let Some(video_id) = video_of(key) else {
        return Ok(false);
    };
    if !signing.sign_all {
        let visibility: Option<String> =
            sqlx::query_scalar("SELECT visibility FROM videos WHERE id = $1")
                .bind(video_id)
                .fetch_optional(&state.services.db)
                .await
                .map_err(ApiError::from)?;
        // Unknown values fail closed; an unknown video has nothing to protect.
        let visibility = match visibility {
            Some(v) => Visibility::parse(&v).unwrap_or(Visibility::Private),
            None => return Ok(false),
        };
        if !needs_signing(signing, visibility) {
            return Ok(false);
        }
    }
    let (presented, other_params) = from_query(query);
    let presented = if presented.is_empty() {
        from_cookies(headers)
    } else {
        presented
    };
    let mut url = state.config.playback.url(key);
    if !other_params.is_empty() {
        url = format!("{url}?{}", other_params.join("&"));
    }
    check(signer, &presented, &url, client, epoch_now()).map_err(Refusal::Denied)?;
    Ok(true)
}

/// CloudFront's parameters, and the others as sent (they are part of the
/// signed resource URL, in their original order).
fn from_query(query: &str) -> (Presented, Vec<&str>) {
    let mut presented = Presented::default();
    let mut others = Vec::new();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode_str(value).decode_utf8_lossy();
        if !presented.query_param(name, &value) {
            others.push(pair);
        }
    }
    (presented, others)
}

fn from_cookies(headers: &HeaderMap) -> Presented {
    let mut presented = Presented::default();
    for value in headers.get_all(header::COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for cookie in value.split(';') {
            if let Some((name, value)) = cookie.trim().split_once('=') {
                presented.cookie(name.trim(), value.trim().trim_matches('"'));
            }
        }
    }
    presented
}

/// A signed response must not be stored by a shared cache that would then
/// hand it out without the check; the browser may still keep it.
fn keep_out_of_shared_caches(headers: &mut HeaderMap) {
    let private = headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.replacen("public", "private", 1))
        .and_then(|v| HeaderValue::from_str(&v).ok());
    headers.insert(
        header::CACHE_CONTROL,
        private.unwrap_or(HeaderValue::from_static("private")),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_map_to_their_video() {
        let id = Uuid::now_v7();
        assert_eq!(video_of(&format!("videos/{id}/hls/master.m3u8")), Some(id));
        assert_eq!(video_of(&format!("videos/{id}/")), None);
        assert_eq!(video_of("videos/not-a-uuid/hls/master.m3u8"), None);
        assert_eq!(video_of(&format!("t_1/videos/{id}/a")), None);
    }

    #[test]
    fn signing_parameters_are_split_from_the_rest_of_the_query() {
        let (p, others) = from_query("a=1&Expires=10&Signature=x~y_&Key-Pair-Id=K&b=%7E");
        assert_eq!(p.expires.as_deref(), Some("10"));
        assert_eq!(p.signature.as_deref(), Some("x~y_"));
        assert_eq!(p.key_pair_id.as_deref(), Some("K"));
        assert_eq!(others, ["a=1", "b=%7E"]);
        let (p, _) = from_query("Signature=%7Eab");
        assert_eq!(p.signature.as_deref(), Some("~ab"));
        let (p, others) = from_query("");
        assert!(p.is_empty() && others.is_empty());

        let mut headers = HeaderMap::new();
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("a=b; CloudFront-Policy=P"),
        );
        headers.append(
            header::COOKIE,
            HeaderValue::from_static("CloudFront-Signature=S;CloudFront-Key-Pair-Id=K"),
        );
        let p = from_cookies(&headers);
        assert_eq!(p.policy.as_deref(), Some("P"));
        assert_eq!(p.signature.as_deref(), Some("S"));
        assert_eq!(p.key_pair_id.as_deref(), Some("K"));
    }

    #[test]
    fn signed_responses_become_private() {
        let mut h = HeaderMap::new();
        h.insert(
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=31536000, immutable"),
        );
        keep_out_of_shared_caches(&mut h);
        assert_eq!(
            h[header::CACHE_CONTROL],
            "private, max-age=31536000, immutable"
        );
        let mut empty = HeaderMap::new();
        keep_out_of_shared_caches(&mut empty);
        assert_eq!(empty[header::CACHE_CONTROL], "private");
    }
}
