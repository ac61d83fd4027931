//! The backend's one error type. Codes are stable (workers store them and
//! the API shows them); `is_transient` says whether a later attempt of the
//! same job may succeed, `is_input_error` whether the uploader caused it.

use vod_core::storage::StorageError;

#[derive(Debug, thiserror::Error)]
pub enum MediaConvertError {
    /// Our plan holds a value MediaConvert cannot take (a bug or a limit
    /// the pipeline's own limits do not enforce).
    #[error("the transcoding plan cannot be expressed as a MediaConvert job: {detail}")]
    UnsupportedPlan { detail: String },
    #[error("MediaConvert is not configured: {detail}")]
    Config { detail: String },
    /// BadRequestException: our request is wrong. Not the uploader's fault.
    #[error("MediaConvert rejected the request: {message}")]
    BadRequest { message: String },
    /// ForbiddenException: credentials or IAM role.
    #[error("MediaConvert refused our credentials or role: {message}")]
    Forbidden { message: String },
    #[error("MediaConvert does not know this resource: {message}")]
    NotFound { message: String },
    #[error("MediaConvert reported a conflict: {message}")]
    Conflict { message: String },
    /// TooManyRequestsException / ServiceQuotaExceededException.
    #[error("MediaConvert is throttling us: {message}")]
    Throttled { message: String },
    /// InternalServerErrorException or any 5xx.
    #[error("MediaConvert had an internal error: {message}")]
    Service { message: String },
    /// No answer: connection, timeout, an unparseable response.
    #[error("MediaConvert could not be reached: {message}")]
    Unreachable { message: String },
    /// The job ended in ERROR because of the source file.
    #[error("The video could not be processed: {message} (MediaConvert error {code}).")]
    InputRejected { code: i32, message: String },
    /// The job ended in ERROR because MediaConvert could not read the
    /// source or write the outputs (bucket policy, IAM role).
    #[error("MediaConvert could not access the job's files: {message} (error {code})")]
    JobAccess { code: i32, message: String },
    /// The job ended in ERROR for a reason on MediaConvert's side.
    #[error("the MediaConvert job failed: {message} (error {code})")]
    JobFailed { code: i32, message: String },
    #[error("the MediaConvert job {job_id} was cancelled")]
    Canceled { job_id: String },
    #[error("the MediaConvert job {job_id} did not finish within {seconds} s")]
    TimedOut { job_id: String, seconds: u64 },
    /// The job completed but what it wrote is not a package we can register.
    #[error("the MediaConvert outputs are unusable: {detail}")]
    Outputs { detail: String },
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl MediaConvertError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedPlan { .. } => "mediaconvert.unsupported_plan",
            Self::Config { .. } => "mediaconvert.config",
            Self::BadRequest { .. } => "mediaconvert.bad_request",
            Self::Forbidden { .. } => "mediaconvert.forbidden",
            Self::NotFound { .. } => "mediaconvert.not_found",
            Self::Conflict { .. } => "mediaconvert.conflict",
            Self::Throttled { .. } => "mediaconvert.throttled",
            Self::Service { .. } => "mediaconvert.service",
            Self::Unreachable { .. } => "mediaconvert.unreachable",
            Self::InputRejected { .. } => "media.mediaconvert_input",
            Self::JobAccess { .. } => "mediaconvert.job_access",
            Self::JobFailed { .. } => "mediaconvert.job_failed",
            Self::Canceled { .. } => "mediaconvert.canceled",
            Self::TimedOut { .. } => "mediaconvert.timed_out",
            Self::Outputs { .. } => "mediaconvert.outputs",
            Self::Storage(e) => e.code(),
        }
    }

    /// Throttling, 5xx, network trouble and MediaConvert-side job failures
    /// may pass; a bad request, missing permissions or a bad file will not.
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Throttled { .. }
            | Self::Service { .. }
            | Self::Unreachable { .. }
            | Self::JobFailed { .. }
            | Self::TimedOut { .. } => true,
            Self::Storage(e) => e.is_transient(),
            _ => false,
        }
    }

    /// The uploader's file is the cause: fail at once and show them the message.
    pub fn is_input_error(&self) -> bool {
        matches!(self, Self::InputRejected { .. })
    }

    /// Classifies the `ErrorCode` of a job that ended in ERROR. MediaConvert
    /// documents 1xxx as input problems and 3xxx as output problems; the
    /// x401/x403/x404 members of both are S3 or IAM access failures.
    pub fn from_job_error(code: i32, message: String) -> Self {
        let access = matches!(code % 1000, 401 | 403 | 404);
        match code {
            1000..=1999 | 3000..=3999 if access => Self::JobAccess { code, message },
            1000..=1999 => Self::InputRejected { code, message },
            _ => Self::JobFailed { code, message },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn job_error_codes_are_classified() {
        let cases = [
            (1010, "media.mediaconvert_input", false, true),
            (1040, "media.mediaconvert_input", false, true),
            (1404, "mediaconvert.job_access", false, false),
            (3403, "mediaconvert.job_access", false, false),
            (3450, "mediaconvert.job_failed", true, false),
            (1999 + 1, "mediaconvert.job_failed", true, false),
        ];
        for (code, want, transient, input) in cases {
            let e = MediaConvertError::from_job_error(code, "x".into());
            assert_eq!(e.code(), want, "{code}");
            assert_eq!(e.is_transient(), transient, "{code}");
            assert_eq!(e.is_input_error(), input, "{code}");
        }
    }
}
