//! Builds the decode-once, fan-out graph for a plan.

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use gstreamer as gst;
use gst::prelude::*;

use super::RunOptions;
use super::taps::{self, Frames, SegLog, Shared};
use crate::error::{PipelineError, Result};
use crate::plan::{Plan, Rung};

pub(crate) struct Graph {
    pub pipeline: gst::Pipeline,
    pub video: Vec<Shared<SegLog>>,
    pub audio: Option<Shared<SegLog>>,
    pub tiles: Shared<Frames>,
    pub poster: Shared<Frames>,
    pub activity: Arc<AtomicU64>,
}

fn make(factory: &str) -> Result<gst::Element> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| PipelineError::MissingPlugin { what: factory.to_owned() })
}

fn caps(s: gst::Structure) -> gst::Element {
    gst::ElementFactory::make("capsfilter")
        .property("caps", gst::Caps::builder_full().structure(s).build())
        .build()
        .unwrap_or_else(|_| gst::Bin::new().upcast())
}

fn queue(max_buffers: u32) -> Result<gst::Element> {
    let q = make("queue")?;
    q.set_property("max-size-buffers", max_buffers);
    q.set_property("max-size-bytes", 0u32);
    q.set_property("max-size-time", 0u64);
    Ok(q)
}

fn add_chain(pipeline: &gst::Pipeline, chain: &[gst::Element]) -> Result<()> {
    pipeline.add_many(chain).map_err(PipelineError::gst)?;
    gst::Element::link_many(chain).map_err(PipelineError::gst)
}

fn fraction(num: u32, den: u32) -> gst::Fraction {
    gst::Fraction::new(i32::try_from(num).unwrap_or(30), i32::try_from(den).unwrap_or(1))
}

/// BT.709 for every rung: left open, GStreamer would pick BT.601 for SD
/// sizes and convert (and re-tag) the lower rungs of an HD source.
const RUNG_COLORIMETRY: &str = "bt709";
/// Full-range BT.601, what JPEG decoders assume.
const JPEG_COLORIMETRY: &str = "1:4:0:0";

fn raw_video(width: u32, height: u32, fps: Option<(u32, u32)>, colorimetry: &str) -> gst::Structure {
    let mut s = gst::Structure::builder("video/x-raw")
        .field("format", "I420")
        .field("colorimetry", colorimetry)
        .field("width", i32::try_from(width).unwrap_or(2))
        .field("height", i32::try_from(height).unwrap_or(2))
        .field("pixel-aspect-ratio", gst::Fraction::new(1, 1))
        .build();
    if let Some((n, d)) = fps {
        s.set("framerate", fraction(n, d));
    }
    s
}

fn segmenter(dir: &Path, max_time_ns: u64, log: &Shared<SegLog>) -> Result<gst::Element> {
    let sink = make("splitmuxsink")?;
    sink.set_property("muxer", make("mpegtsmux")?);
    sink.set_property("max-size-time", max_time_ns);
    sink.set_property("send-keyframe-requests", false);
    // No sink may hold the pipeline in preroll: a segmenter only prerolls
    // after a whole GOP, and the thumbnail branches would block the tee
    // meanwhile. Every sink is therefore non-async.
    sink.set_property("async-handling", true);
    let file = make("filesink")?;
    file.set_property("async", false);
    sink.set_property("sink", file);
    taps::lock(log).dir = dir.to_path_buf();
    taps::attach_segmenter(&sink, log.clone());
    Ok(sink)
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
        format!("scenecut=0:keyint-min={}:open-gop=0", rung.gop_frames),
    );
    Ok(enc)
}

