//! The job queue: apalis (Redis backend) delivers tasks to workers; the
//! `jobs` and `tasks` tables in PostgreSQL ([`crate::store`]) are the record
//! of truth for their state. apalis types stay inside this module so its
//! API changes do not spread.
//!
//! A task becomes `queued` in PostgreSQL first (with `pushed_at` empty),
//! then is pushed to Redis and marked pushed. A push that Redis refuses, or
//! a queue that later loses the task, leaves a *stranded* task that the
//! [`relay`] pushes again; pushing twice is harmless because a worker's
//! claim in PostgreSQL is idempotent.

use std::time::Duration;

use apalis_core::backend::{TaskSink, TaskSinkError};
use apalis_redis::{ConnectionManager, RedisStorage};
use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::DbError;
use crate::store::{self, JobRecord, QueueStatus, StoreError, TaskMessage, TaskRecord};

mod census;
pub mod relay;

pub use census::Census;

/// Explicit queue name: apalis' default is the Rust type name, and a rename
/// would strand queued tasks. The version changes with the payload
/// (`transcode.v1` carried whole jobs before tasks existed).
pub const TASK_QUEUE: &str = "tasks.v1";

pub type TaskStorage = RedisStorage<TaskMessage, ConnectionManager>;

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("job queue (Redis) request failed: {0}")]
    Backend(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl QueueError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Backend(_) => "queue.backend",
            Self::Store(e) => e.code(),
        }
    }
}

impl From<sqlx::Error> for QueueError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::Db(DbError::Query(e)))
    }
}

/// Queue settings shared by producers and consumers.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// Prefix of the queue's Redis keys (tests and deployments share a server).
    pub prefix: String,
    /// Heartbeat of a running worker; a worker silent for
    /// `heartbeat × missed_heartbeats` is dead and its task goes to another.
    pub heartbeat: Duration,
    pub missed_heartbeats: usize,
    /// Cap on attempts of each task after transient failures.
    pub max_attempts: i32,
}

impl Default for QueueSettings {
    fn default() -> Self {
        Self {
            prefix: "vod:".to_owned(),
            heartbeat: Duration::from_secs(5),
            missed_heartbeats: 3,
            max_attempts: 5,
        }
    }
}

impl QueueSettings {
    pub fn apalis_config(&self) -> apalis_redis::Config {
        apalis_redis::Config::default()
            .queue(format!("{}{TASK_QUEUE}", self.prefix))
            // Minutes-long tasks: a worker must not hold tasks it is not running.
            .batch_size(1)
            .heartbeat_interval(self.heartbeat)
            .missed_heartbeats(self.missed_heartbeats)
    }
}

/// What [`JobQueue::repush_if_missing`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Repush {
    /// The queue holds every queued task of the job: nothing to do.
    Held,
    /// Some were not in the queue and have been pushed.
    Pushed(Box<JobRecord>),
}

/// The producer side: records jobs through the store and pushes tasks.
#[derive(Clone)]
pub struct JobQueue {
    storage: TaskStorage,
    /// The storage's connection, for the reads apalis has no call for.
    conn: ConnectionManager,
    settings: QueueSettings,
}

impl std::fmt::Debug for JobQueue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobQueue")
            .field("settings", &self.settings)
            .finish()
    }
}

impl JobQueue {
    pub fn new(conn: ConnectionManager, settings: QueueSettings) -> Self {
        let storage = RedisStorage::new(conn.clone()).with_config(settings.apalis_config());
        Self {
            storage,
            conn,
            settings,
        }
    }

    pub fn settings(&self) -> &QueueSettings {
        &self.settings
    }

    /// A storage handle for consumers (the worker builds its apalis worker on it).
    pub fn storage(&self) -> TaskStorage {
        self.storage.clone()
    }

    /// Records a transcode job for `video_id` (with its prepare task) and
    /// pushes the task, once per `idempotency_key`: a repeated call returns
    /// the existing job, so duplicate requests and duplicate events enqueue
    /// one job (a repeated call pushes its queued tasks again only if they
    /// are stranded). A push that Redis refuses does not fail the call: the
    /// job is recorded, reported `stranded`, and the relay pushes its task
    /// once Redis answers. Returns the job with its tasks.
    pub async fn enqueue_transcode(
        &self,
        db: &PgPool,
        video_id: Uuid,
        idempotency_key: &str,
    ) -> Result<JobRecord, QueueError> {
        let created = store::jobs::create_transcode(
            db,
            video_id,
            idempotency_key,
            self.settings.max_attempts,
        )
        .await?;
        match created.prepare {
            Some(task) => {
                self.push_or_strand(db, task).await;
            }
            None => {
                let job = store::jobs::with_tasks(db, created.job.clone()).await?;
                for task in job
                    .tasks
                    .iter()
                    .filter(|t| t.queue_status == Some(QueueStatus::Stranded))
                {
                    self.push_or_strand(db, task.clone()).await;
                }
            }
        }
        Ok(store::jobs::with_tasks(db, created.job).await?)
    }

