//! Typed, versioned, idempotent jobs. apalis (Redis backend) moves them;
//! the `jobs` table in PostgreSQL is the record of truth for their state,
//! attempts and failure reasons. apalis types stay inside this module so
//! its API changes do not spread.

use std::time::Duration;

use apalis_core::backend::TaskSink;
use apalis_redis::{ConnectionManager, RedisStorage};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use uuid::Uuid;

use crate::db::DbError;

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

/// The producer side: records a job and pushes it.
#[derive(Clone)]
pub struct JobQueue {
    storage: TranscodeStorage,
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
        let storage = RedisStorage::new(conn).with_config(settings.apalis_config());
        Self { storage, settings }
    }

    pub fn settings(&self) -> &QueueSettings {
        &self.settings
    }

    /// A storage handle for consumers (the worker builds its apalis worker on it).
    pub fn storage(&self) -> TranscodeStorage {
        self.storage.clone()
    }

    /// Records a transcode job for `video_id` and pushes it, once per
    /// `idempotency_key`: a repeated call returns the existing job and pushes
    /// nothing, so duplicate requests and duplicate events enqueue one job.
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
            return Ok(existing);
        };
        sqlx::query("UPDATE videos SET status = 'queued', error_code = NULL, error_message = NULL, updated_at = now() WHERE id = $1")
            .bind(video_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        self.push(&job).await?;
        Ok(job)
    }

    /// Jobs waiting in the queue for a worker, not counting the ones a worker
    /// has fetched (apalis moves those to its in-flight set). This is what
    /// the `VOD/QueueDepth` metric reports. apalis parks every push in its
    /// scheduled set (run at "now") until a worker's fetch promotes it to the
    /// pending list, so both count: pending + scheduled and due. Retries
    /// waiting for their time are in Postgres (`retrying`) until pushed again.
    pub async fn waiting(&self) -> Result<u64, QueueError> {
        let mut storage = self.storage.clone();
        let config = storage.get_config().clone();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let (pending, due): (u64, u64) = redis::pipe()
            .cmd("LLEN")
            .arg(config.active_jobs_list())
            .cmd("ZCOUNT")
            .arg(config.scheduled_jobs_set())
            .arg("-inf")
            .arg(now)
            .query_async(storage.get_connection())
            .await
            .map_err(|e| QueueError::Backend(e.to_string()))?;
        Ok(pending + due)
    }

    /// Pushes an already-recorded job (enqueue, retry, scheduled re-attempt).
    pub async fn push(&self, job: &JobRecord) -> Result<(), QueueError> {
        let task = TranscodeTask {
            v: TRANSCODE_PAYLOAD_VERSION,
            job_id: job.id,
            video_id: job.video_id,
        };
        let mut storage = self.storage.clone();
        storage
            .push(task)
            .await
            .map_err(|e| QueueError::Backend(e.to_string()))?;
        tracing::info!(job_id = %job.id, video_id = %job.video_id, "job enqueued");
        Ok(())
    }
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
