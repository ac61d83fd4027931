//! One branch per video rung, fed by the head tee: optional frame-rate
//! change, scaling (`vodscale`), x264, parsing and TS segmentation.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use gst::prelude::*;
use gstreamer as gst;

use super::RunOptions;
use super::build::{RUNG_COLORIMETRY, add_chain, caps, make, queue, raw_video, segmenter};
use super::scale;
use super::taps::{self, SegLog, Shared};
use crate::error::{PipelineError, Result};
use crate::plan::{Plan, Rung};

pub(super) struct Branch<'a> {
    pub plan: &'a Plan,
    pub rung: &'a Rung,
    /// What the head tee carries: the source-sized top rung.
    pub top: &'a Rung,
}

fn encoder(rung: &Rung, opts: &RunOptions) -> Result<gst::Element> {
    let enc = make("x264enc")?;
    let kbps = |bps: u64| u32::try_from(bps / 1000).unwrap_or(u32::MAX);
    enc.set_property("bitrate", kbps(rung.bitrate_bps));
    // x264enc's `pass=cbr` pins vbv-maxrate to the bitrate and ignores the
    // option-string for it; the buffer is expressed in milliseconds.
    let buf_ms = rung.bufsize_bits.saturating_mul(1000) / rung.bitrate_bps.max(1);
    enc.set_property("vbv-buf-capacity", u32::try_from(buf_ms).unwrap_or(1500));
    enc.set_property("key-int-max", rung.gop_frames);
    enc.set_property("bframes", 3u32);
    enc.set_property("b-adapt", true);
    enc.set_property("threads", opts.x264_threads);
    enc.set_property_from_str("speed-preset", &opts.speed_preset);
    enc.set_property(
        "option-string",
        // log=0: x264enc runs x264 at debug log level, which formats a
        // per-frame report we never read.
        format!("scenecut=0:keyint-min={}:open-gop=0:log=0", rung.gop_frames),
    );
    Ok(enc)
}

/// Builds and links one rung branch from `feed` (the head tee); returns its
/// segment log.
pub(super) fn build(
    pipeline: &gst::Pipeline,
    feed: &gst::Element,
    b: &Branch<'_>,
    hls: &Path,
    opts: &RunOptions,
    activity: &Arc<AtomicU64>,
) -> Result<Shared<SegLog>> {
    let (plan, rung, top) = (b.plan, b.rung, b.top);
    let frame_ns = 1e9 * f64::from(rung.fps_den) / f64::from(rung.fps_num.max(1));
    // Whole GOPs per segment; half a frame of slack absorbs rounding of
    // non-integer rates (29.97 fps GOPs last 2.002 s).
    let gops = (plan.segment_target_s / plan.gop_s).floor().max(1.0);
    let max_ns = (gops * f64::from(rung.gop_frames) * frame_ns + frame_ns / 2.0) as u64;
    let log: Shared<SegLog> = Arc::default();
    let mut chain = vec![queue(opts.queue_frames)?];
    if (rung.fps_num, rung.fps_den) != (top.fps_num, top.fps_den) {
        chain.push(make("videorate")?);
    }
    let scale = make(scale::FACTORY)?;
    scale.set_property_from_str("method", &opts.scale_method);
    chain.push(scale);
    let fps = Some((rung.fps_num, rung.fps_den));
    chain.push(caps(raw_video(
        rung.width,
        rung.height,
        fps,
        RUNG_COLORIMETRY,
    ))?);
    chain.push(encoder(rung, opts)?);
    let h264 = gst::Structure::builder("video/x-h264")
        .field("profile", "high")
        .build();
    chain.push(caps(h264)?);
    let parse = make("h264parse")?;
    parse.set_property("config-interval", -1i32);
    chain.push(parse.clone());
    chain.push(segmenter(&hls.join(&rung.name), max_ns, &log)?);
    add_chain(pipeline, &chain)?;
    feed.link(&chain[0]).map_err(PipelineError::gst)?;
    if let Some(pad) = parse.static_pad("src") {
        taps::attach_stream_tap(&pad, log.clone(), activity.clone(), true);
    }
    Ok(log)
}
