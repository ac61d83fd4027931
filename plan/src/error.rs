//! What planning refuses. Codes are stable: workers store them and the API
//! shows them, so never rename one; add new variants instead. The media
//! pipeline wraps this type and keeps its codes.

/// Whether the uploader caused the failure (fail the job now, tell them) or
/// we did (retry, page someone).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    Media,
    Internal,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PlanError {
    #[error("This file type ({container}) is not a supported video or audio format.")]
    UnsupportedContainer { container: String },
    #[error(
        "The file looks like a video but could not be read; it may be damaged or incomplete ({detail})."
    )]
    Corrupt { detail: String },
    #[error("The file contains no audio or video track we can use.")]
    NoStreams,
    #[error("The video is {actual_s:.0} seconds long; the maximum is {max_s:.0} seconds.")]
    TooLong { actual_s: f64, max_s: f64 },
    #[error("The video is {actual_s:.2} seconds long; it must be at least {min_s:.2} seconds.")]
    TooShort { actual_s: f64, min_s: f64 },
    #[error("The video is {width}×{height} pixels; the maximum is {max_width}×{max_height}.")]
    ResolutionTooLarge {
        width: u32,
        height: u32,
        max_width: u32,
        max_height: u32,
    },
    #[error("The video has {fps:.1} frames per second; the maximum is {max_fps:.0}.")]
    FrameRateTooHigh { fps: f64, max_fps: f64 },
    #[error("The processing plan is invalid: {detail}.")]
    InvalidPlan { detail: String },
}

pub type Result<T, E = PlanError> = std::result::Result<T, E>;

impl PlanError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnsupportedContainer { .. } => "media.unsupported_container",
            Self::Corrupt { .. } => "media.corrupt",
            Self::NoStreams => "media.no_streams",
            Self::TooLong { .. } => "media.too_long",
            Self::TooShort { .. } => "media.too_short",
            Self::ResolutionTooLarge { .. } => "media.resolution_too_large",
            Self::FrameRateTooHigh { .. } => "media.frame_rate_too_high",
            Self::InvalidPlan { .. } => "pipeline.invalid_plan",
        }
    }

    pub fn kind(&self) -> ErrorKind {
        if self.code().starts_with("media.") {
            ErrorKind::Media
        } else {
            ErrorKind::Internal
        }
    }

    pub(crate) fn invalid(detail: impl Into<String>) -> Self {
        Self::InvalidPlan {
            detail: detail.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_namespaced_and_kinds_follow() {
        let too_long = PlanError::TooLong {
            actual_s: 30000.0,
            max_s: 21600.0,
        };
        assert_eq!(too_long.code(), "media.too_long");
        assert_eq!(too_long.kind(), ErrorKind::Media);
        assert_eq!(
            too_long.to_string(),
            "The video is 30000 seconds long; the maximum is 21600 seconds."
        );
        assert_eq!(PlanError::invalid("x").kind(), ErrorKind::Internal);
    }
}
