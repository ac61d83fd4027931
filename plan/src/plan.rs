//! Pure planning: probe in, backend-neutral plan out. No I/O here.

use serde::{Deserialize, Serialize};

use crate::chunks::ChunkSchedule;
use crate::codec::{AudioCodec, H264Profile, Packaging, VideoCodec};
use crate::error::{PlanError, Result};
use crate::limits::Limits;
use crate::probe::{Orientation, Probe};

/// Bumped when a stored plan's meaning changes (plans are kept with jobs).
pub const PLAN_VERSION: u32 = 1;

/// (short side, average bitrate in bit/s) of the standard ladder, top first.
pub const LADDER: &[(u32, u64)] = &[
    (2160, 14_000_000),
    (1080, 5_000_000),
    (720, 2_500_000),
    (480, 1_000_000),
    (360, 500_000),
];
pub const SEGMENT_TARGET_S: f64 = 6.0;
pub const GOP_S: f64 = 2.0;
const MAXRATE_FACTOR: f64 = 1.07;
const BUFSIZE_FACTOR: f64 = 1.5;
/// A source this close above a standard rung is served by that rung alone.
const SNAP_TOLERANCE: f64 = 1.05;
const TILE_WIDTH: u32 = 160;
const POSTER_MAX_WIDTH: u32 = 1280;
const SHEET_GRID: u32 = 10;
const MAX_TILES: f64 = 100.0;
const MAX_TILE_INTERVAL_S: u32 = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    #[serde(default = "plan_version")]
    pub version: u32,
    /// The source's container (typefind caps name, e.g. `video/quicktime`):
    /// whether a chunk task can read only its part of it.
    #[serde(default)]
    pub container: String,
    pub duration_s: f64,
    /// Orientation correction applied to decoded frames before scaling.
    pub orientation: Orientation,
    pub video: Vec<Rung>,
    pub audio: Option<AudioRendition>,
    pub segment_target_s: f64,
    pub gop_s: f64,
    pub thumbnails: Option<ThumbSpec>,
    #[serde(default)]
    pub packaging: Packaging,
    /// How the encode is split into tasks; `None`: one pass (short or
    /// audio-only sources, or chunking off). See [`crate::chunks`].
    #[serde(default)]
    pub chunks: Option<ChunkSchedule>,
}

