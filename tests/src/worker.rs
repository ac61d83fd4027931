//! Workers for tests: in-process (fast, for most tests) or as a real
//! `vod-worker run` process (for the tests that kill one).

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use uuid::Uuid;
use vod_core::store::JobRecord;
use vod_core::store::jobs::get_job;

use crate::TestEnv;

/// Fast failure detection for tests: a silent worker is dead after ~3 s.
pub fn test_worker_config() -> vod_workers::runner::WorkerConfig {
    vod_workers::runner::WorkerConfig {
        concurrency: Some(1),
        heartbeat_secs: 1,
        missed_heartbeats: 2,
        shutdown_grace_secs: 10,
        queue_outage_exit_secs: vod_workers::runner::DEFAULT_QUEUE_OUTAGE_EXIT_SECS,
        max_attempts: 3,
        max_worker_losses: 3,
        retry_base_secs: 1,
        retry_max_secs: 4,
        work_dir: None,
        stall_timeout_secs: 30,
        chunk_seconds: vod_plan::chunks::DEFAULT_CHUNK_S,
        metrics_listen: None,
        backend: vod_workers::backend::BackendConfig::default(),
        queue_metric: vod_workers::queue_metric::QueueMetricConfig::default(),
    }
}

pub struct InProcessWorker {
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl InProcessWorker {
    pub async fn start(env: &TestEnv) -> Self {
        Self::start_with(env, test_worker_config()).await
    }

    pub async fn start_with(env: &TestEnv, cfg: vod_workers::runner::WorkerConfig) -> Self {
        let services = vod_core::Services::connect(&env.config).await.unwrap();
        let (stop, rx) = watch::channel(false);
        let playback = env.playback();
        let task = tokio::spawn(vod_workers::runner::run(services, playback, cfg, rx));
        Self { stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        self.task.await.unwrap().unwrap();
    }
}

/// The `vod-worker` binary next to this test binary (`cargo build --bins` puts it there).
pub fn worker_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap();
    let bin = dir.join("vod-worker");
    assert!(
        bin.exists(),
        "{} is missing: build it first (`cargo build --bins`; infra/test.sh does)",
        bin.display()
    );
    bin
}

/// A worker process that is killed when dropped, so a failing test leaves
/// no worker behind polling its (dropped) namespace.
pub struct WorkerProcess(Child);

impl std::ops::Deref for WorkerProcess {
    type Target = Child;
    fn deref(&self) -> &Child {
        &self.0
    }
}

impl std::ops::DerefMut for WorkerProcess {
    fn deref_mut(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for WorkerProcess {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// A real worker process with this test's namespace, logging to a file.
pub fn spawn_worker_process(env: &TestEnv, label: &str) -> WorkerProcess {
    spawn_worker_process_with(env, label, &[])
}

/// Like [`spawn_worker_process`], with extra `VOD_*` settings.
pub fn spawn_worker_process_with(
    env: &TestEnv,
    label: &str,
    extra: &[(&str, &str)],
) -> WorkerProcess {
    let c = &env.config;
    let log = std::env::temp_dir().join(format!("{}-{label}.log", env.id));
    let log = std::fs::File::create(&log).unwrap();
    let mut cmd = Command::new(worker_binary());
    for (key, _) in std::env::vars() {
        if key.starts_with("VOD_") {
            cmd.env_remove(key);
        }
    }
    cmd.arg("run")
        .env("VOD_DATABASE_URL", c.database_url.expose())
        .env(
            "VOD_DATABASE_SCHEMA",
            c.database_schema.clone().unwrap_or_default(),
        )
        .env("VOD_REDIS_URL", c.redis_url.expose())
        .env("VOD_REDIS_PREFIX", &c.redis_prefix)
        .envs(c.redis_ca_file.iter().map(|p| ("VOD_REDIS_CA_FILE", p)))
        .env("VOD_MONGODB_URL", c.mongodb_url.expose())
        .env("VOD_MONGODB_DATABASE", &c.mongodb_database)
        .env("VOD_S3_ENDPOINT", c.s3.endpoint.clone().unwrap_or_default())
        .env("VOD_S3_REGION", &c.s3.region)
        .env("VOD_S3_ACCESS_KEY_ID", &c.s3.access_key_id)
        .env("VOD_S3_SECRET_ACCESS_KEY", c.s3.secret_access_key.expose())
        .env("VOD_S3_SOURCES_BUCKET", &c.s3.sources_bucket)
        .env("VOD_S3_OUTPUTS_BUCKET", &c.s3.outputs_bucket)
        .env("VOD_WORKER_CONCURRENCY", "1")
        .env("VOD_WORKER_HEARTBEAT_SECS", "1")
        .env("VOD_WORKER_MISSED_HEARTBEATS", "2")
        .env("VOD_LOG", "info")
        .envs(extra.iter().copied())
        .stdout(Stdio::null())
        .stderr(log);
    WorkerProcess(cmd.spawn().unwrap())
}

/// Polls the job record until `done` says so, or panics after `timeout`.
pub async fn wait_for_job(
    env: &TestEnv,
    job_id: Uuid,
    timeout: Duration,
    done: impl Fn(&JobRecord) -> bool,
) -> JobRecord {
    let started = Instant::now();
    loop {
        let job = get_job(&env.services.db, job_id).await.unwrap().unwrap();
        if done(&job) {
            return job;
        }
        assert!(
            started.elapsed() < timeout,
            "job {job_id} did not reach the expected state within {timeout:?}; last: {job:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

pub fn is_terminal(job: &JobRecord) -> bool {
    job.state.is_final()
}

/// A task runner of this test's own, to run chosen tasks by hand (the same
/// code a worker process runs for each delivered task).
pub async fn task_runner(
    env: &TestEnv,
    cfg: &vod_workers::runner::WorkerConfig,
) -> vod_workers::task::TaskRunner {
    let services = vod_core::Services::connect(&env.config).await.unwrap();
    let backend = vod_workers::backend::build(&cfg.backend, &services)
        .await
        .unwrap();
    vod_workers::task::TaskRunner {
        backend,
        services: std::sync::Arc::new(services),
        playback: env.playback(),
        worker_name: vod_workers::runner::worker_name(),
        settings: cfg.job_settings(),
        hand_back: std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
        health: std::sync::Arc::new(vod_workers::health::Health::new("test", None)),
    }
}

/// The job with its tasks.
pub async fn job_with_tasks(env: &TestEnv, job_id: Uuid) -> JobRecord {
    let job = get_job(&env.services.db, job_id).await.unwrap().unwrap();
    vod_core::store::jobs::with_tasks(&env.services.db, job)
        .await
        .unwrap()
}
