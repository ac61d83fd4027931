//! Task progress: the pipeline reports on a blocking thread as often as it
//! likes; one async task writes the latest report to the store (the task's
//! heartbeat and progress, and the job's progress over all its tasks) and
//! publishes the job's on Redis at most every interval. The same write
//! tells the worker when the task is no longer its to run (the job was
//! cancelled or failed elsewhere, or another worker took the task over).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::watch;
use uuid::Uuid;
use vod_core::Services;
pub use vod_core::events::{JobEvent, events_channel, publish};

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    pub stage: &'static str,
    pub percent: f32,
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
    /// `hand_back` is the worker's shutdown flag: once set, the task's pipeline
    /// is stopped like a cancelled one (the runner re-queues the task itself).
    pub fn start(
        services: Arc<Services>,
        worker: &str,
        task_id: Uuid,
        every: Duration,
        hand_back: Arc<AtomicBool>,
    ) -> Self {
        let (tx, mut rx) = watch::channel(Report {
            stage: "starting",
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
                let beat = vod_core::store::tasks::heartbeat(
                    &services.db,
                    task_id,
                    &worker,
                    report.percent,
                    report.stage,
                )
                .await;
                match beat {
                    Ok(None) => {
                        flag.store(true, Ordering::SeqCst);
                        tracing::info!(
                            "task is no longer running here (its job was cancelled or failed, or another worker took it over); stopping"
                        );
                    }
                    Ok(Some(job)) => {
                        let event = JobEvent {
                            video_id: job.video_id,
                            job_id: job.id,
                            state: job.state.to_string(),
                            stage: report.stage.to_owned(),
                            percent: job.percent.unwrap_or(0.0),
                            eta_seconds: job.eta_seconds,
                            error_code: None,
                            error_message: None,
                            queue: None,
                        };
                        publish(&services.cache, &event).await;
                    }
                    Err(e) => {
                        tracing::warn!(code = e.code(), error = %e, "writing task progress failed")
                    }
                }
            }
        });
        let clock = Arc::new(Mutex::new(StageClock {
            stage: "starting",
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

    /// Set once the task is no longer ours to run (cancelled, taken over).
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
