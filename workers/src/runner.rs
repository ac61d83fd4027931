//! The long-running worker process: apalis workers consuming the transcode
//! queue, a scheduler that re-queues jobs whose retry time has come, and
//! graceful shutdown (stop fetching on SIGTERM, let the current job finish
//! within a grace period, otherwise hand it back).

use std::sync::Arc;
use std::time::Duration;

use apalis::prelude::{BoxDynError, Data, WorkerBuilder};
use clap::Args;
use tokio::sync::watch;
use vod_core::jobs::{JobQueue, JobRecord, QueueSettings, TranscodeTask};
use vod_core::{PlaybackConfig, Services};

use crate::job::{JobRunner, JobSettings};

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
    /// Attempts after transient failures (storage, network) before a job fails.
    #[arg(long, env = "VOD_JOB_MAX_ATTEMPTS", default_value_t = 5)]
    pub max_attempts: i32,
    /// Worker deaths while holding a job before the job goes to `dead`.
    #[arg(long, env = "VOD_JOB_MAX_WORKER_LOSSES", default_value_t = 3)]
    pub max_worker_losses: i32,
    #[arg(long, env = "VOD_JOB_RETRY_BASE_SECS", default_value_t = 2)]
    pub retry_base_secs: u64,
    #[arg(long, env = "VOD_JOB_RETRY_MAX_SECS", default_value_t = 300)]
    pub retry_max_secs: u64,
    /// Scratch space for sources and outputs (one folder per job, removed after).
    #[arg(long, env = "VOD_WORK_DIR")]
    pub work_dir: Option<std::path::PathBuf>,
    /// Stall timeout of the media pipeline, seconds without progress.
    #[arg(long, env = "VOD_PIPELINE_STALL_TIMEOUT_SECS", default_value_t = 60)]
    pub stall_timeout_secs: u64,
    /// Address of the Prometheus `/metrics` endpoint (stage durations, job
    /// outcomes); none when unset, since several workers may share a host.
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

async fn handle(task: TranscodeTask, runner: Data<Arc<JobRunner>>) -> Result<(), BoxDynError> {
    // Every outcome is recorded in Postgres; apalis only needs to know we are done.
    runner.process(task).await;
    Ok(())
}

