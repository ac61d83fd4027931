//! The two encoding tasks of a chunked plan: one chunk of every video rung
//! (with its storyboard tiles and maybe the poster), and the audio track.
//! Both run the single-pass graph (`graph::build`) with a different
//! [`Outputs`], so encoder settings, scaling and segmenting are the same
//! code as a single pass.

use std::path::Path;
use std::sync::Arc;

use gst::prelude::*;
use gstreamer as gst;
use vod_plan::outputs::tile_name;
use vod_plan::{AudioOutput, ChunkOutput, Plan, PlanError};

use super::grid::{self, Grid, TilePicker};
use super::window::Window;
use super::{Input, chunk_of};
use crate::error::{PipelineError, Result};
use crate::graph::build::{self, Outputs};
use crate::graph::{drive, lock};
use crate::{Progress, RunOptions};

/// Containers whose GStreamer demuxer seeks with byte ranges over HTTP, so
/// a chunk task reads about its share of the file (measured: README,
/// "Chunked encoding"). MPEG-TS is left out: its demuxer's seeks over HTTP
/// did not land on the same frames as a local file's.
pub(crate) const SEEKABLE_OVER_HTTP: &[&str] = &["video/quicktime"];

fn create_dir(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| PipelineError::io(dir, e))
}

/// Encodes chunk `index` of `plan`'s schedule: `hls/<rung>/seg_NNNNN.ts`
/// for every video rung (global numbering and timestamps),
/// `thumbs/tiles/tile_NNNNN.i420`, and `thumbs/poster.jpg` when the
/// poster's frame is in this chunk.
pub fn encode_chunk(
    plan: &Plan,
    index: u32,
    input: &Input,
    outdir: &Path,
    opts: &RunOptions,
    mut progress: impl FnMut(Progress) + Send,
) -> Result<ChunkOutput> {
    plan.validate()?;
    crate::discover::init()?;
    let (schedule, chunk) = chunk_of(plan, index)?;
    let grid = Grid::new(schedule.fps_num, schedule.fps_den);
    let first = chunk.first_frame;
    let end = chunk.frame_count.map(|n| first + n);
    let window = Arc::new(Window::new(grid, first, end));
    let poster = plan.thumbnails.as_ref().is_some_and(|s| {
        let f = grid::poster_frame(grid, s.poster_at_s);
        f >= first && end.is_none_or(|e| f < e)
    });
    let hls = outdir.join("hls");
    for rung in &plan.video {
        create_dir(&hls.join(&rung.name))?;
    }
    let tiles_dir = outdir.join("thumbs/tiles");
    if plan.thumbnails.is_some() {
        create_dir(&tiles_dir)?;
    }
    let outputs = Outputs::Chunk {
        window: window.clone(),
        poster,
    };
    let graph = build::build(plan, input, &hls, opts, &outputs)?;
    for log in &graph.video {
        lock(log).first_index = chunk.first_segment;
    }
    let start_s = grid.offset(first) as f64 / 1e9;
    let duration_s = match end {
        Some(e) => (grid.offset(e) - grid.offset(first)) as f64 / 1e9,
        None => (plan.duration_s - start_s).max(0.0),
    };
    tracing::info!(
        chunk = index,
        first_frame = first,
        end_frame = ?end,
        source = %input.describe(),
        "encoding chunk"
    );
    let mut seeked = false;
    let mut seek = || -> Result<()> {
        if seeked {
            return Ok(());
        }
        let Some(origin) = window.origin() else {
            return Ok(());
        };
        let (start, stop) = window.seek_range(&origin);
        let stop_type = if stop.is_some() {
            gst::SeekType::Set
        } else {
            gst::SeekType::None
        };
        let Some(head) = &graph.video_head else {
            return Err(PipelineError::gst("a chunk graph without video"));
        };
        let event = gst::event::Seek::new(
            1.0,
            gst::SeekFlags::FLUSH | gst::SeekFlags::ACCURATE,
            gst::SeekType::Set,
            Some(start),
            stop_type,
            stop,
        );
        // Until the demuxer has exposed its pads it can refuse; the next
        // tick tries again (the stall timeout bounds it).
        let sent = if head.push_event(event) {
            Ok(())
        } else {
            Err("refused")
        };
        match sent {
            Ok(()) => seeked = true,
            Err(e) => tracing::debug!(chunk = index, error = %e, "seek refused; trying again"),
        }
        Ok(())
    };
    let outcome = drive(&graph, duration_s, opts, &mut progress, &mut seek);
    let _ = graph.pipeline.set_state(gst::State::Null);
    outcome?;

    let mut renditions = Vec::with_capacity(plan.video.len());
    for (rung, log) in plan.video.iter().zip(&graph.video) {
        let log = std::mem::take(&mut *lock(log));
        renditions.push(crate::hls::run_of(&rung.name, &log)?);
    }
    // A demuxer that hits a truncated file just ends early.
    let produced = renditions
        .iter()
        .map(|r| r.segments.iter().map(|s| s.duration_s).sum::<f64>())
        .fold(f64::INFINITY, f64::min);
    let short = match end {
        Some(_) => produced + 1.5 * grid.offset(1) as f64 / 1e9 < duration_s,
        None => produced < duration_s * 0.75 && duration_s - produced > 2.0,
    };
    if produced.is_finite() && short {
        return Err(PipelineError::Decode {
            detail: format!(
                "chunk {index}: only {produced:.1} of {duration_s:.1} seconds could be read; the file looks truncated"
            ),
        });
    }
    let mut tiles = Vec::new();
    let mut wrote_poster = false;
    if let Some(spec) = &plan.thumbnails {
        let base = TilePicker::replayed(spec.interval_s, grid, first).picked;
        let frames = std::mem::take(&mut lock(&graph.tiles).frames);
        for (n, (_, frame)) in frames.iter().enumerate() {
            let tile = base + u32::try_from(n).unwrap_or(u32::MAX);
            let path = tiles_dir.join(tile_name(tile));
            std::fs::write(&path, frame).map_err(|e| PipelineError::io(&path, e))?;
            tiles.push(tile);
        }
        if let Some((_, frame)) = lock(&graph.poster).frames.last() {
            wrote_poster = crate::thumbs::write_poster(spec, &outdir.join("thumbs"), frame)?;
        }
    }
    Ok(ChunkOutput {
        chunk: index,
        renditions,
        tiles,
        poster: wrote_poster,
    })
}

