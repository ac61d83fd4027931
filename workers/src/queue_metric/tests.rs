//! The publishing loop with in-memory ports: what it sends, and that no
//! failure (depth, sink, a hung endpoint) stops it.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use clap::Parser;

use super::*;

#[derive(Default, Clone)]
struct Scripted {
    /// Popped per call; the last answer repeats.
    depths: Arc<Mutex<VecDeque<Result<u64, String>>>>,
    /// What every read of the stranded count answers.
    stranded: Option<u64>,
}

impl Scripted {
    fn new(answers: &[Result<u64, &str>]) -> Self {
        let q = answers
            .iter()
            .map(|a| a.map_err(str::to_owned))
            .collect::<VecDeque<_>>();
        Self {
            depths: Arc::new(Mutex::new(q)),
            stranded: Some(0),
        }
    }

    fn stranded(mut self, answer: Option<u64>) -> Self {
        self.stranded = answer;
        self
    }
}

#[async_trait]
impl DepthSource for Scripted {
    async fn waiting(&self) -> Result<u64, QueueMetricError> {
        let mut q = self.depths.lock().unwrap();
        let next = if q.len() > 1 {
            q.pop_front()
        } else {
            q.front().cloned()
        };
        match next {
            Some(Ok(v)) => Ok(v),
            Some(Err(e)) => Err(QueueMetricError::Depth(QueueError::Backend(e))),
            None => Ok(0),
        }
    }

    async fn stranded(&self) -> Result<u64, QueueMetricError> {
        self.stranded
            .ok_or_else(|| QueueMetricError::Depth(QueueError::Backend("postgres down".into())))
    }
}

/// Records every datum; fails the calls listed in `fail`, hangs on `hang`.
#[derive(Default, Clone)]
struct Memory {
    sent: Arc<Mutex<Vec<QueueDepthDatum>>>,
    calls: Arc<Mutex<usize>>,
    fail: Vec<usize>,
    hang: Vec<usize>,
}

#[async_trait]
impl MetricSink for Memory {
    async fn put(&self, datum: &QueueDepthDatum) -> Result<(), QueueMetricError> {
        let n = {
            let mut calls = self.calls.lock().unwrap();
            *calls += 1;
            *calls
        };
        if self.hang.contains(&n) {
            std::future::pending::<()>().await;
        }
        if self.fail.contains(&n) {
            return Err(QueueMetricError::Publish("throttled".into()));
        }
        self.sent.lock().unwrap().push(datum.clone());
        Ok(())
    }
}

fn target(interval: Duration) -> MetricTarget {
    MetricTarget {
        namespace: "VOD".into(),
        environment: "vod-prod".into(),
        interval,
    }
}

#[tokio::test]
async fn one_cycle_sends_the_waiting_count_with_namespace_and_dimension() {
    let sink = Memory::default();
    let publisher = Publisher {
        source: Scripted::new(&[Ok(7)]).stranded(Some(2)),
        sink: sink.clone(),
        target: target(Duration::from_secs(60)),
    };
    let before = SystemTime::now();
    let depth = publisher.publish_once().await.unwrap();
    assert_eq!(
        depth,
        Depth {
            waiting: Some(7),
            stranded: Some(2)
        }
    );
    let sent = sink.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].namespace, "VOD");
    assert_eq!(sent[0].environment, "vod-prod");
    assert_eq!((sent[0].waiting, sent[0].stranded), (Some(7), Some(2)));
    assert!(sent[0].timestamp >= before && sent[0].timestamp <= SystemTime::now());
}

#[tokio::test]
async fn a_failed_depth_read_publishes_nothing_rather_than_a_zero() {
    let sink = Memory::default();
    let publisher = Publisher {
        source: Scripted::new(&[Err("redis down")]).stranded(None),
        sink: sink.clone(),
        target: target(Duration::from_secs(60)),
    };
    let err = publisher.publish_once().await.unwrap_err();
    assert_eq!(err.code(), "queue_metric.depth");
    assert!(sink.sent.lock().unwrap().is_empty());
}

