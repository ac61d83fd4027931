//! Values that must never reach logs, `--help` output or error messages.

use std::fmt;
use std::str::FromStr;

/// A string that is redacted whenever it is formatted.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The raw value, for handing to a client library. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

/// A URL that may carry a password (`scheme://user:pass@host/...`).
/// Formatting shows it with the password replaced, so it can name the
/// service in error messages without leaking the credential.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretUrl(String);

impl SecretUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced by `***`.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretUrl({})", self.redacted())
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl FromStr for SecretUrl {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self(s.to_owned()))
    }
}

fn redact_url(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    let Some(at) = authority.rfind('@') else {
        return url.to_owned();
    };
    let userinfo = &authority[..at];
    let user = userinfo.split(':').next().unwrap_or("");
    let masked = if userinfo.contains(':') {
        format!("{user}:***")
    } else {
        user.to_owned()
    };
    format!(
        "{}{}{}",
        &url[..scheme_end + 3],
        masked,
        &rest[at..] // keeps "@host..." and everything after
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_never_formats_its_value() {
        let s: Secret = "hunter2".parse().unwrap();
        assert_eq!(format!("{s}"), "***");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert_eq!(s.expose(), "hunter2");
    }

    #[test]
    fn url_passwords_are_masked() {
        let cases = [
            (
                "postgres://vod:pw@127.0.0.1:5432/vod",
                "postgres://vod:***@127.0.0.1:5432/vod",
            ),
            ("redis://127.0.0.1:6380/", "redis://127.0.0.1:6380/"),
            ("redis://:pw@h:1/0", "redis://:***@h:1/0"),
            ("mongodb://user@h/?x=@", "mongodb://user@h/?x=@"),
            ("not a url", "not a url"),
        ];
        for (input, want) in cases {
            let u: SecretUrl = input.parse().unwrap();
            assert_eq!(u.redacted(), want, "{input}");
            assert!(!format!("{u:?}").contains(":pw@"));
        }
    }
}
