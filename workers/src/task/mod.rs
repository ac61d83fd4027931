//! Runs one delivered task: claim it in the store → run its kind's step →
//! record the outcome in the store (which fans out, fans in and ends the
//! job) → push what became queued. Every outcome is written to PostgreSQL;
//! nothing is left to apalis' in-memory retry. A task delivered twice runs
//! once: the claim skips a finished or live-held task, and every step
//! overwrites the same keys.
//!
//! The steps: [`prepare`] (probe → plan → tasks, or the whole single-pass
//! encode), [`chunk`] (every rung of one time range), [`audio`] (the whole
//! audio track), [`assemble`] (playlists, sprites, manifest, registration).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use uuid::Uuid;
use vod_core::store::tasks::{self, Claim, ClaimRules, Failed, Failure, Success};
use vod_core::store::{JobRecord, TaskKind, TaskMessage, TaskRecord};
use vod_core::{PlaybackConfig, Services};

use crate::backend::TranscodeBackend;
use crate::progress::Reporter;

mod assemble;
mod audio;
mod chunk;
mod events;
mod prepare;
mod source;

/// What a task run ended with, for logs, metrics and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed { code: String },
    Retrying { after: Duration },
    Cancelled,
    Dead,
    Skipped(&'static str),
}

#[derive(Debug, Clone)]
pub struct JobSettings {
    pub pipeline: vod_pipeline::Settings,
    pub work_root: PathBuf,
    pub progress_every: Duration,
    /// A running task whose heartbeat is older than this lost its worker.
    pub liveness: Duration,
    /// Worker deaths while holding a task before it is declared dead.
    pub max_worker_losses: i32,
    pub retry_base: Duration,
    pub retry_max: Duration,
    /// Chunk length for chunked encoding, seconds; 0 keeps every video single-pass.
    pub chunk_seconds: f64,
}

pub struct TaskRunner {
    pub services: Arc<Services>,
    pub playback: PlaybackConfig,
    pub worker_name: String,
    pub settings: JobSettings,
    /// Produces a whole package in one go (GStreamer here, or MediaConvert).
    pub backend: Arc<dyn TranscodeBackend>,
    /// Set when the grace period of a shutdown ran out: running tasks stop
    /// and are left to the runner, which has already re-queued them.
    pub hand_back: Arc<std::sync::atomic::AtomicBool>,
    /// The tasks this process runs and its queue connection, for `/healthz`.
    pub health: Arc<crate::health::Health>,
}

/// Keeps a task in the health report for as long as this process runs it.
struct Held<'a> {
    health: &'a crate::health::Health,
    task_id: Uuid,
}

impl Drop for Held<'_> {
    fn drop(&mut self) {
        self.health.task_ended(self.task_id);
    }
}

/// What a step hands back when it did its work.
pub(crate) struct Done {
    pub result: serde_json::Value,
    pub spawn: Vec<vod_core::store::NewTask>,
    pub plan: Option<vod_plan::Plan>,
}

/// The context a step runs in.
pub(crate) struct Step<'a> {
    pub runner: &'a TaskRunner,
    pub task: &'a TaskRecord,
    pub job: &'a JobRecord,
    pub video: &'a vod_core::db::Video,
    pub reporter: &'a Reporter,
    /// This attempt's scratch directory (removed after the task).
    pub workdir: PathBuf,
}

pub(crate) fn transient(code: &str, err: impl std::fmt::Display) -> Failure {
    Failure {
        code: code.to_owned(),
        message: err.to_string(),
        transient: true,
    }
}

