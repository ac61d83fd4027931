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
use vod_plan::{Plan, Rung, VideoCodec};

pub(super) struct Branch<'a> {
    pub plan: &'a Plan,
    pub rung: &'a Rung,
    /// What the feed carries: the source-sized top rung for the head tee,
    /// or the larger rung this one is scaled from.
    pub feed: &'a Rung,
    /// Whether smaller rungs are scaled from this one's frames: adds a tee
    /// after the scaler, returned by [`build`].
    pub fan_out: bool,
    /// The chunk being encoded (chunked encoding), whose grid a
    /// lower-rate rung's frames are put back on.
    pub window: Option<&'a Arc<crate::chunked::window::Window>>,
}

/// A rung is scaled from a larger rung's frames, not from the source, when
/// that rung's short side is at least this many times its own. Scaling
/// cost grows with the input size and the filter taps (which grow with the
/// ratio): 360p from 720p frames costs about a third of 360p from 1080p.
/// At 2:1 the second resampling costs no measurable quality (PSNR against
/// the source within 0.05 dB of a direct scale); 480p from 720p (1.5:1)
/// lost 0.3 dB, so it stays direct.
const CASCADE_MIN_RATIO: f64 = 2.0;

/// For each rung of `ladder` (largest first, the first being the
/// source-sized top rung), the index of the rung whose scaled frames it is
/// scaled from, or `None` for the source frames of the head tee. The top
/// rung is never a feed: its frames are the source's.
pub(super) fn scale_feeds(ladder: &[Rung], cascade: bool) -> Vec<Option<usize>> {
    let short = |r: &Rung| f64::from(r.width.min(r.height));
    ladder
        .iter()
        .enumerate()
        .map(|(i, rung)| {
            if !cascade {
                return None;
            }
            // The smallest larger rung still big enough: the least work.
            (1..i)
                .filter(|&j| short(&ladder[j]) >= CASCADE_MIN_RATIO * short(rung))
                .min_by(|&a, &b| short(&ladder[a]).total_cmp(&short(&ladder[b])))
        })
        .collect()
}

fn encoder(rung: &Rung, opts: &RunOptions) -> Result<gst::Element> {
    let enc = match rung.codec {
        VideoCodec::H264 => make("x264enc")?,
    };
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
        // per-frame report we never read. stitchable=1: headers that do not
        // depend on the first frames, the same in every chunk (set in the
        // single pass too, so both paths write the same SPS and PPS).
        format!(
            "scenecut=0:keyint-min={}:open-gop=0:stitchable=1:log=0",
            rung.gop_frames
        ),
    );
    Ok(enc)
}

/// Builds and links one rung branch from `feed` (a tee); returns its
/// segment log and, with [`Branch::fan_out`], the tee carrying its scaled
/// frames.
pub(super) fn build(
    pipeline: &gst::Pipeline,
    feed: &gst::Element,
    b: &Branch<'_>,
    hls: &Path,
    opts: &RunOptions,
    activity: &Arc<AtomicU64>,
) -> Result<(Shared<SegLog>, Option<gst::Element>)> {
    let (plan, rung, input) = (b.plan, b.rung, b.feed);
    let frame_ns = 1e9 * f64::from(rung.fps_den) / f64::from(rung.fps_num.max(1));
    // Whole GOPs per segment; half a frame of slack absorbs rounding of
    // non-integer rates (29.97 fps GOPs last 2.002 s).
    let gops = (plan.segment_target_s / plan.gop_s).floor().max(1.0);
    let max_ns = (gops * f64::from(rung.gop_frames) * frame_ns + frame_ns / 2.0) as u64;
    let log: Shared<SegLog> = Arc::default();
    let mut chain = vec![queue(opts.queue_frames)?];
    if (rung.fps_num, rung.fps_den) != (input.fps_num, input.fps_den) {
        let rate = make("videorate")?;
        if let (Some(w), Some(pad)) = (b.window, rate.static_pad("src")) {
            let grid = crate::chunked::grid::Grid::new(rung.fps_num, rung.fps_den);
            w.attach_rung_snap(&pad, grid);
        }
        chain.push(rate);
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
    // No queue between this tee and x264enc: the branch's own queue
    // already gives the scaler and encoder a thread, and the smaller rungs
    // start with theirs.
    let fan = if b.fan_out {
        let tee = make("tee")?;
        chain.push(tee.clone());
        Some(tee)
    } else {
        None
    };
    let enc = encoder(rung, opts)?;
    if let (Some(w), Some(pad)) = (b.window, enc.static_pad("src")) {
        w.attach_dts_fixup(
            &pad,
            crate::chunked::grid::Grid::new(rung.fps_num, rung.fps_den),
        );
    }
    chain.push(enc);
    let h264 = gst::Structure::builder("video/x-h264")
        .field("profile", rung.profile.as_str())
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
    Ok((log, fan))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ladder(sizes: &[(u32, u32)]) -> Vec<Rung> {
        sizes
            .iter()
            .map(|&(width, height)| Rung {
                name: format!("{}p", width.min(height)),
                width,
                height,
                codec: VideoCodec::H264,
                profile: vod_plan::H264Profile::High,
                bitrate_bps: 1_000_000,
                maxrate_bps: 1_070_000,
                bufsize_bits: 1_500_000,
                fps_num: 30,
                fps_den: 1,
                gop_frames: 60,
            })
            .collect()
    }

    #[test]
    fn only_rungs_at_most_half_a_scaled_rung_cascade() {
        let hd = ladder(&[(1920, 1080), (1280, 720), (854, 480), (640, 360)]);
        assert_eq!(scale_feeds(&hd, true), [None, None, None, Some(1)]);
        assert_eq!(scale_feeds(&hd, false), [None; 4]);
    }

    #[test]
    fn the_smallest_big_enough_rung_feeds_and_the_top_never_does() {
        let uhd = ladder(&[
            (3840, 2160),
            (1920, 1080),
            (1280, 720),
            (854, 480),
            (640, 360),
        ]);
        assert_eq!(
            scale_feeds(&uhd, true),
            [None, None, None, Some(1), Some(2)]
        );
        // 720p is the source size here: its frames are the head tee's.
        let small = ladder(&[(1280, 720), (854, 480), (640, 360)]);
        assert_eq!(scale_feeds(&small, true), [None; 3]);
    }

    #[test]
    fn portrait_rungs_compare_short_sides() {
        let phone = ladder(&[(1080, 1920), (720, 1280), (480, 854), (360, 640)]);
        assert_eq!(scale_feeds(&phone, true), [None, None, None, Some(1)]);
    }
}
