//! Rows of the `jobs` and `tasks` tables, as the API shows them.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::types::Json;
use uuid::Uuid;

use super::states::{JobState, TaskKind, TaskState};

/// Where a `queued` task stands with respect to the Redis queue: `waiting`
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

/// A job. Its work is done by its tasks; the counters here summarise them:
/// `attempts` is the most any task needed, `worker_losses` their sum,
/// `worker` the last to claim one, `stage`/`percent`/`eta_seconds` the
/// progress over all tasks, and `error_*` the reason of the task that
/// failed it.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct JobRecord {
    pub id: Uuid,
    pub video_id: Uuid,
    pub kind: String,
    pub state: JobState,
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
    /// The plan the job runs (`vod_plan::Plan`), once its prepare task made it.
    #[schema(value_type = Option<Object>)]
    pub plan: Option<Json<vod_plan::Plan>>,
    /// For a job with queued work: `stranded` when a queued task is not in
    /// the Redis queue (the relay pushes it once Redis answers).
    #[sqlx(skip)]
    pub queue_status: Option<QueueStatus>,
    /// Its tasks, oldest first (loaded by [`super::jobs::with_tasks`]).
    #[sqlx(skip)]
    pub tasks: Vec<TaskRecord>,
}

/// A task of a job.
#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct TaskRecord {
    pub id: Uuid,
    pub job_id: Uuid,
    pub kind: TaskKind,
    /// The chunk index of an `encode_chunk` task.
    pub seq: i32,
    pub state: TaskState,
    pub attempts: i32,
    pub max_attempts: i32,
    pub worker_losses: i32,
    pub worker: Option<String>,
    pub heartbeat_at: Option<DateTime<Utc>>,
    pub next_attempt_at: Option<DateTime<Utc>>,
    pub started_at: Option<DateTime<Utc>>,
    pub finished_at: Option<DateTime<Utc>>,
    /// 0–100.
    pub progress: f32,
    pub weight: f32,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    /// What it produced, for the tasks after it; not shown.
    #[serde(skip)]
    #[schema(ignore)]
    pub result: Option<Json<serde_json::Value>>,
    pub pushed_at: Option<DateTime<Utc>>,
    pub queue_status: Option<QueueStatus>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// A task to create (fan-out).
#[derive(Debug, Clone, PartialEq)]
pub struct NewTask {
    pub kind: TaskKind,
    pub seq: i32,
    /// `Queued` to run now, `Waiting` until the fan-in queues it.
    pub state: TaskState,
    /// Share of the job's work, for its progress.
    pub weight: f32,
}

/// The message on the Redis queue: ids only, everything else is read from
/// PostgreSQL when the task runs, so a retried task sees current data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskMessage {
    pub v: u32,
    pub task_id: Uuid,
    pub job_id: Uuid,
    pub kind: TaskKind,
}

pub const TASK_MESSAGE_VERSION: u32 = 1;

impl TaskRecord {
    pub fn message(&self) -> TaskMessage {
        TaskMessage {
            v: TASK_MESSAGE_VERSION,
            task_id: self.id,
            job_id: self.job_id,
            kind: self.kind,
        }
    }

    /// The task's result, decoded into what its kind produces.
    pub fn result_as<T: serde::de::DeserializeOwned>(&self) -> Option<T> {
        self.result
            .as_ref()
            .and_then(|Json(v)| serde_json::from_value(v.clone()).ok())
    }
}
