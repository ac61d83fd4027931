//! The transcode job: claim → download → transcode → publish → register →
//! finish. Every outcome is written to the `jobs` row; nothing is left to
//! apalis' in-memory retry. Running a job twice leaves one result: a job
//! that already finished is skipped, outputs overwrite the same keys and
//! registration replaces rows and the catalog entry.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;
use vod_core::db::Video;
use vod_core::jobs::{JobRecord, TranscodeTask};
use vod_core::storage::ObjectStore;
use vod_core::{PlaybackConfig, Services};

use crate::backend::{BackendJob, TranscodeBackend};
use crate::progress::Reporter;
use crate::register::register;

mod finish;

/// What a job run ended with, for logs and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed { code: String },
    Retrying { after: Duration },
    Cancelled,
    Dead,
    Skipped(&'static str),
}

#[derive(Debug)]
struct Failure {
    code: String,
    message: String,
    /// Retrying may help (network, storage, a crashed dependency).
    transient: bool,
}

impl From<crate::backend::BackendError> for Failure {
    fn from(e: crate::backend::BackendError) -> Self {
        Self {
            code: e.code,
            message: e.message,
            transient: e.transient,
        }
    }
}

impl Failure {
    fn transient(code: &str, err: impl std::fmt::Display) -> Self {
        Self {
            code: code.to_owned(),
            message: err.to_string(),
            transient: true,
        }
    }
}

#[derive(Debug, Clone)]
pub struct JobSettings {
    pub pipeline: vod_pipeline::Settings,
    pub work_root: PathBuf,
    pub progress_every: Duration,
    /// A running job whose heartbeat is older than this lost its worker.
    pub liveness: Duration,
    /// Worker deaths while holding a job before it is declared dead.
    pub max_worker_losses: i32,
    pub retry_base: Duration,
    pub retry_max: Duration,
}

pub struct JobRunner {
    pub services: Arc<Services>,
    pub playback: PlaybackConfig,
    pub worker_name: String,
    pub settings: JobSettings,
    /// Produces the outputs (GStreamer here, or MediaConvert).
    pub backend: Arc<dyn TranscodeBackend>,
    /// Set when the grace period of a shutdown ran out: running jobs stop
    /// and are left to the runner, which has already re-queued them.
    pub hand_back: Arc<std::sync::atomic::AtomicBool>,
    /// The jobs this process runs and its queue connection, for `/healthz`.
    pub health: Arc<crate::health::Health>,
}

/// Keeps a job in the health report for as long as this process runs it.
struct Held<'a> {
    health: &'a crate::health::Health,
    job_id: Uuid,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.health.job_ended(self.job_id);
    }
}

enum Claim {
    Run(Box<(JobRecord, Video)>),
    Skip(&'static str),
    Dead(Box<JobRecord>),
    /// Another worker's heartbeat is still fresh: it may be alive, or may
    /// have died a moment ago (apalis re-delivers orphans quickly).
    HeldElsewhere,
}

/// Exponential backoff: base × 2^(attempt-1), capped.
pub fn backoff(attempt: i32, base: Duration, max: Duration) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(0);
    base.saturating_mul(2u32.saturating_pow(exp)).min(max)
}

impl JobRunner {
    pub async fn process(&self, task: TranscodeTask) -> Outcome {
        let span = tracing::info_span!("job", job_id = %task.job_id, video_id = %task.video_id, worker = %self.worker_name);
        let _guard = span.enter();
        drop(_guard);
        let started = std::time::Instant::now();
        let outcome = tracing::Instrument::instrument(self.process_inner(task), span.clone()).await;
        crate::metrics::job_finished(&outcome, started.elapsed());
        span.in_scope(|| tracing::info!(?outcome, "job finished"));
        outcome
    }

