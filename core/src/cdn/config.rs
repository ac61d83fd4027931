//! Signing settings: the CloudFront key pair id, the private key (a file or
//! the PEM itself), the lifetime of grants and what must be signed.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use clap::Args;

use super::SigningError;
use super::signer::{CdnKey, UrlSigner};
use crate::secret::Secret;

pub const DEFAULT_SIGNED_URL_TTL: Duration = Duration::from_secs(6 * 3600);
const MAX_TTL_SECS: u64 = 366 * 24 * 3600;

#[derive(Debug, Clone, Args)]
pub struct SigningConfig {
    /// ID of the CloudFront public key (in the distribution's trusted key
    /// group) whose private key signs playback. Unset: nothing is signed.
    #[arg(long = "cdn-key-pair-id", env = "VOD_CDN_KEY_PAIR_ID")]
    pub key_pair_id: Option<String>,

    /// PEM file with the RSA private key (PKCS#1 or PKCS#8, unencrypted).
    #[arg(long = "cdn-private-key-file", env = "VOD_CDN_PRIVATE_KEY_FILE")]
    pub private_key_file: Option<PathBuf>,

    /// The RSA private key as PEM text, for secret stores that inject values.
    #[arg(
        long = "cdn-private-key",
        env = "VOD_CDN_PRIVATE_KEY",
        hide_env_values = true
    )]
    pub private_key: Option<Secret>,

    /// Lifetime of signed URLs and cookies: seconds, or a number with s, m, h or d.
    #[arg(
        long = "cdn-signed-url-ttl",
        env = "VOD_CDN_SIGNED_URL_TTL",
        default_value = "6h",
        value_parser = parse_ttl
    )]
    pub signed_url_ttl: Duration,

    /// Sign every video's URLs, public ones too. Matches a CloudFront cache
    /// behaviour that requires signing for all of `videos/*`; without it only
    /// private videos are signed (and the edge route enforces only those).
    #[arg(
        long = "cdn-sign-all",
        env = "VOD_CDN_SIGN_ALL",
        default_value_t = false,
        action = clap::ArgAction::Set
    )]
    pub sign_all: bool,

    /// `Domain` of the signed cookies, e.g. `example.com` when the API is
    /// `api.example.com` and the CDN `cdn.example.com`. Unset: host-only cookies.
    #[arg(long = "cdn-cookie-domain", env = "VOD_CDN_COOKIE_DOMAIN")]
    pub cookie_domain: Option<String>,

    /// The key, parsed on first use and shared by clones.
    #[arg(skip)]
    loaded: Arc<OnceLock<Result<Option<UrlSigner>, SigningError>>>,
}

impl Default for SigningConfig {
    fn default() -> Self {
        Self {
            key_pair_id: None,
            private_key_file: None,
            private_key: None,
            signed_url_ttl: DEFAULT_SIGNED_URL_TTL,
            sign_all: false,
            cookie_domain: None,
            loaded: Arc::default(),
        }
    }
}

impl SigningConfig {
    /// The signer, or `None` when signing is not configured. The key is read
    /// and parsed once; call this at start-up so a bad key stops the process.
    /// Set the fields before the first call: later changes are not seen.
    pub fn signer(&self) -> Result<Option<&UrlSigner>, SigningError> {
        self.loaded
            .get_or_init(|| self.load())
            .as_ref()
            .map(Option::as_ref)
            .map_err(Clone::clone)
    }

    pub fn ttl_secs(&self) -> u64 {
        self.signed_url_ttl.as_secs().max(1)
    }

    fn load(&self) -> Result<Option<UrlSigner>, SigningError> {
        let id = self
            .key_pair_id
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let file = self
            .private_key_file
            .as_ref()
            .filter(|p| !p.as_os_str().is_empty());
        let inline = self
            .private_key
            .as_ref()
            .filter(|s| !s.expose().trim().is_empty());
        let key = match (file, inline) {
            (Some(_), Some(_)) => return Err(SigningError::TwoKeys),
            (Some(path), None) => Some(CdnKey::from_file(path)?),
            (None, Some(pem)) => Some(CdnKey::from_pem(pem.expose())?),
            (None, None) => None,
        };
        match (id, key) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(SigningError::MissingKey),
            (None, Some(_)) => Err(SigningError::MissingKeyPairId),
            (Some(id), Some(key)) => UrlSigner::new(id, &key).map(Some),
        }
    }
}

/// `3600`, `90s`, `15m`, `6h`, `1d`: at least a second, at most a year.
pub fn parse_ttl(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?} is not a duration like 3600, 90m or 6h"))?;
    let scale = match unit.trim() {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        other => return Err(format!("unknown unit {other:?}; use s, m, h or d")),
    };
    let secs = number.saturating_mul(scale);
    if secs == 0 || secs > MAX_TTL_SECS {
        return Err(format!("{text:?} must be between 1 s and 366 d"));
    }
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        signing: SigningConfig,
    }

    #[test]
    fn ttls() {
        assert_eq!(parse_ttl("6h"), Ok(Duration::from_secs(21_600)));
        assert_eq!(parse_ttl("3600"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_ttl(" 90m "), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_ttl("2d"), Ok(Duration::from_secs(172_800)));
        for bad in ["", "0", "h", "6x", "-1h", "400d", "1.5h"] {
            assert!(parse_ttl(bad).is_err(), "{bad}");
        }
        let cli = Cli::try_parse_from(["x"]).unwrap();
        assert_eq!(cli.signing.signed_url_ttl, DEFAULT_SIGNED_URL_TTL);
        assert!(Cli::try_parse_from(["x", "--cdn-signed-url-ttl", "soon"]).is_err());
    }

    #[test]
    fn unconfigured_means_no_signer_and_half_configured_is_an_error() {
        assert!(SigningConfig::default().signer().unwrap().is_none());
        let id_only = SigningConfig {
            key_pair_id: Some("K2JCJMDEHXQW5F".into()),
            ..SigningConfig::default()
        };
        assert_eq!(id_only.signer().unwrap_err().code(), "cdn.missing_key");
        let pem = crate::cdn::testkey::pem();
        let key_only = SigningConfig {
            private_key: Some(Secret::new(pem.clone())),
            ..SigningConfig::default()
        };
        assert_eq!(
            key_only.signer().unwrap_err().code(),
            "cdn.missing_key_pair_id"
        );
        let both = SigningConfig {
            key_pair_id: Some("K2JCJMDEHXQW5F".into()),
            private_key: Some(Secret::new(pem.clone())),
            private_key_file: Some("/some/key.pem".into()),
            ..SigningConfig::default()
        };
        assert_eq!(both.signer().unwrap_err().code(), "cdn.two_keys");
        let bad_id = SigningConfig {
            key_pair_id: Some("K2/../x".into()),
            private_key: Some(Secret::new(pem.clone())),
            ..SigningConfig::default()
        };
        assert_eq!(bad_id.signer().unwrap_err().code(), "cdn.bad_key_pair_id");
        let good = SigningConfig {
            key_pair_id: Some(" K2JCJMDEHXQW5F ".into()),
            private_key: Some(Secret::new(pem.clone())),
            ..SigningConfig::default()
        };
        let signer = good.signer().unwrap().unwrap();
        assert_eq!(signer.key_pair_id(), "K2JCJMDEHXQW5F");
        // Loaded once; clones share the parsed key.
        let clone = good.clone();
        assert!(std::ptr::eq(clone.signer().unwrap().unwrap(), signer));
        let shown = format!("{good:?}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    }
}
