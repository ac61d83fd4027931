//! The long-running worker process: supervised consumers of the transcode
//! queue (rebuilt whenever Redis drops them), the relay that pushes jobs the
//! queue does not hold, a scheduler that re-queues jobs whose retry time has
//! come, a probe and a watchdog for the queue connection, and graceful
//! shutdown (stop fetching on SIGTERM, let the current job finish within a
//! grace period, otherwise hand it back).

use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tokio::sync::watch;
use vod_core::jobs::relay::{self, RelaySettings};
use vod_core::jobs::{JobQueue, QueueSettings};
use vod_core::{PlaybackConfig, Services};

use crate::health::Health;
use crate::task::{JobSettings, TaskRunner};

mod requeue;
mod slot;

pub const DEFAULT_QUEUE_OUTAGE_EXIT_SECS: u64 = 300;

#[derive(Debug, Clone, Args)]
pub struct WorkerConfig {
    /// Transcode jobs run at once (default: one per two cores).
    #[arg(long, env = "VOD_WORKER_CONCURRENCY")]
    pub concurrency: Option<usize>,
    /// Seconds between queue heartbeats; a worker silent for
    /// heartbeat × missed-heartbeats is dead and its job goes to another.
    #[arg(long, env = "VOD_WORKER_HEARTBEAT_SECS", default_value_t = 2)]
    pub heartbeat_secs: u64,
    #[arg(long, env = "VOD_WORKER_MISSED_HEARTBEATS", default_value_t = 3)]
    pub missed_heartbeats: usize,
    /// On SIGTERM, how long the current job may run on before it is handed back.
    #[arg(long, env = "VOD_WORKER_SHUTDOWN_GRACE_SECS", default_value_t = 30)]
    pub shutdown_grace_secs: u64,
    /// Seconds the job queue (Redis) may stay unreachable before the worker
    /// exits non-zero for its orchestrator to replace it (after finishing
    /// the job it holds, if any); 0 never exits.
    #[arg(long, env = "VOD_WORKER_QUEUE_OUTAGE_EXIT_SECS", default_value_t = DEFAULT_QUEUE_OUTAGE_EXIT_SECS)]
    pub queue_outage_exit_secs: u64,
    /// Attempts of each task after transient failures (storage, network)
    /// before its job fails.
    #[arg(long, env = "VOD_JOB_MAX_ATTEMPTS", default_value_t = 5)]
    pub max_attempts: i32,
    /// Worker deaths while holding a task before it (and its job) goes to `dead`.
    #[arg(long, env = "VOD_JOB_MAX_WORKER_LOSSES", default_value_t = 3)]
    pub max_worker_losses: i32,
    #[arg(long, env = "VOD_JOB_RETRY_BASE_SECS", default_value_t = 2)]
    pub retry_base_secs: u64,
    #[arg(long, env = "VOD_JOB_RETRY_MAX_SECS", default_value_t = 300)]
    pub retry_max_secs: u64,
    /// Scratch space for sources and outputs (one folder per job, removed after).
    #[arg(long, env = "VOD_WORK_DIR")]
    pub work_dir: Option<std::path::PathBuf>,
    /// Chunk length of chunked encoding, seconds (rounded to whole
    /// segments); sources shorter than two chunks are encoded in one pass,
    /// and 0 encodes every source in one pass.
    #[arg(long, env = "VOD_CHUNK_SECONDS", default_value_t = vod_plan::chunks::DEFAULT_CHUNK_S)]
    pub chunk_seconds: f64,
    /// Stall timeout of the media pipeline, seconds without progress.
    #[arg(long, env = "VOD_PIPELINE_STALL_TIMEOUT_SECS", default_value_t = 60)]
    pub stall_timeout_secs: u64,
    /// Address of the worker's HTTP endpoint: Prometheus `/metrics` (stage
    /// durations, job outcomes) and `/healthz` (queue connection, last poll,
    /// held jobs); none when unset, since several workers may share a host.
    #[arg(long, env = "VOD_WORKER_METRICS_LISTEN")]
    pub metrics_listen: Option<std::net::SocketAddr>,
    #[command(flatten)]
    pub backend: crate::backend::BackendConfig,
    #[command(flatten)]
    pub queue_metric: crate::queue_metric::QueueMetricConfig,
}

