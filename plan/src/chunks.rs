//! The chunk schedule: how a video's encode is split into tasks that
//! different workers run at once, and stitched back without a seam.
//!
//! Boundaries are counted in frames of the top rung's output grid, never in
//! seconds, and every chunk is a whole number of segments (segments are
//! whole GOPs), so each chunk starts on a keyframe of every rung and its
//! segments carry the global numbering. A lower rung at an integer fraction
//! of the top rate (59.94 → 29.97) must put its segment boundaries at the
//! same instants; a plan where a rung does not is not chunked.

use serde::{Deserialize, Serialize};

use crate::plan::Plan;

/// Default chunk length, seconds (rounded to whole segments).
pub const DEFAULT_CHUNK_S: f64 = 60.0;
/// Sources shorter than this many chunks keep the single-pass graph: one
/// decode for everything, nothing to stitch.
pub const MIN_CHUNKS: usize = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChunkSchedule {
    /// The frame grid: the top rung's output rate.
    pub fps_num: u32,
    pub fps_den: u32,
    /// Top-rung frames in one segment (GOPs per segment × GOP frames).
    pub segment_frames: u64,
    pub chunks: Vec<Chunk>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chunk {
    pub index: u32,
    /// First frame of the top rung's grid.
    pub first_frame: u64,
    /// Frames of the top rung; `None` for the last chunk, which runs to the
    /// end of the source (a probed duration is not exact to the frame).
    pub frame_count: Option<u64>,
    /// 0-based index of its first segment in every rendition.
    pub first_segment: u32,
}

impl ChunkSchedule {
    /// Seconds per top-rung frame.
    pub fn frame_s(&self) -> f64 {
        f64::from(self.fps_den) / f64::from(self.fps_num.max(1))
    }

    /// Where `chunk` starts, in seconds of the output timeline.
    pub fn start_s(&self, chunk: &Chunk) -> f64 {
        chunk.first_frame as f64 * self.frame_s()
    }

    /// Where it ends (`None`: the end of the source).
    pub fn end_s(&self, chunk: &Chunk) -> Option<f64> {
        chunk
            .frame_count
            .map(|n| (chunk.first_frame + n) as f64 * self.frame_s())
    }

    /// Segments per chunk (every chunk but the last has exactly this many).
    pub fn segments_per_chunk(&self) -> u64 {
        self.chunks
            .first()
            .and_then(|c| c.frame_count)
            .map_or(0, |n| n / self.segment_frames.max(1))
    }
}

/// The schedule for `plan` with chunks of about `chunk_s` seconds, or
/// `None` when the video is better encoded in one pass: no video, chunking
/// off (`chunk_s <= 0`), shorter than [`MIN_CHUNKS`] chunks, or a rung whose
/// segments do not end where the top rung's do.
pub fn schedule(plan: &Plan, chunk_s: f64) -> Option<ChunkSchedule> {
    let top = plan.video.first()?;
    if chunk_s.is_nan() || chunk_s <= 0.0 || top.fps_num == 0 || top.fps_den == 0 {
        return None;
    }
    let gops_per_segment = (plan.segment_target_s / plan.gop_s).floor().max(1.0) as u64;
    let segment_frames = gops_per_segment * u64::from(top.gop_frames);
    // Same segment length in time for every rung, as exact fractions:
    // gop_r / fps_r == gop_top / fps_top.
    let aligned = plan.video.iter().all(|r| {
        u64::from(r.gop_frames) * u64::from(r.fps_den) * u64::from(top.fps_num)
            == u64::from(top.gop_frames) * u64::from(top.fps_den) * u64::from(r.fps_num)
    });
    if !aligned {
        return None;
    }
    let frame_s = f64::from(top.fps_den) / f64::from(top.fps_num);
    let segment_s = segment_frames as f64 * frame_s;
    let segments_per_chunk = ((chunk_s / segment_s).round() as u64).max(1);
    let chunk_frames = segments_per_chunk * segment_frames;
    let frames = (plan.duration_s / frame_s).round().max(1.0) as u64;
    // A tail under a quarter of a chunk joins the last chunk rather than
    // becoming a task of its own (its start-up would cost more than it saves).
    let (full, tail) = (frames / chunk_frames, frames % chunk_frames);
    let count = if tail * 4 < chunk_frames {
        full
    } else {
        full + 1
    } as usize;
    if count < MIN_CHUNKS {
        return None;
    }
    let chunks = (0..count)
        .map(|i| Chunk {
            index: i as u32,
            first_frame: i as u64 * chunk_frames,
            frame_count: (i + 1 < count).then_some(chunk_frames),
            first_segment: (i as u64 * segments_per_chunk) as u32,
        })
        .collect();
    Some(ChunkSchedule {
        fps_num: top.fps_num,
        fps_den: top.fps_den,
        segment_frames,
        chunks,
    })
}

#[cfg(test)]
#[path = "chunks_tests.rs"]
mod tests;
