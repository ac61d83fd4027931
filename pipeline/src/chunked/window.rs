//! One chunk's frames out of a decode that starts near them: the probes
//! that make a chunk's frames, timestamps and segment the same as the
//! single-pass graph's for the same frames.
//!
//! The single-pass head's `videorate` puts output frame `i` at
//! `segment.start + offset(i)` of the first segment the decoder sends (the
//! *origin*). A chunk learns that origin from the same first segment (no
//! frame decoded), drops everything until its own accurate seek lands near
//! its first frame, and then:
//! - **entry** (before `videorate`): the seek's segment start is moved back
//!   onto the origin's grid, so `videorate` fills the same instants;
//! - **exit** (after it): frames before the chunk are dropped, the rest are
//!   restamped exactly onto the grid (`videorate` counts from its own
//!   start, a nanosecond of rounding off), the segment is replaced by one
//!   whose running time continues the previous chunk's, and the chunk ends
//!   with its own EOS at its last frame;
//! - **rung snap**: a rung at a lower rate has its own `videorate`, whose
//!   frames are put back on that rate's grid the same way.

use std::sync::Mutex;

use gst::prelude::*;
use gstreamer as gst;

use super::grid::Grid;
use super::lock;

/// Decoded before the first frame and after the last one: `videorate`
/// needs the frames around a boundary to choose the same one as a single
/// pass, and a variable-rate source may put none exactly on it.
const MARGIN_NS: u64 = 1_000_000_000;

/// The first segment the decoder sent, unseeked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Origin {
    /// PTS of grid frame 0.
    pub start: u64,
    /// Its stream time (what a seek position means).
    pub time: u64,
    /// Its running time (what the muxer's timestamps count from).
    pub running: u64,
    pub stop: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the decoder's first segment.
    Learning,
    /// Origin known; dropping frames until the seek's segment comes
    /// (`flushed`: the seek's flush has passed).
    AwaitSeek {
        flushed: bool,
    },
    Running,
}

#[derive(Debug)]
struct State {
    origin: Option<Origin>,
    phase: Phase,
    eos_sent: bool,
}

/// Frames `[first, end)` of the top rung's grid (`end: None` runs to the
/// end of the source).
#[derive(Debug)]
pub(crate) struct Window {
    pub grid: Grid,
    pub first: u64,
    pub end: Option<u64>,
    state: Mutex<State>,
}

/// Drops what the probe holds. `PadProbeReturn::Drop` makes GStreamer 1.22
/// unref a pointer the bindings already released (see `taps`); taking the
/// data and answering `Handled` drops it once.
fn consume(info: &mut gst::PadProbeInfo) -> gst::PadProbeReturn {
    info.data.take();
    gst::PadProbeReturn::Handled
}

fn ns(t: Option<gst::ClockTime>) -> Option<u64> {
    t.map(gst::ClockTime::nseconds)
}

fn clock(t: u64) -> gst::ClockTime {
    gst::ClockTime::from_nseconds(t)
}

impl Window {
    pub(crate) fn new(grid: Grid, first: u64, end: Option<u64>) -> Self {
        Self {
            grid,
            first,
            end,
            state: Mutex::new(State {
                origin: None,
                phase: Phase::Learning,
                eos_sent: false,
            }),
        }
    }

    pub(crate) fn origin(&self) -> Option<Origin> {
        lock(&self.state).origin
    }

    /// The seek that brings the decoder to this chunk, once the origin is
    /// known: stream-time start and stop, a margin either side.
    pub(crate) fn seek_range(&self, o: &Origin) -> (gst::ClockTime, Option<gst::ClockTime>) {
        let start = (o.time + self.grid.offset(self.first)).saturating_sub(MARGIN_NS);
        let stop = self
            .end
            .map(|e| clock(o.time + self.grid.offset(e) + MARGIN_NS));
        (clock(start), stop)
    }

