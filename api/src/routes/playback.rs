//! `POST /v1/videos/{id}/playback-session`: what a player needs to play a
//! video. For a video that needs signing it sets the three CloudFront
//! cookies, scoped to the video's CDN prefix, and returns the same grant in
//! JSON (cookie values and an equivalent query string) for players on a
//! domain the cookies cannot reach. Other videos get `signed: false`.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use vod_core::db::get_video;

use crate::auth::RequireViewer;
use crate::playback::grant;
use crate::records::parse_id;
use crate::{ApiError, AppState};

pub async fn session(
    State(state): State<AppState>,
    RequireViewer(who): RequireViewer,
    Path(raw_id): Path<String>,
) -> Result<Response, ApiError> {
    let id = parse_id(&raw_id, "video")?;
    let video = get_video(&state.services.db, id)
        .await?
        .filter(|v| v.status != "deleted")
        .ok_or_else(|| ApiError::NotFound(format!("video {id} does not exist")))?;
    let playback = &state.config.playback;
    let master = (video.status == "ready").then(|| {
        playback.url(&format!(
            "{}hls/master.m3u8",
            vod_core::keys::output_prefix(id)
        ))
    });
    let mut headers = HeaderMap::new();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    let Some(grant) = grant(&state.config, &video, vod_core::cdn::epoch_now())? else {
        let body = json!({
            "video_id": id,
            "visibility": video.visibility,
            "signed": false,
            "playback_url": master,
        });
        return Ok((headers, Json(body)).into_response());
    };
    for cookie in grant.set_cookies()? {
        headers.append(header::SET_COOKIE, cookie);
    }
    let query = grant.cookies.query();
    let cookies: serde_json::Map<String, serde_json::Value> = grant
        .cookies
        .pairs()
        .iter()
        .map(|(name, value)| ((*name).to_owned(), json!(value)))
        .collect();
    let body = json!({
        "video_id": id,
        "visibility": video.visibility,
        "signed": true,
        "resource": grant.resource,
        "expires": grant.expires,
        "expires_at": grant.expires_at,
        "key_pair_id": grant.cookies.key_pair_id,
        "cookies": cookies,
        "cookie_path": grant.cookie_path,
        "cookie_domain": grant.cookie_domain,
        "query": query,
        "playback_url": master.map(|m| format!("{m}?{query}")),
    });
    tracing::info!(%id, by = %who.name, expires = grant.expires, "playback session issued");
    Ok((headers, Json(body)).into_response())
}
