//! One branch per video rung: optional frame-rate change, scaling, x264,
//! parsing and TS segmentation. Rungs whose direct scale would hit a poor
//! kernel case are fed from a larger rung's scaled output instead.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use gst::prelude::*;
use gstreamer as gst;

use super::RunOptions;
use super::build::{RUNG_COLORIMETRY, add_chain, caps, make, queue, raw_video, segmenter};
use super::taps::{self, SegLog, Shared};
use crate::error::{PipelineError, Result};
use crate::plan::{Plan, Rung};

pub(super) struct Branch<'a> {
    pub plan: &'a Plan,
    pub rung: &'a Rung,
    /// What the feeding tee carries: the source-sized top rung or a parent.
    pub from: &'a Rung,
    /// Whether other rungs scale from this rung's output.
    pub feeds_others: bool,
}

fn long_side(r: &Rung) -> u32 {
    r.width.max(r.height)
}

/// An exact integer downscale of 3 or more, where GStreamer 1.22's cubic
/// kernels misplace samples (measured −10 dB PSNR at 1080p→360p).
fn bad_ratio(from: &Rung, to: &Rung) -> bool {
    let (a, b) = (long_side(from), long_side(to));
    let same_aspect = u64::from(from.width) * u64::from(to.height)
        == u64::from(from.height) * u64::from(to.width);
    b > 0 && a.is_multiple_of(b) && a / b >= 3 && same_aspect
}

/// For each rung, the index of a larger rung to scale from, when scaling
/// from the source directly would be a bad ratio: an exact 2× parent first
/// (1080p→720p→360p measures within 0.1 dB of a direct bicubic), else any
/// parent at a non-integer ratio.
pub(super) fn parents(rungs: &[Rung]) -> Vec<Option<usize>> {
    let Some(top) = rungs.first() else {
        return Vec::new();
    };
    rungs
        .iter()
        .enumerate()
        .map(|(i, r)| {
            if i == 0 || !bad_ratio(top, r) {
                return None;
            }
            (1..i)
                .find(|&j| long_side(&rungs[j]) == 2 * long_side(r))
                .or_else(|| {
                    (1..i).find(|&j| !long_side(&rungs[j]).is_multiple_of(long_side(r).max(1)))
                })
        })
        .collect()
}

/// Luma method and chroma resampler. Catrom with a cubic chroma resampler
/// tracks swscale's bicubic best (the default linear chroma resampler costs
/// ~13 dB of chroma PSNR); at bad ratios a multi-tap bilinear is a box
/// filter and exact.
fn kernels<'a>(from: &Rung, to: &Rung, opts: &'a RunOptions) -> (&'a str, &'static str) {
    if bad_ratio(from, to) {
        ("bilinear2", "linear")
    } else {
        (&opts.scale_method, "cubic")
    }
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
/// Builds and links one rung branch from `feed` (a tee); returns its
/// segment log and, if it feeds other rungs, its own tee.
pub(super) fn build(
    pipeline: &gst::Pipeline,
    feed: &gst::Element,
    b: &Branch<'_>,
    hls: &Path,
    opts: &RunOptions,
    activity: &Arc<AtomicU64>,
) -> Result<(Shared<SegLog>, Option<gst::Element>)> {
    let (plan, rung, from) = (b.plan, b.rung, b.from);
    let frame_ns = 1e9 * f64::from(rung.fps_den) / f64::from(rung.fps_num.max(1));
    // Whole GOPs per segment; half a frame of slack absorbs rounding of
    // non-integer rates (29.97 fps GOPs last 2.002 s).
    let gops = (plan.segment_target_s / plan.gop_s).floor().max(1.0);
    let max_ns = (gops * f64::from(rung.gop_frames) * frame_ns + frame_ns / 2.0) as u64;
    let log: Shared<SegLog> = Arc::default();
    let mut chain = vec![queue(opts.queue_frames)?];
    if (rung.fps_num, rung.fps_den) != (from.fps_num, from.fps_den) {
        chain.push(make("videorate")?);
    }
    let scale = make("videoconvertscale")?;
    scale.set_property("add-borders", false);
    scale.set_property("n-threads", opts.scale_threads);
    let (method, chroma) = kernels(from, rung, opts);
    scale.set_property_from_str("method", method);
    scale.set_property_from_str("chroma-resampler", chroma);
    chain.push(scale);
    let fps = Some((rung.fps_num, rung.fps_den));
    chain.push(caps(raw_video(
        rung.width,
        rung.height,
        fps,
        RUNG_COLORIMETRY,
    ))?);
    let own_tee = if b.feeds_others {
        let t = make("tee")?;
        chain.push(t.clone());
        Some(t)
    } else {
        None
    };
    let encode_start = chain.len();
    chain.push(encoder(rung, opts)?);
    let h264 = gst::Structure::builder("video/x-h264")
        .field("profile", "high")
        .build();
    chain.push(caps(h264)?);
    let parse = make("h264parse")?;
    parse.set_property("config-interval", -1i32);
    chain.push(parse.clone());
    chain.push(segmenter(&hls.join(&rung.name), max_ns, &log)?);
    if own_tee.is_some() {
        // The tee gets a queue of its own so its encoder runs in parallel
        // with the rungs it feeds.
        chain.insert(encode_start, queue(opts.queue_frames)?);
    }
    add_chain(pipeline, &chain)?;
    feed.link(&chain[0]).map_err(PipelineError::gst)?;
    if let Some(pad) = parse.static_pad("src") {
        taps::attach_stream_tap(&pad, log.clone(), activity.clone(), true);
    }
    Ok((log, own_tee))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::limits::Limits;
    use crate::probe::{Orientation, Probe, VideoStream};

    fn ladder(w: u32, h: u32) -> Vec<Rung> {
        let probe = Probe {
            container: "video/quicktime".into(),
            duration_s: 10.0,
            video: Some(VideoStream {
                codec: "video/x-h264".into(),
                profile: None,
                width: w,
                height: h,
                par_n: 1,
                par_d: 1,
                orientation: Orientation::Rotate0,
                fps_num: 30,
                fps_den: 1,
                variable_fps: false,
                pixel_format: None,
                bit_depth: None,
                interlaced: false,
            }),
            audio: None,
            gst_version: String::new(),
        };
        crate::plan::plan(&probe, &Limits::default()).unwrap().video
    }

    #[test]
    fn cascades_only_bad_ratios() {
        // 1080p: 360p (3×) comes from 720p (2×); the rest from the source.
        assert_eq!(parents(&ladder(1920, 1080)), [None, None, None, Some(1)]);
        // 2160p: 720p (3×) from 1080p (1.5×), 360p (6×) from 720p (2×).
        assert_eq!(
            parents(&ladder(3840, 2160)),
            [None, None, Some(1), None, Some(2)]
        );
        assert_eq!(parents(&ladder(1280, 720)), [None, None, None]);
        assert_eq!(parents(&ladder(720, 1280)), [None, None, None]);
    }
}
