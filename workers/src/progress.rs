//! Job progress: the pipeline reports on a blocking thread as often as it
//! likes; one async task writes the latest report to Postgres (with the
//! job's heartbeat) and publishes it on Redis at most every interval. The
//! same write tells the worker when the job was cancelled meanwhile.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use sqlx::PgPool;
use tokio::sync::watch;
use uuid::Uuid;
use vod_core::cache::Cache;
pub use vod_core::events::{JobEvent, events_channel, publish};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    pub stage: &'static str,
    pub percent: f32,
}

/// Remaining seconds from elapsed time and percent done.
pub fn eta_seconds(elapsed: Duration, percent: f32) -> Option<i32> {
    if !(0.5..100.0).contains(&percent) {
        return None;
    }
    let total = elapsed.as_secs_f64() * 100.0 / f64::from(percent);
    i32::try_from((total - elapsed.as_secs_f64()).max(0.0).round() as i64).ok()
}

/// Times each stage from its first report to the first report of the next,
/// synchronously with the reports so quick stages are not coalesced away.
#[derive(Debug)]
struct StageClock {
    stage: &'static str,
    since: Instant,
}

impl StageClock {
    fn advance(&mut self, stage: &'static str) {
        if stage != self.stage {
            crate::metrics::stage_finished(self.stage, self.since.elapsed());
            self.stage = stage;
            self.since = Instant::now();
        }
    }
}

/// Where reports go: the latest one for the writer task, and the stage clock.
#[derive(Debug, Clone)]
pub struct ProgressSink {
    tx: watch::Sender<Report>,
    clock: Arc<Mutex<StageClock>>,
}

impl ProgressSink {
    pub fn send_replace(&self, report: Report) {
        self.clock
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .advance(report.stage);
        self.tx.send_replace(report);
    }
}

pub struct Reporter {
    sink: ProgressSink,
    cancelled: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Reporter {
    /// `hand_back` is the worker's shutdown flag: once set, the job's pipeline
    /// is stopped like a cancelled one (the runner re-queues the job itself).
    pub fn start(
        db: PgPool,
        cache: Cache,
        worker: &str,
        job_id: Uuid,
        video_id: Uuid,
        every: Duration,
        hand_back: Arc<AtomicBool>,
    ) -> Self {
        let (tx, mut rx) = watch::channel(Report {
            stage: "downloading",
            percent: 0.0,
        });
        let cancelled = Arc::new(AtomicBool::new(false));
        let flag = cancelled.clone();
        let started = Instant::now();
        let worker = worker.to_owned();
        let task = tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                if hand_back.load(Ordering::SeqCst) {
                    flag.store(true, Ordering::SeqCst);
                    return;
                }
                let report = *rx.borrow_and_update();
                let eta = eta_seconds(started.elapsed(), report.percent);
                let still_running: Result<Option<String>, _> = sqlx::query_scalar(
                    "UPDATE jobs SET stage = $2, percent = $3, eta_seconds = $4, heartbeat_at = now(), updated_at = now()
                     WHERE id = $1 AND state = 'running' AND worker = $5 RETURNING state",
                )
                .bind(job_id)
                .bind(report.stage)
                .bind(report.percent)
                .bind(eta)
                .bind(&worker)
                .fetch_optional(&db)
                .await;
                match still_running {
                    Ok(None) => {
                        flag.store(true, Ordering::SeqCst);
                        tracing::info!(
                            "job is no longer running here (cancelled, or taken over after this worker went silent); stopping"
                        );
                    }
                    Ok(Some(_)) => {
                        let event = JobEvent {
                            video_id,
                            job_id,
                            state: "running".to_owned(),
                            stage: report.stage.to_owned(),
                            percent: report.percent,
                            eta_seconds: eta,
                            error_code: None,
                            error_message: None,
                            queue: None,
                        };
                        publish(&cache, &event).await;
                    }
                    Err(e) => tracing::warn!(error = %e, "writing job progress failed"),
                }
            }
        });
        let clock = Arc::new(Mutex::new(StageClock {
            stage: "downloading",
            since: started,
        }));
        Self {
            sink: ProgressSink { tx, clock },
            cancelled,
            task,
        }
    }

    /// A cheap handle for the pipeline thread.
    pub fn sender(&self) -> ProgressSink {
        self.sink.clone()
    }

    pub fn set(&self, stage: &'static str, percent: f32) {
        self.sink.send_replace(Report { stage, percent });
    }

    /// The job's work is done: its last stage counts as finished too.
    /// (A failed job's last stage did not finish and is not timed.)
    pub fn finish(&self) {
        let clock = self
            .sink
            .clock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        crate::metrics::stage_finished(clock.stage, clock.since.elapsed());
    }

    /// Set once the job left the `running` state under us (cancelled).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        self.cancelled.clone()
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        self.task.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_extrapolates_linearly_and_stays_quiet_when_unknown() {
        assert_eq!(eta_seconds(Duration::from_secs(10), 50.0), Some(10));
        assert_eq!(eta_seconds(Duration::from_secs(30), 75.0), Some(10));
        assert_eq!(eta_seconds(Duration::from_secs(10), 0.0), None);
        assert_eq!(eta_seconds(Duration::from_secs(10), 100.0), None);
    }
}
