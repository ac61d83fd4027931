//! The `VOD/QueueDepth` metric that the worker autoscaling follows
//! (terraform/autoscaling.tf): jobs waiting in the transcode queue, published
//! by every worker every `VOD_QUEUE_METRIC_INTERVAL_SECS`. The policy reads
//! the `Maximum`, so several workers publishing the same value is harmless,
//! and the metric keeps arriving as long as one worker runs. Beside it,
//! `VOD/StrandedJobs`: jobs recorded as queued in PostgreSQL that are not in
//! the queue (Redis refused or lost them; the relay pushes them again), read
//! from PostgreSQL so it still arrives while Redis is down.
//!
//! The loop depends on two small ports, a [`DepthSource`] (the apalis queue
//! in Redis and the jobs table) and a [`MetricSink`] (CloudWatch, [`cloudwatch::CloudWatchSink`]),
//! so it is tested with in-memory ones. A failed cycle is logged and the next
//! one tries again: the metric must never stop a worker.

use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use clap::Args;
use sqlx::PgPool;
use tokio::sync::watch;
use vod_core::jobs::{JobQueue, QueueError};

pub mod cloudwatch;

pub const METRIC_NAME: &str = "QueueDepth";
pub const STRANDED_METRIC_NAME: &str = "StrandedJobs";
/// The dimension the scaling policy selects the metric by.
pub const DIMENSION: &str = "Environment";
pub const DEFAULT_INTERVAL_SECS: u64 = 60;

#[derive(Debug, Clone, Args)]
pub struct QueueMetricConfig {
    /// CloudWatch namespace of the `QueueDepth` metric (terraform's
    /// `queue_metric_namespace`, `VOD`). Unset or empty: not published.
    #[arg(
        id = "queue-metric-namespace",
        long = "queue-metric-namespace",
        env = "VOD_QUEUE_METRIC_NAMESPACE"
    )]
    pub namespace: Option<String>,
    /// Value of the metric's `Environment` dimension (`<name>-<environment>`);
    /// required with a namespace.
    #[arg(
        id = "queue-metric-environment",
        long = "queue-metric-environment",
        env = "VOD_QUEUE_METRIC_ENVIRONMENT",
        default_value = ""
    )]
    pub environment: String,
    /// Seconds between two datapoints (CloudWatch keeps one-minute resolution).
    #[arg(
        id = "queue-metric-interval-secs",
        long = "queue-metric-interval-secs",
        env = "VOD_QUEUE_METRIC_INTERVAL_SECS",
        default_value_t = DEFAULT_INTERVAL_SECS
    )]
    pub interval_secs: u64,
    /// CloudWatch endpoint URL; unset = the SDK's regional endpoint.
    #[arg(
        id = "queue-metric-endpoint",
        long = "queue-metric-endpoint",
        env = "VOD_QUEUE_METRIC_ENDPOINT"
    )]
    pub endpoint: Option<String>,
    /// Region of the metric; unset = `VOD_S3_REGION`.
    #[arg(
        id = "queue-metric-region",
        long = "queue-metric-region",
        env = "VOD_QUEUE_METRIC_REGION"
    )]
    pub region: Option<String>,
}

/// The flags' defaults, for code that builds a config without parsing.
impl Default for QueueMetricConfig {
    fn default() -> Self {
        Self {
            namespace: None,
            environment: String::new(),
            interval_secs: DEFAULT_INTERVAL_SECS,
            endpoint: None,
            region: None,
        }
    }
}

/// Where and how often to publish, once the config is known to be usable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricTarget {
    pub namespace: String,
    pub environment: String,
    pub interval: Duration,
}

impl QueueMetricConfig {
    /// `None` when publishing is off; an error when it is on but unusable.
    pub fn target(&self) -> Result<Option<MetricTarget>, QueueMetricError> {
        let Some(namespace) = self.namespace.as_deref().map(str::trim) else {
            return Ok(None);
        };
        if namespace.is_empty() {
            return Ok(None);
        }
        let environment = self.environment.trim();
        if environment.is_empty() {
            return Err(QueueMetricError::MissingEnvironment);
        }
        Ok(Some(MetricTarget {
            namespace: namespace.to_owned(),
            environment: environment.to_owned(),
            interval: Duration::from_secs(self.interval_secs.max(1)),
        }))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum QueueMetricError {
    #[error(
        "VOD_QUEUE_METRIC_ENVIRONMENT must be set when VOD_QUEUE_METRIC_NAMESPACE is: \
         the autoscaling policy selects the metric by its Environment dimension"
    )]
    MissingEnvironment,
    #[error("reading the queue depth failed: {0}")]
    Depth(#[from] QueueError),
    #[error("CloudWatch PutMetricData failed: {0}")]
    Publish(String),
    #[error("no answer within {0:?}")]
    TimedOut(Duration),
}

impl QueueMetricError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::MissingEnvironment => "queue_metric.missing_environment",
            Self::Depth(_) => "queue_metric.depth",
            Self::Publish(_) => "queue_metric.publish",
            Self::TimedOut(_) => "queue_metric.timed_out",
        }
    }
}

