//! `VOD/QueueDepth`: real jobs waiting in the real local Redis, one publish
//! cycle of the worker's publisher with the real CloudWatch SDK client, sent
//! to a loopback stand-in and checked against botocore's CloudWatch model.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_types::os_shim_internal::{Env, Fs};
use vod_core::aws::{ConfigLoader, default_loader};
use vod_core::db::{self, NewVideo};
use vod_tests::TestEnv;
use vod_tests::cloudwatch::{self, CloudWatchStandIn};
use vod_workers::queue_metric::cloudwatch::CloudWatchSink;
use vod_workers::queue_metric::{Depth, Publisher, QueueCounts, QueueMetricConfig};

/// The default chain with keys in its (injected) environment, as a worker
/// on ECS gets them from its task role.
fn chain() -> ConfigLoader {
    default_loader()
        .env(Env::from_slice(&[
            ("AWS_ACCESS_KEY_ID", "AKIDQUEUEMETRICTEST"),
            ("AWS_SECRET_ACCESS_KEY", "queue-metric-test-secret"),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ]))
        .fs(Fs::from_slice(&[]))
}

async fn enqueue(env: &TestEnv, n: usize) {
    enqueue_from(env, 0, n).await;
}

async fn enqueue_more(env: &TestEnv) {
    enqueue_from(env, 100, 1).await;
}

async fn enqueue_from(env: &TestEnv, first: usize, n: usize) {
    for i in first..first + n {
        let id = uuid::Uuid::now_v7();
        db::insert_video(
            &env.services.db,
            &NewVideo {
                id,
                title: &format!("waiting {i}"),
                description: "",
                tags: &[],
            },
        )
        .await
        .unwrap();
        env.services
            .jobs
            .enqueue_transcode(&env.services.db, id, &format!("qd:{i}"))
            .await
            .unwrap();
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[tokio::test]
async fn one_cycle_publishes_the_waiting_jobs_to_cloudwatch() {
    let env = TestEnv::start("queue_metric").await;
    let standin = CloudWatchStandIn::start().await;
    enqueue(&env, 3).await;
    // Nothing consumes this test's queue: all three are waiting.
    assert_eq!(env.services.jobs.waiting().await.unwrap(), 3);

    let cfg = QueueMetricConfig {
        namespace: Some("VOD".into()),
        environment: env.id.clone(),
        endpoint: Some(standin.url.clone()),
        region: Some("eu-west-1".into()),
        ..QueueMetricConfig::default()
    };
    let publisher = Publisher {
        source: QueueCounts {
            queue: env.services.jobs.clone(),
            db: env.services.db.clone(),
        },
        sink: CloudWatchSink::from_config_with(&cfg, "garage", chain()).await,
        target: cfg.target().unwrap().unwrap(),
    };
    let before = now_secs();
    assert_eq!(
        publisher.publish_once().await.unwrap(),
        Depth {
            waiting: Some(3),
            stranded: Some(0)
        }
    );

    let requests = standin.requests();
    assert_eq!(requests.len(), 1, "{requests:?}");
    let (errors, body) = cloudwatch::check("PutMetricData", &requests[0]);
    assert!(
        errors.is_empty(),
        "PutMetricData does not conform to the CloudWatch model: {errors:#?}"
    );
    assert_eq!(body["Namespace"], "VOD");
    let data = body["MetricData"].as_array().unwrap();
    assert_eq!(data.len(), 2, "{body}");
    let datum = &data[0];
    assert_eq!(data[1]["MetricName"], "StrandedJobs");
    assert_eq!(data[1]["Value"].as_f64(), Some(0.0), "{body}");
    assert_eq!(data[1]["Dimensions"], datum["Dimensions"]);
    assert_eq!(datum["MetricName"], "QueueDepth");
    assert_eq!(
        datum["Dimensions"],
        serde_json::json!([{"Name": "Environment", "Value": env.id}])
    );
    assert_eq!(datum["Value"].as_f64(), Some(3.0), "{datum}");
    assert_eq!(datum["Unit"], "Count");
    let at = datum["Timestamp"].as_f64().unwrap();
    assert!(at >= before.floor() - 1.0 && at <= now_secs() + 1.0, "{at}");
    // Signed with the chain's keys for CloudWatch ("monitoring") in the region.
    let auth = requests[0].headers["authorization"].to_str().unwrap();
    assert!(
        auth.contains("Credential=AKIDQUEUEMETRICTEST/")
            && auth.contains("/eu-west-1/monitoring/aws4_request"),
        "{auth}"
    );

    // Each cycle reads the queue again.
    enqueue_more(&env).await;
    assert_eq!(publisher.publish_once().await.unwrap().waiting, Some(4));
    let (_, body) = cloudwatch::check("PutMetricData", &standin.requests()[1]);
    assert_eq!(body["MetricData"][0]["Value"].as_f64(), Some(4.0));
    env.cleanup().await;
}

#[tokio::test]
async fn a_refused_publish_is_an_error_with_a_code_and_the_loop_goes_on() {
    let env = TestEnv::start("queue_metric_err").await;
    let standin = CloudWatchStandIn::start().await;
    standin.fail_with("InvalidParameterValue");
    let cfg = QueueMetricConfig {
        namespace: Some("VOD".into()),
        environment: env.id.clone(),
        interval_secs: 1,
        endpoint: Some(standin.url.clone()),
        ..QueueMetricConfig::default()
    };
    let publisher = Publisher {
        source: QueueCounts {
            queue: env.services.jobs.clone(),
            db: env.services.db.clone(),
        },
        sink: CloudWatchSink::from_config_with(&cfg, "us-east-1", chain()).await,
        target: cfg.target().unwrap().unwrap(),
    };
    let err = publisher.publish_once().await.unwrap_err();
    assert_eq!(err.code(), "queue_metric.publish");
    assert!(err.to_string().contains("InvalidParameterValue"), "{err}");

    // The loop logs and carries on: it keeps calling every interval.
    let (stop, rx) = tokio::sync::watch::channel(false);
    let task = tokio::spawn(publisher.run(rx));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while standin.requests().len() < 3 {
        assert!(std::time::Instant::now() < deadline, "the loop stopped");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(!task.is_finished());
    stop.send(true).unwrap();
    tokio::time::timeout(Duration::from_secs(5), task)
        .await
        .unwrap()
        .unwrap();
    env.cleanup().await;
}

#[test]
fn the_model_check_reports_broken_requests() {
    let report = cloudwatch::selftest();
    assert!(report["cases"].as_u64().unwrap() >= 10, "{report}");
}