fn plan_version() -> u32 {
    PLAN_VERSION
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rung {
    /// Directory and display name, e.g. `720p` (named after the short side).
    pub name: String,
    pub width: u32,
    pub height: u32,
    pub codec: VideoCodec,
    pub profile: H264Profile,
    pub bitrate_bps: u64,
    pub maxrate_bps: u64,
    pub bufsize_bits: u64,
    pub fps_num: u32,
    pub fps_den: u32,
    /// Frames per GOP; together with constant frame rate this puts every
    /// rung's keyframes at the same timestamps.
    pub gop_frames: u32,
}

impl Rung {
    pub fn fps(&self) -> f64 {
        f64::from(self.fps_num) / f64::from(self.fps_den.max(1))
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AudioRendition {
    pub name: String,
    pub group_id: String,
    pub codec: AudioCodec,
    pub bitrate_bps: u64,
    pub channels: u32,
    pub sample_rate: u32,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ThumbSpec {
    pub poster_at_s: f64,
    pub poster_width: u32,
    pub poster_height: u32,
    pub tile_width: u32,
    pub tile_height: u32,
    pub interval_s: u32,
    pub columns: u32,
    pub rows: u32,
    pub tile_count: u32,
}

impl ThumbSpec {
    pub fn tiles_per_sheet(&self) -> u32 {
        self.columns * self.rows
    }
    pub fn sheet_count(&self) -> u32 {
        self.tile_count.div_ceil(self.tiles_per_sheet().max(1))
    }
}

fn round_even(x: f64) -> u32 {
    ((x / 2.0).round() as u32 * 2).max(2)
}

fn floor_even(x: f64) -> u32 {
    ((x / 2.0).floor() as u32 * 2).max(2)
}

/// Divides the rate by the smallest integer that brings it under `cap`, so
/// lower rungs keep an exact cadence (59.94 → 29.97, 50 → 25).
fn capped_fps(num: u32, den: u32, cap: u32) -> (u32, u32) {
    if num == 0 || den == 0 {
        return (cap.min(30), 1);
    }
    let k = num.div_ceil(den.saturating_mul(cap)).max(1);
    if k == 1 {
        return (num, den);
    }
    // Keep it a fraction in lowest-ish terms: divide the numerator when we can.
    if num.is_multiple_of(k) {
        (num / k, den)
    } else {
        (num, den.saturating_mul(k))
    }
}

pub fn plan(probe: &Probe, limits: &Limits) -> Result<Plan> {
    limits.check(probe)?;
    let audio = probe.audio.as_ref().map(|_| AudioRendition {
        name: "audio".into(),
        group_id: "aud".into(),
        codec: AudioCodec::AacLc,
        bitrate_bps: 128_000,
        channels: 2,
        sample_rate: 48_000,
    });
    let Some(v) = &probe.video else {
        return Ok(Plan {
            version: PLAN_VERSION,
            container: probe.container.clone(),
            duration_s: probe.duration_s,
            orientation: Orientation::Rotate0,
            video: Vec::new(),
            audio,
            segment_target_s: SEGMENT_TARGET_S,
            gop_s: GOP_S,
            thumbnails: None,
            packaging: Packaging::default(),
            chunks: None,
        });
    };
    let (dw, dh) = v.display_size();
    if !(dw >= 1.0 && dh >= 1.0) {
        return Err(PlanError::Corrupt {
            detail: "the video track declares no picture size".into(),
        });
    }
    let landscape = dw >= dh;
    let aspect = dw / dh;
    let short_src = floor_even(dw.min(dh));
    let dims_for = |short: u32| -> (u32, u32) {
        if short == short_src {
            return (floor_even(dw), floor_even(dh));
        }
        let long = if landscape {
            round_even(f64::from(short) * aspect)
        } else {
            round_even(f64::from(short) / aspect)
        };
        if landscape {
            (long, short)
        } else {
            (short, long)
        }
    };

    let mut shorts: Vec<(u32, u64)> = LADDER
        .iter()
        .copied()
        .filter(|&(s, _)| s <= short_src)
        .collect();
    let top_std = shorts.first().map(|&(s, _)| s);
    let needs_source_rung = match top_std {
        None => true,
        Some(top) => top < LADDER[0].0 && f64::from(short_src) > f64::from(top) * SNAP_TOLERANCE,
    };
    if needs_source_rung {
        shorts.insert(0, (short_src, interpolated_bitrate(short_src)));
    }

    let (src_num, src_den) = match (v.fps_num, v.fps_den) {
        (n, d) if n > 0 && d > 0 => (n, d),
        _ => (30, 1),
    };
    let video = shorts
        .into_iter()
        .map(|(short, bitrate)| {
            let (width, height) = dims_for(short);
            let cap = if short <= 480 { 30 } else { 60 };
            let (fps_num, fps_den) = capped_fps(src_num, src_den, cap);
            let fps = f64::from(fps_num) / f64::from(fps_den);
            Rung {
                name: format!("{short}p"),
                width,
                height,
                codec: VideoCodec::H264,
                profile: H264Profile::High,
                bitrate_bps: bitrate,
                maxrate_bps: (bitrate as f64 * MAXRATE_FACTOR).round() as u64,
                bufsize_bits: (bitrate as f64 * BUFSIZE_FACTOR).round() as u64,
                fps_num,
                fps_den,
                gop_frames: ((GOP_S * fps).round() as u32).max(1),
            }
        })
        .collect();

    let duration = probe.duration_s;
    let interval_s = ((duration / MAX_TILES).ceil() as u32).clamp(1, MAX_TILE_INTERVAL_S);
    // A multiple of 8 keeps every I420 plane row unpadded (GStreamer pads
    // rows to 4 bytes, and a padded frame would be discarded as the wrong
    // size: 854×480 sources lost their poster).
    let poster_width = POSTER_MAX_WIDTH.min(((dw / 8.0).floor() as u32 * 8).max(8));
    let thumbnails = ThumbSpec {
        poster_at_s: duration * 0.1,
        poster_width,
        poster_height: round_even(f64::from(poster_width) / aspect),
        tile_width: TILE_WIDTH,
        tile_height: round_even(f64::from(TILE_WIDTH) / aspect),
        interval_s,
        columns: SHEET_GRID,
        rows: SHEET_GRID,
        tile_count: ((duration / f64::from(interval_s)).ceil() as u32).max(1),
    };
    Ok(Plan {
        version: PLAN_VERSION,
        container: probe.container.clone(),
        duration_s: duration,
        orientation: v.orientation,
        video,
        audio,
        segment_target_s: SEGMENT_TARGET_S,
        gop_s: GOP_S,
        thumbnails: Some(thumbnails),
        packaging: Packaging::default(),
        chunks: None,
    })
}

/// Bitrate for a source-sized rung between two standard ones, linear in the
/// short side; below the ladder it shrinks with the picture area.
fn interpolated_bitrate(short: u32) -> u64 {
    let s = f64::from(short);
    for pair in LADDER.windows(2) {
        let (hi, lo) = (pair[0], pair[1]);
        if short <= hi.0 && short >= lo.0 {
            let t = (s - f64::from(lo.0)) / f64::from(hi.0 - lo.0);
            return (lo.1 as f64 + t * (hi.1 as f64 - lo.1 as f64)).round() as u64;
        }
    }
    let (base_s, base_b) = LADDER[LADDER.len() - 1];
    let scaled = base_b as f64 * (s / f64::from(base_s)).powi(2);
    (scaled.round() as u64).max(100_000)
}

impl Plan {
    /// The same plan, split into chunks of about `chunk_s` seconds when the
    /// video is long enough (see [`crate::chunks::schedule`]).
    pub fn with_chunks(mut self, chunk_s: f64) -> Self {
        self.chunks = crate::chunks::schedule(&self, chunk_s);
        self
    }

    /// Sanity checks for plans that arrive deserialized from elsewhere.
    pub fn validate(&self) -> Result<()> {
        let bad = |detail: &str| Err(PlanError::invalid(detail));
        if self.video.is_empty() && self.audio.is_none() {
            return bad("no renditions");
        }
        if self.gop_s <= 0.0 || self.segment_target_s < self.gop_s {
            return bad("segment target must hold at least one GOP");
        }
        for r in &self.video {
            if r.width % 2 != 0 || r.height % 2 != 0 || r.width == 0 || r.height == 0 {
                return bad("rung dimensions must be even and non-zero");
            }
            if r.fps_num == 0 || r.fps_den == 0 || r.gop_frames == 0 || r.bitrate_bps == 0 {
                return bad("rung frame rate, GOP and bitrate must be positive");
            }
        }
        if self.version > PLAN_VERSION {
            return bad("the plan was made by a newer version");
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
