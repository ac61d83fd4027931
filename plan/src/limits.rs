//! Source limits. Every rejection maps to a stable error code.

use serde::{Deserialize, Serialize};

use crate::error::{PlanError, Result};
use crate::probe::Probe;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub max_duration_s: f64,
    pub min_duration_s: f64,
    pub max_width: u32,
    pub max_height: u32,
    pub max_fps: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_duration_s: 6.0 * 3600.0,
            min_duration_s: 0.5,
            max_width: 4096,
            max_height: 4096,
            max_fps: 120.0,
        }
    }
}

impl Limits {
    pub fn check(&self, probe: &Probe) -> Result<()> {
        if probe.video.is_none() && probe.audio.is_none() {
            return Err(PlanError::NoStreams);
        }
        if probe.duration_s > self.max_duration_s {
            return Err(PlanError::TooLong {
                actual_s: probe.duration_s,
                max_s: self.max_duration_s,
            });
        }
        if probe.duration_s < self.min_duration_s {
            return Err(PlanError::TooShort {
                actual_s: probe.duration_s,
                min_s: self.min_duration_s,
            });
        }
        if let Some(v) = &probe.video {
            // Limits apply to the coded frame: that is what costs memory.
            if v.width == 0 || v.height == 0 {
                return Err(PlanError::Corrupt {
                    detail: "the video track declares no picture size".into(),
                });
            }
            if v.width > self.max_width || v.height > self.max_height {
                return Err(PlanError::ResolutionTooLarge {
                    width: v.width,
                    height: v.height,
                    max_width: self.max_width,
                    max_height: self.max_height,
                });
            }
            if let Some(fps) = v.fps()
                && fps > self.max_fps + 0.01
            {
                return Err(PlanError::FrameRateTooHigh {
                    fps,
                    max_fps: self.max_fps,
                });
            }
        }
        Ok(())
    }
}