pub(crate) fn build(plan: &Plan, input: &Path, hls: &Path, opts: &RunOptions) -> Result<Graph> {
    let pipeline = gst::Pipeline::new();
    let activity = Arc::new(AtomicU64::new(0));
    let src = make("filesrc")?;
    src.set_property("location", input.to_string_lossy().to_string());
    let decode = make("decodebin")?;
    add_chain(&pipeline, &[src, decode.clone()])?;

    let gop_ns = (plan.gop_s * 1e9) as u64;
    let mut graph = Graph {
        pipeline: pipeline.clone(),
        video: Vec::new(),
        audio: None,
        tiles: Arc::new(Mutex::new(Frames::default())),
        poster: Arc::new(Mutex::new(Frames::default())),
        activity: activity.clone(),
    };

    let mut video_entry = None;
    if let Some(top) = plan.video.first() {
        let mut head = vec![queue(4)?, make("videoconvert")?];
        if plan.orientation != crate::probe::Orientation::Rotate0 {
            let flip = make("videoflip")?;
            flip.set_property_from_str("video-direction", plan.orientation.videoflip_direction());
            head.push(flip);
        }
        let rate = make("videorate")?;
        head.push(rate);
        let s = gst::Structure::builder("video/x-raw")
            .field("framerate", fraction(top.fps_num, top.fps_den))
            .build();
        head.push(caps(s));
        let tee = make("tee")?;
        head.push(tee.clone());
        add_chain(&pipeline, &head)?;
        video_entry = head.first().cloned();

        for rung in &plan.video {
            let dir = hls.join(&rung.name);
            let frame_ns = 1e9 * f64::from(rung.fps_den) / f64::from(rung.fps_num.max(1));
            // Whole GOPs per segment; half a frame of slack absorbs rounding
            // of non-integer rates (29.97 fps GOPs last 2.002 s).
            let gops = (plan.segment_target_s / plan.gop_s).floor().max(1.0);
            let gop_actual = f64::from(rung.gop_frames) * frame_ns;
            let max_ns = (gops * gop_actual + frame_ns / 2.0) as u64;
            let log: Shared<SegLog> = Arc::default();
            let mut chain = vec![queue(6)?];
            if (rung.fps_num, rung.fps_den) != (top.fps_num, top.fps_den) {
                chain.push(make("videorate")?);
            }
            let scale = make("videoconvertscale")?;
            scale.set_property("add-borders", false);
            scale.set_property("n-threads", opts.scale_threads);
            scale.set_property_from_str("method", &opts.scale_method);
            if let Ok(extra) = std::env::var("VOD_SCALE_PROPS") {
                for kv in extra.split(',') {
                    if let Some((k, v)) = kv.split_once('=') {
                        scale.set_property_from_str(k, v);
                    }
                }
            }
            chain.push(scale);
            chain.push(caps(raw_video(rung.width, rung.height, Some((rung.fps_num, rung.fps_den)), RUNG_COLORIMETRY)));
            chain.push(encoder(rung, opts)?);
            chain.push(caps(gst::Structure::builder("video/x-h264").field("profile", "high").build()));
            let parse = make("h264parse")?;
            parse.set_property("config-interval", -1i32);
            chain.push(parse.clone());
            chain.push(segmenter(&dir, max_ns.max(gop_ns), &log)?);
            add_chain(&pipeline, &chain)?;
            tee.link(&chain[0]).map_err(PipelineError::gst)?;
            if let Some(pad) = parse.static_pad("src") {
                taps::attach_stream_tap(&pad, log.clone(), activity.clone(), true);
            }
            graph.video.push(log);
        }
        if let Some(spec) = &plan.thumbnails {
            let interval_ns = u64::from(spec.interval_s) * 1_000_000_000;
            let mut next = 0u64;
            let tiles = thumb_branch(&pipeline, &tee, spec.tile_width, spec.tile_height, &graph.tiles, false)?;
            taps::attach_frame_picker(&tiles, move |t| {
                if t + 1_000_000 >= next {
                    next = (t / interval_ns + 1) * interval_ns;
                    true
                } else {
                    false
                }
            });
            let at = (spec.poster_at_s * 1e9) as u64;
            let mut state = 0u8;
            let poster = thumb_branch(&pipeline, &tee, spec.poster_width, spec.poster_height, &graph.poster, true)?;
            // Pass the first frame as a fallback, then the first one at 10 %.
            taps::attach_frame_picker(&poster, move |t| match state {
                0 => {
                    state = if t >= at { 2 } else { 1 };
                    true
                }
                1 if t >= at => {
                    state = 2;
                    true
                }
                _ => false,
            });
        }
    }

    let mut audio_entry = None;
    if let Some(a) = &plan.audio {
        let log: Shared<SegLog> = Arc::default();
        let enc = make("avenc_aac")?;
        enc.set_property("bitrate", i32::try_from(a.bitrate_bps).unwrap_or(128_000));
        let parse = make("aacparse")?;
        let s = gst::Structure::builder("audio/x-raw")
            .field("rate", i32::try_from(a.sample_rate).unwrap_or(48_000))
            .field("channels", i32::try_from(a.channels).unwrap_or(2))
            .build();
        let seg_ns = (plan.segment_target_s * 1e9) as u64;
        let chain = [
            queue(0)?,
            make("audioconvert")?,
            make("audioresample")?,
            caps(s),
            enc,
            parse.clone(),
            segmenter(&hls.join(&a.name), seg_ns, &log)?,
        ];
        chain[0].set_property("max-size-time", 3_000_000_000u64);
        add_chain(&pipeline, &chain)?;
        if let Some(pad) = parse.static_pad("src") {
            taps::attach_stream_tap(&pad, log.clone(), activity.clone(), false);
        }
        audio_entry = Some(chain[0].clone());
        graph.audio = Some(log);
    }

    link_decoder(&pipeline, &decode, video_entry, audio_entry);
    Ok(graph)
}