/// One cycle's datapoints under `<namespace>` with `Environment=<environment>`:
/// `QueueDepth` (jobs waiting in Redis) and `StrandedJobs`; each is left out
/// when it could not be read, never sent as a zero.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueDepthDatum {
    pub namespace: String,
    pub environment: String,
    pub waiting: Option<u64>,
    pub stranded: Option<u64>,
    pub timestamp: SystemTime,
}

/// What one cycle read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Depth {
    pub waiting: Option<u64>,
    pub stranded: Option<u64>,
}

#[async_trait]
pub trait DepthSource: Send + Sync {
    async fn waiting(&self) -> Result<u64, QueueMetricError>;
    async fn stranded(&self) -> Result<u64, QueueMetricError>;
}

/// The real source: the apalis queue in Redis and the jobs table.
#[derive(Clone)]
pub struct QueueCounts {
    pub queue: JobQueue,
    pub db: PgPool,
}

#[async_trait]
impl DepthSource for QueueCounts {
    async fn waiting(&self) -> Result<u64, QueueMetricError> {
        Ok(self.queue.waiting().await?)
    }

    async fn stranded(&self) -> Result<u64, QueueMetricError> {
        let counts = vod_core::jobs::queued_counts(&self.db).await?;
        Ok(u64::try_from(counts.stranded).unwrap_or(0))
    }
}

#[async_trait]
pub trait MetricSink: Send + Sync {
    async fn put(&self, datum: &QueueDepthDatum) -> Result<(), QueueMetricError>;
}

pub struct Publisher<D, S> {
    pub source: D,
    pub sink: S,
    pub target: MetricTarget,
}

impl<D: DepthSource, S: MetricSink> Publisher<D, S> {
    /// One cycle: read both counts, publish what could be read; returns it.
    /// Fails only when neither could be read (nothing is sent then).
    pub async fn publish_once(&self) -> Result<Depth, QueueMetricError> {
        let (waiting, stranded) = tokio::join!(self.source.waiting(), self.source.stranded());
        let depth = match (waiting, stranded) {
            (Err(e), Err(_)) => return Err(e),
            (waiting, stranded) => {
                if let Err(e) = &waiting {
                    tracing::warn!(code = e.code(), error = %e, "{METRIC_NAME} not read; publishing {STRANDED_METRIC_NAME} only");
                }
                Depth {
                    waiting: waiting.ok(),
                    stranded: stranded.ok(),
                }
            }
        };
        let datum = QueueDepthDatum {
            namespace: self.target.namespace.clone(),
            environment: self.target.environment.clone(),
            waiting: depth.waiting,
            stranded: depth.stranded,
            timestamp: SystemTime::now(),
        };
        self.sink.put(&datum).await?;
        Ok(depth)
    }

    /// Publishes at once, then every interval, until `shutdown` turns true
    /// (or its sender is gone). Failures are logged, never returned.
    pub async fn run(self, mut shutdown: watch::Receiver<bool>) {
        let interval = self.target.interval;
        let mut tick = tokio::time::interval(interval);
        // After a slow cycle, wait a whole interval again rather than burst.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tracing::info!(
            namespace = %self.target.namespace,
            environment = %self.target.environment,
            interval_s = interval.as_secs(),
            "publishing the {METRIC_NAME} metric"
        );
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.wait_for(|s| *s) => return,
            }
            // A hung endpoint must not pile cycles up behind it.
            let outcome = match tokio::time::timeout(interval, self.publish_once()).await {
                Ok(outcome) => outcome,
                Err(_) => Err(QueueMetricError::TimedOut(interval)),
            };
            match outcome {
                Ok(depth) => tracing::debug!(?depth, "{METRIC_NAME} published"),
                Err(e) => tracing::warn!(
                    code = e.code(),
                    error = %e,
                    retry_in_s = interval.as_secs(),
                    "publishing {METRIC_NAME} failed"
                ),
            }
        }
    }
}

/// Starts the publisher for this worker when the config asks for it; the
/// task ends with `shutdown`. `default_region` is the S3 region.
pub async fn spawn(
    cfg: &QueueMetricConfig,
    default_region: &str,
    queue: JobQueue,
    db: PgPool,
    shutdown: watch::Receiver<bool>,
) -> Result<Option<tokio::task::JoinHandle<()>>, QueueMetricError> {
    let Some(target) = cfg.target()? else {
        tracing::debug!("VOD_QUEUE_METRIC_NAMESPACE unset: {METRIC_NAME} not published");
        return Ok(None);
    };
    let sink = cloudwatch::CloudWatchSink::from_config(cfg, default_region).await;
    let publisher = Publisher {
        source: QueueCounts { queue, db },
        sink,
        target,
    };
    Ok(Some(tokio::spawn(publisher.run(shutdown))))
}

#[cfg(test)]
mod tests;
