//! `POST /v1/videos/{id}/playback-session`: what a player needs to play a
//! video. For a video that needs signing it sets the three CloudFront
//! cookies, scoped to the video's CDN prefix, and returns the same grant in
//! JSON (cookie values and an equivalent query string) for players on a
//! domain the cookies cannot reach. Other videos get `signed: false`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use vod_core::db::get_video;
use vod_core::store::VideoStatus;

use crate::auth::RequireViewer;
use crate::playback::grant;
use crate::records::parse_id;
use crate::{ApiError, AppState};

/// A player's grant for one video.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct PlaybackSession {
    video_id: uuid::Uuid,
    visibility: String,
    /// False when the video plays unsigned; the fields below are then absent.
    signed: bool,
    /// The master playlist URL (with the grant's query string when signed); absent until ready.
    playback_url: Option<String>,
    /// The custom policy's resource: every URL under the video's prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    resource: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    expires_at: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    key_pair_id: Option<String>,
    /// `CloudFront-Policy`, `CloudFront-Signature`, `CloudFront-Key-Pair-Id`.
    #[serde(skip_serializing_if = "Option::is_none")]
    cookies: Option<std::collections::BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cookie_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cookie_domain: Option<String>,
    /// The same grant as a query string, for players the cookies cannot reach.
    #[serde(skip_serializing_if = "Option::is_none")]
    query: Option<String>,
}

/// Sets CloudFront signed cookies over the video's prefix and returns the grant.
#[utoipa::path(post, path = "/v1/videos/{id}/playback-session", tag = "videos",
    security(("bearer" = [])),
    params(("id" = uuid::Uuid, Path, description = "Video id")),
    responses((status = 200, body = PlaybackSession,
            description = "With three `Set-Cookie` headers when the video needs signing"),
        (status = 401, body = crate::openapi::ErrorBody), (status = 404, body = crate::openapi::ErrorBody)))]
pub async fn session(
    State(state): State<AppState>,
    RequireViewer(who): RequireViewer,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&raw_id, "video")?;
    let video = get_video(&state.services.db, id)
        .await?
        .filter(|v| v.status != VideoStatus::Deleted)
        .ok_or_else(|| ApiError::NotFound(format!("video {id} does not exist")))?;
    let playback = &state.config.playback;
    let master = (video.status == VideoStatus::Ready).then(|| {
        playback.url(&format!(
            "{}hls/master.m3u8",
            vod_core::keys::output_prefix(id)
        ))
    });
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let Some(grant) = grant(&state.config, &video, vod_core::cdn::epoch_now())? else {
        let body = PlaybackSession {
            video_id: id,
            visibility: video.visibility.clone(),
            signed: false,
            playback_url: master,
            resource: None,
            expires: None,
            expires_at: None,
            key_pair_id: None,
            cookies: None,
            cookie_path: None,
            cookie_domain: None,
            query: None,
        };
        return Ok((headers, Json(body)).into_response());
    };
    for cookie in grant.set_cookies()? {
        headers.append(header::SET_COOKIE, cookie);
    }
    let query = grant.cookies.query();
    let cookies = grant
        .cookies
        .pairs()
        .iter()
        .map(|(name, value)| ((*name).to_owned(), value.to_string()))
        .collect();
    tracing::info!(%id, by = %who.name, expires = grant.expires, "playback session issued");
    let body = PlaybackSession {
        video_id: id,
        visibility: video.visibility.clone(),
        signed: true,
        playback_url: master.map(|m| format!("{m}?{query}")),
        resource: Some(grant.resource),
        expires: Some(grant.expires),
        expires_at: grant.expires_at,
        key_pair_id: Some(grant.cookies.key_pair_id.clone()),
        cookies: Some(cookies),
        cookie_path: Some(grant.cookie_path),
        cookie_domain: grant.cookie_domain,
        query: Some(query),
    };
    Ok((headers, Json(body)).into_response())
}
