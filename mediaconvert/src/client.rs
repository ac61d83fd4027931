//! The SDK client wrapper: create a job, poll `GetJob` with backoff until
//! it ends, cancel it; every SDK error mapped onto [`MediaConvertError`].

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_mediaconvert::config::retry::RetryConfig;
use aws_sdk_mediaconvert::config::timeout::TimeoutConfig;
use aws_sdk_mediaconvert::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_mediaconvert::types::{Job, JobSettings};

use vod_core::aws::{self, StaticKeys};

use crate::MediaConvertError;
use crate::config::MediaConvertConfig;
use crate::status::{Poll, Progress, interpret};

#[derive(Debug, Clone)]
pub struct PollSettings {
    pub initial: Duration,
    pub max: Duration,
    /// Give up (and cancel the job) after this long.
    pub timeout: Duration,
    /// Consecutive transient `GetJob` failures tolerated before giving up.
    pub max_poll_errors: u32,
}

impl Default for PollSettings {
    fn default() -> Self {
        Self {
            initial: Duration::from_secs(5),
            max: Duration::from_secs(30),
            timeout: Duration::from_secs(6 * 3600),
            max_poll_errors: 5,
        }
    }
}

/// What a `CreateJob` needs besides the settings.
#[derive(Debug, Clone)]
pub struct JobRequest {
    pub settings: JobSettings,
    /// Idempotency token: the same token within a minute returns the same
    /// job instead of starting a second one (a re-delivered task).
    pub client_token: String,
    /// Shown on the job in the console and in its events (our ids).
    pub user_metadata: Vec<(String, String)>,
}

#[derive(Debug, Clone)]
pub struct MediaConvert {
    sdk: aws_sdk_mediaconvert::Client,
    role_arn: String,
    queue_arn: Option<String>,
    poll: PollSettings,
}

impl MediaConvert {
    /// A client from the typed config. Static credentials when configured,
    /// otherwise the SDK's default chain (see [`vod_core::aws`]).
    pub async fn from_config(
        cfg: &MediaConvertConfig,
        default_region: &str,
    ) -> Result<Self, MediaConvertError> {
        if cfg.role_arn.is_empty() {
            return Err(MediaConvertError::Config {
                detail: "VOD_MEDIACONVERT_ROLE_ARN is not set".into(),
            });
        }
        let region = cfg.region.as_deref().unwrap_or(default_region);
        // The same constructor as the S3 client: static keys or the default chain.
        let keys = StaticKeys::from_pair(
            cfg.access_key_id.as_deref(),
            cfg.secret_access_key.as_ref().map(|s| s.expose()),
            "VOD_MEDIACONVERT_ACCESS_KEY_ID",
            "VOD_MEDIACONVERT_SECRET_ACCESS_KEY",
        )
        .map_err(|e| MediaConvertError::Config {
            detail: e.to_string(),
        })?;
        let shared = aws::sdk_config(aws::default_loader(), region, keys.as_ref()).await;
        let mut builder = aws_sdk_mediaconvert::config::Builder::from(&shared)
            .retry_config(RetryConfig::standard().with_max_attempts(cfg.max_attempts.max(1)))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(5))
                    .operation_attempt_timeout(Duration::from_secs(30))
                    .build(),
            );
        if let Some(endpoint) = &cfg.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Ok(Self::new(
            aws_sdk_mediaconvert::Client::from_conf(builder.build()),
            cfg.role_arn.clone(),
            cfg.queue_arn.clone(),
            cfg.poll(),
        ))
    }

    pub fn new(
        sdk: aws_sdk_mediaconvert::Client,
        role_arn: String,
        queue_arn: Option<String>,
        poll: PollSettings,
    ) -> Self {
        Self {
            sdk,
            role_arn,
            queue_arn,
            poll,
        }
    }

    /// Submits the job; returns MediaConvert's job id.
    pub async fn create_job(&self, req: JobRequest) -> Result<String, MediaConvertError> {
        let mut call = self
            .sdk
            .create_job()
            .role(&self.role_arn)
            .settings(req.settings)
            .client_request_token(req.client_token)
            .set_queue(self.queue_arn.clone());
        for (k, v) in req.user_metadata {
            call = call.user_metadata(k, v);
        }
        let out = call
            .send()
            .await
            .map_err(|e| map_sdk_error("CreateJob", e))?;
        out.job()
            .and_then(Job::id)
            .map(str::to_owned)
            .ok_or_else(|| MediaConvertError::Unreachable {
                message: "CreateJob answered without a job id".into(),
            })
    }

    pub async fn get_job(&self, id: &str) -> Result<Job, MediaConvertError> {
        let out = self
            .sdk
            .get_job()
            .id(id)
            .send()
            .await
            .map_err(|e| map_sdk_error("GetJob", e))?;
        out.job.ok_or_else(|| MediaConvertError::Unreachable {
            message: "GetJob answered without a job".into(),
        })
    }

    pub async fn cancel_job(&self, id: &str) -> Result<(), MediaConvertError> {
        self.sdk
            .cancel_job()
            .id(id)
            .send()
            .await
            .map(|_| ())
            .map_err(|e| map_sdk_error("CancelJob", e))
    }

    /// Polls until the job is COMPLETE (Ok), ERROR or CANCELED (Err).
    /// `cancel` set by the caller cancels the MediaConvert job too.
    pub async fn wait(
        &self,
        id: &str,
        cancel: &AtomicBool,
        mut progress: impl FnMut(Progress),
    ) -> Result<(), MediaConvertError> {
        let started = Instant::now();
        let mut interval = self.poll.initial;
        let mut last: Option<Progress> = None;
        let mut errors = 0u32;
        loop {
            if cancel.load(Ordering::SeqCst) {
                self.cancel_quietly(id).await;
                return Err(MediaConvertError::Canceled { job_id: id.into() });
            }
            if started.elapsed() >= self.poll.timeout {
                self.cancel_quietly(id).await;
                return Err(MediaConvertError::TimedOut {
                    job_id: id.into(),
                    seconds: self.poll.timeout.as_secs(),
                });
            }
            match self.get_job(id).await {
                Ok(job) => {
                    errors = 0;
                    match interpret(&job) {
                        Poll::Complete => return Ok(()),
                        Poll::Failed(e) => return Err(e),
                        Poll::Running(p) => {
                            interval = if last == Some(p) {
                                (interval * 2).min(self.poll.max)
                            } else {
                                self.poll.initial
                            };
                            last = Some(p);
                            progress(p);
                        }
                    }
                }
                Err(e) if e.is_transient() && errors < self.poll.max_poll_errors => {
                    errors += 1;
                    tracing::warn!(job_id = id, error = %e, errors, "polling MediaConvert failed; trying again");
                    interval = (interval * 2).min(self.poll.max);
                }
                Err(e) => return Err(e),
            }
            sleep_unless(cancel, interval).await;
        }
    }

    async fn cancel_quietly(&self, id: &str) {
        if let Err(e) = self.cancel_job(id).await {
            tracing::warn!(job_id = id, error = %e, "cancelling the MediaConvert job failed");
        }
    }
}

