//! The one typed configuration: defaults, then `VOD_*` environment
//! variables, then CLI flags (clap applies exactly that precedence).
//! Binaries flatten [`ServicesConfig`] into their own argument structs.

use std::time::Duration;

use clap::Args;

use crate::secret::{Secret, SecretUrl};

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
}

/// Object storage. With no endpoint the AWS default endpoint for the region is used.
#[derive(Debug, Clone, Args)]
pub struct S3Config {
    /// Custom S3 endpoint (Garage, MinIO…). Unset means AWS S3.
    #[arg(long = "s3-endpoint", env = "VOD_S3_ENDPOINT")]
    pub endpoint: Option<String>,

    #[arg(long = "s3-region", env = "VOD_S3_REGION", default_value = "garage")]
    pub region: String,

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
