//! Builds the decode-once, fan-out graph for a plan.

use std::path::Path;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

use gst::prelude::*;
use gstreamer as gst;

use super::RunOptions;
use super::rungs;
use super::taps::{self, Frames, SegLog, Shared};
use crate::chunked::Input;
use crate::chunked::window::Window;
use crate::chunked::{TilePicker, grid};
use crate::error::{PipelineError, Result};
use vod_plan::Plan;

pub(crate) struct Graph {
    pub pipeline: gst::Pipeline,
    pub video: Vec<Shared<SegLog>>,
    pub audio: Option<Shared<SegLog>>,
    pub tiles: Shared<Frames>,
    pub poster: Shared<Frames>,
    pub activity: Arc<AtomicU64>,
    /// Where decoded video enters the head: a chunk's seek goes upstream
    /// from here, to the demuxer alone (not through every sink).
    pub video_head: Option<gst::Pad>,
}

pub(super) fn make(factory: &str) -> Result<gst::Element> {
    gst::ElementFactory::make(factory)
        .build()
        .map_err(|_| PipelineError::MissingPlugin {
            what: factory.to_owned(),
        })
}

pub(super) fn caps(s: gst::Structure) -> Result<gst::Element> {
    let filter = make("capsfilter")?;
    filter.set_property("caps", gst::Caps::builder_full().structure(s).build());
    Ok(filter)
}

pub(super) fn queue(max_buffers: u32) -> Result<gst::Element> {
    let q = make("queue")?;
    q.set_property("max-size-buffers", max_buffers);
    q.set_property("max-size-bytes", 0u32);
    q.set_property("max-size-time", 0u64);
    Ok(q)
}

pub(super) fn add_chain(pipeline: &gst::Pipeline, chain: &[gst::Element]) -> Result<()> {
    pipeline.add_many(chain).map_err(PipelineError::gst)?;
    gst::Element::link_many(chain).map_err(PipelineError::gst)
}

pub(super) fn fraction(num: u32, den: u32) -> gst::Fraction {
    gst::Fraction::new(
        i32::try_from(num).unwrap_or(30),
        i32::try_from(den).unwrap_or(1),
    )
}

/// BT.709 for every rung: left open, GStreamer would pick BT.601 for SD
/// sizes and convert (and re-tag) the lower rungs of an HD source.
pub(super) const RUNG_COLORIMETRY: &str = "bt709";
/// Full-range BT.601, what JPEG decoders assume.
const JPEG_COLORIMETRY: &str = "1:4:0:0";

