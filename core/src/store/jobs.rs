//! Job-level operations of the store: recording a transcode job with its
//! first task, reading a job with its tasks, the job's progress over its
//! tasks, cancelling, and how a job ends (with its video and webhook).

use sqlx::types::Json;
use sqlx::{PgExecutor, PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::outbox::enqueue_event;
use super::records::{JobRecord, QueueStatus, TaskRecord};
use super::states::{JobState, TaskKind, TaskState, VideoStatus};
use super::{StoreError, Tx};

/// A job just recorded (or found again by its idempotency key) and its
/// prepare task, which the caller pushes.
#[derive(Debug, Clone)]
pub struct Created {
    pub job: JobRecord,
    /// `Some` when this call created the job: the task to push.
    pub prepare: Option<TaskRecord>,
}

/// Records a transcode job for `video_id` with its prepare task, once per
/// `idempotency_key` (a repeated call returns the existing job), and marks
/// the video queued, in one transaction.
pub async fn create_transcode(
    db: &PgPool,
    video_id: Uuid,
    idempotency_key: &str,
    max_attempts: i32,
) -> Result<Created, StoreError> {
    let mut tx = db.begin().await?;
    let exists: Option<Uuid> = sqlx::query_scalar("SELECT id FROM videos WHERE id = $1 FOR UPDATE")
        .bind(video_id)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Err(StoreError::UnknownVideo(video_id));
    }
    let inserted: Option<JobRecord> = sqlx::query_as(
        "INSERT INTO jobs (id, video_id, payload_version, idempotency_key, max_attempts, state)
         VALUES ($1, $2, 2, $3, $4, $5)
         ON CONFLICT (idempotency_key) DO NOTHING
         RETURNING *",
    )
    .bind(Uuid::now_v7())
    .bind(video_id)
    .bind(idempotency_key)
    .bind(max_attempts)
    .bind(JobState::Queued)
    .fetch_optional(&mut *tx)
    .await?;
    let Some(job) = inserted else {
        tx.rollback().await?;
        let existing: JobRecord = sqlx::query_as("SELECT * FROM jobs WHERE idempotency_key = $1")
            .bind(idempotency_key)
            .fetch_one(db)
            .await?;
        return Ok(Created {
            job: existing,
            prepare: None,
        });
    };
    let prepare: TaskRecord = sqlx::query_as(
        "INSERT INTO tasks (id, job_id, kind, state, max_attempts) VALUES ($1, $2, $3, $4, $5) RETURNING *",
    )
    .bind(Uuid::now_v7())
    .bind(job.id)
    .bind(TaskKind::Prepare)
    .bind(TaskState::Queued)
    .bind(max_attempts)
    .fetch_one(&mut *tx)
    .await?;
    set_video_status(&mut *tx, video_id, VideoStatus::Queued, None).await?;
    tx.commit().await?;
    Ok(Created {
        job,
        prepare: Some(prepare),
    })
}

pub async fn get_job(db: &PgPool, id: Uuid) -> Result<Option<JobRecord>, StoreError> {
    Ok(sqlx::query_as("SELECT * FROM jobs WHERE id = $1")
        .bind(id)
        .fetch_optional(db)
        .await?)
}

/// The newest job of a video.
pub async fn latest_job_for_video(
    db: &PgPool,
    video_id: Uuid,
) -> Result<Option<JobRecord>, StoreError> {
    Ok(
        sqlx::query_as("SELECT * FROM jobs WHERE video_id = $1 ORDER BY created_at DESC LIMIT 1")
            .bind(video_id)
            .fetch_optional(db)
            .await?,
    )
}

pub async fn tasks_of(db: &PgPool, job_id: Uuid) -> Result<Vec<TaskRecord>, StoreError> {
    Ok(
        sqlx::query_as("SELECT * FROM tasks WHERE job_id = $1 ORDER BY created_at, kind, seq")
            .bind(job_id)
            .fetch_all(db)
            .await?,
    )
}

/// The job with its tasks loaded and its queue status derived from them.
pub async fn with_tasks(db: &PgPool, mut job: JobRecord) -> Result<JobRecord, StoreError> {
    job.tasks = tasks_of(db, job.id).await?;
    job.queue_status = queue_status(&job.tasks);
    Ok(job)
}