/// Sleeps `d`, waking early when `cancel` is set.
async fn sleep_unless(cancel: &AtomicBool, d: Duration) {
    let until = Instant::now() + d;
    while !cancel.load(Ordering::SeqCst) {
        let left = until.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(left.min(Duration::from_millis(200))).await;
    }
}

/// Service errors by the model's error shapes (`x-amzn-ErrorType`), then by
/// HTTP status; anything without a response is "unreachable".
pub(crate) fn map_sdk_error<E, R>(op: &str, err: SdkError<E, R>) -> MediaConvertError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + HasStatus,
{
    let SdkError::ServiceError(ctx) = &err else {
        return MediaConvertError::Unreachable {
            message: format!("{op}: {}", DisplayErrorContext(&err)),
        };
    };
    let status = ctx.raw().status_code();
    let message = ctx.err().message().unwrap_or("no message").to_owned();
    match ctx.err().code() {
        Some("BadRequestException") => MediaConvertError::BadRequest { message },
        Some("ForbiddenException") => MediaConvertError::Forbidden { message },
        Some("NotFoundException") => MediaConvertError::NotFound { message },
        Some("ConflictException") => MediaConvertError::Conflict { message },
        Some("TooManyRequestsException" | "ServiceQuotaExceededException") => {
            MediaConvertError::Throttled { message }
        }
        Some("InternalServerErrorException") => MediaConvertError::Service { message },
        _ if status == 429 => MediaConvertError::Throttled { message },
        _ if status >= 500 => MediaConvertError::Service { message },
        code => MediaConvertError::BadRequest {
            message: format!("{op}: HTTP {status} {}: {message}", code.unwrap_or("")),
        },
    }
}

/// The raw response's HTTP status, whatever the response type.
pub(crate) trait HasStatus {
    fn status_code(&self) -> u16;
}

impl HasStatus for aws_sdk_mediaconvert::config::http::HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}
