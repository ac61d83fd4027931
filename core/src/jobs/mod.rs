//! Typed, versioned, idempotent jobs. apalis (Redis backend) moves them;
//! the `jobs` table in PostgreSQL is the record of truth for their state,
//! attempts and failure reasons. apalis types stay inside this module so
//! its API changes do not spread.
//!
//! A job becomes `queued` in PostgreSQL first (with `pushed_at` empty), then
//! is pushed to Redis and marked pushed. A push that Redis refuses, or a
//! queue that later loses the job, leaves a *stranded* job that the
//! [`relay`] pushes again; pushing twice is harmless because a worker's
//! claim in PostgreSQL is idempotent.

use std::time::Duration;

use apalis_core::backend::{TaskSink, TaskSinkError};
use apalis_redis::{ConnectionManager, RedisStorage};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::DbError;

mod census;
pub mod relay;

pub use census::Census;

/// Explicit queue name: apalis' default is the Rust type name, and a rename
/// would strand queued jobs. The version changes with the payload.
pub const TRANSCODE_QUEUE: &str = "transcode.v1";
pub const TRANSCODE_PAYLOAD_VERSION: u32 = 1;

/// The payload on the wire. Only ids: everything else is read from Postgres
/// when the job runs, so a retried job sees current data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TranscodeTask {
    pub v: u32,
    pub job_id: Uuid,
    pub video_id: Uuid,
}

pub type TranscodeStorage = RedisStorage<TranscodeTask, ConnectionManager>;

/// Where a `queued` job stands with respect to the Redis queue: `waiting`
/// once a push reached it, `stranded` while it is not in it (the push was
/// refused or the queue lost it; the relay pushes it again). Derived by
/// PostgreSQL from `state` and `pushed_at` (migration 0006).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[sqlx(type_name = "text", rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum QueueStatus {
    Waiting,
    Stranded,
}

#[derive(Debug, thiserror::Error)]
pub enum QueueError {
    #[error("job queue (Redis) request failed: {0}")]
    Backend(String),
    #[error("video {0} does not exist")]
    UnknownVideo(Uuid),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl QueueError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Backend(_) => "queue.backend",
            Self::UnknownVideo(_) => "queue.unknown_video",
            Self::Db(e) => e.code(),
        }
    }
}

impl From<sqlx::Error> for QueueError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct JobRecord {
    pub id: Uuid,
    pub video_id: Uuid,
    pub kind: String,
    pub state: String,
    pub attempts: i32,
    pub max_attempts: i32,
    pub worker_losses: i32,
    pub stage: Option<String>,
    pub percent: Option<f32>,
    pub eta_seconds: Option<i32>,
    pub worker: Option<String>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// When the job last reached the Redis queue; empty while it is not there.
    pub pushed_at: Option<DateTime<Utc>>,
    /// Only for `queued` jobs: `waiting` in the queue, or `stranded` outside it.
    pub queue_status: Option<QueueStatus>,
}

/// Queue settings shared by producers and consumers.
#[derive(Debug, Clone)]
pub struct QueueSettings {
    /// Prefix of the queue's Redis keys (tests and deployments share a server).
    pub prefix: String,
    /// Heartbeat of a running worker; a worker silent for
    /// `heartbeat × missed_heartbeats` is dead and its job goes to another.
    pub heartbeat: Duration,
    pub missed_heartbeats: usize,
    /// Cap on attempts after transient failures.
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
            .queue(format!("{}{TRANSCODE_QUEUE}", self.prefix))
            // Minutes-long jobs: a worker must not hold jobs it is not running.
            .batch_size(1)
            .heartbeat_interval(self.heartbeat)
            .missed_heartbeats(self.missed_heartbeats)
    }
}

/// What [`JobQueue::repush_if_missing`] did.
#[derive(Debug, Clone, PartialEq)]
pub enum Repush {
    /// The queue holds the job: it waits for a worker, nothing to do.
    Held,
    /// It was not in the queue and has been pushed.
    Pushed(Box<JobRecord>),
}

/// The producer side: records a job and pushes it.
#[derive(Clone)]
pub struct JobQueue {
    storage: TranscodeStorage,
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
    pub fn storage(&self) -> TranscodeStorage {
        self.storage.clone()
    }

