//! One-shot ingest of a local file through the real services, on the same
//! path as an upload: the source goes to S3, a job is recorded with its
//! prepare task (and pushed, so a running `vod-worker run` may help), and
//! this process runs the job's tasks itself, claiming them in the store
//! like any worker, until the job ends. Nothing here is its own
//! orchestration: the steps are [`crate::task`]'s.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use serde::Serialize;
use tracing::Instrument;
use uuid::Uuid;
use vod_core::catalog::CatalogEntry;
use vod_core::db::{self, NewVideo, Video};
use vod_core::storage::{ObjectStore, content_type_for};
use vod_core::store::{JobRecord, JobState, TaskState};
use vod_core::{PlaybackConfig, Services};

use crate::runner::WorkerConfig;
use crate::task::TaskRunner;

#[derive(Debug, Clone)]
pub struct IngestRequest {
    pub file: PathBuf,
    pub title: String,
    pub description: String,
    pub tags: Vec<String>,
    /// Tasks this process runs at once (chunks of a long source in parallel).
    pub jobs: usize,
}

/// An object of the video, as registered.
#[derive(Debug, Clone, Serialize, sqlx::FromRow)]
pub struct Asset {
    pub key: String,
    pub kind: String,
    pub bytes: i64,
}

#[derive(Debug, Serialize)]
pub struct IngestOutcome {
    pub video: Video,
    /// The job with its plan and tasks.
    pub job: JobRecord,
    pub source_key: String,
    pub assets: Vec<Asset>,
    pub catalog: Option<CatalogEntry>,
    pub manifest: vod_plan::Manifest,
}

/// The job ended without a ready video; the message is the job's reason.
#[derive(Debug, thiserror::Error)]
#[error("the job ended {state}: {code}: {message}")]
pub struct Rejected {
    pub state: JobState,
    pub code: String,
    pub message: String,
}

pub async fn ingest(
    services: Services,
    playback: &PlaybackConfig,
    cfg: &WorkerConfig,
    req: IngestRequest,
) -> anyhow::Result<IngestOutcome> {
    let video_id = Uuid::now_v7();
    let span = tracing::info_span!("ingest", %video_id);
    async move {
        let file_name = req.file.file_name().and_then(|n| n.to_str()).unwrap_or("source");
        db::insert_video(
            &services.db,
            &NewVideo { id: video_id, title: &req.title, description: &req.description, tags: &req.tags },
        )
        .await?;
        let source_key = crate::source_key(video_id, file_name);
        let bytes = services
            .sources
            .put_file(&source_key, &req.file, Some(content_type_for(file_name)))
            .await
            .context("uploading the source")?;
        sqlx::query("UPDATE videos SET source_key = $2, source_bytes = $3, updated_at = now() WHERE id = $1")
            .bind(video_id)
            .bind(&source_key)
            .bind(i64::try_from(bytes).unwrap_or(i64::MAX))
            .execute(&services.db)
            .await?;
        tracing::info!(%source_key, bytes, "source stored");
        let job = services
            .jobs
            .enqueue_transcode(&services.db, video_id, &format!("ingest:{video_id}"))
            .await?;
        tracing::info!(job_id = %job.id, "job recorded");

        let services = Arc::new(services);
        let runner = Arc::new(TaskRunner {
            backend: crate::backend::build(&cfg.backend, &services).await?,
            services: services.clone(),
            playback: playback.clone(),
            worker_name: crate::runner::worker_name(),
            settings: cfg.job_settings(),
            hand_back: Arc::new(std::sync::atomic::AtomicBool::new(false)),
            health: Arc::new(crate::health::Health::new("ingest", None)),
        });
        let job = run_to_end(&runner, job.id, req.jobs.max(1)).await?;
        if job.state != JobState::Succeeded {
            return Err(Rejected {
                state: job.state,
                code: job.error_code.clone().unwrap_or_default(),
                message: job.error_message.clone().unwrap_or_default(),
            }
            .into());
        }
        let video = db::get_video(&services.db, video_id).await?.context("video row vanished")?;
        let assets: Vec<Asset> = sqlx::query_as(
            "SELECT key, kind, bytes FROM assets WHERE video_id = $1 ORDER BY key",
        )
        .bind(video_id)
        .fetch_all(&services.db)
        .await?;
        let prefix = crate::output_prefix(video_id);
        let manifest: vod_plan::Manifest = serde_json::from_slice(
            &services.outputs.get_bytes(&format!("{prefix}manifest.json")).await?,
        )
        .context("reading manifest.json back")?;
        let catalog = services.catalog.get(&video_id.to_string()).await?;
        Ok(IngestOutcome { video, job, source_key, assets, catalog, manifest })
    }
    .instrument(span)
    .await
}

/// Runs the job's runnable tasks here, `jobs` at a time, until the job
/// ends. Tasks another worker claims first are simply skipped by the claim.
async fn run_to_end(
    runner: &Arc<TaskRunner>,
    job_id: Uuid,
    jobs: usize,
) -> anyhow::Result<JobRecord> {
    let db = &runner.services.db;
    let mut running = tokio::task::JoinSet::new();
    let mut started: std::collections::HashSet<(Uuid, i32)> = Default::default();
    loop {
        let job = vod_core::store::jobs::get_job(db, job_id)
            .await?
            .context("job vanished")?;
        if job.state.is_final() && running.is_empty() {
            return Ok(vod_core::store::jobs::with_tasks(db, job).await?);
        }
        let tasks = vod_core::store::jobs::tasks_of(db, job_id).await?;
        let due = |t: &&vod_core::store::TaskRecord| {
            t.state == TaskState::Queued
                || (t.state == TaskState::Retrying
                    && t.next_attempt_at.is_some_and(|at| at <= chrono::Utc::now()))
        };
        for task in tasks.iter().filter(due) {
            if running.len() >= jobs {
                break;
            }
            // One run per attempt: a retried task comes back with more attempts.
            if !started.insert((task.id, task.attempts)) {
                continue;
            }
            let (runner, message) = (runner.clone(), task.message());
            running.spawn(async move { runner.process(message).await });
        }
        tokio::select! {
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = tokio::time::sleep(Duration::from_millis(200)) => {}
        }
    }
}
