use super::*;
use crate::probe::{Probe, VideoStream};
use crate::{Limits, Orientation, plan};

fn planned(w: u32, h: u32, fps: (u32, u32), duration_s: f64) -> Plan {
    let probe = Probe {
        container: "video/quicktime".into(),
        duration_s,
        video: Some(VideoStream {
            codec: "video/x-h264".into(),
            profile: None,
            width: w,
            height: h,
            par_n: 1,
            par_d: 1,
            orientation: Orientation::Rotate0,
            fps_num: fps.0,
            fps_den: fps.1,
            variable_fps: false,
            pixel_format: None,
            bit_depth: Some(8),
            interlaced: false,
        }),
        audio: None,
        gst_version: String::new(),
    };
    plan(&probe, &Limits::default()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn ten_minutes_at_30_fps_make_ten_minute_long_chunks_of_whole_segments() {
    let s = schedule(&planned(1920, 1080, (30, 1), 600.0), 60.0).unwrap();
    assert_eq!((s.fps_num, s.fps_den, s.segment_frames), (30, 1, 180));
    assert_eq!(s.chunks.len(), 10);
    assert_eq!(s.segments_per_chunk(), 10);
    let third = &s.chunks[2];
    assert_eq!(
        (third.first_frame, third.frame_count, third.first_segment),
        (3600, Some(1800), 20)
    );
    assert_eq!(s.start_s(third), 120.0);
    assert_eq!(s.end_s(third), Some(180.0));
    let last = s.chunks.last().unwrap();
    assert_eq!((last.first_frame, last.frame_count), (16200, None));
    assert_eq!(s.end_s(last), None);
}

#[test]
fn boundaries_are_frames_not_seconds_at_ntsc_rates() {
    // 29.97 fps: 60-frame GOPs, 180-frame segments of 6.006 s.
    let s = schedule(&planned(1280, 720, (30000, 1001), 300.0), 60.0).unwrap();
    assert_eq!(s.segment_frames, 180);
    assert_eq!(s.chunks[1].first_frame, 1800);
    assert!((s.start_s(&s.chunks[1]) - 60.06).abs() < 1e-9);
    // 300 s / 6.006 s = 49.95 → 50 segments → 5 chunks of 10.
    assert_eq!(s.chunks.len(), 5);
}

#[test]
fn a_60_fps_top_rung_with_30_fps_lower_rungs_chunks_on_shared_instants() {
    let p = planned(1920, 1080, (60, 1), 240.0);
    assert_eq!(p.video[0].gop_frames, 120);
    assert!(p.video.iter().any(|r| r.fps_num == 30));
    let s = schedule(&p, 60.0).unwrap();
    assert_eq!(s.segment_frames, 360);
    assert_eq!(s.chunks.len(), 4);
    assert_eq!(s.chunks[1].first_frame, 3600);
}

#[test]
fn short_sources_audio_only_and_chunking_off_stay_single_pass() {
    // 25 fps, 6 s segments, 60 s chunks: 60 s is one chunk (single pass),
    // 90 s is two (10 + 5 segments).
    assert!(schedule(&planned(1280, 720, (25, 1), 60.0), 60.0).is_none());
    assert_eq!(
        schedule(&planned(1280, 720, (25, 1), 90.0), 60.0)
            .unwrap()
            .chunks
            .len(),
        2
    );
    assert!(schedule(&planned(1280, 720, (25, 1), 600.0), 0.0).is_none());
    assert!(schedule(&planned(1280, 720, (25, 1), 600.0), f64::NAN).is_none());
    let mut audio_only = planned(1280, 720, (25, 1), 600.0);
    audio_only.video.clear();
    assert!(schedule(&audio_only, 60.0).is_none());
}

#[test]
fn chunk_length_rounds_to_whole_segments_and_never_below_one() {
    let p = planned(1280, 720, (25, 1), 120.0);
    let s = schedule(&p, 20.0).unwrap();
    // 20 s / 6 s → 3 segments per chunk.
    assert_eq!(s.segments_per_chunk(), 3);
    assert_eq!(s.chunks[1].first_segment, 3);
    let tiny = schedule(&p, 1.0).unwrap();
    assert_eq!(tiny.segments_per_chunk(), 1);
    assert_eq!(tiny.chunks.len(), 20);
}

#[test]
fn a_rung_whose_segments_end_elsewhere_keeps_the_plan_single_pass() {
    let mut p = planned(1920, 1080, (30, 1), 600.0);
    p.video[1].gop_frames = 59;
    assert!(schedule(&p, 60.0).is_none());
    assert!(p.with_chunks(60.0).chunks.is_none());
}

#[test]
fn a_short_tail_joins_the_last_chunk() {
    // 25 fps, 60 s chunks of 1500 frames.
    assert!(
        schedule(&planned(1280, 720, (25, 1), 63.0), 60.0).is_none(),
        "3 s over one chunk is not a second chunk"
    );
    let s = schedule(&planned(1280, 720, (25, 1), 130.0), 60.0).unwrap();
    assert_eq!(
        s.chunks.len(),
        2,
        "the 10 s tail runs with the second chunk"
    );
    assert_eq!(s.chunks[1].frame_count, None);
    let s = schedule(&planned(1280, 720, (25, 1), 140.0), 60.0).unwrap();
    assert_eq!(s.chunks.len(), 3, "a 20 s tail is a chunk of its own");
}
