//! Jobs going back to `queued`: retries whose time has come, and jobs handed
//! back at shutdown. Both become `queued` with `pushed_at` cleared in the
//! same statement, then are pushed; a push Redis refuses leaves the job
//! stranded, and the relay pushes it once Redis answers.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use vod_core::Services;
use vod_core::jobs::{JobQueue, JobRecord};

/// Jobs still running under this process go back to the queue without
/// counting as a lost worker: this was an orderly stop.
pub(super) async fn hand_back(services: &Services, queue: &JobQueue, name: &str) {
    let jobs: Result<Vec<JobRecord>, _> = sqlx::query_as(
        "UPDATE jobs SET state = 'queued', worker = NULL, stage = NULL, percent = NULL, heartbeat_at = NULL,
             pushed_at = NULL, updated_at = now()
         WHERE state = 'running' AND worker = $1 RETURNING *",
    )
    .bind(name)
    .fetch_all(&services.db)
    .await;
    match jobs {
        Ok(jobs) => {
            for job in jobs {
                tracing::warn!(job_id = %job.id, "grace period over: handing the job back");
                queue.push_or_strand(&services.db, job).await;
            }
        }
        Err(e) => tracing::error!(error = %e, "handing back jobs failed"),
    }
}

/// Jobs in `retrying` whose time has come are flipped to `queued` and pushed
/// by exactly one worker (row locks with SKIP LOCKED).
pub(super) async fn due_retries(
    services: Arc<Services>,
    queue: JobQueue,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        let due: Result<Vec<JobRecord>, _> = sqlx::query_as(
            "UPDATE jobs SET state = 'queued', pushed_at = NULL, updated_at = now()
             WHERE id IN (SELECT id FROM jobs WHERE state = 'retrying' AND next_attempt_at <= now()
                          ORDER BY next_attempt_at LIMIT 20 FOR UPDATE SKIP LOCKED)
             RETURNING *",
        )
        .fetch_all(&services.db)
        .await;
        match due {
            Ok(jobs) => {
                for job in jobs {
                    queue.push_or_strand(&services.db, job).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "scanning for due retries failed"),
        }
    }
}
