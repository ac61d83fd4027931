//! Signed playback: which videos need signing, their signed view URLs, and
//! the cookie grant over a whole video prefix that HLS players need.
//!
//! The view signs each URL with a canned policy: short URLs, each valid for
//! exactly one object until `urls_expire_at`, so a leaked poster URL opens
//! nothing else. A player, though, fetches child playlists, segments and
//! sprites by relative URL without the parent's query string, so playing
//! needs the session grant: one custom policy over `…/videos/<id>/*`,
//! delivered as the three `CloudFront-*` cookies (and, for clients that
//! cannot send cookies to the CDN, as a query string that is valid on every
//! URL under the prefix).

use axum::http::HeaderValue;
use chrono::{DateTime, Utc};
use vod_core::cdn::{Policy, SignedCookies, SigningConfig, SigningError, UrlSigner};
use vod_core::db::{Video, Visibility};

use crate::ApiError;
use crate::cli::ApiConfig;
use crate::view::VideoView;

/// Whether URLs of a video with `visibility` must be signed (and are checked at the edge).
pub fn needs_signing(signing: &SigningConfig, visibility: Visibility) -> bool {
    signing.sign_all || visibility == Visibility::Private
}

/// The signer when signing is configured. A bad key was already refused at
/// start-up (`vod-api serve` loads it first), so an error here is internal.
pub fn signer(signing: &SigningConfig) -> Result<Option<&UrlSigner>, ApiError> {
    signing.signer().map_err(signing_error)
}

pub fn signing_error(e: SigningError) -> ApiError {
    ApiError::Internal(format!("{}: {e}", e.code()))
}

fn expiry(signing: &SigningConfig, now: u64) -> (u64, Option<DateTime<Utc>>) {
    let expires = now.saturating_add(signing.ttl_secs());
    let at = i64::try_from(expires)
        .ok()
        .and_then(|t| DateTime::from_timestamp(t, 0));
    (expires, at)
}

/// Replaces every CDN URL of a video that needs signing with a canned-policy
/// signed URL; leaves other videos' views untouched.
pub fn sign_view(config: &ApiConfig, view: &mut VideoView) -> Result<(), ApiError> {
    let signing = &config.cdn_signing;
    let Some(signer) = signer(signing)? else {
        return Ok(());
    };
    if !needs_signing(signing, view.video.visibility()) {
        return Ok(());
    }
    let (expires, at) = expiry(signing, vod_core::cdn::epoch_now());
    let sign = |url: &str| signer.canned_url(url, expires).map_err(signing_error);
    for url in [
        &mut view.playback_url,
        &mut view.poster_url,
        &mut view.storyboard_url,
    ]
    .into_iter()
    .flatten()
    {
        *url = sign(url)?;
    }
    for rendition in &mut view.renditions {
        rendition.playlist_url = sign(&rendition.playlist_url)?;
    }
    view.urls_expire_at = at;
    Ok(())
}

/// A grant over everything under one video's output prefix.
#[derive(Debug)]
pub struct Grant {
    pub resource: String,
    pub expires: u64,
    pub expires_at: Option<DateTime<Utc>>,
    pub cookies: SignedCookies,
    pub cookie_path: String,
    pub cookie_domain: Option<String>,
    secure: bool,
    max_age: u64,
}

/// The grant for `video`, or `None` when it plays without signing.
pub fn grant(config: &ApiConfig, video: &Video, now: u64) -> Result<Option<Grant>, ApiError> {
    let signing = &config.cdn_signing;
    let Some(signer) = signer(signing)? else {
        return Ok(None);
    };
    if !needs_signing(signing, video.visibility()) {
        return Ok(None);
    }
    let prefix = vod_core::keys::output_prefix(video.id);
    let resource = format!("{}*", config.playback.url(&prefix));
    let (expires, expires_at) = expiry(signing, now);
    let cookies = signer
        .cookies(&Policy::custom(resource.clone(), expires))
        .map_err(signing_error)?;
    let base = config.playback.cdn_base_url.trim_end_matches('/');
    let base_path = match url::Url::parse(base) {
        Ok(u) => u.path().trim_end_matches('/').to_owned(),
        Err(_) if base.starts_with('/') => base.to_owned(),
        Err(e) => {
            return Err(ApiError::Internal(format!(
                "VOD_CDN_BASE_URL {base:?} is not a URL: {e}"
            )));
        }
    };
    Ok(Some(Grant {
        resource,
        expires,
        expires_at,
        cookies,
        cookie_path: format!("{base_path}/{prefix}"),
        cookie_domain: signing.cookie_domain.clone().filter(|d| !d.is_empty()),
        secure: base.starts_with("https://"),
        max_age: signing.ttl_secs(),
    }))
}

impl Grant {
    /// The three `Set-Cookie` values. Cross-site players over HTTPS need
    /// `SameSite=None; Secure`; plain-HTTP (local) ones get `Lax`.
    pub fn set_cookies(&self) -> Result<Vec<HeaderValue>, ApiError> {
        let mut attributes = format!(
            "Path={}; Max-Age={}; HttpOnly",
            self.cookie_path, self.max_age
        );
        if let Some(domain) = &self.cookie_domain {
            attributes.push_str(&format!("; Domain={domain}"));
        }
        attributes.push_str(if self.secure {
            "; Secure; SameSite=None"
        } else {
            "; SameSite=Lax"
        });
        self.cookies
            .pairs()
            .iter()
            .map(|(name, value)| {
                HeaderValue::from_str(&format!("{name}={value}; {attributes}"))
                    .map_err(|e| ApiError::Internal(format!("cookie header: {e}")))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_private_videos_need_signing_unless_all_are_signed() {
        let mut cfg = SigningConfig::default();
        assert!(!needs_signing(&cfg, Visibility::Public));
        assert!(needs_signing(&cfg, Visibility::Private));
        cfg.sign_all = true;
        assert!(needs_signing(&cfg, Visibility::Public));
    }

    #[test]
    fn cookie_attributes_follow_the_cdn_scheme() {
        let grant = |secure, domain: Option<&str>| Grant {
            resource: "https://cdn.example/videos/1/*".into(),
            expires: 10,
            expires_at: None,
            cookies: SignedCookies {
                policy: "P".into(),
                signature: "S".into(),
                key_pair_id: "K".into(),
            },
            cookie_path: "/videos/1/".into(),
            cookie_domain: domain.map(str::to_owned),
            secure,
            max_age: 600,
        };
        let headers = grant(true, Some("example.com")).set_cookies().unwrap();
        assert_eq!(headers.len(), 3);
        assert_eq!(
            headers[0],
            "CloudFront-Policy=P; Path=/videos/1/; Max-Age=600; HttpOnly; Domain=example.com; Secure; SameSite=None"
        );
        let local = grant(false, None).set_cookies().unwrap();
        assert_eq!(
            local[2],
            "CloudFront-Key-Pair-Id=K; Path=/videos/1/; Max-Age=600; HttpOnly; SameSite=Lax"
        );
    }
}