impl WorkerConfig {
    fn concurrency(&self) -> usize {
        self.concurrency
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() / 2))
            .max(1)
    }

    fn heartbeat(&self) -> Duration {
        Duration::from_secs(self.heartbeat_secs.max(1))
    }

    fn queue_outage_exit(&self) -> Option<Duration> {
        (self.queue_outage_exit_secs > 0).then(|| Duration::from_secs(self.queue_outage_exit_secs))
    }

    /// A task whose heartbeat is older than this lost its worker.
    fn liveness(&self) -> Duration {
        self.heartbeat() * (self.missed_heartbeats.max(1) as u32 + 1)
    }

    /// How tasks run, from these settings.
    pub fn job_settings(&self) -> JobSettings {
        let mut pipeline = vod_pipeline::Settings::default();
        pipeline.run.stall_timeout = Duration::from_secs(self.stall_timeout_secs.max(1));
        JobSettings {
            pipeline,
            work_root: self
                .work_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir)
                .join("vod-worker"),
            progress_every: Duration::from_secs(2),
            liveness: self.liveness(),
            max_worker_losses: self.max_worker_losses,
            retry_base: Duration::from_secs(self.retry_base_secs),
            retry_max: Duration::from_secs(self.retry_max_secs),
            chunk_seconds: self.chunk_seconds,
        }
    }
}

/// The worker exited because the job queue stayed unreachable.
#[derive(Debug, thiserror::Error)]
#[error(
    "the job queue (Redis) has been unreachable for {outage_s:.0} s (limit \
     VOD_WORKER_QUEUE_OUTAGE_EXIT_SECS={limit_s}); exiting so the orchestrator starts a \
     new worker; last error: {last_error}"
)]
pub struct QueueOutage {
    pub outage_s: f64,
    pub limit_s: u64,
    pub last_error: String,
}

impl QueueOutage {
    pub fn code(&self) -> &'static str {
        "worker.queue_unreachable"
    }
}

/// Unique per process: apalis tracks in-flight jobs per worker name, and a
/// name reused across restarts has stranded jobs.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/etc/hostname").unwrap_or_default();
    let host = host.trim();
    let short = uuid::Uuid::new_v4().simple().to_string();
    format!(
        "vod-worker-{}-{}-{}",
        if host.is_empty() { "host" } else { host },
        std::process::id(),
        &short[..8]
    )
}

