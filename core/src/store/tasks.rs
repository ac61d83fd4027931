//! Task transitions: claim, heartbeat, succeed (with fan-out and fan-in),
//! fail (retry or fail the job), dead, hand back and due retries. Each is
//! one transaction that locks the task's job row first, so two tasks of a
//! job finishing at once see each other (the fan-in cannot be missed) and a
//! cancel cannot interleave with a claim.

use std::time::Duration;

use sqlx::types::Json;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

use super::StoreError;
use super::jobs::{finish, refresh_progress};
use super::records::{JobRecord, NewTask, TaskRecord};
use super::states::{JobState, TaskKind, TaskState, VideoStatus};

/// What a worker may do with a delivered task.
#[derive(Debug)]
pub enum Claim {
    /// Run it: the task (now `running` under this worker) and its job.
    Run(Box<(TaskRecord, JobRecord)>),
    /// Nothing to do (finished, not ready, its job ended, unknown…).
    Skip(&'static str),
    /// Another worker's heartbeat is still fresh: it may be alive, or may
    /// have died a moment ago (apalis re-delivers orphans quickly).
    HeldElsewhere,
    /// The task lost its worker `max_worker_losses` times: it is dead, and
    /// so is its job.
    Dead(Box<JobRecord>),
}

/// Rules a claim applies.
#[derive(Debug, Clone, Copy)]
pub struct ClaimRules {
    /// A running task whose heartbeat is older than this lost its worker.
    pub liveness: Duration,
    /// Worker deaths while holding a task before it is dead.
    pub max_worker_losses: i32,
}

async fn lock(
    tx: &mut Transaction<'_, Postgres>,
    task_id: Uuid,
) -> Result<Option<(TaskRecord, JobRecord)>, StoreError> {
    let job: Option<JobRecord> = sqlx::query_as(
        "SELECT j.* FROM jobs j JOIN tasks t ON t.job_id = j.id WHERE t.id = $1 FOR UPDATE OF j",
    )
    .bind(task_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(job) = job else {
        return Ok(None);
    };
    let task: TaskRecord = sqlx::query_as("SELECT * FROM tasks WHERE id = $1 FOR UPDATE")
        .bind(task_id)
        .fetch_one(&mut **tx)
        .await?;
    Ok(Some((task, job)))
}

async fn set_state(
    tx: &mut Transaction<'_, Postgres>,
    task: &TaskRecord,
    to: TaskState,
) -> Result<(), StoreError> {
    if !task.state.can_become(to) {
        return Err(StoreError::Transition {
            task: task.id,
            from: task.state,
            to,
        });
    }
    sqlx::query("UPDATE tasks SET state = $2, updated_at = now() WHERE id = $1")
        .bind(task.id)
        .bind(to)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Claims a delivered task for `worker`.
pub async fn claim(
    db: &PgPool,
    task_id: Uuid,
    worker: &str,
    rules: ClaimRules,
) -> Result<Claim, StoreError> {
    let mut tx = db.begin().await?;
    let Some((mut task, job)) = lock(&mut tx, task_id).await? else {
        return Ok(Claim::Skip("unknown task"));
    };
    if task.state.is_final() {
        return Ok(Claim::Skip("already finished"));
    }
    if job.state.is_final() {
        set_state(&mut tx, &task, TaskState::Cancelled).await?;
        tx.commit().await?;
        return Ok(Claim::Skip("its job has ended"));
    }
    match task.state {
        TaskState::Waiting => return Ok(Claim::Skip("not ready")),
        TaskState::Running => {
            let fresh: bool = sqlx::query_scalar(
                "SELECT coalesce(heartbeat_at > now() - make_interval(secs => $2), false) FROM tasks WHERE id = $1",
            )
            .bind(task_id)
            .bind(rules.liveness.as_secs_f64())
            .fetch_one(&mut *tx)
            .await?;
            // A fresh heartbeat means a live holder, this process included:
            // the same task delivered twice must not run twice.
            if fresh {
                return Ok(Claim::HeldElsewhere);
            }
            task.worker_losses += 1;
            tracing::warn!(task_id = %task.id, losses = task.worker_losses, previous = ?task.worker, "task lost its worker");
            if task.worker_losses >= rules.max_worker_losses {
                sqlx::query("UPDATE tasks SET worker_losses = $2 WHERE id = $1")
                    .bind(task.id)
                    .bind(task.worker_losses)
                    .execute(&mut *tx)
                    .await?;
                let job = dead_in(&mut tx, &task).await?;
                tx.commit().await?;
                return Ok(match job {
                    Some(job) => Claim::Dead(Box::new(job)),
                    None => Claim::Skip("its job has ended"),
                });
            }
        }
        _ => {}
    }
    if !task.state.can_become(TaskState::Running) {
        return Ok(Claim::Skip("not claimable"));
    }
    let task: TaskRecord = sqlx::query_as(
        "UPDATE tasks SET state = 'running', attempts = attempts + 1, worker_losses = $2, worker = $3,
             started_at = now(), heartbeat_at = now(), finished_at = NULL, next_attempt_at = NULL,
             progress = 0, error_code = NULL, error_message = NULL, updated_at = now()
         WHERE id = $1 RETURNING *",
    )
    .bind(task_id)
    .bind(task.worker_losses)
    .bind(worker)
    .fetch_one(&mut *tx)
    .await?;
    let job: JobRecord = sqlx::query_as(
        "UPDATE jobs SET state = 'running', worker = $2, started_at = coalesce(started_at, now()),
             attempts = greatest(attempts, $3),
             worker_losses = (SELECT coalesce(sum(worker_losses), 0) FROM tasks WHERE job_id = $1)::int,
             stage = coalesce(stage, 'starting'), percent = coalesce(percent, 0),
             error_code = NULL, error_message = NULL, updated_at = now()
         WHERE id = $1 RETURNING *",
    )
    .bind(task.job_id)
    .bind(worker)
    .bind(task.attempts)
    .fetch_one(&mut *tx)
    .await?;
    sqlx::query(
        "UPDATE videos SET status = $2, updated_at = now() WHERE id = $1 AND status IN ('queued', 'created')",
    )
    .bind(job.video_id)
    .bind(VideoStatus::Processing)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(Claim::Run(Box::new((task, job))))
}

/// A running task's report: its progress and the job's stage. `None` when
/// the task is no longer running under `worker` (its job was cancelled or
/// failed, or another worker took it over after this one went silent): the
/// worker stops it. The job's progress is refreshed from all its tasks.
pub async fn heartbeat(
    db: &PgPool,
    task_id: Uuid,
    worker: &str,
    progress: f32,
    stage: &str,
) -> Result<Option<JobRecord>, StoreError> {
    let mut tx = db.begin().await?;
    let job_id: Option<Uuid> = sqlx::query_scalar(
        "UPDATE tasks SET progress = $3, heartbeat_at = now(), updated_at = now()
         WHERE id = $1 AND state = 'running' AND worker = $2
           AND (SELECT state FROM jobs WHERE id = tasks.job_id) = 'running'
         RETURNING job_id",
    )
    .bind(task_id)
    .bind(worker)
    .bind(progress.clamp(0.0, 100.0))
    .fetch_optional(&mut *tx)
    .await?;
    let Some(job_id) = job_id else {
        tx.rollback().await?;
        return Ok(None);
    };
    sqlx::query("UPDATE jobs SET stage = $2, heartbeat_at = now() WHERE id = $1")
        .bind(job_id)
        .bind(stage)
        .execute(&mut *tx)
        .await?;
    let job = refresh_progress(&mut *tx, job_id).await?;
    tx.commit().await?;
    Ok(job)
}

/// What [`succeed`] did.
#[derive(Debug)]
pub struct Succeeded {
    /// Tasks that became queued (fan-out, or the fan-in's assemble): push them.
    pub push: Vec<TaskRecord>,
    /// The job, when this was its last task: it succeeded.
    pub job_done: Option<JobRecord>,
    /// The job as it is now.
    pub job: Option<JobRecord>,
}

/// A task finished its work.
pub struct Success<'a> {
    /// What it produced, for the tasks after it.
    pub result: serde_json::Value,
    /// Tasks to create (a prepare task's fan-out).
    pub spawn: Vec<NewTask>,
    /// The plan the job runs, when this task made it.
    pub plan: Option<&'a vod_plan::Plan>,
    /// The `video.ready` event's data, recorded if the job succeeds now.
    pub ready_event: serde_json::Value,
}

/// Marks `task` (running under `worker`) succeeded, creates its fan-out,
/// queues a waiting task whose inputs are now all done (fan-in), and ends
/// the job when every task has succeeded. `None` when the task was no
/// longer this worker's (cancelled, or taken over).
pub async fn succeed(
    db: &PgPool,
    task_id: Uuid,
    worker: &str,
    success: Success<'_>,
) -> Result<Option<Succeeded>, StoreError> {
    let mut tx = db.begin().await?;
    let Some((task, job)) = lock(&mut tx, task_id).await? else {
        return Ok(None);
    };
    if task.state != TaskState::Running
        || task.worker.as_deref() != Some(worker)
        || job.state != JobState::Running
    {
        return Ok(None);
    }
    set_state(&mut tx, &task, TaskState::Succeeded).await?;
    sqlx::query(
        "UPDATE tasks SET result = $2, progress = 100, finished_at = now(), updated_at = now() WHERE id = $1",
    )
    .bind(task.id)
    .bind(Json(&success.result))
    .execute(&mut *tx)
    .await?;
    if let Some(plan) = success.plan {
        super::jobs::set_plan(&mut tx, task.job_id, plan).await?;
    }
    let mut push = Vec::new();
    for new in &success.spawn {
        let created: TaskRecord = sqlx::query_as(
            "INSERT INTO tasks (id, job_id, kind, seq, state, max_attempts, weight)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (job_id, kind, seq) DO NOTHING RETURNING *",
        )
        .bind(Uuid::now_v7())
        .bind(task.job_id)
        .bind(new.kind)
        .bind(new.seq)
        .bind(new.state)
        .bind(task.max_attempts)
        .bind(new.weight)
        .fetch_one(&mut *tx)
        .await?;
        if created.state == TaskState::Queued {
            push.push(created);
        }
    }
    // Fan-in: a waiting task whose every sibling but the other waiting ones
    // has succeeded is ready.
    let ready: Vec<TaskRecord> = sqlx::query_as(
        "UPDATE tasks SET state = 'queued', pushed_at = NULL, updated_at = now()
         WHERE job_id = $1 AND state = 'waiting'
           AND NOT EXISTS (SELECT 1 FROM tasks o WHERE o.job_id = $1
                           AND o.state NOT IN ('succeeded', 'waiting'))
         RETURNING *",
    )
    .bind(task.job_id)
    .fetch_all(&mut *tx)
    .await?;
    push.extend(ready);
    let unfinished: i64 =
        sqlx::query_scalar("SELECT count(*) FROM tasks WHERE job_id = $1 AND state <> 'succeeded'")
            .bind(task.job_id)
            .fetch_one(&mut *tx)
            .await?;
    let job_done = if unfinished == 0 {
        finish(
            &mut tx,
            task.job_id,
            JobState::Succeeded,
            None,
            Some(success.ready_event),
        )
        .await?
    } else {
        None
    };
    let job = if job_done.is_some() {
        job_done.clone()
    } else {
        refresh_progress(&mut *tx, task.job_id).await?
    };
    tx.commit().await?;
    Ok(Some(Succeeded {
        push,
        job_done,
        job,
    }))
}

/// How a failed task ends.
#[derive(Debug)]
pub enum Failed {
    /// Queued again after `after`.
    Retrying { after: Duration },
    /// The task failed for good, and its job with it.
    JobFailed(Box<JobRecord>),
    /// The task was no longer this worker's; nothing recorded.
    NotMine,
}

/// A task's failure.
#[derive(Debug, Clone)]
pub struct Failure {
    pub code: String,
    pub message: String,
    /// Retrying may help (network, storage, a crashed dependency).
    pub transient: bool,
}

/// Records a failure: a transient one with attempts left schedules a retry
/// after `backoff(attempt)`; otherwise the job fails with this task's code
/// and sentence and its other tasks are cancelled.
pub async fn fail(
    db: &PgPool,
    task_id: Uuid,
    worker: &str,
    failure: &Failure,
    backoff: impl Fn(i32) -> Duration,
) -> Result<Failed, StoreError> {
    let mut tx = db.begin().await?;
    let Some((task, job)) = lock(&mut tx, task_id).await? else {
        return Ok(Failed::NotMine);
    };
    if task.state != TaskState::Running
        || task.worker.as_deref() != Some(worker)
        || job.state != JobState::Running
    {
        return Ok(Failed::NotMine);
    }
    if failure.transient && task.attempts < task.max_attempts {
        let after = backoff(task.attempts);
        set_state(&mut tx, &task, TaskState::Retrying).await?;
        sqlx::query(
            "UPDATE tasks SET error_code = $2, error_message = $3,
                 next_attempt_at = now() + make_interval(secs => $4), updated_at = now() WHERE id = $1",
        )
        .bind(task.id)
        .bind(&failure.code)
        .bind(&failure.message)
        .bind(after.as_secs_f64())
        .execute(&mut *tx)
        .await?;
        // The job shows why it waits; the next claim clears it.
        sqlx::query(
            "UPDATE jobs SET error_code = $2, error_message = $3, updated_at = now() WHERE id = $1",
        )
        .bind(task.job_id)
        .bind(&failure.code)
        .bind(&failure.message)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        return Ok(Failed::Retrying { after });
    }
    let message = if failure.transient {
        format!(
            "gave up after {} attempts: {}",
            task.attempts, failure.message
        )
    } else {
        failure.message.clone()
    };
    set_state(&mut tx, &task, TaskState::Failed).await?;
    sqlx::query(
        "UPDATE tasks SET error_code = $2, error_message = $3, finished_at = now(), updated_at = now() WHERE id = $1",
    )
    .bind(task.id)
    .bind(&failure.code)
    .bind(&message)
    .execute(&mut *tx)
    .await?;
    let job = finish(
        &mut tx,
        task.job_id,
        JobState::Failed,
        Some((&failure.code, &message)),
        None,
    )
    .await?;
    tx.commit().await?;
    Ok(match job {
        Some(job) => Failed::JobFailed(Box::new(job)),
        None => Failed::NotMine,
    })
}

/// The task is dead (too many lost workers): so is its job.
async fn dead_in(
    tx: &mut Transaction<'_, Postgres>,
    task: &TaskRecord,
) -> Result<Option<JobRecord>, StoreError> {
    sqlx::query(
        "UPDATE jobs SET worker_losses =
             (SELECT coalesce(sum(worker_losses), 0) FROM tasks WHERE job_id = $1)::int
         WHERE id = $1",
    )
    .bind(task.job_id)
    .execute(&mut **tx)
    .await?;
    let message = format!(
        "the {} task stopped its worker {} times; it will not be retried automatically",
        task.kind, task.worker_losses
    );
    sqlx::query(
        "UPDATE tasks SET state = 'dead', error_code = 'job.worker_lost', error_message = $2,
             finished_at = now(), updated_at = now() WHERE id = $1",
    )
    .bind(task.id)
    .bind(&message)
    .execute(&mut **tx)
    .await?;
    finish(
        tx,
        task.job_id,
        JobState::Dead,
        Some(("job.worker_lost", &message)),
        None,
    )
    .await
}

/// Tasks still running under `worker` go back to the queue without counting
/// as a lost worker: an orderly stop. A job with nothing started or done
/// any more is queued again too. The caller pushes the tasks.
pub async fn hand_back(db: &PgPool, worker: &str) -> Result<Vec<TaskRecord>, StoreError> {
    let mut tx = db.begin().await?;
    let handed: Vec<TaskRecord> = sqlx::query_as(
        "UPDATE tasks SET state = 'queued', worker = NULL, heartbeat_at = NULL, pushed_at = NULL,
             progress = 0, updated_at = now()
         WHERE state = 'running' AND worker = $1 RETURNING *",
    )
    .bind(worker)
    .fetch_all(&mut *tx)
    .await?;
    let jobs: Vec<Uuid> = handed.iter().map(|t| t.job_id).collect();
    sqlx::query(
        "UPDATE jobs j SET state = 'queued', worker = NULL, updated_at = now()
         WHERE j.id = ANY($1) AND j.state = 'running'
           AND NOT EXISTS (SELECT 1 FROM tasks t WHERE t.job_id = j.id
                           AND t.state IN ('running', 'succeeded'))",
    )
    .bind(&jobs)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(handed)
}

/// Retrying tasks whose time has come become queued (row locks with SKIP
/// LOCKED: one worker takes each). The caller pushes them.
pub async fn due_retries(db: &PgPool, limit: i64) -> Result<Vec<TaskRecord>, StoreError> {
    Ok(sqlx::query_as(
        "UPDATE tasks SET state = 'queued', pushed_at = NULL, updated_at = now()
         WHERE id IN (SELECT id FROM tasks WHERE state = 'retrying' AND next_attempt_at <= now()
                      ORDER BY next_attempt_at LIMIT $1 FOR UPDATE SKIP LOCKED)
         RETURNING *",
    )
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// Results of a job's succeeded tasks of `kind`, by `seq`.
pub async fn results_of(
    db: &PgPool,
    job_id: Uuid,
    kind: TaskKind,
) -> Result<Vec<TaskRecord>, StoreError> {
    Ok(sqlx::query_as(
        "SELECT * FROM tasks WHERE job_id = $1 AND kind = $2 AND state = 'succeeded' ORDER BY seq",
    )
    .bind(job_id)
    .bind(kind)
    .fetch_all(db)
    .await?)
}