    async fn process_inner(&self, task: TranscodeTask) -> Outcome {
        let db = &self.services.db;
        // Wait out the holder's liveness window before deciding it is gone:
        // a live holder keeps its heartbeat fresh, a dead one lets it expire.
        let deadline = std::time::Instant::now() + self.settings.liveness * 3;
        let claim = loop {
            match self.claim(task.job_id).await {
                Ok(Claim::HeldElsewhere) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Ok(c) => break c,
                Err(e) => {
                    // Could not even read the record: let another delivery try later.
                    tracing::error!(error = %e, "claiming job failed");
                    return Outcome::Skipped("claim failed");
                }
            }
        };
        let (job, video) = match claim {
            Claim::HeldElsewhere => return Outcome::Skipped("held by a live worker"),
            Claim::Skip(why) => return Outcome::Skipped(why),
            Claim::Dead(job) => {
                let msg = format!(
                    "the job stopped its worker {} times; it will not be retried automatically",
                    job.worker_losses
                );
                self.finish_failed(&job, "dead", "job.worker_lost", &msg)
                    .await;
                return Outcome::Dead;
            }
            Claim::Run(claimed) => *claimed,
        };
        self.health.job_started(job.id, video.id);
        let _held = Held {
            health: &self.health,
            job_id: job.id,
        };
        tracing::info!(attempt = job.attempts, "job started");
        self.invalidate(video.id).await;
        let reporter = Reporter::start(
            db.clone(),
            self.services.cache.clone(),
            &self.worker_name,
            job.id,
            video.id,
            self.settings.progress_every,
            self.hand_back.clone(),
        );
        let workdir = self.settings.work_root.join(format!("job-{}", job.id));
        let result = self.execute(&job, &video, &reporter, &workdir).await;
        let _ = tokio::fs::remove_dir_all(&workdir).await;
        if self.hand_back.load(std::sync::atomic::Ordering::SeqCst) {
            return Outcome::Skipped("handed back at shutdown");
        }
        if reporter.is_cancelled() {
            drop(reporter);
            // Stopped because the row left us: cancelled by a user, or taken
            // over by another worker after this one went silent.
            let now = vod_core::jobs::get_job(db, job.id).await.ok().flatten();
            if now.is_some_and(|j| j.state != "cancelled") {
                tracing::warn!("another worker took the job over; leaving it to that worker");
                return Outcome::Skipped("taken over by another worker");
            }
            self.finish_cancelled(&job).await;
            return Outcome::Cancelled;
        }
        if result.is_ok() {
            reporter.finish();
        }
        drop(reporter);
        match result {
            Ok(()) => {
                self.finish_succeeded(&job).await;
                Outcome::Succeeded
            }
            Err(f) if f.transient && job.attempts < job.max_attempts => {
                let after = backoff(
                    job.attempts,
                    self.settings.retry_base,
                    self.settings.retry_max,
                );
                self.schedule_retry(&job, &f, after).await;
                Outcome::Retrying { after }
            }
            Err(f) => {
                let message = if f.transient {
                    format!("gave up after {} attempts: {}", job.attempts, f.message)
                } else {
                    f.message.clone()
                };
                self.finish_failed(&job, "failed", &f.code, &message).await;
                Outcome::Failed { code: f.code }
            }
        }
    }

