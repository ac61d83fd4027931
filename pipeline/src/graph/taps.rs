//! Shared state filled from streaming threads: segment boundaries, the real
//! SPS, grabbed thumbnail frames and progress counters.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use gst::prelude::*;
use gstreamer as gst;

/// What one rendition's segmenter saw.
#[derive(Debug, Default)]
pub(crate) struct SegLog {
    pub dir: PathBuf,
    /// Global index of its first segment (a chunk's first segment).
    pub first_index: u32,
    /// PTS (ns) of the first buffer of every fragment, in order.
    pub starts_ns: Vec<u64>,
    /// Largest PTS + duration seen: the end of the last fragment.
    pub end_ns: u64,
    pub buffers: u64,
    /// profile_idc, constraint flags, level_idc of the first SPS.
    pub sps: Option<[u8; 3]>,
}

pub(crate) type Shared<T> = Arc<Mutex<T>>;

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    // A panic in another callback must not cascade; the data is still usable.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Names fragments and records where each starts.
pub(crate) fn attach_segmenter(sink: &gst::Element, log: Shared<SegLog>) {
    sink.connect("format-location-full", false, move |args| {
        let sample = args.get(2).and_then(|v| v.get::<gst::Sample>().ok());
        let pts = sample
            .as_ref()
            .and_then(|s| s.buffer())
            .and_then(|b| b.pts())
            .map(gst::ClockTime::nseconds);
        let mut log = lock(&log);
        let index = log.first_index + u32::try_from(log.starts_ns.len()).unwrap_or(u32::MAX);
        let start = pts.unwrap_or(log.end_ns);
        log.starts_ns.push(start);
        let location = log.dir.join(vod_plan::outputs::segment_name(index));
        Some(location.to_string_lossy().to_string().to_value())
    });
}

/// Tracks the end time and, for H.264, the first SPS on an encoded pad.
pub(crate) fn attach_stream_tap(
    pad: &gst::Pad,
    log: Shared<SegLog>,
    activity: Arc<AtomicU64>,
    h264: bool,
) {
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        if let Some(buf) = info.buffer() {
            activity.fetch_add(1, Ordering::Relaxed);
            let mut log = lock(&log);
            log.buffers += 1;
            if let Some(pts) = buf.pts() {
                let end =
                    pts.nseconds() + buf.duration().map(gst::ClockTime::nseconds).unwrap_or(0);
                log.end_ns = log.end_ns.max(end);
            }
            if h264
                && log.sps.is_none()
                && let Ok(map) = buf.map_readable()
            {
                log.sps = find_sps(map.as_slice());
            }
        }
        gst::PadProbeReturn::Ok
    });
}

/// Scans an Annex-B buffer for a sequence parameter set.
pub(crate) fn find_sps(data: &[u8]) -> Option<[u8; 3]> {
    let mut i = 0;
    while i + 3 < data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            let nal = i + 3;
            if data.get(nal).map(|b| b & 0x1f) == Some(7) && nal + 3 < data.len() {
                return Some([data[nal + 1], data[nal + 2], data[nal + 3]]);
            }
            i = nal;
        } else {
            i += 1;
        }
    }
    None
}

/// Raw I420 frames grabbed for thumbnails, with their PTS.
#[derive(Debug, Default)]
pub(crate) struct Frames {
    pub frames: Vec<(u64, Vec<u8>)>,
}

/// Lets through frames chosen by `pick(pts_from_start)`; drops the rest
/// before they reach the scaler so thumbnails cost almost nothing.
pub(crate) fn attach_frame_picker(pad: &gst::Pad, pick: impl FnMut(u64) -> bool + Send + 'static) {
    // Probes are `Fn`; the picker's state lives behind a mutex.
    let state = Mutex::new((None::<u64>, pick));
    pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
        let pts = info
            .buffer()
            .and_then(|b| b.pts())
            .map(gst::ClockTime::nseconds);
        let keep = pts.is_some_and(|pts| {
            let mut guard = lock(&state);
            let (first, pick) = &mut *guard;
            let base = *first.get_or_insert(pts);
            pick(pts.saturating_sub(base))
        });
        if keep {
            gst::PadProbeReturn::Ok
        } else {
            // Consume the buffer ourselves: `Drop` on a sink-pad probe makes
            // GStreamer 1.22 unref a pointer the bindings already released.
            info.data.take();
            gst::PadProbeReturn::Handled
        }
    });
}

/// Stores every sample reaching an appsink; `keep_last` keeps only one.
pub(crate) fn collect_frames(
    sink: &gstreamer_app::AppSink,
    store: Shared<Frames>,
    keep_last: bool,
) {
    sink.set_callbacks(
        gstreamer_app::AppSinkCallbacks::builder()
            .new_sample(move |s| {
                let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let Some(buf) = sample.buffer() else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let pts = buf.pts().map(gst::ClockTime::nseconds).unwrap_or(0);
                let map = buf.map_readable().map_err(|_| gst::FlowError::Error)?;
                let mut store = lock(&store);
                if keep_last {
                    store.frames.clear();
                }
                store.frames.push((pts, map.as_slice().to_vec()));
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_sps_after_aud() {
        let data = [
            0, 0, 0, 1, 9, 0xf0, 0, 0, 0, 1, 0x67, 0x64, 0x00, 0x28, 0xac,
        ];
        assert_eq!(find_sps(&data), Some([0x64, 0x00, 0x28]));
        assert_eq!(find_sps(&[0, 0, 1, 0x65, 1, 2, 3]), None);
        assert_eq!(find_sps(&[0, 0, 1, 0x67]), None);
    }
}
