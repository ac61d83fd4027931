//! One unit of the worker's concurrency: an apalis consumer that runs one
//! task at a time, rebuilt whenever it stops.
//!
//! apalis' Redis consumer ends for good at the first failed heartbeat or
//! fetch (a Redis restart, a failover): its stream returns the error and
//! drops the futures it drives. So each task runs on a tokio task of its
//! own, which outlives the consumer that fetched it, and the slot builds a
//! new consumer (under a new name: apalis refuses to re-register a name it
//! saw alive moments ago) once Redis answers again and its task, if any, is
//! done. The dead consumer's delivery of that task is re-queued by apalis
//! later; its claim then finds the task finished (or held by this process)
//! and skips it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use apalis::prelude::{
    BoxDynError, Data, Event, EventListenerExt, WorkerBuilder, WorkerBuilderExt,
};
use tokio::sync::watch;
use vod_core::jobs::JobQueue;
use vod_core::store::TaskMessage;

use crate::task::TaskRunner;

const FIRST_BACKOFF: Duration = Duration::from_millis(500);
/// Caps the wait between two attempts to rebuild a consumer, and with it
/// the time from Redis being back to the next task starting.
const MAX_BACKOFF: Duration = Duration::from_secs(4);
/// A consumer that ran this long had reached Redis: start the backoff over.
const HEALTHY_RUN: Duration = Duration::from_secs(10);

#[derive(Clone)]
pub struct Slot {
    name: String,
    runner: Arc<TaskRunner>,
    /// Held by the task this slot runs, for as long as it runs.
    busy: Arc<tokio::sync::Mutex<()>>,
}

impl Slot {
    pub fn new(name: String, runner: Arc<TaskRunner>) -> Self {
        Self {
            name,
            runner,
            busy: Arc::new(tokio::sync::Mutex::new(())),
        }
    }
}

async fn handle(message: TaskMessage, slot: Data<Slot>) -> Result<(), BoxDynError> {
    let busy = slot.busy.clone().lock_owned().await;
    let runner = slot.runner.clone();
    let task = tokio::spawn(async move {
        let _busy = busy;
        runner.process(message).await
    });
    // Every outcome is recorded in Postgres; apalis only needs to know we
    // are done. If the consumer dies meanwhile, this future is dropped and
    // the task runs on.
    let _ = task.await;
    Ok(())
}

pub async fn run(slot: Slot, queue: JobQueue, mut stop: watch::Receiver<bool>) {
    let health = slot.runner.health.clone();
    let mut generation = 0u32;
    let mut backoff = FIRST_BACKOFF;
    loop {
        // A task fetched by the previous consumer may still run: this slot
        // takes no other until it is done.
        drop(slot.busy.lock().await);
        if *stop.borrow() {
            return;
        }
        generation += 1;
        let name = format!("{}-g{generation}", slot.name);
        let events = health.clone();
        let consumer = WorkerBuilder::new(name.clone())
            .backend(queue.storage())
            .data(slot.clone())
            .on_event(move |_, event| {
                if matches!(event, Event::HeartBeat) {
                    events.polled();
                }
            })
            .concurrency(1)
            .build(handle);
        let started = Instant::now();
        let mut until = stop.clone();
        let ended = consumer
            .run_until(async move {
                let _ = until.wait_for(|s| *s).await;
                Ok::<(), std::io::Error>(())
            })
            .await;
        if *stop.borrow() {
            // The task a dead consumer left running finishes (or is handed
            // back) before the slot counts as drained.
            drop(slot.busy.lock().await);
            return;
        }
        let error = match ended {
            Ok(()) => "the queue consumer stopped".to_owned(),
            Err(e) => e.to_string(),
        };
        if started.elapsed() >= HEALTHY_RUN {
            backoff = FIRST_BACKOFF;
        }
        health.consumer_restarted();
        if health.unreachable(error.clone()) {
            tracing::warn!(consumer = %name, %error, "lost the job queue; reconnecting (a running task continues)");
        } else {
            tracing::debug!(consumer = %name, %error, retry_in_ms = backoff.as_millis() as u64, "queue consumer stopped again");
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.wait_for(|s| *s) => {}
        }
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}