    async fn claim(&self, job_id: Uuid) -> Result<Claim, sqlx::Error> {
        let mut tx = self.services.db.begin().await?;
        let job: Option<JobRecord> = sqlx::query_as("SELECT * FROM jobs WHERE id = $1 FOR UPDATE")
            .bind(job_id)
            .fetch_optional(&mut *tx)
            .await?;
        let Some(mut job) = job else {
            return Ok(Claim::Skip("unknown job"));
        };
        // A second delivery of a job this process runs (a consumer that lost
        // Redis left its delivery behind, and apalis re-queued it).
        if self.health.holds(job_id) {
            return Ok(Claim::Skip("already running in this worker"));
        }
        match job.state.as_str() {
            "succeeded" | "failed" | "cancelled" | "dead" => {
                return Ok(Claim::Skip("already finished"));
            }
            "running" => {
                let fresh: bool = sqlx::query_scalar(
                    "SELECT coalesce(heartbeat_at > now() - make_interval(secs => $2), false) FROM jobs WHERE id = $1",
                )
                .bind(job_id)
                .bind(self.settings.liveness.as_secs_f64())
                .fetch_one(&mut *tx)
                .await?;
                // A fresh heartbeat means a live holder, this process included:
                // the same job delivered twice (a retry re-queued while its
                // first delivery was still in the queue) must not run twice.
                if fresh {
                    return Ok(Claim::HeldElsewhere);
                }
                // Its worker died mid-run (apalis re-delivered an orphaned task).
                job.worker_losses += 1;
                tracing::warn!(losses = job.worker_losses, previous = ?job.worker, "job lost its worker");
                if job.worker_losses >= self.settings.max_worker_losses {
                    sqlx::query("UPDATE jobs SET worker_losses = $2 WHERE id = $1")
                        .bind(job_id)
                        .bind(job.worker_losses)
                        .execute(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    return Ok(Claim::Dead(Box::new(job)));
                }
            }
            _ => {}
        }
        let job: JobRecord = sqlx::query_as(
            "UPDATE jobs SET state = 'running', attempts = attempts + 1, worker_losses = $2, worker = $3,
                 started_at = now(), heartbeat_at = now(), finished_at = NULL, next_attempt_at = NULL,
                 stage = 'downloading', percent = 0, eta_seconds = NULL, error_code = NULL,
                 error_message = NULL, updated_at = now()
             WHERE id = $1 RETURNING *",
        )
        .bind(job_id)
        .bind(job.worker_losses)
        .bind(&self.worker_name)
        .fetch_one(&mut *tx)
        .await?;
        let video: Option<Video> = sqlx::query_as(
            "UPDATE videos SET status = 'processing', updated_at = now() WHERE id = $1 RETURNING *",
        )
        .bind(job.video_id)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(video) = video else {
            return Ok(Claim::Skip("video deleted"));
        };
        tx.commit().await?;
        Ok(Claim::Run(Box::new((job, video))))
    }

    async fn execute(
        &self,
        job: &JobRecord,
        video: &Video,
        reporter: &Reporter,
        workdir: &std::path::Path,
    ) -> Result<(), Failure> {
        let s = &self.services;
        let source_key = video.source_key.clone().ok_or_else(|| Failure {
            code: "job.no_source".to_owned(),
            message: "the video has no stored source file".to_owned(),
            transient: false,
        })?;
        // A retried job starts from a clean directory.
        let _ = tokio::fs::remove_dir_all(workdir).await;
        tokio::fs::create_dir_all(workdir)
            .await
            .map_err(|e| Failure::transient("job.workdir", e))?;
        let input = workdir.join("source");
        reporter.set("downloading", 0.0);
        s.sources
            .get_to_file(&source_key, &input)
            .await
            .map_err(|e| Failure {
                transient: e.is_transient(),
                code: e.code().to_owned(),
                message: e.to_string(),
            })?;

        let prefix = crate::output_prefix(video.id);
        let backend_job = BackendJob {
            services: s,
            job,
            video_id: video.id,
            source_key: &source_key,
            input: &input,
            workdir,
            output_prefix: &prefix,
            pipeline: &self.settings.pipeline,
        };
        let Some(produced) = self.backend.produce(&backend_job, reporter).await? else {
            // Cancelled meanwhile: the reporter's flag tells the caller.
            return Ok(());
        };
        reporter.set("registering", 100.0);
        register(
            &s.db,
            &s.catalog,
            &self.playback,
            video.id,
            &prefix,
            &produced.manifest,
            &produced.assets,
        )
        .await
        .map_err(|e| Failure::transient(e.code(), e))?;
        tracing::info!(job_id = %job.id, backend = self.backend.name(), objects = produced.assets.len(), "outputs published and registered");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let (b, m) = (Duration::from_secs(2), Duration::from_secs(60));
        let got: Vec<u64> = (1..=7).map(|a| backoff(a, b, m).as_secs()).collect();
        assert_eq!(got, [2, 4, 8, 16, 32, 60, 60]);
        assert_eq!(backoff(0, b, m), b);
        assert_eq!(backoff(i32::MAX, b, m), m);
    }
}
