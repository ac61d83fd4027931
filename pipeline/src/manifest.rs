//! `manifest.json`: everything a player page or a worker needs to know
//! about the output, with keys relative to the output root.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::{PipelineError, Result};
pub use crate::hls::{Rendition, RenditionKind};
use crate::plan::Plan;
pub use crate::thumbs::Thumbnails;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub version: u32,
    pub duration_s: f64,
    pub master_playlist: String,
    pub segment_target_s: f64,
    pub gop_s: f64,
    pub video: Vec<Rendition>,
    pub audio: Option<Rendition>,
    pub thumbnails: Option<Thumbnails>,
}

impl Manifest {
    pub(crate) fn new(
        plan: &Plan,
        packaged: crate::hls::Packaged,
        thumbnails: Option<Thumbnails>,
    ) -> Self {
        let duration_s = packaged
            .video
            .iter()
            .chain(packaged.audio.iter())
            .map(|r| r.duration_s)
            .fold(0.0, f64::max);
        Self {
            version: 1,
            duration_s: if duration_s > 0.0 {
                duration_s
            } else {
                plan.duration_s
            },
            master_playlist: packaged.master,
            segment_target_s: plan.segment_target_s,
            gop_s: plan.gop_s,
            video: packaged.video,
            audio: packaged.audio,
            thumbnails,
        }
    }

    pub(crate) fn write(&self, outdir: &Path) -> Result<()> {
        let path = outdir.join("manifest.json");
        let json =
            serde_json::to_vec_pretty(self).map_err(|e| PipelineError::gst(e.to_string()))?;
        std::fs::write(&path, json).map_err(|e| PipelineError::io(&path, e))
    }
}
