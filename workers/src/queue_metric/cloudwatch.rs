//! The CloudWatch adapter of [`MetricSink`]: one `PutMetricData` per cycle.
//! Credentials come from the AWS default chain (the worker's task role on
//! ECS, whose policy allows `cloudwatch:PutMetricData` for this namespace
//! only), built by the same constructor as the S3 client.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_cloudwatch::config::retry::RetryConfig;
use aws_sdk_cloudwatch::config::timeout::TimeoutConfig;
use aws_sdk_cloudwatch::error::DisplayErrorContext;
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{Dimension, MetricDatum, StandardUnit};
use vod_core::aws::{self, ConfigLoader};

use super::{
    DIMENSION, METRIC_NAME, MetricSink, QueueDepthDatum, QueueMetricConfig, QueueMetricError,
};

#[derive(Debug, Clone)]
pub struct CloudWatchSink {
    client: aws_sdk_cloudwatch::Client,
}

impl CloudWatchSink {
    pub async fn from_config(cfg: &QueueMetricConfig, default_region: &str) -> Self {
        Self::from_config_with(cfg, default_region, aws::default_loader()).await
    }

    /// With the credential chain of `loader` (tests inject an environment).
    pub async fn from_config_with(
        cfg: &QueueMetricConfig,
        default_region: &str,
        loader: ConfigLoader,
    ) -> Self {
        let region = cfg.region.as_deref().unwrap_or(default_region);
        let shared = aws::sdk_config(loader, region, None).await;
        let mut builder = aws_sdk_cloudwatch::config::Builder::from(&shared)
            .retry_config(RetryConfig::standard().with_max_attempts(3))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(10))
                    .build(),
            );
        if let Some(endpoint) = &cfg.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Self {
            client: aws_sdk_cloudwatch::Client::from_conf(builder.build()),
        }
    }
}

#[async_trait]
impl MetricSink for CloudWatchSink {
    async fn put(&self, datum: &QueueDepthDatum) -> Result<(), QueueMetricError> {
        // Counts of waiting jobs stay far below 2^53: exact as a double.
        let value = datum.value as f64;
        let metric = MetricDatum::builder()
            .metric_name(METRIC_NAME)
            .dimensions(
                Dimension::builder()
                    .name(DIMENSION)
                    .value(&datum.environment)
                    .build(),
            )
            .unit(StandardUnit::Count)
            .value(value)
            .timestamp(DateTime::from(datum.timestamp))
            .build();
        self.client
            .put_metric_data()
            .namespace(&datum.namespace)
            .metric_data(metric)
            .send()
            .await
            .map_err(|e| QueueMetricError::Publish(DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }
}
