//! Runs a plan: GStreamer graph, bus watch with stall timeout, then
//! packaging (playlists, thumbnails, manifest).

pub(crate) mod build;
mod resize;
mod rungs;
mod scale;
mod source;
mod taps;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use gst::prelude::*;
use gstreamer as gst;
use serde::{Deserialize, Serialize};

use crate::error::{PipelineError, Result};
use vod_plan::Manifest;
use vod_plan::Plan;

pub(crate) use scale::register as register_elements;
pub(crate) use taps::{SegLog, lock};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunOptions {
    /// No buffer produced anywhere for this long aborts the run.
    pub stall_timeout: Duration,
    /// x264 speed preset; the benchmark compares like with like.
    pub speed_preset: String,
    /// 0 lets x264 decide.
    pub x264_threads: u32,
    /// Raw frames buffered per rung, so encoders run unblocked in parallel.
    pub queue_frames: u32,
    /// `vodscale method` nick used for the rungs (bilinear, catrom,
    /// bicubic, mitchell, lanczos).
    pub scale_method: String,
    /// Scale small rungs from a larger rung's frames instead of the
    /// source's (see `rungs::scale_feeds`); off for A/B measurements.
    #[serde(default = "cascade_default")]
    pub cascade_scaling: bool,
    pub progress_interval: Duration,
    /// Set from another thread to abort the run (a cancelled job); checked
    /// with the bus every 200 ms.
    #[serde(skip)]
    pub cancel: Option<Arc<AtomicBool>>,
}

impl Default for RunOptions {
    fn default() -> Self {
        Self {
            stall_timeout: Duration::from_secs(60),
            speed_preset: "veryfast".into(),
            x264_threads: 0,
            queue_frames: 16,
            scale_method: "bicubic".into(),
            cascade_scaling: cascade_default(),
            progress_interval: Duration::from_secs(1),
            cancel: None,
        }
    }
}

fn cascade_default() -> bool {
    true
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    Transcoding,
    Packaging,
    Done,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    pub stage: Stage,
    /// 0–100.
    pub percent: f64,
    pub position_s: f64,
    pub duration_s: f64,
}

pub fn run(
    plan: &Plan,
    input: &Path,
    outdir: &Path,
    opts: &RunOptions,
    mut progress: impl FnMut(Progress) + Send,
) -> Result<Manifest> {
    plan.validate()?;
    crate::discover::init()?;
    let result = run_inner(plan, input, outdir, opts, &mut progress);
    if result.is_err() {
        cleanup(outdir);
    }
    result
}

/// Only the poster, sprite sheets and storyboard of `plan`, under
/// `outdir/thumbs/`: for a backend that encodes the renditions elsewhere.
/// The same decode, frame pickers and writer as a full run, without the
/// encoders; `Ok(None)` when the plan has no thumbnails (audio only).
pub fn thumbnails(
    plan: &Plan,
    input: &Path,
    outdir: &Path,
    opts: &RunOptions,
) -> Result<Option<vod_plan::Thumbnails>> {
    let Some(spec) = &plan.thumbnails else {
        return Ok(None);
    };
    plan.validate()?;
    crate::discover::init()?;
    let dir = outdir.join("thumbs");
    std::fs::create_dir_all(&dir).map_err(|e| PipelineError::io(&dir, e))?;
    let graph = build::build(
        plan,
        &crate::chunked::Input::File(input.to_path_buf()),
        &outdir.join("hls"),
        opts,
        &build::Outputs::ThumbnailsOnly,
    )?;
    let outcome = drive(
        &graph,
        plan.duration_s,
        opts,
        &mut |_: Progress| {},
        &mut || Ok(()),
    );
    let _ = graph.pipeline.set_state(gst::State::Null);
    outcome?;
    let tiles = std::mem::take(&mut *taps::lock(&graph.tiles));
    let poster = std::mem::take(&mut *taps::lock(&graph.poster));
    drop(graph);
    crate::thumbs::write(spec, plan.duration_s, &dir, &tiles.frames, &poster.frames).map(Some)
}

/// Removes what a failed run may have left; the outdir itself may be the
/// caller's and stays.
fn cleanup(outdir: &Path) {
    for sub in ["hls", "thumbs"] {
        let _ = std::fs::remove_dir_all(outdir.join(sub));
    }
    let _ = std::fs::remove_file(outdir.join("manifest.json"));
}

