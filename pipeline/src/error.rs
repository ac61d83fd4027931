//! The crate's single error type. Codes are stable: workers store them and
//! the API shows them, so never rename one; add new variants instead.

use std::path::PathBuf;

pub use vod_plan::ErrorKind;
use vod_plan::PlanError;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("The uploaded file is empty.")]
    EmptyFile,
    #[error("The file could not be recognised as audio or video.")]
    Unrecognized,
    /// Refused by planning (limits, container, no streams, bad plan).
    #[error(transparent)]
    Plan(#[from] PlanError),
    #[error("The video codec ({codec}) is not supported.")]
    UnsupportedCodec { codec: String },
    #[error("The video could not be decoded ({detail}).")]
    Decode { detail: String },
    #[error("Reading the file took too long; it may be damaged.")]
    ProbeTimeout,
    #[error("Processing stopped making progress for {seconds} seconds and was aborted.")]
    StallTimeout { seconds: u64 },
    #[error("Processing was cancelled.")]
    Cancelled,
    #[error("A required media component is missing on the server: {what}.")]
    MissingPlugin { what: String },
    #[error("Internal processing error: {detail}.")]
    Gstreamer { detail: String },
    #[error("Could not read or write {path}: {source}.")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

pub type Result<T, E = PipelineError> = std::result::Result<T, E>;

impl PipelineError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::EmptyFile => "media.empty_file",
            Self::Unrecognized => "media.unrecognized",
            Self::Plan(e) => e.code(),
            Self::UnsupportedCodec { .. } => "media.unsupported_codec",
            Self::Decode { .. } => "media.decode_failed",
            Self::ProbeTimeout => "media.probe_timeout",
            Self::StallTimeout { .. } => "pipeline.stall_timeout",
            Self::Cancelled => "pipeline.cancelled",
            Self::MissingPlugin { .. } => "pipeline.missing_plugin",
            Self::Gstreamer { .. } => "pipeline.gstreamer",
            Self::Io { .. } => "pipeline.io",
        }
    }

    pub fn kind(&self) -> ErrorKind {
        if self.code().starts_with("media.") {
            ErrorKind::Media
        } else {
            ErrorKind::Internal
        }
    }

    /// True when retrying cannot help: the input itself is the problem.
    pub fn is_media_error(&self) -> bool {
        self.kind() == ErrorKind::Media
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn gst(detail: impl std::fmt::Display) -> Self {
        Self::Gstreamer {
            detail: detail.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_namespaced_and_kinds_follow() {
        let too_long = PipelineError::from(PlanError::TooLong {
            actual_s: 30000.0,
            max_s: 21600.0,
        });
        assert_eq!(too_long.code(), "media.too_long");
        assert!(too_long.is_media_error());
        let stall = PipelineError::StallTimeout { seconds: 30 };
        assert_eq!(stall.code(), "pipeline.stall_timeout");
        assert!(!stall.is_media_error());
        assert_eq!(
            too_long.to_string(),
            "The video is 30000 seconds long; the maximum is 21600 seconds."
        );
    }
}