/// A step that stopped because its task is no longer this worker's to run
/// (the runner sees the reporter's flag and records nothing).
pub(crate) fn cancelled() -> Failure {
    Failure {
        code: "pipeline.cancelled".to_owned(),
        message: "the task stopped: its job was cancelled or it was taken over".to_owned(),
        transient: false,
    }
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

/// Exponential backoff: base × 2^(attempt-1), capped.
pub fn backoff(attempt: i32, base: Duration, max: Duration) -> Duration {
    let exp = u32::try_from(attempt.saturating_sub(1).clamp(0, 20)).unwrap_or(0);
    base.saturating_mul(2u32.saturating_pow(exp)).min(max)
}

impl TaskRunner {
    pub async fn process(&self, msg: TaskMessage) -> Outcome {
        let span = tracing::info_span!("task", task_id = %msg.task_id, job_id = %msg.job_id, kind = %msg.kind, worker = %self.worker_name);
        let started = std::time::Instant::now();
        let outcome = tracing::Instrument::instrument(self.process_inner(&msg), span.clone()).await;
        crate::metrics::task_finished(msg.kind, &outcome, started.elapsed());
        span.in_scope(|| tracing::info!(?outcome, "task finished"));
        outcome
    }

    fn rules(&self) -> ClaimRules {
        ClaimRules {
            liveness: self.settings.liveness,
            max_worker_losses: self.settings.max_worker_losses,
        }
    }

    async fn process_inner(&self, msg: &TaskMessage) -> Outcome {
        let db = &self.services.db;
        // A second delivery of a task this process runs (a consumer that
        // lost Redis left its delivery behind, and apalis re-queued it).
        if self.health.holds(msg.task_id) {
            return Outcome::Skipped("already running in this worker");
        }
        // Wait out the holder's liveness window before deciding it is gone:
        // a live holder keeps its heartbeat fresh, a dead one lets it expire.
        let deadline = std::time::Instant::now() + self.settings.liveness * 3;
        let claim = loop {
            match tasks::claim(db, msg.task_id, &self.worker_name, self.rules()).await {
                Ok(Claim::HeldElsewhere) if std::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Ok(c) => break c,
                Err(e) => {
                    // Could not even read the record: let another delivery try later.
                    tracing::error!(code = e.code(), error = %e, "claiming task failed");
                    return Outcome::Skipped("claim failed");
                }
            }
        };
        let (task, job) = match claim {
            Claim::HeldElsewhere => return Outcome::Skipped("held by a live worker"),
            Claim::Skip(why) => return Outcome::Skipped(why),
            Claim::Dead(job) => {
                self.job_ended(&job).await;
                return Outcome::Dead;
            }
            Claim::Run(claimed) => *claimed,
        };
        self.health.task_started(task.id, job.id, job.video_id);
        let _held = Held {
            health: &self.health,
            task_id: task.id,
        };
        tracing::info!(attempt = task.attempts, "task started");
        self.invalidate(job.video_id).await;
        self.publish_job(&job).await;
        let reporter = Reporter::start(
            self.services.clone(),
            &self.worker_name,
            task.id,
            self.settings.progress_every,
            self.hand_back.clone(),
        );
        let workdir = self.settings.work_root.join(format!("task-{}", task.id));
        let result = self.run_step(&task, &job, &reporter, &workdir).await;
        let _ = tokio::fs::remove_dir_all(&workdir).await;
        if self.hand_back.load(std::sync::atomic::Ordering::SeqCst) {
            return Outcome::Skipped("handed back at shutdown");
        }
        if reporter.is_cancelled() {
            drop(reporter);
            // The row left us: its job was cancelled or failed elsewhere, or
            // another worker took the task over after this one went silent.
            return Outcome::Cancelled;
        }
        if result.is_ok() {
            reporter.finish();
        }
        drop(reporter);
        match result {
            Ok(done) => self.succeeded(&task, &job, done).await,
            Err(failure) => self.failed(&task, failure).await,
        }
    }

    async fn run_step(
        &self,
        task: &TaskRecord,
        job: &JobRecord,
        reporter: &Reporter,
        workdir: &std::path::Path,
    ) -> Result<Done, Failure> {
        let video = vod_core::db::get_video(&self.services.db, job.video_id)
            .await
            .map_err(|e| transient(e.code(), e))?
            .ok_or_else(|| Failure {
                code: "job.video_deleted".to_owned(),
                message: "the video was deleted".to_owned(),
                transient: false,
            })?;
        // A retried task starts from a clean directory.
        let _ = tokio::fs::remove_dir_all(workdir).await;
        tokio::fs::create_dir_all(workdir)
            .await
            .map_err(|e| transient("job.workdir", e))?;
        let step = Step {
            runner: self,
            task,
            job,
            video: &video,
            reporter,
            workdir: workdir.to_path_buf(),
        };
        match task.kind {
            TaskKind::Prepare => prepare::run(&step).await,
            TaskKind::EncodeChunk => chunk::run(&step).await,
            TaskKind::Audio => audio::run(&step).await,
            TaskKind::Assemble => assemble::run(&step).await,
        }
    }

    async fn succeeded(&self, task: &TaskRecord, job: &JobRecord, done: Done) -> Outcome {
        let success = Success {
            result: done.result,
            spawn: done.spawn,
            plan: done.plan.as_ref(),
            ready_event: self.ready_event(job),
        };
        match tasks::succeed(&self.services.db, task.id, &self.worker_name, success).await {
            Ok(Some(s)) => {
                for next in s.push {
                    self.services
                        .jobs
                        .push_or_strand(&self.services.db, next)
                        .await;
                }
                if let Some(job) = s.job_done.as_ref().or(s.job.as_ref()) {
                    self.job_ended(job).await;
                }
                Outcome::Succeeded
            }
            Ok(None) => Outcome::Skipped("no longer this worker's"),
            Err(e) => {
                tracing::error!(code = e.code(), error = %e, "recording the task's success failed");
                Outcome::Skipped("recording the outcome failed")
            }
        }
    }

    async fn failed(&self, task: &TaskRecord, failure: Failure) -> Outcome {
        let (base, max) = (self.settings.retry_base, self.settings.retry_max);
        let recorded = tasks::fail(
            &self.services.db,
            task.id,
            &self.worker_name,
            &failure,
            |attempt| backoff(attempt, base, max),
        )
        .await;
        match recorded {
            Ok(Failed::Retrying { after }) => {
                tracing::warn!(code = %failure.code, message = %failure.message, retry_in_s = after.as_secs(), "transient failure; will retry");
                Outcome::Retrying { after }
            }
            Ok(Failed::JobFailed(job)) => {
                tracing::warn!(code = %failure.code, message = %failure.message, "task failed; so does its job");
                self.job_ended(&job).await;
                Outcome::Failed { code: failure.code }
            }
            Ok(Failed::NotMine) => Outcome::Skipped("no longer this worker's"),
            Err(e) => {
                tracing::error!(code = e.code(), error = %e, "recording the task's failure failed");
                Outcome::Skipped("recording the outcome failed")
            }
        }
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