    /// The segment downstream of the head sees: the single pass's, as
    /// if it had run up to this chunk.
    fn normalized(&self, o: &Origin) -> gst::FormattedSegment<gst::ClockTime> {
        let from = self.grid.offset(self.first);
        let mut s = gst::FormattedSegment::<gst::ClockTime>::new();
        s.set_start(clock(o.start + from));
        s.set_time(clock(o.time + from));
        s.set_base(clock(o.running + from));
        s.set_position(clock(o.start + from));
        let stop = match self.end {
            Some(e) => Some(o.start + self.grid.offset(e)),
            None => o.stop,
        };
        s.set_stop(stop.map(clock));
        s
    }

    /// On the head's first element's src pad (upstream of `videorate`).
    pub(crate) fn attach_entry(self: &std::sync::Arc<Self>, pad: &gst::Pad) {
        let w = self.clone();
        pad.add_probe(
            gst::PadProbeType::BUFFER
                | gst::PadProbeType::EVENT_DOWNSTREAM
                | gst::PadProbeType::EVENT_FLUSH,
            move |_, info| w.entry(info),
        );
    }

    fn entry(&self, info: &mut gst::PadProbeInfo) -> gst::PadProbeReturn {
        let mut st = lock(&self.state);
        if info.buffer().is_some() {
            return if st.phase == Phase::Running {
                gst::PadProbeReturn::Ok
            } else {
                consume(info)
            };
        }
        let Some(event) = info.event() else {
            return gst::PadProbeReturn::Ok;
        };
        if let gst::EventView::FlushStop(_) = event.view()
            && let Phase::AwaitSeek { .. } = st.phase
        {
            st.phase = Phase::AwaitSeek { flushed: true };
            return gst::PadProbeReturn::Ok;
        }
        let gst::EventView::Segment(seg) = event.view() else {
            return gst::PadProbeReturn::Ok;
        };
        let Some(seg) = seg.segment().downcast_ref::<gst::ClockTime>() else {
            return gst::PadProbeReturn::Ok;
        };
        match (st.phase, st.origin) {
            (Phase::Learning, _) => {
                let start = ns(seg.start()).unwrap_or(0);
                st.origin = Some(Origin {
                    start,
                    time: ns(seg.time()).unwrap_or(start),
                    running: ns(seg.base()).unwrap_or(0),
                    stop: ns(seg.stop()),
                });
                st.phase = Phase::AwaitSeek { flushed: false };
                tracing::debug!(origin = ?st.origin, "chunk: origin learned");
                gst::PadProbeReturn::Ok
            }
            (Phase::AwaitSeek { flushed: true }, Some(o)) => {
                let at = ns(seg.start()).unwrap_or(o.start).saturating_sub(o.start);
                let k = self.grid.floor_index(at);
                let mut snapped = gst::FormattedSegment::<gst::ClockTime>::new();
                snapped.set_start(clock(o.start + self.grid.offset(k)));
                snapped.set_time(clock(o.time + self.grid.offset(k)));
                snapped.set_position(clock(o.start + self.grid.offset(k)));
                snapped.set_base(seg.base().unwrap_or(gst::ClockTime::ZERO));
                // Without a stop of its own (the last chunk), the source's
                // end is where `videorate` fills to, as in a single pass.
                let stop = match self.end {
                    Some(_) => ns(seg.stop()),
                    None => o.stop,
                };
                snapped.set_stop(stop.map(clock));
                let seqnum = event.seqnum();
                st.phase = Phase::Running;
                tracing::debug!(from_frame = k, "chunk: seek landed");
                info.data = Some(gst::PadProbeData::Event(
                    gst::event::Segment::builder(&snapped)
                        .seqnum(seqnum)
                        .build(),
                ));
                gst::PadProbeReturn::Ok
            }
            _ => gst::PadProbeReturn::Ok,
        }
    }

    /// On the head's last element's src pad (after `videorate` and its
    /// caps), where the tee to the rungs and thumbnails starts.
    pub(crate) fn attach_exit(self: &std::sync::Arc<Self>, pad: &gst::Pad) {
        let w = self.clone();
        pad.add_probe(
            gst::PadProbeType::BUFFER | gst::PadProbeType::EVENT_DOWNSTREAM,
            move |pad, info| w.exit(pad, info),
        );
    }