/// A tee branch that drops most frames (picker on the queue's sink pad),
/// scales the survivors and hands them to an appsink. Returns that pad.
fn thumb_branch(
    pipeline: &gst::Pipeline,
    tee: &gst::Element,
    width: u32,
    height: u32,
    store: &Shared<Frames>,
    keep_last: bool,
) -> Result<gst::Pad> {
    // Unbounded: the picker sits before the queue, so only chosen frames
    // (a poster and one tile per interval) ever wait here.
    let q = queue(0)?;
    let sink = gstreamer_app::AppSink::builder().sync(false).build();
    // Never hold up preroll: these branches may see no frame for a while.
    sink.set_property("async", false);
    let chain = [q.clone(), make("videoconvertscale")?, caps(raw_video(width, height, None, JPEG_COLORIMETRY)), sink.clone().upcast()];
    add_chain(pipeline, &chain)?;
    tee.link(&q).map_err(PipelineError::gst)?;
    taps::collect_frames(&sink, store.clone(), keep_last);
    q.static_pad("sink").ok_or_else(|| PipelineError::gst("queue without src pad"))
}

/// Links the first video and first audio stream; parks any other stream in
/// a fakesink so it cannot stall the demuxer.
fn link_decoder(pipeline: &gst::Pipeline, decode: &gst::Element, video: Option<gst::Element>, audio: Option<gst::Element>) {
    let pipeline = pipeline.downgrade();
    decode.connect_pad_added(move |_, pad| {
        let Some(pipeline) = pipeline.upgrade() else { return };
        let kind = pad
            .current_caps()
            .or_else(|| Some(pad.query_caps(None)))
            .and_then(|c| c.structure(0).map(|s| s.name().to_string()))
            .unwrap_or_default();
        let target = if kind.starts_with("video/") {
            video.as_ref()
        } else if kind.starts_with("audio/") {
            audio.as_ref()
        } else {
            None
        };
        if let Some(sink_pad) = target.and_then(|e| e.static_pad("sink"))
            && !sink_pad.is_linked()
            && pad.link(&sink_pad).is_ok()
        {
            return;
        }
        if let Ok(fake) = gst::ElementFactory::make("fakesink").property("sync", false).property("async", false).build()
            && pipeline.add(&fake).is_ok()
        {
            let _ = fake.sync_state_with_parent();
            if let Some(p) = fake.static_pad("sink") {
                let _ = pad.link(&p);
            }
        }
    });
}
