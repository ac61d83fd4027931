//! The one typed configuration: defaults, then `VOD_*` environment
//! variables, then CLI flags (clap applies exactly that precedence).
//! Binaries flatten [`ServicesConfig`] into their own argument structs.

use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::aws::StaticKeys;
use crate::secret::{Secret, SecretUrl};

/// Settings that parse but do not make sense together. Reported at start-up,
/// before any service is contacted.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "{set} is set but {unset} is not: set both for static credentials, or neither \
         to use the AWS default credential chain (AWS_* environment, profile, ECS task \
         role, EC2 instance role)"
    )]
    HalfSetCredentials {
        set: &'static str,
        unset: &'static str,
    },
    #[error(
        "VOD_REDIS_CA_FILE is set but VOD_REDIS_URL ({url}) is not a rediss:// URL; \
         the CA file only applies to TLS connections"
    )]
    CaFileWithoutTls { url: String },
    #[error("VOD_REDIS_CA_FILE {path}: {reason}")]
    CaFile { path: PathBuf, reason: String },
}

impl ConfigError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::HalfSetCredentials { .. } => "config.half_set_credentials",
            Self::CaFileWithoutTls { .. } => "config.ca_file_without_tls",
            Self::CaFile { .. } => "config.ca_file",
        }
    }
}

/// How to reach every backing service. Shared by the API, the workers and the tests.
#[derive(Debug, Clone, Args)]
pub struct ServicesConfig {
    /// PostgreSQL URL (record of truth).
    #[arg(
        long,
        env = "VOD_DATABASE_URL",
        default_value = "postgres://vod:vod@127.0.0.1:5432/vod",
        hide_env_values = true
    )]
    pub database_url: SecretUrl,

    /// PostgreSQL schema to use (search path); unset = the server default.
    /// Lets several deployments or test runs share one database.
    #[arg(long, env = "VOD_DATABASE_SCHEMA")]
    pub database_schema: Option<String>,

    /// Maximum PostgreSQL pool size.
    #[arg(long, env = "VOD_DATABASE_MAX_CONNECTIONS", default_value_t = 10)]
    pub database_max_connections: u32,

    /// Redis URL (job queue, cache, progress fan-out). Must persist (appendonly).
    #[arg(
        long,
        env = "VOD_REDIS_URL",
        default_value = "redis://127.0.0.1:6380/",
        hide_env_values = true
    )]
    pub redis_url: SecretUrl,

    /// PEM file of the CA(s) that signed the Redis server's certificate, for a
    /// `rediss://` URL to a self-hosted or test server. Unset = the public web
    /// PKI roots built into the binary (enough for ElastiCache).
    #[arg(long, env = "VOD_REDIS_CA_FILE")]
    pub redis_ca_file: Option<PathBuf>,

    /// Prefix of every Redis key and queue name we create.
    #[arg(long, env = "VOD_REDIS_PREFIX", default_value = "vod:")]
    pub redis_prefix: String,

    /// MongoDB URL of the search catalog.
    #[arg(
        long,
        env = "VOD_MONGODB_URL",
        default_value = "mongodb://127.0.0.1:27017/",
        hide_env_values = true
    )]
    pub mongodb_url: SecretUrl,

    /// MongoDB database holding the catalog.
    #[arg(long, env = "VOD_MONGODB_DATABASE", default_value = "vod")]
    pub mongodb_database: String,

    #[command(flatten)]
    pub s3: S3Config,

    /// Seconds to wait for each service at start-up before giving up.
    #[arg(long, env = "VOD_CONNECT_TIMEOUT_SECS", default_value_t = 5)]
    pub connect_timeout_secs: u64,
}

impl ServicesConfig {
    pub fn connect_timeout(&self) -> Duration {
        Duration::from_secs(self.connect_timeout_secs.max(1))
    }

