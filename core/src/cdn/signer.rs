//! The RSA key and the signer: signed URLs (canned or custom policy) and
//! signed cookies, plus signature checks with the public half of the key.

use std::fmt;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;

use rsa::PrivateKey;
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs1v15::{Signature, SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, EncodePublicKey, LineEnding};
use rsa::signature::{Signer, Verifier};
use rsa::traits::PublicKeyParts;
use sha1::Sha1;

use super::SigningError;
use super::policy::{Policy, cf_base64_decode, cf_base64_encode};

/// CloudFront key groups take 2048-bit RSA public keys only.
const KEY_BITS: usize = 2048;

/// The private key, parsed once. Never printed, whatever the formatter.
#[derive(Clone)]
pub struct CdnKey(Arc<PrivateKey>);

impl CdnKey {
    /// A PEM key: PKCS#1 (`BEGIN RSA PRIVATE KEY`, what `openssl genrsa
    /// -traditional` and AWS's console examples write) or unencrypted PKCS#8
    /// (`BEGIN PRIVATE KEY`, OpenSSL 3's default).
    pub fn from_pem(pem: &str) -> Result<Self, SigningError> {
        let pem = pem.trim();
        let key = if pem.starts_with("-----BEGIN RSA PRIVATE KEY-----") {
            PrivateKey::from_pkcs1_pem(pem).map_err(|e| SigningError::BadKey(e.to_string()))?
        } else if pem.starts_with("-----BEGIN PRIVATE KEY-----") {
            PrivateKey::from_pkcs8_pem(pem).map_err(|e| SigningError::BadKey(e.to_string()))?
        } else if pem.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
            return Err(SigningError::BadKey(
                "encrypted keys are not supported; decrypt it with `openssl pkcs8 -in KEY -out KEY.pem`"
                    .into(),
            ));
        } else {
            return Err(SigningError::BadKey(
                "expected a PEM RSA private key (BEGIN RSA PRIVATE KEY or BEGIN PRIVATE KEY)"
                    .into(),
            ));
        };
        let bits = key.size() * 8;
        if bits != KEY_BITS {
            return Err(SigningError::BadKey(format!(
                "the key has {bits} bits; CloudFront accepts {KEY_BITS}-bit RSA keys"
            )));
        }
        Ok(Self(Arc::new(key)))
    }

    pub fn from_file(path: &Path) -> Result<Self, SigningError> {
        let pem = std::fs::read_to_string(path).map_err(|e| SigningError::KeyFile {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        Self::from_pem(&pem)
    }

    /// The public key as SPKI PEM (`BEGIN PUBLIC KEY`): what is uploaded to
    /// CloudFront, and what `openssl rsa -pubout` prints for the same key.
    pub fn public_key_pem(&self) -> Result<String, SigningError> {
        self.0
            .to_public_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| SigningError::BadKey(e.to_string()))
    }
}

impl fmt::Debug for CdnKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CdnKey(***)")
    }
}

impl FromStr for CdnKey {
    type Err = SigningError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::from_pem(s)
    }
}

/// Signs with one key pair; the public half checks signatures at the edge.
#[derive(Clone)]
pub struct UrlSigner {
    key_pair_id: String,
    signing: SigningKey<Sha1>,
    verifying: VerifyingKey<Sha1>,
}

impl fmt::Debug for UrlSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UrlSigner")
            .field("key_pair_id", &self.key_pair_id)
            .finish_non_exhaustive()
    }
}

/// The three values of a custom-policy signed cookie set; the same three are
/// also valid as `Policy`/`Signature`/`Key-Pair-Id` query parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedCookies {
    pub policy: String,
    pub signature: String,
    pub key_pair_id: String,
}

