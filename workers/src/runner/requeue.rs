//! Tasks going back to `queued`: retries whose time has come, and tasks
//! handed back at shutdown. The store makes them `queued` with `pushed_at`
//! cleared; then they are pushed. A push Redis refuses leaves the task
//! stranded, and the relay pushes it once Redis answers.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use vod_core::Services;
use vod_core::jobs::JobQueue;
use vod_core::store::tasks;

/// Tasks still running under this process go back to the queue without
/// counting as a lost worker: this was an orderly stop.
pub(super) async fn hand_back(services: &Services, queue: &JobQueue, name: &str) {
    match tasks::hand_back(&services.db, name).await {
        Ok(handed) => {
            for task in handed {
                tracing::warn!(task_id = %task.id, job_id = %task.job_id, "grace period over: handing the task back");
                queue.push_or_strand(&services.db, task).await;
            }
        }
        Err(e) => tracing::error!(code = e.code(), error = %e, "handing back tasks failed"),
    }
}

/// Retrying tasks whose time has come are queued and pushed by exactly one
/// worker (row locks with SKIP LOCKED).
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
        match tasks::due_retries(&services.db, 20).await {
            Ok(due) => {
                for task in due {
                    queue.push_or_strand(&services.db, task).await;
                }
            }
            Err(e) => {
                tracing::warn!(code = e.code(), error = %e, "scanning for due retries failed")
            }
        }
    }
}