#[tokio::test]
async fn with_redis_down_the_stranded_count_is_still_published_alone() {
    let sink = Memory::default();
    let publisher = Publisher {
        source: Scripted::new(&[Err("redis down")]).stranded(Some(4)),
        sink: sink.clone(),
        target: target(Duration::from_secs(60)),
    };
    let depth = publisher.publish_once().await.unwrap();
    assert_eq!((depth.waiting, depth.stranded), (None, Some(4)));
    let sent = sink.sent.lock().unwrap().clone();
    assert_eq!((sent[0].waiting, sent[0].stranded), (None, Some(4)));
}

#[tokio::test]
async fn the_loop_survives_every_kind_of_failure_and_stops_on_shutdown() {
    let interval = Duration::from_millis(40);
    let sink = Memory {
        // Call 1 fails, call 2 hangs past the interval, then all is well.
        fail: vec![1],
        hang: vec![2],
        ..Memory::default()
    };
    let publisher = Publisher {
        // Cycle 1's depth read fails before any call; then 3, 4, 5 (repeated).
        source: Scripted::new(&[Err("redis down"), Ok(3), Ok(4), Ok(5)]).stranded(None),
        sink: sink.clone(),
        target: target(interval),
    };
    let (stop, rx) = watch::channel(false);
    let task = tokio::spawn(publisher.run(rx));
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    while sink.sent.lock().unwrap().len() < 3 {
        assert!(
            std::time::Instant::now() < deadline,
            "the loop stopped publishing"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(2), task)
        .await
        .expect("the loop ends on shutdown")
        .unwrap();
    let values: Vec<u64> = sink
        .sent
        .lock()
        .unwrap()
        .iter()
        .filter_map(|d| d.waiting)
        .collect();
    // 3 went to the failing call, 4 to the hung one; later cycles carry on.
    assert_eq!(values[..2], [5, 5], "{values:?}");
    assert!(*sink.calls.lock().unwrap() >= 4);
}

#[tokio::test]
async fn a_dropped_shutdown_sender_ends_the_loop() {
    let (stop, rx) = watch::channel(false);
    drop(stop);
    let publisher = Publisher {
        source: Scripted::new(&[Ok(1)]),
        sink: Memory::default(),
        target: target(Duration::from_secs(3600)),
    };
    tokio::time::timeout(Duration::from_secs(2), publisher.run(rx))
        .await
        .expect("no sender, no loop");
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    metric: QueueMetricConfig,
}

fn parse(args: &[&str]) -> QueueMetricConfig {
    let mut argv = vec!["x"];
    argv.extend_from_slice(args);
    Cli::try_parse_from(argv).unwrap().metric
}

#[test]
fn publishing_is_off_without_a_namespace_and_refused_without_an_environment() {
    let off = parse(&["--queue-metric-namespace", ""]).target().unwrap();
    assert_eq!(off, None);
    let on = parse(&[
        "--queue-metric-namespace",
        "VOD",
        "--queue-metric-environment",
        "vod-prod",
        "--queue-metric-interval-secs",
        "0",
    ]);
    assert_eq!(
        on.target().unwrap(),
        Some(MetricTarget {
            namespace: "VOD".into(),
            environment: "vod-prod".into(),
            interval: Duration::from_secs(1),
        })
    );
    let half = parse(&[
        "--queue-metric-namespace",
        "VOD",
        "--queue-metric-environment",
        " ",
    ]);
    let err = half.target().unwrap_err();
    assert_eq!(err.code(), "queue_metric.missing_environment");
    assert!(
        err.to_string().contains("VOD_QUEUE_METRIC_ENVIRONMENT"),
        "{err}"
    );
}

#[test]
fn default_matches_the_flags_defaults() {
    // The environment may set VOD_QUEUE_METRIC_*; compare only in a clean one.
    if std::env::vars().any(|(k, _)| k.starts_with("VOD_QUEUE_METRIC_")) {
        return;
    }
    assert_eq!(
        format!("{:?}", parse(&[])),
        format!("{:?}", QueueMetricConfig::default())
    );
}