    fn exit(&self, pad: &gst::Pad, info: &mut gst::PadProbeInfo) -> gst::PadProbeReturn {
        let st = lock(&self.state);
        let (Phase::Running, Some(o)) = (st.phase, st.origin) else {
            return gst::PadProbeReturn::Ok;
        };
        if let Some(event) = info.event() {
            return match event.view() {
                gst::EventView::Segment(_) => {
                    let seqnum = event.seqnum();
                    let seg = self.normalized(&o);
                    info.data = Some(gst::PadProbeData::Event(
                        gst::event::Segment::builder(&seg).seqnum(seqnum).build(),
                    ));
                    gst::PadProbeReturn::Ok
                }
                gst::EventView::Eos(_) if st.eos_sent => consume(info),
                _ => gst::PadProbeReturn::Ok,
            };
        }
        let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_mut() else {
            return gst::PadProbeReturn::Ok;
        };
        if st.eos_sent {
            return consume(info);
        }
        let Some(pts) = ns(buffer.pts()) else {
            return consume(info);
        };
        let i = self.grid.nearest(pts.saturating_sub(o.start));
        if i < self.first {
            return consume(info);
        }
        if self.end.is_some_and(|e| i >= e) {
            drop(st);
            tracing::debug!(frame = i, "chunk: last frame passed, ending");
            // Ends this chunk's encoders and segmenters; the decoder runs on
            // to the seek's stop and its frames are dropped here. (Marked
            // after the push: this probe sees that EOS too and lets it by.)
            pad.push_event(gst::event::Eos::new());
            lock(&self.state).eos_sent = true;
            return consume(info);
        }
        let b = buffer.make_mut();
        b.set_pts(clock(o.start + self.grid.offset(i)));
        b.set_duration(clock(self.grid.offset(i + 1) - self.grid.offset(i)));
        gst::PadProbeReturn::Ok
    }

    /// On a rung encoder's src pad: x264 extrapolates the decode times of a
    /// chunk's first frames (they fall before its first frame) from its own
    /// frame durations, a 90 kHz tick off the times a single pass gives them
    /// (the previous chunk's frames' exact times). Put them back on the grid.
    /// The encoder base class shifts its output times (by 1000 h, so no
    /// DTS is negative), so this works relative to the chunk's first frame.
    pub(crate) fn attach_dts_fixup(&self, pad: &gst::Pad, grid: Grid) {
        if self.first == 0 {
            return;
        }
        // The chunk's first frame on this rung's grid.
        let first = grid.nearest(self.grid.offset(self.first));
        let frame_ns = grid.offset(first + 1) - grid.offset(first);
        let first_pts = Mutex::new(None::<u64>);
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_mut() else {
                return gst::PadProbeReturn::Ok;
            };
            // Closed GOPs: the first frame out is the chunk's first frame.
            let p0 = *lock(&first_pts).get_or_insert_with(|| ns(buffer.pts()).unwrap_or(0));
            if let Some(dts) = ns(buffer.dts())
                && dts < p0
            {
                let back = ((p0 - dts) as f64 / frame_ns as f64).round() as u64;
                let exact = grid.offset(first) - grid.offset(first.saturating_sub(back));
                buffer.make_mut().set_dts(clock(p0.saturating_sub(exact)));
            }
            gst::PadProbeReturn::Ok
        });
    }

    /// On a lower-rate rung's `videorate` src pad: its frames back on the
    /// grid of its own rate, counted from the origin.
    pub(crate) fn attach_rung_snap(self: &std::sync::Arc<Self>, pad: &gst::Pad, grid: Grid) {
        let w = self.clone();
        pad.add_probe(gst::PadProbeType::BUFFER, move |_, info| {
            let Some(o) = w.origin() else {
                return gst::PadProbeReturn::Ok;
            };
            if let Some(gst::PadProbeData::Buffer(buffer)) = info.data.as_mut()
                && let Some(pts) = ns(buffer.pts())
            {
                let j = grid.nearest(pts.saturating_sub(o.start));
                let b = buffer.make_mut();
                b.set_pts(clock(o.start + grid.offset(j)));
                b.set_duration(clock(grid.offset(j + 1) - grid.offset(j)));
            }
            gst::PadProbeReturn::Ok
        });
    }
}