    /// Combinations that cannot work; checked before connecting to anything.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.s3.static_keys()?;
        if self.redis_ca_file.is_some() && !crate::cache::is_tls_url(self.redis_url.expose()) {
            return Err(ConfigError::CaFileWithoutTls {
                url: self.redis_url.redacted(),
            });
        }
        Ok(())
    }

    /// The CA file's PEM, read now so that a wrong path fails start-up by name.
    pub fn redis_ca_pem(&self) -> Result<Option<Vec<u8>>, ConfigError> {
        let Some(path) = &self.redis_ca_file else {
            return Ok(None);
        };
        let pem = std::fs::read(path).map_err(|e| ConfigError::CaFile {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if !pem.windows(27).any(|w| w == b"-----BEGIN CERTIFICATE-----") {
            return Err(ConfigError::CaFile {
                path: path.clone(),
                reason: "no PEM certificate (-----BEGIN CERTIFICATE-----) in it".into(),
            });
        }
        Ok(Some(pem))
    }
}

/// Object storage. With no endpoint the AWS default endpoint for the region is used.
#[derive(Debug, Clone, Args)]
pub struct S3Config {
    /// Custom S3 endpoint (Garage, MinIO…). Unset means AWS S3.
    #[arg(long = "s3-endpoint", env = "VOD_S3_ENDPOINT")]
    pub endpoint: Option<String>,

    #[arg(long = "s3-region", env = "VOD_S3_REGION", default_value = "garage")]
    pub region: String,

    /// Static access key (Garage, MinIO). Leave this and the secret empty on
    /// AWS: the SDK's default credential chain (task role) is used then.
    #[arg(
        long = "s3-access-key-id",
        env = "VOD_S3_ACCESS_KEY_ID",
        default_value = ""
    )]
    pub access_key_id: String,

    #[arg(
        long = "s3-secret-access-key",
        env = "VOD_S3_SECRET_ACCESS_KEY",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub secret_access_key: Secret,

    /// Bucket receiving uploaded sources.
    #[arg(
        long = "s3-sources-bucket",
        env = "VOD_S3_SOURCES_BUCKET",
        default_value = "vod-sources"
    )]
    pub sources_bucket: String,

    /// Bucket receiving HLS packages and thumbnails (the CDN origin).
    #[arg(
        long = "s3-outputs-bucket",
        env = "VOD_S3_OUTPUTS_BUCKET",
        default_value = "vod-outputs"
    )]
    pub outputs_bucket: String,

    /// Path-style addressing; required by Garage and most non-AWS servers.
    #[arg(
        long = "s3-force-path-style",
        env = "VOD_S3_FORCE_PATH_STYLE",
        default_value_t = true,
        action = clap::ArgAction::Set
    )]
    pub force_path_style: bool,
}

impl S3Config {
    /// Static keys when both are set, `None` for the AWS default chain.
    pub fn static_keys(&self) -> Result<Option<StaticKeys>, ConfigError> {
        StaticKeys::from_pair(
            Some(&self.access_key_id),
            Some(self.secret_access_key.expose()),
            "VOD_S3_ACCESS_KEY_ID",
            "VOD_S3_SECRET_ACCESS_KEY",
        )
    }
}

/// How playback URLs are built. Locally the API's edge route serves the
/// outputs bucket; in production this points at CloudFront, with no code change.
#[derive(Debug, Clone, Args)]
pub struct PlaybackConfig {
    /// Base URL that output keys are appended to.
    #[arg(
        long,
        env = "VOD_CDN_BASE_URL",
        default_value = "http://127.0.0.1:8080/cdn"
    )]
    pub cdn_base_url: String,
}

impl Default for PlaybackConfig {
    fn default() -> Self {
        Self {
            cdn_base_url: "http://127.0.0.1:8080/cdn".to_owned(),
        }
    }
}

impl PlaybackConfig {
    pub fn url(&self, key: &str) -> String {
        format!(
            "{}/{}",
            self.cdn_base_url.trim_end_matches('/'),
            key.trim_start_matches('/')
        )
    }
}

