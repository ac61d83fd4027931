//! Typed settings of the MediaConvert backend: defaults → `VOD_*` env → flags.

use std::time::Duration;

use clap::Args;
use vod_core::Secret;

#[derive(Debug, Clone, Args)]
pub struct MediaConvertConfig {
    /// MediaConvert endpoint URL (account or regional); unset = the SDK's
    /// regional endpoint. Tests point it at a local stand-in.
    #[arg(
        id = "mediaconvert-endpoint",
        long = "mediaconvert-endpoint",
        env = "VOD_MEDIACONVERT_ENDPOINT"
    )]
    pub endpoint: Option<String>,
    /// IAM role MediaConvert assumes to read sources and write outputs.
    #[arg(
        id = "mediaconvert-role-arn",
        long = "mediaconvert-role-arn",
        env = "VOD_MEDIACONVERT_ROLE_ARN",
        default_value = ""
    )]
    pub role_arn: String,
    /// Queue for the jobs; unset = the account's default queue.
    #[arg(
        id = "mediaconvert-queue-arn",
        long = "mediaconvert-queue-arn",
        env = "VOD_MEDIACONVERT_QUEUE_ARN"
    )]
    pub queue_arn: Option<String>,
    /// Region; unset = the S3 region (`VOD_S3_REGION`).
    #[arg(
        id = "mediaconvert-region",
        long = "mediaconvert-region",
        env = "VOD_MEDIACONVERT_REGION"
    )]
    pub region: Option<String>,
    /// First interval between `GetJob` polls; it doubles while nothing
    /// changes, up to the maximum, and resets on progress.
    #[arg(
        id = "mediaconvert-poll-ms",
        long = "mediaconvert-poll-ms",
        env = "VOD_MEDIACONVERT_POLL_MS",
        default_value_t = 5000
    )]
    pub poll_ms: u64,
    #[arg(
        id = "mediaconvert-poll-max-ms",
        long = "mediaconvert-poll-max-ms",
        env = "VOD_MEDIACONVERT_POLL_MAX_MS",
        default_value_t = 30_000
    )]
    pub poll_max_ms: u64,
    /// A job still running after this long is cancelled and retried.
    #[arg(
        id = "mediaconvert-job-timeout-secs",
        long = "mediaconvert-job-timeout-secs",
        env = "VOD_MEDIACONVERT_JOB_TIMEOUT_SECS",
        default_value_t = 6 * 3600
    )]
    pub job_timeout_secs: u64,
    /// Attempts per API call (the SDK's standard retry: throttling and 5xx).
    #[arg(
        id = "mediaconvert-max-attempts",
        long = "mediaconvert-max-attempts",
        env = "VOD_MEDIACONVERT_MAX_ATTEMPTS",
        default_value_t = 3
    )]
    pub max_attempts: u32,
    /// Static credentials (local stand-ins, tests). Unset = the SDK's
    /// default chain: environment, profile, web identity, ECS, IMDS.
    #[arg(
        id = "mediaconvert-access-key-id",
        long = "mediaconvert-access-key-id",
        env = "VOD_MEDIACONVERT_ACCESS_KEY_ID"
    )]
    pub access_key_id: Option<String>,
    #[arg(
        id = "mediaconvert-secret-access-key",
        long = "mediaconvert-secret-access-key",
        env = "VOD_MEDIACONVERT_SECRET_ACCESS_KEY",
        hide_env_values = true
    )]
    pub secret_access_key: Option<Secret>,
}

impl MediaConvertConfig {
    pub fn poll(&self) -> crate::client::PollSettings {
        crate::client::PollSettings {
            initial: Duration::from_millis(self.poll_ms.max(10)),
            max: Duration::from_millis(self.poll_max_ms.max(self.poll_ms).max(10)),
            timeout: Duration::from_secs(self.job_timeout_secs.max(1)),
            ..crate::client::PollSettings::default()
        }
    }
}

/// The same values as the flags' defaults, for code that builds a config
/// without parsing (tests, embedding).
impl Default for MediaConvertConfig {
    fn default() -> Self {
        Self {
            endpoint: None,
            role_arn: String::new(),
            queue_arn: None,
            region: None,
            poll_ms: 5000,
            poll_max_ms: 30_000,
            job_timeout_secs: 6 * 3600,
            max_attempts: 3,
            access_key_id: None,
            secret_access_key: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        mc: MediaConvertConfig,
    }

    #[test]
    fn default_matches_the_flags_defaults() {
        let parsed = Cli::try_parse_from(["x"]).map(|c| c.mc);
        let parsed = parsed.ok().map(|c| format!("{c:?}"));
        // Env may set VOD_MEDIACONVERT_*; only compare in a clean environment.
        if std::env::vars().any(|(k, _)| k.starts_with("VOD_MEDIACONVERT_")) {
            return;
        }
        assert_eq!(parsed, Some(format!("{:?}", MediaConvertConfig::default())));
    }
}