/// `stranded` when any queued task is not in the queue, else `waiting` when
/// some queued task waits there, else none.
pub fn queue_status(tasks: &[TaskRecord]) -> Option<QueueStatus> {
    let queued = tasks.iter().filter_map(|t| t.queue_status);
    queued.fold(None, |acc, s| match (acc, s) {
        (_, QueueStatus::Stranded) | (Some(QueueStatus::Stranded), _) => {
            Some(QueueStatus::Stranded)
        }
        _ => Some(QueueStatus::Waiting),
    })
}

pub(super) async fn set_video_status<'e>(
    db: impl PgExecutor<'e>,
    video_id: Uuid,
    status: VideoStatus,
    error: Option<(&str, &str)>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE videos SET status = $2, error_code = $3, error_message = $4, updated_at = now() WHERE id = $1",
    )
    .bind(video_id)
    .bind(status)
    .bind(error.map(|(c, _)| c))
    .bind(error.map(|(_, m)| m))
    .execute(db)
    .await?;
    Ok(())
}

/// Stores the plan the job runs.
pub async fn set_plan(
    tx: &mut Tx<'_>,
    job_id: Uuid,
    plan: &vod_plan::Plan,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE jobs SET plan = $2, updated_at = now() WHERE id = $1")
        .bind(job_id)
        .bind(Json(plan))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The job's percent done over its tasks (weighted; a finished task counts
/// whole), its stage (the kind of the least advanced running task) and its
/// ETA from the time since it started, written to the job row.
pub async fn refresh_progress(
    db: impl PgExecutor<'_>,
    job_id: Uuid,
) -> Result<Option<JobRecord>, StoreError> {
    Ok(sqlx::query_as(
        "WITH t AS (
             SELECT coalesce(sum(weight * CASE WHEN state = 'succeeded' THEN 100 ELSE progress END)
                        / nullif(sum(weight), 0), 0)::real AS percent
             FROM tasks WHERE job_id = $1
         )
         UPDATE jobs j SET percent = least(t.percent, 99.9),
             eta_seconds = CASE WHEN t.percent >= 0.5 AND j.started_at IS NOT NULL
                 THEN round(extract(epoch FROM now() - j.started_at) * (100 - t.percent) / t.percent)::int END,
             updated_at = now()
         FROM t WHERE j.id = $1 AND j.state = 'running'
         RETURNING j.*",
    )
    .bind(job_id)
    .fetch_optional(db)
    .await?)
}

/// Ends a job that is still active: its unfinished tasks are cancelled, its
/// video takes `video` (with the job's reason for a failure), and a
/// `video.ready` or `video.failed` event is recorded (outbox). `None` when
/// the job had already ended.
pub(super) async fn finish(
    tx: &mut Transaction<'_, Postgres>,
    job_id: Uuid,
    state: JobState,
    error: Option<(&str, &str)>,
    ready_data: Option<serde_json::Value>,
) -> Result<Option<JobRecord>, StoreError> {
    let job: Option<JobRecord> = sqlx::query_as(
        "UPDATE jobs SET state = $2, error_code = $3, error_message = $4, finished_at = now(),
             stage = CASE WHEN $2 = 'succeeded' THEN 'done' ELSE stage END,
             percent = CASE WHEN $2 = 'succeeded' THEN 100 ELSE percent END,
             eta_seconds = CASE WHEN $2 = 'succeeded' THEN 0 END, updated_at = now()
         WHERE id = $1 AND state IN ('queued', 'running') RETURNING *",
    )
    .bind(job_id)
    .bind(state)
    .bind(error.map(|(c, _)| c))
    .bind(error.map(|(_, m)| m))
    .fetch_optional(&mut **tx)
    .await?;
    let Some(job) = job else {
        return Ok(None);
    };
    sqlx::query(
        "UPDATE tasks SET state = 'cancelled', finished_at = now(), updated_at = now()
         WHERE job_id = $1 AND state IN ('waiting', 'queued', 'running', 'retrying')",
    )
    .bind(job_id)
    .execute(&mut **tx)
    .await?;
    if state == JobState::Succeeded {
        if let Some(data) = ready_data {
            enqueue_event(&mut **tx, "video.ready", data).await?;
        }
    } else {
        let (code, message) = error.unwrap_or(("job.failed", "the job failed"));
        set_video_status(
            &mut **tx,
            job.video_id,
            VideoStatus::Failed,
            Some((code, message)),
        )
        .await?;
        let data = serde_json::json!({
            "video_id": job.video_id,
            "job_id": job.id,
            "status": state.as_str(),
            "error_code": code,
            "error_message": message,
        });
        if state != JobState::Cancelled {
            enqueue_event(&mut **tx, "video.failed", data).await?;
        }
    }
    Ok(Some(job))
}