fn run_inner(
    plan: &Plan,
    input: &Path,
    outdir: &Path,
    opts: &RunOptions,
    progress: &mut (impl FnMut(Progress) + Send),
) -> Result<Manifest> {
    let hls = outdir.join("hls");
    let dirs = plan
        .video
        .iter()
        .map(|r| hls.join(&r.name))
        .chain(plan.audio.iter().map(|a| hls.join(&a.name)))
        .chain(plan.thumbnails.iter().map(|_| outdir.join("thumbs")));
    for dir in dirs {
        std::fs::create_dir_all(&dir).map_err(|e| PipelineError::io(&dir, e))?;
    }
    let started = Instant::now();
    let input = crate::chunked::Input::File(input.to_path_buf());
    let graph = build::build(plan, &input, &hls, opts, &build::Outputs::Package)?;
    let outcome = drive(&graph, plan.duration_s, opts, progress, &mut || Ok(()));
    let _ = graph.pipeline.set_state(gst::State::Null);
    outcome?;
    tracing::info!(
        elapsed_s = started.elapsed().as_secs_f64(),
        "graph finished"
    );
    progress(Progress {
        stage: Stage::Packaging,
        percent: 100.0,
        position_s: plan.duration_s,
        duration_s: plan.duration_s,
    });
    let video: Vec<SegLog> = graph
        .video
        .iter()
        .map(|l| std::mem::take(&mut *taps::lock(l)))
        .collect();
    let audio = graph
        .audio
        .as_ref()
        .map(|l| std::mem::take(&mut *taps::lock(l)));
    let tiles = std::mem::take(&mut *taps::lock(&graph.tiles));
    let poster = std::mem::take(&mut *taps::lock(&graph.poster));
    drop(graph);
    let video: Vec<vod_plan::SegmentRun> = plan
        .video
        .iter()
        .zip(&video)
        .map(|(rung, log)| crate::hls::run_of(&rung.name, log))
        .collect::<Result<_>>()?;
    let audio = match (&plan.audio, audio.as_ref()) {
        (Some(a), Some(log)) => Some(crate::hls::run_of(&a.name, log)?),
        _ => None,
    };
    let packaged = crate::hls::package(plan, &hls, &video, audio.as_ref())?;
    check_complete(plan, &packaged)?;
    let thumbs = match &plan.thumbnails {
        Some(spec) => Some(crate::thumbs::write(
            spec,
            plan.duration_s,
            &outdir.join("thumbs"),
            &tiles.frames,
            &poster.frames,
        )?),
        None => None,
    };
    let manifest = Manifest::new(
        plan,
        packaged.master,
        packaged.video,
        packaged.audio,
        thumbs,
    );
    crate::manifest::write(&manifest, outdir)?;
    progress(Progress {
        stage: Stage::Done,
        percent: 100.0,
        position_s: plan.duration_s,
        duration_s: plan.duration_s,
    });
    Ok(manifest)
}

/// Plays `graph` to its EOS, reporting progress over `duration_s` and
/// calling `tick` every 200 ms (a chunk sends its seek from there).
pub(crate) fn drive(
    graph: &build::Graph,
    duration_s: f64,
    opts: &RunOptions,
    progress: &mut (impl FnMut(Progress) + Send),
    tick: &mut dyn FnMut() -> Result<()>,
) -> Result<()> {
    let bus = graph
        .pipeline
        .bus()
        .ok_or_else(|| PipelineError::gst("pipeline without bus"))?;
    graph
        .pipeline
        .set_state(gst::State::Playing)
        .map_err(|_| PipelineError::gst("the pipeline refused to start"))?;
    let mut seen = (u64::MAX, Instant::now());
    let mut last_report: Option<Instant> = None;
    loop {
        if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(200)) {
            match msg.view() {
                gst::MessageView::Eos(_) => return Ok(()),
                gst::MessageView::Error(err) => {
                    let src = msg
                        .src()
                        .map(|s| s.path_string().to_string())
                        .unwrap_or_default();
                    tracing::warn!(%src, error = %err.error(), debug = ?err.debug(), "pipeline error");
                    return Err(classify_error(&src, &err.error()));
                }
                _ => {}
            }
        }
        if opts
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::Relaxed))
        {
            return Err(PipelineError::Cancelled);
        }
        tick()?;
        let now = Instant::now();
        let activity = graph.activity.load(Ordering::Relaxed);
        if activity != seen.0 {
            seen = (activity, now);
        } else if now.duration_since(seen.1) >= opts.stall_timeout {
            return Err(PipelineError::StallTimeout {
                seconds: opts.stall_timeout.as_secs(),
            });
        }
        if last_report.is_none_or(|t| now.duration_since(t) >= opts.progress_interval) {
            last_report = Some(now);
            let position_s = position(graph);
            let percent = if duration_s > 0.0 {
                (position_s / duration_s * 100.0).clamp(0.0, 99.9)
            } else {
                0.0
            };
            progress(Progress {
                stage: Stage::Transcoding,
                percent,
                position_s,
                duration_s,
            });
        }
    }
}

/// A demuxer that hits a truncated file often just ends early; a package
/// much shorter than the probed duration is a broken upload, not a success.
fn check_complete(plan: &Plan, packaged: &crate::hls::Packaged) -> Result<()> {
    let produced = packaged
        .video
        .iter()
        .chain(packaged.audio.iter())
        .map(|r| r.duration_s)
        .fold(f64::INFINITY, f64::min);
    let expected = plan.duration_s;
    if produced.is_finite() && produced < expected * 0.75 && expected - produced > 2.0 {
        return Err(PipelineError::Decode {
            detail: format!(
                "only {produced:.1} of {expected:.1} seconds could be read; the file looks truncated"
            ),
        });
    }
    Ok(())
}

/// The slowest rendition's encoded end is how far the whole job has got.
fn position(graph: &build::Graph) -> f64 {
    graph
        .video
        .iter()
        .chain(graph.audio.iter())
        .map(|l| {
            let l = taps::lock(l);
            let start = l.starts_ns.first().copied().unwrap_or(l.end_ns);
            l.end_ns.saturating_sub(start)
        })
        .min()
        .map(|ns| ns as f64 / 1e9)
        .unwrap_or(0.0)
}

/// Errors raised while reading and decoding the source are the upload's
/// fault; anything downstream of the decoder is ours.
pub(crate) fn classify_error(src: &str, err: &gst::glib::Error) -> PipelineError {
    let detail = err.message().to_string();
    if err.matches(gst::CoreError::MissingPlugin) || err.matches(gst::StreamError::CodecNotFound) {
        return PipelineError::UnsupportedCodec { codec: detail };
    }
    let from_source = src.contains("decodebin") || src.contains("filesrc");
    if from_source || err.matches(gst::StreamError::Decode) || err.matches(gst::StreamError::Demux)
    {
        PipelineError::Decode { detail }
    } else {
        PipelineError::Gstreamer {
            detail: format!("{src}: {detail}"),
        }
    }
}