impl SignedCookies {
    /// `(cookie name, value)` in CloudFront's names.
    pub fn pairs(&self) -> [(&'static str, &str); 3] {
        [
            ("CloudFront-Policy", &self.policy),
            ("CloudFront-Signature", &self.signature),
            ("CloudFront-Key-Pair-Id", &self.key_pair_id),
        ]
    }

    /// The same grant as a query string, for clients that cannot use cookies.
    /// The values only hold `A-Z a-z 0-9 - _ ~`, so they need no escaping.
    pub fn query(&self) -> String {
        format!(
            "Policy={}&Signature={}&Key-Pair-Id={}",
            self.policy, self.signature, self.key_pair_id
        )
    }
}

impl UrlSigner {
    pub fn new(key_pair_id: &str, key: &CdnKey) -> Result<Self, SigningError> {
        let id = key_pair_id.trim();
        if id.is_empty() {
            return Err(SigningError::MissingKeyPairId);
        }
        if !id.bytes().all(|b| b.is_ascii_alphanumeric()) || id.len() > 128 {
            return Err(SigningError::BadKeyPairId(id.to_owned()));
        }
        let private: &PrivateKey = &key.0;
        Ok(Self {
            key_pair_id: id.to_owned(),
            signing: SigningKey::<Sha1>::new(private.clone()),
            verifying: VerifyingKey::<Sha1>::new(private.to_public_key()),
        })
    }

    pub fn key_pair_id(&self) -> &str {
        &self.key_pair_id
    }

    /// RSA-SHA1 PKCS#1 v1.5 over `data`, in CloudFront's base64.
    pub fn sign(&self, data: &[u8]) -> Result<String, SigningError> {
        let signature: Signature = self
            .signing
            .try_sign(data)
            .map_err(|e| SigningError::Sign(e.to_string()))?;
        let bytes: Box<[u8]> = signature.into();
        Ok(cf_base64_encode(&bytes))
    }

    /// Whether `signature` (CloudFront base64) is this key's signature of `data`.
    pub fn verify(&self, data: &[u8], signature: &str) -> bool {
        let Ok(bytes) = cf_base64_decode(signature) else {
            return false;
        };
        let Ok(signature) = Signature::try_from(bytes.as_slice()) else {
            return false;
        };
        self.verifying.verify(data, &signature).is_ok()
    }

    /// `url?Expires=…&Signature=…&Key-Pair-Id=…`: valid for exactly `url`
    /// (its own query string included) until `expires`.
    pub fn canned_url(&self, url: &str, expires: u64) -> Result<String, SigningError> {
        let signature = self.sign(Policy::canned(url, expires).to_json().as_bytes())?;
        Ok(format!(
            "{url}{}Expires={expires}&Signature={signature}&Key-Pair-Id={}",
            separator(url),
            self.key_pair_id
        ))
    }

    /// `url?Policy=…&Signature=…&Key-Pair-Id=…`; `url` must be matched by
    /// the policy's resource, or CloudFront (and the edge route) refuse it.
    pub fn custom_url(&self, url: &str, policy: &Policy) -> Result<String, SigningError> {
        let grant = self.cookies(policy)?;
        Ok(format!("{url}{}{}", separator(url), grant.query()))
    }

    /// Custom-policy cookies granting everything `policy` covers.
    pub fn cookies(&self, policy: &Policy) -> Result<SignedCookies, SigningError> {
        let json = policy.to_json();
        Ok(SignedCookies {
            signature: self.sign(json.as_bytes())?,
            policy: cf_base64_encode(json.as_bytes()),
            key_pair_id: self.key_pair_id.clone(),
        })
    }
}

fn separator(url: &str) -> char {
    if url.contains('?') { '&' } else { '?' }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_that_are_not_pem_rsa_keys_are_refused_with_a_reason() {
        let cases = [
            ("", "expected a PEM"),
            ("hello", "expected a PEM"),
            (
                "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----",
                "encrypted",
            ),
            (
                "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----",
                "",
            ),
        ];
        for (pem, reason) in cases {
            let err = CdnKey::from_pem(pem).unwrap_err();
            assert_eq!(err.code(), "cdn.bad_key");
            assert!(err.to_string().contains(reason), "{err}");
        }
        let err = CdnKey::from_file(Path::new("/nonexistent/key.pem")).unwrap_err();
        assert_eq!(err.code(), "cdn.key_file");
    }

    #[test]
    fn signed_cookie_values_double_as_query_parameters() {
        let c = SignedCookies {
            policy: "eyJ9".into(),
            signature: "c2ln".into(),
            key_pair_id: "K2JCJMDEHXQW5F".into(),
        };
        assert_eq!(
            c.query(),
            "Policy=eyJ9&Signature=c2ln&Key-Pair-Id=K2JCJMDEHXQW5F"
        );
        assert_eq!(c.pairs()[0], ("CloudFront-Policy", "eyJ9"));
        assert_eq!(separator("https://cdn/a?x=1"), '&');
        assert_eq!(separator("https://cdn/a"), '?');
    }
}
