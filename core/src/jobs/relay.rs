//! The relay: every task recorded as `queued` in PostgreSQL reaches the
//! Redis queue, whatever happened to its first push.
//!
//! - **Push**: queued tasks that were never pushed (Redis refused the push,
//!   or the process died between its commit and its push) are pushed.
//! - **Audit**: queued tasks marked pushed that the queue no longer holds
//!   (a Redis restarted without its data, a failover that lost the last
//!   writes) are marked stranded, and the next push round sends them again;
//!   running tasks whose worker went silent and whose delivery the queue no
//!   longer holds are pushed again too, so another worker takes them over.
//!
//! Both the API and every worker run it; row locks (`SKIP LOCKED`) keep two
//! relays from pushing the same row at once, and a duplicate push is
//! harmless anyway because a worker's claim is idempotent.

use std::time::{Duration, Instant};

use tokio::sync::watch;
use uuid::Uuid;

use super::{JobQueue, QueueError};
use crate::Services;
use crate::events::{JobEvent, publish};
use crate::store::{QueueStatus, TaskRecord};

#[derive(Debug, Clone)]
pub struct RelaySettings {
    /// How often stranded tasks are pushed.
    pub interval: Duration,
    /// A task that just became queued gets this long for its own push first.
    pub grace: Duration,
    /// How often the queue is audited against PostgreSQL.
    pub audit_every: Duration,
    /// Pushed tasks younger than this are not audited (they may be in flight).
    pub audit_min_age: Duration,
    /// A running task whose heartbeat is older than this, and that the queue
    /// does not hold, lost its worker and its delivery: it is pushed again.
    pub lost_running_after: Duration,
    /// Rows pushed per round.
    pub batch: i64,
}

impl Default for RelaySettings {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(2),
            grace: Duration::from_secs(2),
            audit_every: Duration::from_secs(10),
            audit_min_age: Duration::from_secs(10),
            lost_running_after: Duration::from_secs(60),
            batch: 100,
        }
    }
}

/// What an audit found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Audit {
    /// Queued tasks the queue no longer held, now stranded (pushed next round).
    pub lost_queued: Vec<Uuid>,
    /// Running tasks without a live worker or a delivery, pushed again.
    pub lost_running: Vec<Uuid>,
}

#[derive(Clone)]
pub struct Relay {
    services: Services,
    settings: RelaySettings,
}

impl Relay {
    pub fn new(services: Services, settings: RelaySettings) -> Self {
        Self { services, settings }
    }

    fn queue(&self) -> &JobQueue {
        &self.services.jobs
    }

    /// Pushes stranded tasks (never pushed, or found lost by an audit).
    /// The rows stay locked (`SKIP LOCKED` for other relays) and stranded
    /// until their push succeeded, so readers never see a job as waiting
    /// that is not in the queue. Stops at the first refused push: Redis is
    /// down, the rest would fail the same way and stay stranded.
    pub async fn push_stranded(&self) -> Result<Vec<Uuid>, QueueError> {
        let mut tx = self.services.db.begin().await?;
        let stranded: Vec<TaskRecord> = sqlx::query_as(
            "SELECT * FROM tasks
             WHERE state = 'queued' AND pushed_at IS NULL
               AND updated_at < now() - make_interval(secs => $1)
             ORDER BY created_at LIMIT $2 FOR UPDATE SKIP LOCKED",
        )
        .bind(self.settings.grace.as_secs_f64())
        .bind(self.settings.batch)
        .fetch_all(&mut *tx)
        .await?;
        let mut pushed = Vec::with_capacity(stranded.len());
        let mut refused = None;
        for task in &stranded {
            if let Err(e) = self.queue().push(task).await {
                refused = Some(e);
                break;
            }
            pushed.push(task.id);
        }
        sqlx::query("UPDATE tasks SET pushed_at = now() WHERE id = ANY($1)")
            .bind(&pushed)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        for task in stranded.iter().filter(|t| pushed.contains(&t.id)) {
            tracing::info!(task_id = %task.id, job_id = %task.job_id, "stranded task pushed to the queue");
            metrics::counter!("vod_queue_repushed_total", "reason" => "stranded").increment(1);
            let Ok(Some(job)) = crate::store::jobs::get_job(&self.services.db, task.job_id).await
            else {
                continue;
            };
            let event = JobEvent {
                video_id: job.video_id,
                job_id: job.id,
                state: "queued".to_owned(),
                stage: "queued".to_owned(),
                percent: 0.0,
                eta_seconds: None,
                error_code: None,
                error_message: None,
                queue: Some(QueueStatus::Waiting),
            };
            publish(&self.services.cache, &event).await;
        }
        match refused {
            Some(e) => Err(e),
            None => Ok(pushed),
        }
    }

