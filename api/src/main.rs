use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use vod_api::cli::{Cli, Command, ServeArgs};
use vod_api::{AppState, router};
use vod_core::{Services, db, telemetry};

/// glibc's allocator keeps freed upload part buffers in per-thread arenas,
/// which left peak RSS well above the upload memory budget under 20
/// concurrent uploads; mimalloc returns them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(&cli.log);
    match cli.command {
        Command::Serve(args) => serve(args).await,
        Command::Migrate(args) => {
            let t = args.services.connect_timeout();
            let pool = db::connect(args.services.database_url.expose(), None, 1, t)
                .await
                .with_context(|| {
                    format!("connecting to PostgreSQL at {}", args.services.database_url)
                })?;
            db::migrate(&pool).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Config(args) => {
            println!("{args:#?}");
            Ok(())
        }
    }
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    // A bad CDN key stops start-up before any connection is made.
    match args.api.cdn_signing.signer() {
        Ok(Some(signer)) => tracing::info!(
            key_pair_id = signer.key_pair_id(),
            sign_all = args.api.cdn_signing.sign_all,
            "signed playback enabled"
        ),
        Ok(None) => {
            tracing::warn!("VOD_CDN_KEY_PAIR_ID is not set: private videos are served unsigned")
        }
        Err(e) => anyhow::bail!("CDN signing ({}): {e}", e.code()),
    }
    let services = Services::connect(&args.services).await?;
    if !args.skip_migrations {
        db::migrate(&services.db).await?;
    }
    services.catalog.ensure_indexes().await?;
    vod_api::ensure_sources_cors(&services, &args.api)
        .await
        .context("applying VOD_S3_SOURCES_CORS_ORIGINS to the sources bucket")?;
    let state = AppState::new(
        services,
        vod_api::metrics_handle()?,
        Duration::from_secs(args.readiness_timeout_secs.max(1)),
        args.api,
    );
    let (stop_background, stopped) = tokio::sync::watch::channel(false);
    let background = vod_api::spawn_background(&state, stopped);
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    tracing::info!(addr = %listener.local_addr()?, "vod-api listening");
    // Peer addresses feed the IpAddress condition of signed-URL policies.
    let app = router(state).into_make_service_with_connect_info::<std::net::SocketAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(vod_core::shutdown::signal())
        .await?;
    let _ = stop_background.send(true);
    let _ = background.await;
    tracing::info!("vod-api stopped");
    Ok(())
}
