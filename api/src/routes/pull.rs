//! `POST /v1/videos/pull`: the server fetches a source from a URL. Each hop's
//! host is resolved once and the connection goes to exactly the address that
//! was checked (no second lookup a DNS rebinding could answer differently);
//! redirects are followed by hand so every hop is checked.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use reqwest::Url;
use reqwest::header::LOCATION;
use serde::Deserialize;
use tokio::time::{Instant, timeout_at};
use uuid::Uuid;
use vod_core::storage::ObjectStore;

use crate::auth::RequireUploader;
use crate::cli::ApiConfig;
use crate::extract::ApiJson;
use crate::records::{self, VideoMeta};
use crate::source_upload::SourceUpload;
use crate::{ApiError, AppState, ssrf};

pub const MAX_REDIRECTS: usize = 5;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PullRequest {
    /// http or https; loopback, private, link-local and metadata addresses are refused.
    url: String,
    title: Option<String>,
    description: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    visibility: Option<vod_core::db::Visibility>,
}

fn invalid_url(message: impl Into<String>) -> ApiError {
    ApiError::Unprocessable {
        code: "pull.invalid_url",
        message: message.into(),
    }
}

fn fetch_failed(message: impl Into<String>) -> ApiError {
    ApiError::Unprocessable {
        code: "pull.fetch_failed",
        message: message.into(),
    }
}

fn timed_out(cfg: &ApiConfig) -> ApiError {
    fetch_failed(format!(
        "the pull did not finish within {} s",
        cfg.pull_timeout_secs
    ))
}

/// Fetches a source from a URL (redirects re-checked) and queues its transcode.
#[utoipa::path(post, path = "/v1/videos/pull", tag = "uploads", security(("bearer" = [])),
    request_body = PullRequest,
    responses((status = 201, body = crate::records::Accepted),
        (status = 401, body = crate::openapi::ErrorBody), (status = 403, body = crate::openapi::ErrorBody), (status = 413, body = crate::openapi::ErrorBody),
        (status = 415, body = crate::openapi::ErrorBody),
        (status = 422, description = "Bad URL, refused address or failed fetch", body = crate::openapi::ErrorBody),
        (status = 429, body = crate::openapi::ErrorBody)))]
pub async fn pull(
    State(state): State<AppState>,
    RequireUploader(who): RequireUploader,
    ApiJson(req): ApiJson<PullRequest>,
) -> Result<Response, ApiError> {
    let meta = VideoMeta::new(req.title.as_deref(), req.description.as_deref(), req.tags)?
        .with_visibility(req.visibility);
    let url = Url::parse(&req.url).map_err(|e| invalid_url(format!("field `url`: {e}")))?;
    let cfg = &state.config;
    let deadline = Instant::now() + Duration::from_secs(cfg.pull_timeout_secs.max(1));
    let mut response = fetch(cfg, url, deadline).await?;
    let limit = cfg.max_upload_bytes;
    if response.content_length().is_some_and(|len| len > limit) {
        return Err(ApiError::TooLarge { limit });
    }
    let video_id = Uuid::now_v7();
    let file_name = response
        .url()
        .path_segments()
        .and_then(|mut s| s.next_back())
        .unwrap_or_default()
        .to_owned();
    let key = records::source_key(&cfg.source_key_prefix, video_id, &file_name);
    let mut upload = SourceUpload::new(
        &state.services.sources,
        key.clone(),
        limit,
        "pull",
        state.upload_memory.clone(),
    );
    let transferred = async {
        loop {
            let chunk = timeout_at(deadline, response.chunk())
                .await
                .map_err(|_| timed_out(cfg))?
                .map_err(|e| fetch_failed(format!("reading from the origin failed: {e}")))?;
            match chunk {
                Some(chunk) => upload.push(chunk).await?,
                None => return upload.finish().await,
            }
        }
    }
    .await;
    let bytes = match transferred {
        Ok(bytes) => bytes,
        Err(e) => {
            upload.abort().await;
            return Err(e);
        }
    };
    upload.commit().await?;
    let video = records::insert_video(&state, video_id, &meta, &key, Some(bytes)).await;
    if let Err(e) = video {
        if let Err(del) = state.services.sources.delete(&key).await {
            tracing::warn!(%key, error = %del, "orphan source not deleted");
        }
        return Err(e);
    }
    let (video, job) = records::enqueue(&state, video_id).await?;
    tracing::info!(%video_id, bytes, uploader = %who.name, "source pulled");
    Ok(records::accepted(StatusCode::CREATED, &video, &job))
}