pub(super) fn raw_video(
    width: u32,
    height: u32,
    fps: Option<(u32, u32)>,
    colorimetry: &str,
) -> gst::Structure {
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

pub(super) fn segmenter(
    dir: &Path,
    max_time_ns: u64,
    log: &Shared<SegLog>,
) -> Result<gst::Element> {
    let sink = make("splitmuxsink")?;
    sink.set_property("muxer", make("mpegtsmux")?);
    sink.set_property("max-size-time", max_time_ns);
    sink.set_property("send-keyframe-requests", false);
    // `async-handling=true` would avoid preroll waits altogether, but then
    // splitmuxsink posts an async-done (and a pipeline-wide latency
    // query) per GOP — per buffer for audio: ~10 % of the CPU. The inner
    // sink is non-async; the thumbnail branches are kept from blocking the
    // tee during preroll instead (see `thumb_branch`).
    let file = make("filesink")?;
    file.set_property("async", false);
    sink.set_property("sink", file);
    taps::lock(log).dir = dir.to_path_buf();
    taps::attach_segmenter(&sink, log.clone());
    Ok(sink)
}

/// What a graph produces.
#[derive(Debug, Clone)]
pub(crate) enum Outputs {
    /// The whole package in one pass.
    Package,
    /// Only the poster, sprites and storyboard (when another backend
    /// encodes the renditions).
    ThumbnailsOnly,
    /// One chunk's frames of every video rung, its storyboard tiles and,
    /// with `poster`, the poster (chunked encoding).
    Chunk { window: Arc<Window>, poster: bool },
    /// The audio rendition alone (chunked encoding).
    Audio,
}

pub(crate) fn build(
    plan: &Plan,
    input: &Input,
    hls: &Path,
    opts: &RunOptions,
    outputs: &Outputs,
) -> Result<Graph> {
    let thumbs_only = matches!(outputs, Outputs::ThumbnailsOnly);
    let window = match outputs {
        Outputs::Chunk { window, .. } => Some(window.clone()),
        _ => None,
    };
    let pipeline = gst::Pipeline::new();
    let activity = Arc::new(AtomicU64::new(0));
    let src = super::source::element(input)?;
    let decode = make("decodebin")?;
    match outputs {
        Outputs::Chunk { .. } => super::source::skip_decoding(&decode, "audio/"),
        Outputs::Audio => super::source::skip_decoding(&decode, "video/"),
        Outputs::Package | Outputs::ThumbnailsOnly => {}
    }
    add_chain(&pipeline, &[src, decode.clone()])?;

    let mut graph = Graph {
        pipeline: pipeline.clone(),
        video: Vec::new(),
        audio: None,
        tiles: Arc::new(Mutex::new(Frames::default())),
        poster: Arc::new(Mutex::new(Frames::default())),
        activity: activity.clone(),
        video_head: None,
    };

    let mut video_entry = None;
    if let Some(top) = plan
        .video
        .first()
        .filter(|_| !matches!(outputs, Outputs::Audio))
    {
        // decodebin's multiqueue already decouples the decoder thread.
        // `deinterlace` passes progressive frames through; the rung
        // scalers take progressive I420 only, converted here once.
        let mut head = vec![make("deinterlace")?, make("videoconvert")?];
        if plan.orientation != vod_plan::Orientation::Rotate0 {
            let flip = make("videoflip")?;
            flip.set_property_from_str("video-direction", plan.orientation.videoflip_direction());
            head.push(flip);
        }
        let rate = make("videorate")?;
        head.push(rate);
        let s = gst::Structure::builder("video/x-raw")
            .field("framerate", fraction(top.fps_num, top.fps_den))
            .build();
        head.push(caps(s)?);
        if let Some(w) = &window {
            // Upstream of `videorate`, and after its caps filter.
            let first = head.first().and_then(|e| e.static_pad("src"));
            let last = head.last().and_then(|e| e.static_pad("src"));
            if let (Some(first), Some(last)) = (first, last) {
                w.attach_entry(&first);
                w.attach_exit(&last);
            }
        }
        let tee = make("tee")?;
        head.push(tee.clone());
        add_chain(&pipeline, &head)?;
        video_entry = head.first().cloned();
        graph.video_head = head.first().and_then(|e| e.static_pad("sink"));
        if thumbs_only {
            // No encoder reports activity here: the decoded frames do, so
            // the stall timeout still sees a working graph.
            let activity = activity.clone();
            if let Some(pad) = tee.static_pad("sink") {
                pad.add_probe(gst::PadProbeType::BUFFER, move |_, _| {
                    activity.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    gst::PadProbeReturn::Ok
                });
            }
        }

        let ladder = if thumbs_only {
            &[][..]
        } else {
            &plan.video[..]
        };
        let feeds = rungs::scale_feeds(ladder, opts.cascade_scaling);
        // Rungs come largest first, so a feed's tee exists before its users.
        let mut fans: Vec<Option<gst::Element>> = Vec::with_capacity(ladder.len());
        for (i, (rung, from)) in ladder.iter().zip(&feeds).enumerate() {
            let (feed_el, feed) = from
                .and_then(|j| Some((fans.get(j)?.clone()?, ladder.get(j)?)))
                .unwrap_or_else(|| (tee.clone(), top));
            let fan_out = feeds.contains(&Some(i));
            let branch = rungs::Branch {
                plan,
                rung,
                feed,
                fan_out,
                window: window.as_ref(),
            };
            let (log, fan) = rungs::build(&pipeline, &feed_el, &branch, hls, opts, &activity)?;
            fans.push(fan);
            graph.video.push(log);
        }
        if let Some(spec) = &plan.thumbnails {
            // A chunk's pickers continue where the single pass's would be
            // at its first frame, on the exact grid times the head restamps.
            let (grid, from, first) = match &window {
                Some(w) => (w.grid, w.grid.offset(w.first), w.first),
                None => (grid::Grid::new(top.fps_num, top.fps_den), 0, 0),
            };
            let mut picker = TilePicker::replayed(spec.interval_s, grid, first);
            let tiles = thumb_branch(
                &pipeline,
                &tee,
                spec.tile_width,
                spec.tile_height,
                &graph.tiles,
                false,
            )?;
            taps::attach_frame_picker(&tiles, move |t| picker.pick(from + t));
            let poster_wanted = match outputs {
                Outputs::Chunk { poster, .. } => *poster,
                _ => true,
            };
            if poster_wanted {
                let poster = thumb_branch(
                    &pipeline,
                    &tee,
                    spec.poster_width,
                    spec.poster_height,
                    &graph.poster,
                    true,
                )?;
                if window.is_some() {
                    let at = grid::poster_frame(grid, spec.poster_at_s);
                    taps::attach_frame_picker(&poster, move |t| grid.nearest(from + t) == at);
                } else {
                    let at = (spec.poster_at_s * 1e9) as u64;
                    let mut state = 0u8;
                    // Pass the first frame as a fallback, then the first one
                    // at 10 %.
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
        }
    }

    let mut audio_entry = None;
    let with_audio = matches!(outputs, Outputs::Package | Outputs::Audio);
    if let Some(a) = plan.audio.as_ref().filter(|_| with_audio) {
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
            caps(s)?,
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

/// A tee branch that drops most frames (picker on the scaler's sink pad),
/// scales the survivors and hands them to an appsink. Returns that pad.
fn thumb_branch(
    pipeline: &gst::Pipeline,
    tee: &gst::Element,
    width: u32,
    height: u32,
    store: &Shared<Frames>,
    keep_last: bool,
) -> Result<gst::Pad> {
    // The picker sits on the scaler's sink pad, so only chosen frames (a
    // poster and one tile per interval) are scaled, in the tee's thread.
    // The scaler answers the tee's allocation query itself (with video
    // meta, so the decoder can decode straight into shared buffers); its
    // own query stops at `identity drop-allocation`, because a prerolled
    // appsink behind a queue cannot answer one and would block the tee.
    let scale = make("videoconvertscale")?;
    let gate = make("identity")?;
    gate.set_property("drop-allocation", true);
    // Unbounded, but only ever holds the few chosen frames.
    let q = queue(0)?;
    let sink = gstreamer_app::AppSink::builder().sync(false).build();
    // Never hold up preroll: these branches may see no frame for a while.
    sink.set_property("async", false);
    let chain = [
        scale.clone(),
        caps(raw_video(width, height, None, JPEG_COLORIMETRY))?,
        gate,
        q,
        sink.clone().upcast(),
    ];
    add_chain(pipeline, &chain)?;
    tee.link(&scale).map_err(PipelineError::gst)?;
    taps::collect_frames(&sink, store.clone(), keep_last);
    scale
        .static_pad("sink")
        .ok_or_else(|| PipelineError::gst("scaler without sink pad"))
}

/// Links the first video and first audio stream; parks any other stream in
/// a fakesink so it cannot stall the demuxer.
fn link_decoder(
    pipeline: &gst::Pipeline,
    decode: &gst::Element,
    video: Option<gst::Element>,
    audio: Option<gst::Element>,
) {
    let pipeline = pipeline.downgrade();
    decode.connect_pad_added(move |_, pad| {
        let Some(pipeline) = pipeline.upgrade() else {
            return;
        };
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
        if let Ok(fake) = gst::ElementFactory::make("fakesink")
            .property("sync", false)
            .property("async", false)
            .build()
            && pipeline.add(&fake).is_ok()
        {
            let _ = fake.sync_state_with_parent();
            if let Some(p) = fake.static_pad("sink") {
                let _ = pad.link(&p);
            }
        }
    });
}
