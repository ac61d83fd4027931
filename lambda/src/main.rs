//! `bootstrap`: the Lambda custom-runtime executable. Configuration comes
//! from `VOD_*` environment variables; services are connected once per cold
//! start and shared by every invocation of this execution environment.

use std::sync::Arc;

use aws_lambda_events::event::s3::S3Event;
use lambda_runtime::{LambdaEvent, service_fn};
use tracing::Instrument;
use vod_core::{Services, telemetry};
use vod_lambda::{LambdaEnv, LambdaError, handle};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let env = LambdaEnv::from_env()?;
    telemetry::init(&env.log);
    // Migrations are the API's job (`vod-api migrate`); the trigger only writes rows.
    let services = Arc::new(
        Services::connect(&env.services)
            .await
            .map_err(LambdaError::from)?,
    );
    let config = Arc::new(env.ingest);
    tracing::info!(
        bucket = services.sources.bucket(),
        prefix = %config.ingest_prefix,
        "ingest trigger ready"
    );
    lambda_runtime::run(service_fn(move |event: LambdaEvent<S3Event>| {
        let services = Arc::clone(&services);
        let config = Arc::clone(&config);
        async move {
            let request_id = event.context.request_id.clone();
            handle(&services, &config, event.payload)
                .instrument(tracing::info_span!("invocation", %request_id))
                .await
        }
    }))
    .await
    .map_err(|e| anyhow::anyhow!("Lambda runtime: {e}"))
}