/// Logging options shared by every binary.
#[derive(Debug, Clone, Args)]
pub struct LogConfig {
    /// tracing filter, e.g. `info,vod_api=debug`.
    #[arg(long = "log", env = "VOD_LOG", default_value = "info")]
    pub filter: String,

    /// Emit JSON lines instead of human-readable logs.
    #[arg(long = "log-json", env = "VOD_LOG_JSON", default_value_t = false)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        services: ServicesConfig,
    }

    #[test]
    fn flags_override_defaults() {
        let cli = Cli::try_parse_from([
            "x",
            "--database-url",
            "postgres://a:b@h:1/d",
            "--s3-sources-bucket",
            "src",
            "--s3-force-path-style",
            "false",
        ])
        .unwrap();
        assert_eq!(cli.services.database_url.expose(), "postgres://a:b@h:1/d");
        assert_eq!(cli.services.s3.sources_bucket, "src");
        assert!(!cli.services.s3.force_path_style);
    }

    /// Both keys on the command line, so a sourced `.state/env` cannot fill one in.
    fn with_keys(id: &str, secret: &str) -> ServicesConfig {
        Cli::try_parse_from([
            "x",
            "--s3-access-key-id",
            id,
            "--s3-secret-access-key",
            secret,
            "--redis-url",
            "redis://127.0.0.1:6379/",
        ])
        .unwrap()
        .services
    }

    #[test]
    fn s3_keys_both_or_neither() {
        assert!(with_keys("GK1", "s3cr3t").validate().is_ok());
        let keys = with_keys("GK1", "s3cr3t")
            .s3
            .static_keys()
            .unwrap()
            .unwrap();
        assert_eq!(keys.access_key_id, "GK1");
        // Neither: the AWS default credential chain (the ECS task role).
        assert!(with_keys("", "").s3.static_keys().unwrap().is_none());
        assert!(with_keys("", "").validate().is_ok());
    }

    #[test]
    fn half_set_s3_keys_fail_validation() {
        let err = with_keys("GK1", "").validate().unwrap_err();
        assert_eq!(err.code(), "config.half_set_credentials");
        assert!(
            err.to_string()
                .starts_with("VOD_S3_ACCESS_KEY_ID is set but VOD_S3_SECRET_ACCESS_KEY is not"),
            "{err}"
        );
        let err = with_keys("", "s3cr3t").validate().unwrap_err();
        assert!(
            err.to_string()
                .starts_with("VOD_S3_SECRET_ACCESS_KEY is set but VOD_S3_ACCESS_KEY_ID is not"),
            "{err}"
        );
        assert!(!err.to_string().contains("s3cr3t"));
    }

    #[test]
    fn redis_ca_file_needs_a_tls_url_and_a_readable_pem() {
        let mut cfg = with_keys("", "");
        cfg.redis_ca_file = Some("/nonexistent/ca.pem".into());
        let err = cfg.validate().unwrap_err();
        assert_eq!(err.code(), "config.ca_file_without_tls");

        cfg.redis_url = "rediss://:tok3n@cache.example:6379/".parse().unwrap();
        assert!(cfg.validate().is_ok());
        let err = cfg.redis_ca_pem().unwrap_err();
        assert_eq!(err.code(), "config.ca_file");
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");

        let not_pem = std::env::temp_dir().join(format!("vod-not-pem-{}", std::process::id()));
        std::fs::write(&not_pem, "hello").unwrap();
        cfg.redis_ca_file = Some(not_pem.clone());
        let err = cfg.redis_ca_pem().unwrap_err();
        std::fs::remove_file(&not_pem).unwrap();
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn debug_output_hides_secrets() {
        let cli = Cli::try_parse_from([
            "x",
            "--database-url",
            "postgres://vod:topsecret@h/d",
            "--s3-secret-access-key",
            "alsosecret",
        ])
        .unwrap();
        let shown = format!("{:?}", cli.services);
        assert!(!shown.contains("topsecret"), "{shown}");
        assert!(!shown.contains("alsosecret"), "{shown}");
    }
}
