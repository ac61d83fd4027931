//! Probing with typefind (allow-list first) and then GStreamer's discoverer.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use gstreamer as gst;
use gstreamer_pbutils as pbutils;
use pbutils::prelude::*;
use serde::{Deserialize, Serialize};

use vod_plan::{AudioStream, Orientation, PlanError, Probe, VideoStream, check_container};

use crate::error::{PipelineError, Result};

/// Enough for every allowed container's typefinder (MPEG-TS needs several
/// packets, MP4 only its first box).
const TYPEFIND_BYTES: u64 = 1 << 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ProbeOptions {
    pub timeout: Duration,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(30),
        }
    }
}

/// Initialises GStreamer and registers our own elements, before any
/// discoverer or pipeline runs: registering later bumps the registry's
/// cookie under running decodebins.
pub(crate) fn init() -> Result<()> {
    gst::init().map_err(PipelineError::gst)?;
    crate::graph::register_elements()
}

/// Detects the container from the file's bytes, refusing anything outside
/// the allow-list before any demuxer can follow references inside it.
pub fn detect_container(path: &Path) -> Result<String> {
    init()?;
    let file = std::fs::File::open(path).map_err(|e| PipelineError::io(path, e))?;
    let mut head = Vec::new();
    file.take(TYPEFIND_BYTES)
        .read_to_end(&mut head)
        .map_err(|e| PipelineError::io(path, e))?;
    if head.is_empty() {
        return Err(PipelineError::EmptyFile);
    }
    let (caps, prob) =
        gstreamer_base::functions::type_find_helper_for_data(None::<&gst::Object>, &head)
            .map_err(|_| PipelineError::Unrecognized)?;
    let name = caps
        .structure(0)
        .map(|s| s.name().to_string())
        .ok_or(PipelineError::Unrecognized)?;
    tracing::debug!(%caps, ?prob, "typefind");
    check_container(&name)?;
    // Weak guesses on arbitrary bytes (MP3 sync words are everywhere) are
    // not worth a decoder run.
    if prob < gst::TypeFindProbability::Possible {
        return Err(PipelineError::Unrecognized);
    }
    Ok(name)
}

pub fn probe(path: &Path, opts: &ProbeOptions) -> Result<Probe> {
    let container = detect_container(path)?;
    let abs = std::fs::canonicalize(path).map_err(|e| PipelineError::io(path, e))?;
    let uri = gst::glib::filename_to_uri(&abs, None).map_err(PipelineError::gst)?;
    let timeout =
        gst::ClockTime::from_nseconds(u64::try_from(opts.timeout.as_nanos()).unwrap_or(u64::MAX));
    let discoverer = pbutils::Discoverer::new(timeout).map_err(PipelineError::gst)?;
    let info = discoverer
        .discover_uri(&uri)
        .map_err(|e| classify_discoverer_error(&e.to_string()))?;
    match info.result() {
        pbutils::DiscovererResult::Ok => {}
        pbutils::DiscovererResult::Timeout => return Err(PipelineError::ProbeTimeout),
        pbutils::DiscovererResult::MissingPlugins => {
            let what = info.missing_elements_installer_details().join(", ");
            return Err(PipelineError::UnsupportedCodec { codec: what });
        }
        other => {
            return Err(PlanError::Corrupt {
                detail: format!("{other:?}"),
            }
            .into());
        }
    }
    let video = info
        .video_streams()
        .into_iter()
        .find(|v| !v.is_image())
        .map(|v| video_stream(&v));
    if video.is_none()
        && info.video_streams().iter().any(|v| v.is_image())
        && info.audio_streams().is_empty()
    {
        return Err(PlanError::UnsupportedContainer {
            container: "image".into(),
        }
        .into());
    }
    let audio = info.audio_streams().first().map(|a| AudioStream {
        codec: caps_name(a.caps().as_ref()),
        channels: a.channels(),
        sample_rate: a.sample_rate(),
    });
    let duration_s = info
        .duration()
        .map(|d| d.nseconds() as f64 / 1e9)
        .unwrap_or(0.0);
    Ok(Probe {
        container,
        duration_s,
        video,
        audio,
        gst_version: gst::version_string().to_string(),
    })
}

fn classify_discoverer_error(msg: &str) -> PipelineError {
    if msg.contains("imeout") {
        PipelineError::ProbeTimeout
    } else {
        PlanError::Corrupt {
            detail: msg.to_owned(),
        }
        .into()
    }
}

fn caps_name(caps: Option<&gst::Caps>) -> String {
    caps.and_then(|c| c.structure(0))
        .map(|s| s.name().to_string())
        .unwrap_or_default()
}

fn video_stream(v: &pbutils::DiscovererVideoInfo) -> VideoStream {
    let caps = v.caps();
    let s = caps.as_ref().and_then(|c| c.structure(0));
    let field = |name: &str| s.and_then(|s| s.get::<String>(name).ok());
    let orientation = v
        .tags()
        .and_then(|t| {
            t.get::<gst::tags::ImageOrientation>()
                .map(|o| o.get().to_string())
        })
        .map(|o| Orientation::from_tag(&o))
        .unwrap_or_default();
    let fr = v.framerate();
    let max_fr = s.and_then(|s| s.get::<gst::Fraction>("max-framerate").ok());
    let (num, den) = (fr.numer(), fr.denom());
    let variable = num == 0 || max_fr.is_some();
    // A VFR stream's useful rate is its ceiling; the graph makes it constant.
    let (num, den) = match (num, max_fr) {
        (0, Some(m)) => (m.numer(), m.denom()),
        _ => (num, den),
    };
    let bit_depth = s
        .and_then(|s| s.get::<u32>("bit-depth-luma").ok())
        .or_else(|| (v.depth() > 0 && v.depth() <= 16).then(|| v.depth()));
    VideoStream {
        codec: caps_name(caps.as_ref()),
        profile: field("profile"),
        width: v.width(),
        height: v.height(),
        par_n: u32::try_from(v.par().numer()).unwrap_or(1),
        par_d: u32::try_from(v.par().denom()).unwrap_or(1),
        orientation,
        fps_num: u32::try_from(num).unwrap_or(0),
        fps_den: u32::try_from(den).unwrap_or(1),
        variable_fps: variable,
        pixel_format: field("format").or_else(|| field("chroma-format")),
        bit_depth,
        interlaced: v.is_interlaced(),
    }
}