    /// Compares the queue with PostgreSQL; see the module documentation.
    pub async fn audit(&self) -> Result<Audit, QueueError> {
        let db = &self.services.db;
        // The census first: a job pushed after it is younger than the age
        // limits below, so it cannot be taken for lost.
        let census = self.queue().census().await?;
        if census.undecodable > 0 {
            tracing::warn!(
                count = census.undecodable,
                "queue entries whose payload is not a transcode task"
            );
        }
        let candidates: Vec<Uuid> = sqlx::query_scalar(
            "SELECT id FROM tasks WHERE state = 'queued'
               AND pushed_at < now() - make_interval(secs => $1)",
        )
        .bind(self.settings.audit_min_age.as_secs_f64())
        .fetch_all(db)
        .await?;
        let missing: Vec<Uuid> = candidates
            .into_iter()
            .filter(|id| !census.holds(*id))
            .collect();
        let lost_queued: Vec<Uuid> = if missing.is_empty() {
            Vec::new()
        } else {
            sqlx::query_scalar(
                "UPDATE tasks SET pushed_at = NULL
                 WHERE id = ANY($1) AND state = 'queued'
                   AND pushed_at < now() - make_interval(secs => $2)
                 RETURNING id",
            )
            .bind(&missing)
            .bind(self.settings.audit_min_age.as_secs_f64())
            .fetch_all(db)
            .await?
        };
        for id in &lost_queued {
            tracing::warn!(task_id = %id, "the queue lost a queued task; it is pushed again");
            metrics::counter!("vod_queue_repushed_total", "reason" => "lost").increment(1);
        }

        let silent: Vec<TaskRecord> = sqlx::query_as(
            "SELECT * FROM tasks WHERE state = 'running'
               AND coalesce(heartbeat_at, updated_at) < now() - make_interval(secs => $1)",
        )
        .bind(self.settings.lost_running_after.as_secs_f64())
        .fetch_all(db)
        .await?;
        let mut lost_running = Vec::new();
        for task in silent.into_iter().filter(|t| !census.holds(t.id)) {
            tracing::warn!(task_id = %task.id, job_id = %task.job_id, worker = ?task.worker,
                "a running task's worker went silent and the queue no longer holds it; pushing it again");
            self.queue().push(&task).await?;
            metrics::counter!("vod_queue_repushed_total", "reason" => "lost_running").increment(1);
            lost_running.push(task.id);
        }
        Ok(Audit {
            lost_queued,
            lost_running,
        })
    }

    /// Pushes every `interval` and audits every `audit_every` until
    /// `shutdown` turns true. Failures are logged; the next round retries.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.settings.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_audit: Option<Instant> = None;
        let mut failing = false;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            let mut result = self.push_stranded().await.map(|_| ());
            // While failing, audit every round: its census is what tells
            // that Redis answers again.
            let audit_due =
                failing || last_audit.is_none_or(|t| t.elapsed() >= self.settings.audit_every);
            if result.is_ok() && audit_due {
                last_audit = Some(Instant::now());
                result = self.audit().await.map(|_| ());
            }
            match result {
                Ok(()) if failing => {
                    failing = false;
                    tracing::info!("queue relay: the queue answers again");
                }
                Ok(()) => {}
                // Once per outage, not every round.
                Err(e) if !failing => {
                    failing = true;
                    tracing::warn!(code = e.code(), error = %e,
                        "queue relay: cannot reach the queue; stranded tasks wait for it");
                }
                Err(_) => {}
            }
        }
    }
}

/// Spawns the relay on `services` until `shutdown`.
pub fn spawn(
    services: Services,
    settings: RelaySettings,
    shutdown: watch::Receiver<bool>,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(Relay::new(services, settings).run(shutdown))
}