    /// [`JobQueue::push_recorded`], keeping a refused push as a stranded task
    /// for the relay instead of failing the caller.
    pub async fn push_or_strand(&self, db: &PgPool, task: TaskRecord) -> TaskRecord {
        match self.push_recorded(db, &task).await {
            Ok(pushed) => pushed,
            Err(e) => {
                tracing::warn!(task_id = %task.id, job_id = %task.job_id, code = e.code(), error = %e,
                    "task recorded but not pushed; it stays stranded until the relay pushes it");
                task
            }
        }
    }

    /// For a job with queued tasks: pushes again those the queue does not
    /// hold (`retry` on a stranded job). A refused push leaves them stranded
    /// for the relay and is returned as the error.
    pub async fn repush_if_missing(
        &self,
        db: &PgPool,
        job: &JobRecord,
    ) -> Result<Repush, QueueError> {
        let census = self.census().await?;
        let missing: Vec<&TaskRecord> = job
            .tasks
            .iter()
            .filter(|t| t.queue_status.is_some() && !census.holds(t.id))
            .collect();
        if missing.is_empty() {
            return Ok(Repush::Held);
        }
        for task in missing {
            sqlx::query("UPDATE tasks SET pushed_at = NULL WHERE id = $1 AND state = 'queued'")
                .bind(task.id)
                .execute(db)
                .await?;
            self.push_recorded(db, task).await?;
        }
        let job = store::jobs::get_job(db, job.id)
            .await?
            .ok_or(StoreError::UnknownJob(job.id))?;
        Ok(Repush::Pushed(Box::new(
            store::jobs::with_tasks(db, job).await?,
        )))
    }

    /// Pushes a task recorded as `queued` and marks it pushed; returns the
    /// record as it now is. Call it after every transition to `queued`.
    pub async fn push_recorded(
        &self,
        db: &PgPool,
        task: &TaskRecord,
    ) -> Result<TaskRecord, QueueError> {
        self.push(task).await?;
        let marked: Option<TaskRecord> = sqlx::query_as(
            "UPDATE tasks SET pushed_at = now() WHERE id = $1 AND state = 'queued' RETURNING *",
        )
        .bind(task.id)
        .fetch_optional(db)
        .await?;
        // Not queued any more: a worker claimed it already (or it was cancelled).
        Ok(marked.unwrap_or_else(|| task.clone()))
    }

    /// Tasks waiting in the queue for a worker, not counting the ones a worker
    /// has fetched (apalis moves those to its in-flight set). This is what
    /// the `VOD/QueueDepth` metric reports. apalis parks every push in its
    /// scheduled set (run at "now") until a worker's fetch promotes it to the
    /// pending list, so both count: pending + scheduled and due. Retries
    /// waiting for their time are in Postgres (`retrying`) until pushed again.
    pub async fn waiting(&self) -> Result<u64, QueueError> {
        let config = self.storage.get_config().clone();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (pending, due): (u64, u64) = crate::cache::retrying(&self.conn, |mut conn| {
            let pipe = redis::pipe()
                .cmd("LLEN")
                .arg(config.active_jobs_list())
                .cmd("ZCOUNT")
                .arg(config.scheduled_jobs_set())
                .arg("-inf")
                .arg(now)
                .clone();
            async move { pipe.query_async(&mut conn).await }
        })
        .await
        .map_err(|e| QueueError::Backend(e.to_string()))?;
        Ok(pending + due)
    }

    /// Pushes a task's message to Redis, trying again after a dropped
    /// connection (a push sent twice is harmless: the claim is idempotent).
    /// Callers go through [`JobQueue::push_recorded`], which records it.
    async fn push(&self, task: &TaskRecord) -> Result<(), QueueError> {
        let message = task.message();
        let mut tries = 0;
        loop {
            let mut storage = self.storage.clone();
            match storage.push(message.clone()).await {
                Ok(()) => break,
                Err(e) => {
                    let delay = match &e {
                        TaskSinkError::PushError(apalis_redis::Error::Database(re)) => {
                            crate::cache::retry_delay(re)
                        }
                        _ => None,
                    };
                    match delay {
                        Some(delay) if tries < 2 => {
                            tries += 1;
                            tokio::time::sleep(delay).await;
                        }
                        _ => return Err(QueueError::Backend(e.to_string())),
                    }
                }
            }
        }
        tracing::info!(task_id = %task.id, job_id = %task.job_id, kind = %task.kind, "task enqueued");
        Ok(())
    }
}

/// Queued tasks by where they stand with respect to the Redis queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QueuedCounts {
    /// Pushed to the queue, waiting for a worker.
    pub waiting: i64,
    /// Recorded but not in the queue (a refused push, or lost by Redis).
    pub stranded: i64,
    /// Age of the oldest stranded task, seconds.
    pub oldest_stranded_secs: Option<f64>,
}

pub async fn queued_counts(db: &PgPool) -> Result<QueuedCounts, QueueError> {
    let (waiting, stranded, oldest): (i64, i64, Option<f64>) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE queue_status = 'waiting'),
                count(*) FILTER (WHERE queue_status = 'stranded'),
                extract(epoch FROM now() - min(updated_at) FILTER (WHERE queue_status = 'stranded'))::float8
         FROM tasks WHERE state = 'queued'",
    )
    .fetch_one(db)
    .await?;
    Ok(QueuedCounts {
        waiting,
        stranded,
        oldest_stranded_secs: oldest,
    })
}