/// Cancels an active job (a user's request): its tasks stop at their next
/// heartbeat and publish nothing. `Err(state)` when it already ended.
pub async fn cancel(db: &PgPool, job_id: Uuid) -> Result<Result<JobRecord, JobState>, StoreError> {
    let mut tx = db.begin().await?;
    let done = finish(
        &mut tx,
        job_id,
        JobState::Cancelled,
        Some(("job.cancelled", "cancelled by a user")),
        None,
    )
    .await?;
    tx.commit().await?;
    match done {
        Some(job) => Ok(Ok(job)),
        None => match get_job(db, job_id).await? {
            Some(job) => Ok(Err(job.state)),
            None => Err(StoreError::UnknownJob(job_id)),
        },
    }
}

/// Cancels every active job of a video (it is being deleted).
pub async fn cancel_all_for_video(db: &PgPool, video_id: Uuid) -> Result<u64, StoreError> {
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM jobs WHERE video_id = $1 AND state IN ('queued', 'running')",
    )
    .bind(video_id)
    .fetch_all(db)
    .await?;
    let mut tx = db.begin().await?;
    let mut n = 0;
    for id in ids {
        if finish(
            &mut tx,
            id,
            JobState::Cancelled,
            Some(("video.deleted", "the video was deleted")),
            None,
        )
        .await?
        .is_some()
        {
            n += 1;
        }
    }
    tx.commit().await?;
    Ok(n)
}

/// Jobs by state, for metrics.
pub async fn counts_by_state(db: &PgPool) -> Result<Vec<(JobState, i64)>, StoreError> {
    Ok(
        sqlx::query_as("SELECT state, count(*) FROM jobs GROUP BY state")
            .fetch_all(db)
            .await?,
    )
}

/// How many jobs a video has had (a retry's idempotency key counts them).
pub async fn count_for_video(db: &PgPool, video_id: Uuid) -> Result<i64, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT count(*) FROM jobs WHERE video_id = $1")
            .bind(video_id)
            .fetch_one(db)
            .await?,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(state: TaskState, queue: Option<QueueStatus>) -> TaskRecord {
        let now = chrono::Utc::now();
        TaskRecord {
            id: Uuid::nil(),
            job_id: Uuid::nil(),
            kind: TaskKind::EncodeChunk,
            seq: 0,
            state,
            attempts: 0,
            max_attempts: 5,
            worker_losses: 0,
            worker: None,
            heartbeat_at: None,
            next_attempt_at: None,
            started_at: None,
            finished_at: None,
            progress: 0.0,
            weight: 1.0,
            error_code: None,
            error_message: None,
            result: None,
            pushed_at: None,
            queue_status: queue,
            created_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn one_stranded_task_strands_the_job() {
        use QueueStatus::*;
        assert_eq!(queue_status(&[]), None);
        assert_eq!(queue_status(&[task(TaskState::Running, None)]), None);
        let waiting = task(TaskState::Queued, Some(Waiting));
        let stranded = task(TaskState::Queued, Some(Stranded));
        assert_eq!(queue_status(std::slice::from_ref(&waiting)), Some(Waiting));
        assert_eq!(
            queue_status(&[waiting.clone(), stranded.clone()]),
            Some(Stranded)
        );
        assert_eq!(queue_status(&[stranded, waiting]), Some(Stranded));
    }
}
