//! Policy documents, CloudFront's base64 variant and resource wildcards.

use std::net::IpAddr;
use std::str::FromStr;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use super::SigningError;

/// One CloudFront policy statement: what may be fetched, until when, from where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The URL, with `*`/`?` wildcards in a custom policy.
    pub resource: String,
    /// `DateLessThan`: requests must arrive strictly before this epoch second.
    pub not_after: u64,
    /// `DateGreaterThan`: requests must arrive at or after this epoch second.
    pub not_before: Option<u64>,
    /// `IpAddress`: the client address must be in this range.
    pub source_ip: Option<Cidr>,
}

impl Policy {
    /// The policy CloudFront rebuilds for a canned-policy URL or cookie.
    pub fn canned(url: &str, expires: u64) -> Self {
        Self {
            resource: url.to_owned(),
            not_after: expires,
            not_before: None,
            source_ip: None,
        }
    }

    /// A custom policy over `resource` (typically `https://cdn/videos/<id>/*`).
    pub fn custom(resource: impl Into<String>, not_after: u64) -> Self {
        Self {
            resource: resource.into(),
            not_after,
            not_before: None,
            source_ip: None,
        }
    }

    pub fn not_before(mut self, epoch: u64) -> Self {
        self.not_before = Some(epoch);
        self
    }

    pub fn source_ip(mut self, range: Cidr) -> Self {
        self.source_ip = Some(range);
        self
    }

    /// Only `DateLessThan` and no wildcard: expressible as a canned policy.
    pub fn is_canned(&self) -> bool {
        self.not_before.is_none() && self.source_ip.is_none() && !self.resource.contains(['*', '?'])
    }

    /// The compact JSON that is signed. For a canned policy this is byte for
    /// byte the document CloudFront rebuilds, which is why there is no
    /// whitespace and `DateLessThan` comes first.
    pub fn to_json(&self) -> String {
        let doc = Doc {
            statement: vec![Statement {
                resource: self.resource.clone(),
                condition: Condition {
                    date_less_than: Epoch {
                        epoch: self.not_after,
                    },
                    date_greater_than: self.not_before.map(|epoch| Epoch { epoch }),
                    ip_address: self.source_ip.map(|c| SourceIp { ip: c.to_string() }),
                },
            }],
        };
        // Plain strings and integers cannot fail to serialize.
        serde_json::to_string(&doc).unwrap_or_default()
    }

    /// Parses a policy as a client sent it (any whitespace, one statement).
    pub fn from_json(json: &[u8]) -> Result<Self, SigningError> {
        let doc: Doc =
            serde_json::from_slice(json).map_err(|e| SigningError::BadPolicy(e.to_string()))?;
        let [statement] = <[Statement; 1]>::try_from(doc.statement).map_err(|s| {
            SigningError::BadPolicy(format!("expected 1 statement, found {}", s.len()))
        })?;
        let source_ip = statement
            .condition
            .ip_address
            .map(|s| s.ip.parse::<Cidr>())
            .transpose()?;
        Ok(Self {
            resource: statement.resource,
            not_after: statement.condition.date_less_than.epoch,
            not_before: statement.condition.date_greater_than.map(|e| e.epoch),
            source_ip,
        })
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Doc {
    #[serde(rename = "Statement")]
    statement: Vec<Statement>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Statement {
    #[serde(rename = "Resource")]
    resource: String,
    #[serde(rename = "Condition")]
    condition: Condition,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Condition {
    #[serde(rename = "DateLessThan")]
    date_less_than: Epoch,
    #[serde(
        rename = "DateGreaterThan",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    date_greater_than: Option<Epoch>,
    #[serde(rename = "IpAddress", default, skip_serializing_if = "Option::is_none")]
    ip_address: Option<SourceIp>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Epoch {
    #[serde(rename = "AWS:EpochTime")]
    epoch: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceIp {
    #[serde(rename = "AWS:SourceIp")]
    ip: String,
}

/// An address range in CIDR notation (`192.0.2.0/24`); a bare address is a /32 (/128).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn contains(&self, ip: IpAddr) -> bool {
        // An IPv4 client seen on a dual-stack socket arrives as ::ffff:a.b.c.d.
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                masked(u128::from(u32::from(net)), 32, self.prefix)
                    == masked(u128::from(u32::from(ip)), 32, self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                masked(u128::from(net), 128, self.prefix)
                    == masked(u128::from(ip), 128, self.prefix)
            }
            _ => false,
        }
    }
}

fn masked(value: u128, bits: u8, prefix: u8) -> u128 {
    let host_bits = u32::from(bits.saturating_sub(prefix));
    value.checked_shr(host_bits).unwrap_or(0)
}

impl FromStr for Cidr {
    type Err = SigningError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || SigningError::BadPolicy(format!("{s:?} is not an IP address range"));
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.parse().map_err(|_| bad())?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p.parse::<u8>().map_err(|_| bad())?,
            None => max,
        };
        if prefix > max {
            return Err(bad());
        }
        Ok(Self { addr, prefix })
    }
}

impl std::fmt::Display for Cidr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// CloudFront's URL-safe base64: standard base64 with `+`→`-`, `=`→`_`, `/`→`~`.
pub fn cf_base64_encode(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '-',
            '=' => '_',
            '/' => '~',
            other => other,
        })
        .collect()
}

pub fn cf_base64_decode(text: &str) -> Result<Vec<u8>, SigningError> {
    // One spelling only: a `+` in a query string would arrive as a space anyway.
    if text.contains(['+', '=', '/']) {
        return Err(SigningError::BadPolicy(
            "standard base64 characters (+ = /) instead of CloudFront's (- _ ~)".into(),
        ));
    }
    let standard: String = text
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '=',
            '~' => '/',
            other => other,
        })
        .collect();
    STANDARD
        .decode(standard)
        .map_err(|e| SigningError::BadPolicy(format!("not CloudFront base64: {e}")))
}

/// CloudFront's resource match: `*` is any run of characters (including
/// none and `/`), `?` exactly one character; everything else is literal and
/// case-sensitive.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let t: Vec<char> = text.chars().collect();
    let (mut pi, mut ti) = (0, 0);
    // Where the last `*` was and how much text it has swallowed so far.
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

#[cfg(test)]
#[path = "policy_tests.rs"]
mod tests;