    /// Records a transcode job for `video_id` and pushes it, once per
    /// `idempotency_key`: a repeated call returns the existing job, so
    /// duplicate requests and duplicate events enqueue one job (a repeated
    /// call pushes it again only if it is stranded). A push that Redis
    /// refuses does not fail the call: the job is recorded, reported
    /// `stranded`, and the relay pushes it once Redis answers.
    pub async fn enqueue_transcode(
        &self,
        db: &PgPool,
        video_id: Uuid,
        idempotency_key: &str,
    ) -> Result<JobRecord, QueueError> {
        let mut tx = db.begin().await?;
        let exists: Option<Uuid> =
            sqlx::query_scalar("SELECT id FROM videos WHERE id = $1 FOR UPDATE")
                .bind(video_id)
                .fetch_optional(&mut *tx)
                .await?;
        if exists.is_none() {
            return Err(QueueError::UnknownVideo(video_id));
        }
        let inserted: Option<JobRecord> = sqlx::query_as(
            "INSERT INTO jobs (id, video_id, payload_version, idempotency_key, max_attempts)
             VALUES ($1, $2, $3, $4, $5)
             ON CONFLICT (idempotency_key) DO NOTHING
             RETURNING *",
        )
        .bind(Uuid::now_v7())
        .bind(video_id)
        .bind(i32::try_from(TRANSCODE_PAYLOAD_VERSION).unwrap_or(1))
        .bind(idempotency_key)
        .bind(self.settings.max_attempts)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(job) = inserted else {
            tx.rollback().await?;
            let existing: JobRecord =
                sqlx::query_as("SELECT * FROM jobs WHERE idempotency_key = $1")
                    .bind(idempotency_key)
                    .fetch_one(db)
                    .await?;
            if existing.queue_status == Some(QueueStatus::Stranded) {
                return Ok(self.push_or_strand(db, existing).await);
            }
            return Ok(existing);
        };
        sqlx::query("UPDATE videos SET status = 'queued', error_code = NULL, error_message = NULL, updated_at = now() WHERE id = $1")
            .bind(video_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(self.push_or_strand(db, job).await)
    }

    /// [`JobQueue::push_recorded`], keeping a refused push as a stranded job
    /// for the relay instead of failing the caller.
    pub async fn push_or_strand(&self, db: &PgPool, job: JobRecord) -> JobRecord {
        match self.push_recorded(db, &job).await {
            Ok(pushed) => pushed,
            Err(e) => {
                tracing::warn!(job_id = %job.id, code = e.code(), error = %e,
                    "job recorded but not pushed; it stays stranded until the relay pushes it");
                job
            }
        }
    }

    /// For a `queued` job: pushes it again unless the queue holds it
    /// (`retry` on a job stranded outside the queue). A refused push leaves
    /// it stranded for the relay and is returned as the error.
    pub async fn repush_if_missing(
        &self,
        db: &PgPool,
        job: &JobRecord,
    ) -> Result<Repush, QueueError> {
        if job.queue_status == Some(QueueStatus::Waiting) && self.census().await?.holds(job.id) {
            return Ok(Repush::Held);
        }
        sqlx::query("UPDATE jobs SET pushed_at = NULL WHERE id = $1 AND state = 'queued'")
            .bind(job.id)
            .execute(db)
            .await?;
        Ok(Repush::Pushed(Box::new(self.push_recorded(db, job).await?)))
    }

    /// Pushes a job recorded as `queued` and marks it pushed; returns the
    /// record as it now is. Call it after every transition to `queued`.
    pub async fn push_recorded(
        &self,
        db: &PgPool,
        job: &JobRecord,
    ) -> Result<JobRecord, QueueError> {
        self.push(job).await?;
        let marked: Option<JobRecord> = sqlx::query_as(
            "UPDATE jobs SET pushed_at = now() WHERE id = $1 AND state = 'queued' RETURNING *",
        )
        .bind(job.id)
        .fetch_optional(db)
        .await?;
        // Not queued any more: a worker claimed it already (or it was cancelled).
        match marked {
            Some(job) => Ok(job),
            None => Ok(get_job(db, job.id).await?.unwrap_or_else(|| job.clone())),
        }
    }

    /// Jobs waiting in the queue for a worker, not counting the ones a worker
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

    /// Pushes a job's task to Redis, trying again after a dropped connection
    /// (a push sent twice is harmless: the claim is idempotent). Callers go
    /// through [`JobQueue::push_recorded`], which also records the push.
    async fn push(&self, job: &JobRecord) -> Result<(), QueueError> {
        let task = TranscodeTask {
            v: TRANSCODE_PAYLOAD_VERSION,
            job_id: job.id,
            video_id: job.video_id,
        };
        let mut tries = 0;
        loop {
            let mut storage = self.storage.clone();
            match storage.push(task.clone()).await {
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
        tracing::info!(job_id = %job.id, video_id = %job.video_id, "job enqueued");
        Ok(())
    }
}

/// Queued jobs by where they stand with respect to the Redis queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, utoipa::ToSchema)]
pub struct QueuedCounts {
    /// Pushed to the queue, waiting for a worker.
    pub waiting: i64,
    /// Recorded but not in the queue (a refused push, or lost by Redis).
    pub stranded: i64,
    /// Age of the oldest stranded job, seconds.
    pub oldest_stranded_secs: Option<f64>,
}

pub async fn queued_counts(db: &PgPool) -> Result<QueuedCounts, QueueError> {
    let (waiting, stranded, oldest): (i64, i64, Option<f64>) = sqlx::query_as(
        "SELECT count(*) FILTER (WHERE queue_status = 'waiting'),
                count(*) FILTER (WHERE queue_status = 'stranded'),
                extract(epoch FROM now() - min(updated_at) FILTER (WHERE queue_status = 'stranded'))::float8
         FROM jobs WHERE state = 'queued'",
    )
    .fetch_one(db)
    .await?;
    Ok(QueuedCounts {
        waiting,
        stranded,
        oldest_stranded_secs: oldest,
    })
}

pub async fn get_job(db: &PgPool, id: Uuid) -> Result<Option<JobRecord>, QueueError> {
    Ok(sqlx::query_as("SELECT * FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?)
}

/// The newest job of a video.
pub async fn latest_job_for_video(
    db: &PgPool,
    video_id: Uuid,
) -> Result<Option<JobRecord>, QueueError> {
    Ok(
        sqlx::query_as("SELECT * FROM jobs WHERE video_id = $1 ORDER BY created_at DESC LIMIT 1")
            .bind(video_id)
            .fetch_optional(db)
            .await?,
    )
}