pub async fn run(
    services: Services,
    playback: PlaybackConfig,
    cfg: WorkerConfig,
    shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let name = worker_name();
    let health = Arc::new(Health::new(name.clone(), cfg.queue_outage_exit()));
    // Without an address nothing is installed: the metrics macros are then
    // no-ops, and an API in the same process (tests) keeps its own recorder.
    if let Some(addr) = cfg.metrics_listen {
        crate::metrics::serve(addr, health.clone()).await?;
    }
    let queue = JobQueue::new(
        services.cache.connection(),
        QueueSettings {
            prefix: services.cache.key(""),
            heartbeat: cfg.heartbeat(),
            missed_heartbeats: cfg.missed_heartbeats.max(1),
            max_attempts: cfg.max_attempts,
        },
    );
    let liveness = cfg.liveness();
    let backend = crate::backend::build(&cfg.backend, &services).await?;
    // One stop signal for everything below: SIGTERM, or the watchdog.
    let (stop_tx, stop) = watch::channel(false);
    let queue_metric = crate::queue_metric::spawn(
        &cfg.queue_metric,
        &crate::backend::s3_region(&services),
        queue.clone(),
        services.db.clone(),
        stop.clone(),
    )
    .await?;
    let services = Arc::new(services);
    let runner = Arc::new(TaskRunner {
        backend,
        services: services.clone(),
        playback,
        worker_name: name.clone(),
        settings: cfg.job_settings(),
        hand_back: Arc::new(std::sync::atomic::AtomicBool::new(false)),
        health: health.clone(),
    });
    tracing::info!(worker = %name, concurrency = cfg.concurrency(), backend = runner.backend.name(), "worker started");

    let background = [
        tokio::spawn(requeue::due_retries(
            services.clone(),
            queue.clone(),
            stop.clone(),
        )),
        tokio::spawn(crate::webhooks::dispatch_loop(
            services.db.clone(),
            stop.clone(),
        )),
        relay::spawn(
            Services::clone(&services),
            RelaySettings {
                lost_running_after: (liveness * 4).max(Duration::from_secs(30)),
                ..RelaySettings::default()
            },
            stop.clone(),
        ),
        tokio::spawn(probe(
            queue.clone(),
            health.clone(),
            cfg.heartbeat(),
            stop.clone(),
        )),
    ];
    let mut slots = tokio::task::JoinSet::new();
    for i in 0..cfg.concurrency() {
        slots.spawn(slot::run(
            slot::Slot::new(format!("{name}-{i}"), runner.clone()),
            queue.clone(),
            stop.clone(),
        ));
    }

    let outage = tokio::select! {
        _ = wait_for_stop(shutdown) => None,
        outage = watchdog(&health) => Some(outage),
    };
    let _ = stop_tx.send(true);
    if let Some(outage) = &outage {
        tracing::error!(code = outage.code(), "{outage}");
    } else {
        tracing::info!(
            grace_s = cfg.shutdown_grace_secs,
            "shutting down: no new jobs, waiting for the current ones"
        );
    }
    let drained = tokio::time::timeout(
        Duration::from_secs(cfg.shutdown_grace_secs),
        drain(&mut slots),
    )
    .await;
    for task in background {
        task.abort();
    }
    if let Some(task) = queue_metric {
        task.abort();
    }
    if drained.is_err() {
        // Re-queue first, then stop the pipelines: the job is never unowned.
        requeue::hand_back(&services, &queue, &name).await;
        runner
            .hand_back
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let stopped = tokio::time::timeout(Duration::from_secs(10), drain(&mut slots)).await;
        if stopped.is_err() {
            tracing::warn!("jobs did not stop within 10 s of being handed back");
        }
    }
    tracing::info!("worker stopped");
    match outage {
        Some(outage) => Err(outage.into()),
        None => Ok(()),
    }
}

async fn wait_for_stop(mut shutdown: watch::Receiver<bool>) {
    // A dropped sender counts as a stop too.
    let _ = shutdown.wait_for(|s| *s).await;
}

/// Resolves once the worker must exit for want of the queue.
async fn watchdog(health: &Health) -> QueueOutage {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tick.tick().await;
        if let Some(outage) = health.must_exit() {
            return QueueOutage {
                outage_s: outage.as_secs_f64(),
                limit_s: health.report().queue.exit_after_secs.unwrap_or(0),
                last_error: health.last_error().unwrap_or_default(),
            };
        }
    }
}

/// Asks Redis something cheap every heartbeat, so the health report knows
/// the connection's state even while every consumer is busy or rebuilding.
async fn probe(
    queue: JobQueue,
    health: Arc<Health>,
    every: Duration,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        match tokio::time::timeout(every.max(Duration::from_secs(1)), queue.waiting()).await {
            Ok(Ok(_)) => health.reachable(),
            Ok(Err(e)) => {
                if health.unreachable(e.to_string()) {
                    tracing::warn!(code = e.code(), error = %e, "the job queue is unreachable");
                }
            }
            Err(_) => {
                if health.unreachable("no answer from Redis") {
                    tracing::warn!("the job queue does not answer");
                }
            }
        }
    }
}

async fn drain(slots: &mut tokio::task::JoinSet<()>) {
    while slots.join_next().await.is_some() {}
}
