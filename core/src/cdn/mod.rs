//! CloudFront private content: signed URLs (canned and custom policy) and
//! signed cookies, exactly as CloudFront checks them, so the same keys work
//! against a real distribution and against the local edge route.
//!
//! The scheme (AWS "Serving private content with signed URLs and signed
//! cookies"): a policy JSON document names a resource URL (wildcards `*` and
//! `?` allowed in custom policies) and conditions; the signature is
//! RSA-SHA1 PKCS#1 v1.5 over the exact policy bytes; binary values travel in
//! CloudFront's URL-safe base64 (`+`→`-`, `=`→`_`, `/`→`~`). A canned policy
//! is never sent: CloudFront rebuilds it from the URL and `Expires`.
//!
//! Everything here is pure: the current time is a parameter.

mod config;
mod policy;
mod signer;
mod verify;

pub use config::{DEFAULT_SIGNED_URL_TTL, SigningConfig, parse_ttl};
pub use policy::{Cidr, Policy, cf_base64_decode, cf_base64_encode, wildcard_match};
pub use signer::{CdnKey, SignedCookies, UrlSigner};
pub use verify::{Denied, Presented, check};

/// Failures to load a key or to sign. Access decisions are [`Denied`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum SigningError {
    #[error("the CDN private key is not a usable RSA key: {0}")]
    BadKey(String),
    #[error("the CDN private key file {path} cannot be read: {reason}")]
    KeyFile { path: String, reason: String },
    #[error("VOD_CDN_KEY_PAIR_ID is not set, but a CDN private key is")]
    MissingKeyPairId,
    #[error(
        "VOD_CDN_KEY_PAIR_ID is set, but no CDN private key (VOD_CDN_PRIVATE_KEY_FILE or VOD_CDN_PRIVATE_KEY)"
    )]
    MissingKey,
    #[error(
        "give the CDN private key once: VOD_CDN_PRIVATE_KEY_FILE or VOD_CDN_PRIVATE_KEY, not both"
    )]
    TwoKeys,
    #[error("the CDN key pair id {0:?} is not a CloudFront public key id (letters and digits)")]
    BadKeyPairId(String),
    #[error("the policy is not valid: {0}")]
    BadPolicy(String),
    #[error("signing failed: {0}")]
    Sign(String),
}

impl SigningError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::BadKey(_) => "cdn.bad_key",
            Self::KeyFile { .. } => "cdn.key_file",
            Self::MissingKeyPairId => "cdn.missing_key_pair_id",
            Self::MissingKey => "cdn.missing_key",
            Self::TwoKeys => "cdn.two_keys",
            Self::BadKeyPairId(_) => "cdn.bad_key_pair_id",
            Self::BadPolicy(_) => "cdn.bad_policy",
            Self::Sign(_) => "cdn.sign_failed",
        }
    }
}

/// Seconds since the Unix epoch, the unit of every CloudFront policy time.
pub fn epoch_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// Test keys made by `openssl genrsa`, once per test process (key
/// generation is the slow part of every test that signs).
#[cfg(test)]
pub(crate) mod testkey {
    use std::sync::OnceLock;

    use super::{CdnKey, UrlSigner};

    fn generate() -> String {
        let out = std::process::Command::new("openssl")
            .args(["genrsa", "-traditional", "2048"])
            .output()
            .expect("openssl must be installed (infra/up.sh installs it)");
        assert!(out.status.success(), "openssl genrsa failed");
        String::from_utf8(out.stdout).unwrap()
    }

    /// A PKCS#1 PEM private key.
    pub fn pem() -> &'static String {
        static P: OnceLock<String> = OnceLock::new();
        P.get_or_init(generate)
    }

    pub fn signer() -> &'static UrlSigner {
        static S: OnceLock<UrlSigner> = OnceLock::new();
        S.get_or_init(|| {
            UrlSigner::new("KTESTKEYPAIR1", &CdnKey::from_pem(pem()).unwrap()).unwrap()
        })
    }

    pub fn other_signer() -> &'static UrlSigner {
        static S: OnceLock<UrlSigner> = OnceLock::new();
        S.get_or_init(|| {
            UrlSigner::new("KOTHERKEYPAIR", &CdnKey::from_pem(&generate()).unwrap()).unwrap()
        })
    }
}
