//! Command line of the `vod-api` binary. Every flag also reads a `VOD_*`
//! environment variable; flags win over the environment, which wins over defaults.

use std::net::SocketAddr;

use clap::{Args, Parser, Subcommand};
use vod_core::{LogConfig, ServicesConfig};

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
}

#[derive(Debug, Clone, Args)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub services: ServicesConfig,
}
