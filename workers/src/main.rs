use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use vod_core::{LogConfig, PlaybackConfig, Services, ServicesConfig, db, telemetry};
use vod_workers::ingest::{IngestOutcome, IngestRequest, ingest};
use vod_workers::runner::{self, WorkerConfig};

#[derive(Debug, Parser)]
#[command(name = "vod-worker", version, about = "VOD platform worker")]
struct Cli {
    #[command(flatten)]
    log: LogConfig,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Consume transcode jobs until SIGTERM/Ctrl-C.
    Run(RunArgs),
    /// Ingest one local file through the real services (the same task path
    /// as an upload, run in this process) and print the result.
    Ingest(IngestArgs),
    /// Print the effective configuration (secrets redacted) and exit.
    Config(ServiceArgs),
    /// Ask a running worker's `/healthz` and exit 0 when it answers 200
    /// (the ECS container health check; the image has no curl).
    Health(HealthArgs),
}

#[derive(Debug, Args)]
struct HealthArgs {
    /// The worker's endpoint (VOD_WORKER_METRICS_LISTEN); an unspecified
    /// address (0.0.0.0) is asked on loopback.
    #[arg(long, env = "VOD_WORKER_METRICS_LISTEN")]
    listen: std::net::SocketAddr,
    #[arg(long, default_value_t = 5)]
    timeout_secs: u64,
}

/// Exit status 0 when the worker answers 200, 1 otherwise; prints its report.
async fn health(args: HealthArgs) -> anyhow::Result<std::process::ExitCode> {
    let mut addr = args.listen;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let client = reqwest::Client::builder()
        .no_proxy()
        .timeout(std::time::Duration::from_secs(args.timeout_secs.max(1)))
        .build()?;
    let url = format!("http://{addr}/healthz");
    match client.get(&url).send().await {
        Ok(resp) => {
            let ok = resp.status().is_success();
            println!("{}", resp.text().await.unwrap_or_default());
            Ok(if ok {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            })
        }
        Err(e) => {
            eprintln!("no answer from {url}: {e}");
            Ok(std::process::ExitCode::FAILURE)
        }
    }
}

#[derive(Debug, Args)]
struct RunArgs {
    #[command(flatten)]
    common: ServiceArgs,
    #[command(flatten)]
    worker: WorkerConfig,
}

#[derive(Debug, Args)]
struct ServiceArgs {
    #[command(flatten)]
    services: ServicesConfig,
    #[command(flatten)]
    playback: PlaybackConfig,
}

#[derive(Debug, Args)]
struct IngestArgs {
    #[command(flatten)]
    common: ServiceArgs,
    #[command(flatten)]
    worker: WorkerConfig,
    /// Tasks to run at once (the chunks of a long source in parallel).
    #[arg(long, default_value_t = 1)]
    jobs: usize,
    /// The source video.
    file: PathBuf,
    #[arg(long)]
    title: Option<String>,
    #[arg(long, default_value = "")]
    description: String,
    /// Repeat for several tags.
    #[arg(long = "tag")]
    tags: Vec<String>,
    /// Print the whole outcome as JSON instead of a summary.
    #[arg(long)]
    json: bool,
}

fn print_summary(o: &IngestOutcome, args: &ServiceArgs) -> anyhow::Result<()> {
    let v = &o.video;
    println!("video {} \"{}\" is {}", v.id, v.title, v.status);
    println!(
        "\nPostgreSQL videos row:\n{}",
        serde_json::to_string_pretty(v)?
    );
    println!(
        "\nsource object: s3://{}/{}",
        args.services.s3.sources_bucket, o.source_key
    );
    println!(
        "output objects in s3://{}:",
        args.services.s3.outputs_bucket
    );
    for a in &o.assets {
        println!("  {:<60} {:>10} B  {}", a.key, a.bytes, a.kind);
    }
    println!(
        "\njob {} {}: {} task(s)",
        o.job.id,
        o.job.state,
        o.job.tasks.len()
    );
    for t in &o.job.tasks {
        let took = t
            .started_at
            .zip(t.finished_at)
            .map(|(s, f)| format!("{:.1} s", (f - s).num_milliseconds() as f64 / 1000.0))
            .unwrap_or_default();
        println!(
            "  {:<13} {:>3} {:<10} {:<40} {took}",
            t.kind.as_str(),
            t.seq,
            t.state.as_str(),
            t.worker.as_deref().unwrap_or("")
        );
    }
    println!("\nrenditions:");
    for r in o.manifest.video.iter().chain(o.manifest.audio.iter()) {
        let dims = match (r.width, r.height) {
            (Some(w), Some(h)) => format!("{w}x{h}"),
            _ => "audio".to_owned(),
        };
        println!(
            "  {:<8} {:<10} {:>9} b/s peak {:>9} b/s avg  {:<24} {} segments",
            r.name, dims, r.peak_bitrate_bps, r.average_bitrate_bps, r.codecs, r.segment_count
        );
    }
    println!(
        "\nMongoDB catalog document:\n{}",
        serde_json::to_string_pretty(&o.catalog)?
    );
    if let Some(url) = o.catalog.as_ref().and_then(|c| c.playback_url.as_ref()) {
        println!("\nplayback URL (served once the edge route exists): {url}");
    }
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<std::process::ExitCode> {
    let cli = Cli::parse();
    telemetry::init(&cli.log);
    if let Command::Health(args) = cli.command {
        return health(args).await;
    }
    run_command(cli.command)
        .await
        .map(|()| std::process::ExitCode::SUCCESS)
}

async fn run_command(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Health(_) => Ok(()),
        Command::Run(args) => {
            let services = Services::connect(&args.common.services).await?;
            db::migrate(&services.db).await?;
            services.catalog.ensure_indexes().await?;
            let (tx, rx) = tokio::sync::watch::channel(false);
            tokio::spawn(async move {
                vod_core::shutdown::signal().await;
                let _ = tx.send(true);
            });
            runner::run(services, args.common.playback, args.worker, rx).await
        }
        Command::Config(args) => {
            println!("{args:#?}");
            Ok(())
        }
        Command::Ingest(args) => {
            let services = Services::connect(&args.common.services).await?;
            db::migrate(&services.db).await?;
            services.catalog.ensure_indexes().await?;
            let title = args.title.clone().unwrap_or_else(|| {
                args.file
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default()
            });
            let req = IngestRequest {
                file: args.file.clone(),
                title,
                description: args.description,
                tags: args.tags,
                jobs: args.jobs,
            };
            let outcome = ingest(services, &args.common.playback, &args.worker, req)
                .await
                .with_context(|| format!("ingesting {}", args.file.display()))?;
            if args.json {
                println!("{}", serde_json::to_string_pretty(&outcome)?);
            } else {
                print_summary(&outcome, &args.common)?;
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// Flattened configs (services, S3, worker, MediaConvert) must not
    /// reuse an argument id; clap only notices at start-up.
    #[test]
    fn cli_is_consistent() {
        Cli::command().debug_assert();
    }
}
