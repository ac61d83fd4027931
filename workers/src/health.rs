//! What a worker knows about itself, for its `/healthz` endpoint and for
//! the rule that makes a deaf worker exit: the state of its connection to
//! the job queue, the last time it polled the queue, and the jobs it holds.
//!
//! The queue counts as unreachable from the first failed poll or probe
//! until the next successful one. A worker unable to reach it for longer
//! than `VOD_WORKER_QUEUE_OUTAGE_EXIT_SECS`, and holding no job, exits
//! non-zero so its orchestrator (ECS, systemd, the demo) starts a new one;
//! a held job needs no queue to finish (its progress goes to PostgreSQL),
//! so the worker lets it finish first.

use std::collections::BTreeMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use serde::Serialize;
use uuid::Uuid;

#[derive(Debug)]
pub struct Health {
    worker: String,
    exit_after: Option<Duration>,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    connected: Option<bool>,
    last_poll_at: Option<DateTime<Utc>>,
    unreachable_since: Option<(Instant, DateTime<Utc>)>,
    last_error: Option<String>,
    consumer_restarts: u64,
    jobs: BTreeMap<Uuid, HeldJob>,
}

/// A task this process runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeldJob {
    pub task_id: Uuid,
    pub job_id: Uuid,
    pub video_id: Uuid,
    pub since: DateTime<Utc>,
}

/// `ok`: polling; `degraded`: the queue is unreachable but the limit is not
/// reached, or a held job delays the exit; `failing`: the worker is exiting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Ok,
    Degraded,
    Failing,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct QueueReport {
    /// The last poll or probe reached Redis (`null` before the first).
    pub connected: Option<bool>,
    /// Last successful poll of the queue (a fetch or heartbeat of the consumer).
    pub last_poll_at: Option<DateTime<Utc>>,
    /// Since when the queue cannot be reached, if it cannot.
    pub unreachable_since: Option<DateTime<Utc>>,
    pub unreachable_secs: Option<f64>,
    pub last_error: Option<String>,
    /// The worker exits after this long without the queue (`null`: never).
    pub exit_after_secs: Option<u64>,
    /// Times a queue consumer was rebuilt after losing its connection.
    pub consumer_restarts: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub status: Status,
    pub worker: String,
    pub queue: QueueReport,
    pub jobs: Vec<HeldJob>,
}

impl Health {
    pub fn new(worker: impl Into<String>, exit_after: Option<Duration>) -> Self {
        Self {
            worker: worker.into(),
            exit_after,
            state: Mutex::new(State::default()),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A consumer registered, fetched or sent its heartbeat.
    pub fn polled(&self) {
        let mut s = self.state();
        if let Some((since, _)) = s.unreachable_since.take() {
            tracing::info!(
                outage_s = since.elapsed().as_secs_f64(),
                "the job queue answers again"
            );
        }
        s.connected = Some(true);
        s.last_poll_at = Some(Utc::now());
    }

    /// A probe of the queue's connection answered.
    pub fn reachable(&self) {
        let mut s = self.state();
        if let Some((since, _)) = s.unreachable_since.take() {
            tracing::info!(
                outage_s = since.elapsed().as_secs_f64(),
                "the job queue answers again"
            );
        }
        s.connected = Some(true);
    }

    /// A poll or probe failed. Returns true for the first failure of an
    /// outage (callers log that one loudly, the rest quietly).
    pub fn unreachable(&self, error: impl Into<String>) -> bool {
        let mut s = self.state();
        s.connected = Some(false);
        s.last_error = Some(error.into());
        if s.unreachable_since.is_none() {
            s.unreachable_since = Some((Instant::now(), Utc::now()));
            return true;
        }
        false
    }

    pub fn consumer_restarted(&self) {
        self.state().consumer_restarts += 1;
    }

    pub fn task_started(&self, task_id: Uuid, job_id: Uuid, video_id: Uuid) {
        self.state().jobs.insert(
            task_id,
            HeldJob {
                task_id,
                job_id,
                video_id,
                since: Utc::now(),
            },
        );
    }

    pub fn task_ended(&self, task_id: Uuid) {
        self.state().jobs.remove(&task_id);
    }

    /// Whether this process runs `task_id` right now.
    pub fn holds(&self, task_id: Uuid) -> bool {
        self.state().jobs.contains_key(&task_id)
    }

    /// How long the queue has been unreachable, if it is.
    pub fn outage(&self) -> Option<Duration> {
        self.state().unreachable_since.map(|(t, _)| t.elapsed())
    }

    /// `Some(outage)` once the worker must exit: the queue has been
    /// unreachable for longer than the limit and no job is held.
    pub fn must_exit(&self) -> Option<Duration> {
        let limit = self.exit_after?;
        let s = self.state();
        let outage = s.unreachable_since.map(|(t, _)| t.elapsed())?;
        (outage >= limit && s.jobs.is_empty()).then_some(outage)
    }

    pub fn last_error(&self) -> Option<String> {
        self.state().last_error.clone()
    }

    pub fn report(&self) -> Report {
        let exiting = self.must_exit().is_some();
        let s = self.state();
        let status = if exiting {
            Status::Failing
        } else if s.unreachable_since.is_some() {
            Status::Degraded
        } else {
            Status::Ok
        };
        Report {
            status,
            worker: self.worker.clone(),
            queue: QueueReport {
                connected: s.connected,
                last_poll_at: s.last_poll_at,
                unreachable_since: s.unreachable_since.map(|(_, at)| at),
                unreachable_secs: s.unreachable_since.map(|(t, _)| t.elapsed().as_secs_f64()),
                last_error: s.last_error.clone(),
                exit_after_secs: self.exit_after.map(|d| d.as_secs()),
                consumer_restarts: s.consumer_restarts,
            },
            jobs: s.jobs.values().cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outage_starts_at_the_first_failure_and_ends_at_the_next_success() {
        let h = Health::new("w", Some(Duration::ZERO));
        assert_eq!(h.report().status, Status::Ok);
        assert!(h.unreachable("broken pipe"));
        assert!(!h.unreachable("connection refused"));
        let r = h.report();
        assert_eq!(r.queue.connected, Some(false));
        assert_eq!(r.queue.last_error.as_deref(), Some("connection refused"));
        assert!(r.queue.unreachable_since.is_some());
        h.reachable();
        let r = h.report();
        assert_eq!(r.status, Status::Ok);
        assert_eq!(r.queue.unreachable_since, None);
        assert_eq!(r.queue.last_poll_at, None, "a probe is not a poll");
        h.polled();
        assert!(h.report().queue.last_poll_at.is_some());
    }

    #[test]
    fn a_held_job_delays_the_exit_and_no_limit_means_never() {
        let h = Health::new("w", Some(Duration::ZERO));
        let (task, job, video) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
        h.task_started(task, job, video);
        h.unreachable("refused");
        assert!(h.holds(task));
        assert_eq!(h.must_exit(), None);
        assert_eq!(h.report().status, Status::Degraded);
        assert_eq!(h.report().jobs.len(), 1);
        h.task_ended(task);
        assert!(h.must_exit().is_some());
        assert_eq!(h.report().status, Status::Failing);

        let never = Health::new("w", None);
        never.unreachable("refused");
        assert_eq!(never.must_exit(), None);
        assert_eq!(never.report().status, Status::Degraded);
    }
}