pub async fn run(
    services: Services,
    playback: PlaybackConfig,
    cfg: WorkerConfig,
    mut shutdown: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let name = worker_name();
    // Without an address nothing is installed: the metrics macros are then
    // no-ops, and an API in the same process (tests) keeps its own recorder.
    if let Some(addr) = cfg.metrics_listen {
        crate::metrics::serve(addr).await?;
    }
    let services = Arc::new(services);
    let queue = JobQueue::new(
        services.cache.connection(),
        QueueSettings {
            prefix: services.cache.key(""),
            heartbeat: Duration::from_secs(cfg.heartbeat_secs.max(1)),
            missed_heartbeats: cfg.missed_heartbeats.max(1),
            max_attempts: cfg.max_attempts,
        },
    );
    let liveness =
        Duration::from_secs(cfg.heartbeat_secs.max(1) * (cfg.missed_heartbeats.max(1) as u64 + 1));
    let mut pipeline = vod_pipeline::Settings::default();
    pipeline.run.stall_timeout = Duration::from_secs(cfg.stall_timeout_secs.max(1));
    let backend = crate::backend::build(&cfg.backend, &services).await?;
    let queue_metric = crate::queue_metric::spawn(
        &cfg.queue_metric,
        &crate::backend::s3_region(&services),
        queue.clone(),
        shutdown.clone(),
    )
    .await?;
    let runner = Arc::new(JobRunner {
        backend,
        services: services.clone(),
        playback,
        worker_name: name.clone(),
        settings: JobSettings {
            pipeline,
            work_root: cfg
                .work_dir
                .clone()
                .unwrap_or_else(std::env::temp_dir)
                .join("vod-worker"),
            progress_every: Duration::from_secs(2),
            liveness,
            max_worker_losses: cfg.max_worker_losses,
            retry_base: Duration::from_secs(cfg.retry_base_secs),
            retry_max: Duration::from_secs(cfg.retry_max_secs),
        },
        hand_back: Arc::new(std::sync::atomic::AtomicBool::new(false)),
    });
    tracing::info!(worker = %name, concurrency = cfg.concurrency(), backend = runner.backend.name(), "worker started");

    let scheduler = tokio::spawn(requeue_due_retries(
        services.clone(),
        queue.clone(),
        shutdown.clone(),
    ));
    let webhooks = tokio::spawn(crate::webhooks::dispatch_loop(
        services.db.clone(),
        shutdown.clone(),
    ));
    let mut workers = tokio::task::JoinSet::new();
    for i in 0..cfg.concurrency() {
        let worker = WorkerBuilder::new(format!("{name}-{i}"))
            .backend(queue.storage())
            .data(runner.clone())
            .build(handle);
        let mut stop = shutdown.clone();
        workers.spawn(async move {
            worker
                .run_until(async move {
                    let _ = stop.wait_for(|s| *s).await;
                    Ok::<(), std::io::Error>(())
                })
                .await
        });
    }

    let _ = shutdown.wait_for(|s| *s).await;
    tracing::info!(
        grace_s = cfg.shutdown_grace_secs,
        "shutting down: no new jobs, waiting for the current ones"
    );
    let drained = tokio::time::timeout(
        Duration::from_secs(cfg.shutdown_grace_secs),
        drain(&mut workers),
    )
    .await;
    scheduler.abort();
    webhooks.abort();
    if let Some(task) = queue_metric {
        task.abort();
    }
    if drained.is_err() {
        // Re-queue first, then stop the pipelines: the job is never unowned.
        hand_back(&services, &queue, &name).await;
        runner
            .hand_back
            .store(true, std::sync::atomic::Ordering::SeqCst);
        let stopped = tokio::time::timeout(Duration::from_secs(10), drain(&mut workers)).await;
        if stopped.is_err() {
            tracing::warn!("jobs did not stop within 10 s of being handed back");
        }
    }
    tracing::info!("worker stopped");
    Ok(())
}

async fn drain<E: std::fmt::Display + 'static>(workers: &mut tokio::task::JoinSet<Result<(), E>>) {
    while let Some(res) = workers.join_next().await {
        if let Ok(Err(e)) = res {
            tracing::warn!(error = %e, "apalis worker ended with an error");
        }
    }
}

/// Jobs still running under this process go back to the queue without
/// counting as a lost worker: this was an orderly stop.
async fn hand_back(services: &Services, queue: &JobQueue, name: &str) {
    let jobs: Result<Vec<JobRecord>, _> = sqlx::query_as(
        "UPDATE jobs SET state = 'queued', worker = NULL, stage = NULL, percent = NULL, heartbeat_at = NULL,
             updated_at = now()
         WHERE state = 'running' AND worker = $1 RETURNING *",
    )
    .bind(name)
    .fetch_all(&services.db)
    .await;
    match jobs {
        Ok(jobs) => {
            for job in jobs {
                tracing::warn!(job_id = %job.id, "grace period over: handing the job back");
                if let Err(e) = queue.push(&job).await {
                    tracing::error!(job_id = %job.id, error = %e, "handing back failed; the scheduler will not see it");
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "handing back jobs failed"),
    }
}

/// Jobs in `retrying` whose time has come are flipped to `queued` and pushed
/// by exactly one worker (row locks with SKIP LOCKED).
async fn requeue_due_retries(
    services: Arc<Services>,
    queue: JobQueue,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let due: Result<Vec<JobRecord>, _> = sqlx::query_as(
            "UPDATE jobs SET state = 'queued', updated_at = now()
             WHERE id IN (SELECT id FROM jobs WHERE state = 'retrying' AND next_attempt_at <= now()
                          ORDER BY next_attempt_at LIMIT 20 FOR UPDATE SKIP LOCKED)
             RETURNING *",
        )
        .fetch_all(&services.db)
        .await;
        match due {
            Ok(jobs) => {
                for job in jobs {
                    if let Err(e) = queue.push(&job).await {
                        tracing::error!(job_id = %job.id, error = %e, "re-queueing a retry failed");
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "scanning for due retries failed"),
        }
    }
}
