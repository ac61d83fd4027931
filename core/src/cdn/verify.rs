//! The access decision CloudFront makes for a request to a path that needs
//! signing: the same checks, in a pure function of the request and the time.

use std::net::IpAddr;

use super::policy::{Policy, cf_base64_decode, wildcard_match};
use super::signer::UrlSigner;

/// The signing values a request carried, from its query string or its cookies.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Presented {
    pub policy: Option<String>,
    pub expires: Option<String>,
    pub signature: Option<String>,
    pub key_pair_id: Option<String>,
}

impl Presented {
    pub fn is_empty(&self) -> bool {
        self.policy.is_none()
            && self.expires.is_none()
            && self.signature.is_none()
            && self.key_pair_id.is_none()
    }

    /// Records a query parameter if it is one of CloudFront's; says whether it was.
    pub fn query_param(&mut self, name: &str, value: &str) -> bool {
        self.set(name, value)
    }

    /// Records a `CloudFront-*` cookie; says whether it was one.
    pub fn cookie(&mut self, name: &str, value: &str) -> bool {
        name.strip_prefix("CloudFront-")
            .is_some_and(|rest| self.set(rest, value))
    }

    fn set(&mut self, name: &str, value: &str) -> bool {
        let slot = match name {
            "Policy" => &mut self.policy,
            "Expires" => &mut self.expires,
            "Signature" => &mut self.signature,
            "Key-Pair-Id" => &mut self.key_pair_id,
            _ => return false,
        };
        *slot = Some(value.to_owned());
        true
    }
}

/// Why a request was refused. Messages are safe to return to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("this object is private: a signed URL or signed cookies are required")]
    Missing,
    #[error("the signature is incomplete: {0} is missing")]
    Incomplete(&'static str),
    #[error("key pair id {0:?} is not trusted here")]
    UnknownKeyPair(String),
    #[error("malformed signing parameters: {0}")]
    Malformed(String),
    #[error("the signature does not match the policy")]
    BadSignature,
    #[error("the signature expired at {expired_at} (Unix time); it is now {now}")]
    Expired { expired_at: u64, now: u64 },
    #[error("the signature is valid from {valid_from} (Unix time); it is now {now}")]
    NotYetValid { valid_from: u64, now: u64 },
    #[error("the policy grants {granted}, not this URL")]
    ResourceMismatch { granted: String },
    #[error("the policy is limited to {range}; the request came from {client}")]
    IpMismatch { range: String, client: String },
}

impl Denied {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Missing => "cdn.missing_signature",
            Self::Incomplete(_) => "cdn.incomplete_signature",
            Self::UnknownKeyPair(_) => "cdn.unknown_key_pair",
            Self::Malformed(_) => "cdn.malformed_signature",
            Self::BadSignature => "cdn.bad_signature",
            Self::Expired { .. } => "cdn.expired",
            Self::NotYetValid { .. } => "cdn.not_yet_valid",
            Self::ResourceMismatch { .. } => "cdn.resource_mismatch",
            Self::IpMismatch { .. } => "cdn.ip_mismatch",
        }
    }
}

/// Decides a request for `url` (the distribution URL without the signing
/// parameters, its other query parameters kept) from `client_ip` at `now`.
/// The signature is checked before any condition, so a tampered expiry or
/// resource reads as a bad signature, not as an expired or foreign grant.
pub fn check(
    signer: &UrlSigner,
    presented: &Presented,
    url: &str,
    client_ip: Option<IpAddr>,
    now: u64,
) -> Result<(), Denied> {
    if presented.is_empty() {
        return Err(Denied::Missing);
    }
    let signature = presented
        .signature
        .as_deref()
        .ok_or(Denied::Incomplete("Signature"))?;
    let key_pair_id = presented
        .key_pair_id
        .as_deref()
        .ok_or(Denied::Incomplete("Key-Pair-Id"))?;
    if key_pair_id != signer.key_pair_id() {
        return Err(Denied::UnknownKeyPair(key_pair_id.to_owned()));
    }
    let policy = match (&presented.policy, &presented.expires) {
        (Some(_), Some(_)) => {
            return Err(Denied::Malformed(
                "both Policy and Expires given; a URL uses one or the other".into(),
            ));
        }
        (None, None) => return Err(Denied::Incomplete("Policy or Expires")),
        (Some(encoded), None) => {
            let json =
                cf_base64_decode(encoded).map_err(|e| Denied::Malformed(format!("Policy: {e}")))?;
            if !signer.verify(&json, signature) {
                return Err(Denied::BadSignature);
            }
            Policy::from_json(&json).map_err(|e| Denied::Malformed(e.to_string()))?
        }
        (None, Some(expires)) => {
            let expires: u64 = expires.parse().map_err(|_| {
                Denied::Malformed(format!("Expires {expires:?} is not a Unix time"))
            })?;
            let canned = Policy::canned(url, expires);
            if !signer.verify(canned.to_json().as_bytes(), signature) {
                return Err(Denied::BadSignature);
            }
            canned
        }
    };
    if !wildcard_match(&policy.resource, url) {
        return Err(Denied::ResourceMismatch {
            granted: policy.resource,
        });
    }
    if now >= policy.not_after {
        return Err(Denied::Expired {
            expired_at: policy.not_after,
            now,
        });
    }
    if let Some(valid_from) = policy.not_before
        && now < valid_from
    {
        return Err(Denied::NotYetValid { valid_from, now });
    }
    if let Some(range) = policy.source_ip
        && !client_ip.is_some_and(|ip| range.contains(ip))
    {
        return Err(Denied::IpMismatch {
            range: range.to_string(),
            client: client_ip.map_or_else(|| "an unknown address".into(), |ip| ip.to_string()),
        });
    }
    Ok(())
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
