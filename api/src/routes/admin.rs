//! `/admin`: the editors' web panel. The bundle is built from `api/panel/`
//! by esbuild and committed under `api/panel/dist/`, so it is compiled into
//! this binary and a user needs neither node nor a build step. The panel
//! talks only to this API's own endpoints, the edge route and, for direct
//! uploads, the presigned S3 part URLs; the Content-Security-Policy allows
//! exactly those origins.

use std::sync::OnceLock;
use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use axum::Json;
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use serde_json::json;
use sha2::{Digest, Sha256};
use vod_core::Services;
use vod_core::storage::StorageError;

use crate::{ApiConfig, AppState};

const INDEX_HTML: &[u8] = include_bytes!("../../panel/dist/index.html");
const APP_JS: &[u8] = include_bytes!("../../panel/dist/app.js");
const APP_CSS: &[u8] = include_bytes!("../../panel/dist/app.css");
const FAVICON: &[u8] = include_bytes!("../../panel/dist/favicon.svg");

/// Above this size the panel uploads straight to S3 in presigned parts; the
/// page may lower it (the end-to-end test does, to exercise that path).
pub const DIRECT_UPLOAD_THRESHOLD: u64 = 64 * 1024 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/admin", get(|| async { Redirect::permanent("/admin/") }))
        .route("/admin/", get(index))
        .route("/admin/app.js", get(app_js))
        .route("/admin/app.css", get(app_css))
        .route("/admin/favicon.svg", get(favicon))
        .route("/admin/config.json", get(config))
}

/// Applies the sources bucket's CORS rule when origins are configured, so
/// browsers may PUT presigned parts from the panel's origin.
pub async fn ensure_sources_cors(
    services: &Services,
    config: &ApiConfig,
) -> Result<(), StorageError> {
    // An empty `VOD_S3_SOURCES_CORS_ORIGINS=` means "leave the bucket alone".
    let origins: Vec<String> = config
        .sources_cors_origins
        .iter()
        .map(|o| o.trim())
        .filter(|o| !o.is_empty())
        .map(str::to_owned)
        .collect();
    if origins.is_empty() {
        return Ok(());
    }
    services.sources.ensure_upload_cors(&origins).await?;
    tracing::info!(
        bucket = services.sources.bucket(),
        ?origins,
        "sources bucket CORS applied"
    );
    Ok(())
}

/// A strong validator per asset, computed once: the bytes are fixed at build time.
fn etag(slot: &'static OnceLock<String>, bytes: &[u8]) -> &'static str {
    slot.get_or_init(|| {
        let digest = Sha256::digest(bytes);
        let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
        format!("\"{hex}\"")
    })
}

fn asset(
    headers: &HeaderMap,
    bytes: &'static [u8],
    content_type: &'static str,
    tag: &'static str,
) -> Response {
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag));
    let common = [
        (header::ETAG, tag),
        // Revalidate every time: names are fixed, and a 304 costs little.
        (header::CACHE_CONTROL, "no-cache"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    ];
    if fresh {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }
    (common, [(header::CONTENT_TYPE, content_type)], bytes).into_response()
}

async fn app_js(headers: HeaderMap) -> Response {
    static TAG: OnceLock<String> = OnceLock::new();
    asset(
        &headers,
        APP_JS,
        "text/javascript; charset=utf-8",
        etag(&TAG, APP_JS),
    )
}

async fn app_css(headers: HeaderMap) -> Response {
    static TAG: OnceLock<String> = OnceLock::new();
    asset(
        &headers,
        APP_CSS,
        "text/css; charset=utf-8",
        etag(&TAG, APP_CSS),
    )
}

async fn favicon(headers: HeaderMap) -> Response {
    static TAG: OnceLock<String> = OnceLock::new();
    asset(&headers, FAVICON, "image/svg+xml", etag(&TAG, FAVICON))
}

async fn index(State(state): State<AppState>, headers: HeaderMap) -> Response {
    static TAG: OnceLock<String> = OnceLock::new();
    let mut response = asset(
        &headers,
        INDEX_HTML,
        "text/html; charset=utf-8",
        etag(&TAG, INDEX_HTML),
    );
    let csp = content_security_policy(
        &state.config.playback.cdn_base_url,
        s3_origin(&state).await.as_deref(),
    );
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&csp) {
        h.insert(header::CONTENT_SECURITY_POLICY, value);
    }
    // Video ids and presigned URLs stay out of other sites' logs.
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    response
}

/// What the page needs to know that no API endpoint says.
async fn config(State(state): State<AppState>) -> Response {
    let body = json!({
        "cdn_base_url": state.config.playback.cdn_base_url,
        "max_upload_bytes": state.config.max_upload_bytes,
        "direct_upload_threshold": DIRECT_UPLOAD_THRESHOLD,
    });
    ([(header::CACHE_CONTROL, "no-cache")], Json(body)).into_response()
}

/// The origin presigned part URLs point at. Signing is local (no request),
/// and it gives the real host whatever the addressing style or endpoint.
async fn s3_origin(state: &AppState) -> Option<String> {
    let sources = &state.services.sources;
    let presigning = PresigningConfig::expires_in(Duration::from_secs(60)).ok()?;
    let request = sources
        .sdk()
        .upload_part()
        .bucket(sources.bucket())
        .key("csp-probe")
        .upload_id("csp-probe")
        .part_number(1)
        .presigned(presigning)
        .await
        .ok()?;
    origin_of(request.uri())
}

fn origin_of(url: &str) -> Option<String> {
    let origin = url::Url::parse(url).ok()?.origin();
    origin.is_tuple().then(|| origin.ascii_serialization())
}

/// `'self'` for the panel and the API; the CDN (edge route) origin for
/// playlists, segments, posters and sprites; the S3 origin for part PUTs;
/// `blob:` for the MediaSource behind the video element and hls.js's worker.
/// A relative CDN base URL is the API's own edge route, already `'self'`.
pub fn content_security_policy(cdn_base_url: &str, s3_origin: Option<&str>) -> String {
    let cdn = origin_of(cdn_base_url)
        .map(|o| format!(" {o}"))
        .unwrap_or_default();
    let s3 = s3_origin.map(|o| format!(" {o}")).unwrap_or_default();
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; \
         img-src 'self' blob:{cdn}; media-src 'self' blob:{cdn}; \
         connect-src 'self'{cdn}{s3}; worker-src blob:; \
         base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csp_names_cdn_and_s3_origins_only() {
        let csp = content_security_policy(
            "https://d123.cloudfront.net/base/",
            Some("http://127.0.0.1:3900"),
        );
        assert!(
            csp.contains("connect-src 'self' https://d123.cloudfront.net http://127.0.0.1:3900;")
        );
        assert!(csp.contains("media-src 'self' blob: https://d123.cloudfront.net;"));
        assert!(csp.contains("script-src 'self';"), "{csp}");
        assert!(!csp.contains("unsafe"), "{csp}");
        let relative = content_security_policy("/cdn", None);
        assert!(relative.contains("connect-src 'self';"), "{relative}");
    }

    #[test]
    fn bundle_is_embedded() {
        let html = std::str::from_utf8(INDEX_HTML).unwrap();
        assert!(html.contains("app.js") && html.contains("app.css"));
        assert!(!html.contains("<script>"), "inline scripts break the CSP");
        assert!(APP_JS.len() > 100_000, "hls.js is bundled");
    }
}
