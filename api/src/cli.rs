//! Command line of the `vod-api` binary. Every flag also reads a `VOD_*`
//! environment variable; flags win over the environment, which wins over defaults.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};
use vod_core::cdn::SigningConfig;
use vod_core::{LogConfig, PlaybackConfig, Secret, ServicesConfig};

#[derive(Debug, Parser)]
#[command(name = "vod-api", version, about = "VOD platform HTTP API")]
pub struct Cli {
    #[command(flatten)]
    pub log: LogConfig,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run migrations, then serve HTTP until SIGTERM/Ctrl-C.
    Serve(ServeArgs),
    /// Apply pending database migrations and exit.
    Migrate(MigrateArgs),
    /// Print the effective configuration (secrets redacted) and exit.
    Config(ServeArgs),
}

#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub services: ServicesConfig,

    /// Address to listen on.
    #[arg(long, env = "VOD_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// Do not apply migrations at start-up (when a separate `migrate` step runs them).
    #[arg(long, env = "VOD_SKIP_MIGRATIONS", default_value_t = false)]
    pub skip_migrations: bool,

    /// Seconds each dependency check in /readyz may take.
    #[arg(long, env = "VOD_READINESS_TIMEOUT_SECS", default_value_t = 2)]
    pub readiness_timeout_secs: u64,

    #[command(flatten)]
    pub api: ApiConfig,
}

pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 20 * 1024 * 1024 * 1024;
pub const DEFAULT_PRESIGN_EXPIRY_SECS: u64 = 6 * 3600;
pub const DEFAULT_PULL_TIMEOUT_SECS: u64 = 3600;
pub const DEFAULT_PULL_CONNECT_TIMEOUT_SECS: u64 = 10;
pub const DEFAULT_VIDEO_CACHE_TTL_SECS: u64 = 30;
pub const DEFAULT_RATE_LIMIT_WRITES_PER_MINUTE: u32 = 120;
pub const DEFAULT_UPLOAD_MEMORY_MIB: u64 = 128;

/// The rate limit's choice when Redis does not answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RateLimitFallback {
    /// 503 `ratelimit.unavailable` with the reason and `Retry-After`.
    Refuse,
    /// Let the request through unchecked.
    Allow,
}

impl RateLimitFallback {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Refuse => "refused",
            Self::Allow => "allowed",
        }
    }
}

/// What the API itself decides: auth, upload limits, pull safety, caching.
#[derive(Debug, Clone, Args)]
pub struct ApiConfig {
    /// An admin token accepted without a database row, to create the first
    /// real tokens. Empty disables it.
    #[arg(
        long,
        env = "VOD_BOOTSTRAP_ADMIN_TOKEN",
        default_value = "",
        hide_env_values = true,
        hide_default_value = true
    )]
    pub bootstrap_admin_token: Secret,

    /// Largest accepted source file, in bytes (all three upload paths).
    #[arg(long, env = "VOD_MAX_UPLOAD_BYTES", default_value_t = DEFAULT_MAX_UPLOAD_BYTES)]
    pub max_upload_bytes: u64,

    /// Prefix put before `sources/<id>/…` keys, so deployments (and tests)
    /// can share a sources bucket.
    #[arg(long, env = "VOD_SOURCE_KEY_PREFIX", default_value = "")]
    pub source_key_prefix: String,

    /// Lifetime of presigned part-upload URLs of direct uploads.
    #[arg(long, env = "VOD_PRESIGN_EXPIRY_SECS", default_value_t = DEFAULT_PRESIGN_EXPIRY_SECS)]
    pub presign_expiry_secs: u64,

    /// Total time a pull from a URL may take, redirects and transfer included.
    #[arg(long, env = "VOD_PULL_TIMEOUT_SECS", default_value_t = DEFAULT_PULL_TIMEOUT_SECS)]
    pub pull_timeout_secs: u64,

    /// Time to establish each connection of a pull.
    #[arg(
        long,
        env = "VOD_PULL_CONNECT_TIMEOUT_SECS",
        default_value_t = DEFAULT_PULL_CONNECT_TIMEOUT_SECS
    )]
    pub pull_connect_timeout_secs: u64,

    /// Addresses exempt from the pull address block (loopback, private…),
    /// comma-separated, e.g. an internal media server. Tests use 127.0.0.1.
    #[arg(long, env = "VOD_PULL_ALLOWED_IPS", value_delimiter = ',')]
    pub pull_allowed_ips: Vec<std::net::IpAddr>,

    /// Seconds a video read stays cached in Redis.
    #[arg(
        long,
        env = "VOD_VIDEO_CACHE_TTL_SECS",
        default_value_t = DEFAULT_VIDEO_CACHE_TTL_SECS
    )]
    pub video_cache_ttl_secs: u64,

    /// Write requests (uploads, edits, deletes…) one token may make per
    /// minute; 0 disables the limit.
    #[arg(long, env = "VOD_RATE_LIMIT_WRITES_PER_MINUTE", default_value_t = DEFAULT_RATE_LIMIT_WRITES_PER_MINUTE)]
    pub rate_limit_writes_per_minute: u32,

    /// What the write rate limit does when Redis cannot be asked: `refuse`
    /// answers 503 with the reason (no unchecked writes), `allow` lets the
    /// request through. Either way it is counted in
    /// `vod_ratelimit_unavailable_total{decision}`.
    #[arg(
        long,
        env = "VOD_RATE_LIMIT_WHEN_REDIS_DOWN",
        value_enum,
        default_value_t = RateLimitFallback::Refuse
    )]
    pub rate_limit_when_redis_down: RateLimitFallback,

    /// Memory for the part buffers of all streamed uploads together, MiB.
    /// Beyond it uploads wait for room, so the API's memory stays bounded.
    #[arg(long, env = "VOD_UPLOAD_MEMORY_MIB", default_value_t = DEFAULT_UPLOAD_MEMORY_MIB)]
    pub upload_memory_mib: u64,

    /// Origins allowed to PUT presigned parts to the sources bucket from a
    /// browser (the admin panel's), comma-separated, or `*`. When set, the
    /// API applies the bucket's CORS rule at start-up; empty leaves it alone.
    #[arg(long, env = "VOD_S3_SOURCES_CORS_ORIGINS", value_delimiter = ',')]
    pub sources_cors_origins: Vec<String>,

    #[command(flatten)]
    pub playback: PlaybackConfig,

    /// Signed playback of private videos (CloudFront signed URLs and cookies).
    #[command(flatten)]
    pub cdn_signing: SigningConfig,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            bootstrap_admin_token: Secret::default(),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            source_key_prefix: String::new(),
            presign_expiry_secs: DEFAULT_PRESIGN_EXPIRY_SECS,
            pull_timeout_secs: DEFAULT_PULL_TIMEOUT_SECS,
            pull_connect_timeout_secs: DEFAULT_PULL_CONNECT_TIMEOUT_SECS,
            pull_allowed_ips: Vec::new(),
            video_cache_ttl_secs: DEFAULT_VIDEO_CACHE_TTL_SECS,
            rate_limit_writes_per_minute: DEFAULT_RATE_LIMIT_WRITES_PER_MINUTE,
            rate_limit_when_redis_down: RateLimitFallback::Refuse,
            upload_memory_mib: DEFAULT_UPLOAD_MEMORY_MIB,
            sources_cors_origins: Vec::new(),
            playback: PlaybackConfig::default(),
            cdn_signing: SigningConfig::default(),
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub services: ServicesConfig,
}
