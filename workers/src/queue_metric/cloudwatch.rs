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
    STRANDED_METRIC_NAME,
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
        let at = DateTime::from(datum.timestamp);
        let data = [
            (METRIC_NAME, datum.waiting),
            (STRANDED_METRIC_NAME, datum.stranded),
        ]
        .into_iter()
        .filter_map(|(name, value)| {
            // Job counts stay far below 2^53: exact as a double.
            value.map(|v| {
                MetricDatum::builder()
                    .metric_name(name)
                    .dimensions(
                        Dimension::builder()
                            .name(DIMENSION)
                            .value(&datum.environment)
                            .build(),
                    )
                    .unit(StandardUnit::Count)
                    .value(v as f64)
                    .timestamp(at)
                    .build()
            })
        })
        .collect::<Vec<_>>();
        self.client
            .put_metric_data()
            .namespace(&datum.namespace)
            .set_metric_data(Some(data))
            .send()
            .await
            .map_err(|e| QueueMetricError::Publish(DisplayErrorContext(&e).to_string()))?;
        Ok(())
    }
}