/// Encodes the whole audio track once (`hls/<audio>/seg_NNNNN.ts`), the
/// video streams demuxed but not decoded.
pub fn encode_audio(
    plan: &Plan,
    input: &Input,
    outdir: &Path,
    opts: &RunOptions,
    mut progress: impl FnMut(Progress) + Send,
) -> Result<AudioOutput> {
    plan.validate()?;
    crate::discover::init()?;
    let audio = plan.audio.as_ref().ok_or_else(|| {
        PipelineError::Plan(PlanError::InvalidPlan {
            detail: "an audio task was asked of a plan without audio".into(),
        })
    })?;
    let hls = outdir.join("hls");
    create_dir(&hls.join(&audio.name))?;
    let graph = build::build(plan, input, &hls, opts, &Outputs::Audio)?;
    let outcome = drive(&graph, plan.duration_s, opts, &mut progress, &mut || Ok(()));
    let _ = graph.pipeline.set_state(gst::State::Null);
    outcome?;
    let log = graph
        .audio
        .as_ref()
        .map(|l| std::mem::take(&mut *lock(l)))
        .unwrap_or_default();
    let run = crate::hls::run_of(&audio.name, &log)?;
    let produced: f64 = run.segments.iter().map(|s| s.duration_s).sum();
    let expected = plan.duration_s;
    if produced < expected * 0.75 && expected - produced > 2.0 {
        return Err(PipelineError::Decode {
            detail: format!(
                "only {produced:.1} of {expected:.1} seconds of audio could be read; the file looks truncated"
            ),
        });
    }
    Ok(AudioOutput { run })
}