/// GETs `url`, following up to [`MAX_REDIRECTS`] redirects, checking every hop.
async fn fetch(
    cfg: &ApiConfig,
    mut url: Url,
    deadline: Instant,
) -> Result<reqwest::Response, ApiError> {
    for _ in 0..=MAX_REDIRECTS {
        let addrs = checked_addresses(cfg, &url, deadline).await?;
        let client = client_for(cfg, &url, &addrs)?;
        let response = timeout_at(deadline, client.get(url.clone()).send())
            .await
            .map_err(|_| timed_out(cfg))?
            .map_err(|e| fetch_failed(format!("fetching {} failed: {e}", redacted(&url))))?;
        let status = response.status();
        if status.is_redirection() {
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| {
                    fetch_failed(format!("the origin answered {status} without a Location"))
                })?;
            url = url
                .join(location)
                .map_err(|e| fetch_failed(format!("bad redirect Location {location:?}: {e}")))?;
            continue;
        }
        if !status.is_success() {
            return Err(fetch_failed(format!("the origin answered {status}")));
        }
        return Ok(response);
    }
    Err(fetch_failed(format!("more than {MAX_REDIRECTS} redirects")))
}

/// The URL without credentials or query, for messages.
fn redacted(url: &Url) -> String {
    format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.path()
    )
}

/// The addresses this hop may connect to: everything the name resolves to,
/// each checked (any refused one refuses the host).
async fn checked_addresses(
    cfg: &ApiConfig,
    url: &Url,
    deadline: Instant,
) -> Result<Vec<SocketAddr>, ApiError> {
    if !matches!(url.scheme(), "http" | "https") {
        return Err(invalid_url(format!(
            "scheme {:?} is not allowed; use http or https",
            url.scheme()
        )));
    }
    let port = url
        .port_or_known_default()
        .ok_or_else(|| invalid_url("the URL has no port"))?;
    let host = url
        .host()
        .ok_or_else(|| invalid_url("the URL has no host"))?;
    let candidates: Vec<IpAddr> = match host {
        url::Host::Ipv4(ip) => vec![IpAddr::V4(ip)],
        url::Host::Ipv6(ip) => vec![IpAddr::V6(ip)],
        url::Host::Domain(name) => {
            let lookup = tokio::net::lookup_host((name, port));
            let resolve_deadline = deadline
                .min(Instant::now() + Duration::from_secs(cfg.pull_connect_timeout_secs.max(1)));
            timeout_at(resolve_deadline, lookup)
                .await
                .map_err(|_| fetch_failed(format!("resolving {name} timed out")))?
                .map_err(|e| fetch_failed(format!("cannot resolve {name}: {e}")))?
                .map(|a| a.ip())
                .collect()
        }
    };
    let shown = url.host_str().unwrap_or_default();
    for ip in &candidates {
        if let Some(why) = ssrf::refusal(*ip, &cfg.pull_allowed_ips) {
            return Err(ApiError::Unprocessable {
                code: "pull.address_refused",
                message: format!("refusing to fetch from {shown} ({ip}): {why}"),
            });
        }
    }
    if candidates.is_empty() {
        return Err(fetch_failed(format!("{shown} resolves to no address")));
    }
    Ok(candidates
        .into_iter()
        .map(|ip| SocketAddr::new(ip, port))
        .collect())
}

/// Refuses every lookup: names only resolve through the overrides set to
/// checked addresses, so a missed override cannot fall back to a fresh
/// (rebindable) DNS answer.
struct NoLookups;

impl reqwest::dns::Resolve for NoLookups {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let name = name.as_str().to_owned();
        Box::pin(async move { Err(format!("{name} was not resolved by the address check").into()) })
    }
}

fn client_for(
    cfg: &ApiConfig,
    url: &Url,
    addrs: &[SocketAddr],
) -> Result<reqwest::Client, ApiError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        // A proxy would resolve the name itself, defeating the check.
        .no_proxy()
        .connect_timeout(Duration::from_secs(cfg.pull_connect_timeout_secs.max(1)))
        .user_agent(concat!("vod-api/", env!("CARGO_PKG_VERSION"), " (pull)"));
    if let Some(url::Host::Domain(name)) = url.host() {
        builder = builder
            .dns_resolver(NoLookups)
            .resolve_to_addrs(name, addrs);
    }
    builder
        .build()
        .map_err(|e| ApiError::Internal(format!("HTTP client: {e}")))
}
