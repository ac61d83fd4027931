//! The one home of job and task state (issue 14): typed states
//! ([`states`]), the rows ([`records`]) and every transition, each one
//! transaction ([`jobs`], [`tasks`]). The API, the workers and
//! `vod-worker ingest` all go through here; nothing else writes `jobs` or
//! `tasks`.
//!
//! A job is a plan plus tasks. It starts with one `prepare` task, which
//! probes and plans the source and either runs the whole encode itself
//! (short sources, MediaConvert) or fans out into `encode_chunk` tasks, an
//! `audio` task and a `waiting` `assemble` task. The last of those to
//! succeed queues `assemble` in the same transaction (fan-in); the job
//! succeeds when every task has. A task that fails for good fails the job
//! with its reason and cancels the others; transient failures retry the
//! task alone, with backoff, up to its attempts; a task that loses its
//! worker three times is dead and so is the job.

pub mod jobs;
pub mod outbox;
pub mod records;
pub mod states;
pub mod tasks;

pub use records::{JobRecord, NewTask, QueueStatus, TaskMessage, TaskRecord};
pub use states::{JobState, TaskKind, TaskState, VideoStatus};
use uuid::Uuid;

use crate::db::DbError;

pub type Tx<'a> = sqlx::Transaction<'a, sqlx::Postgres>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("video {0} does not exist")]
    UnknownVideo(Uuid),
    #[error("job {0} does not exist")]
    UnknownJob(Uuid),
    #[error("task {task} cannot go from {from} to {to}")]
    Transition {
        task: Uuid,
        from: TaskState,
        to: TaskState,
    },
    #[error(transparent)]
    Db(#[from] DbError),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownVideo(_) => "store.unknown_video",
            Self::UnknownJob(_) => "store.unknown_job",
            Self::Transition { .. } => "store.transition",
            Self::Db(e) => e.code(),
        }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Db(DbError::Query(e))
    }
}
