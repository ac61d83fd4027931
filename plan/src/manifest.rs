//! `manifest.json`: everything a player page or a worker needs to know about
//! an output, with keys relative to the output root. Every backend produces
//! one (the GStreamer pipeline, the chunked tasks' assembly, MediaConvert's
//! outputs read back); registration consumes it.

use serde::{Deserialize, Serialize};

use crate::plan::Plan;

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

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rendition {
    pub name: String,
    pub kind: RenditionKind,
    /// Relative to the output root, e.g. `hls/720p/index.m3u8`.
    pub playlist: String,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub frame_rate: Option<f64>,
    pub codecs: String,
    pub target_bitrate_bps: u64,
    pub peak_bitrate_bps: u64,
    pub average_bitrate_bps: u64,
    pub duration_s: f64,
    pub segment_count: usize,
    pub bytes: u64,
    pub segment_durations_s: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RenditionKind {
    Video,
    Audio,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thumbnails {
    pub poster: Option<String>,
    pub sprites: Vec<String>,
    pub storyboard: Option<String>,
    pub tile_width: u32,
    pub tile_height: u32,
    pub interval_s: u32,
    pub columns: u32,
    pub rows: u32,
    pub tile_count: usize,
}

impl Manifest {
    /// The manifest of a package: its duration is the longest rendition's
    /// (the plan's when nothing was measured).
    pub fn new(
        plan: &Plan,
        master_playlist: String,
        video: Vec<Rendition>,
        audio: Option<Rendition>,
        thumbnails: Option<Thumbnails>,
    ) -> Self {
        let measured = video
            .iter()
            .chain(audio.iter())
            .map(|r| r.duration_s)
            .fold(0.0, f64::max);
        Self {
            version: 1,
            duration_s: if measured > 0.0 {
                measured
            } else {
                plan.duration_s
            },
            master_playlist,
            segment_target_s: plan.segment_target_s,
            gop_s: plan.gop_s,
            video,
            audio,
            thumbnails,
        }
    }
}
