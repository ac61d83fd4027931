//! The pure planner on recorded discoverer output (GStreamer 1.22.0): no
//! GStreamer needed, so the ladder rules are pinned against real probes.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

use vod_plan::{Limits, Orientation, Probe, plan};

fn fixture(name: &str) -> Probe {
    let path = format!(
        "{}/tests/fixtures/probe/{name}.gst-1.22.0.json",
        env!("CARGO_MANIFEST_DIR")
    );
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

fn rungs(p: &vod_plan::Plan) -> Vec<(String, u32, u32, u32)> {
    p.video
        .iter()
        .map(|r| (r.name.clone(), r.width, r.height, r.gop_frames))
        .collect()
}

fn owned(v: &[(&str, u32, u32, u32)]) -> Vec<(String, u32, u32, u32)> {
    v.iter()
        .map(|(n, w, h, g)| (n.to_string(), *w, *h, *g))
        .collect()
}

#[test]
fn landscape_1080p() {
    let p = plan(&fixture("mp4_h264_aac_1920x1080p30"), &Limits::default()).unwrap();
    assert_eq!(
        rungs(&p),
        owned(&[
            ("1080p", 1920, 1080, 60),
            ("720p", 1280, 720, 60),
            ("480p", 854, 480, 60),
            ("360p", 640, 360, 60)
        ])
    );
    assert!(p.audio.is_some());
    assert_eq!(p.thumbnails.unwrap().tile_height, 90);
}

#[test]
fn rotated_phone_video_becomes_portrait() {
    let probe = fixture("mp4_h264_aac_1280x720_rotate90_phone");
    assert!(probe.video.as_ref().unwrap().orientation.swaps_dimensions());
    let p = plan(&probe, &Limits::default()).unwrap();
    assert_eq!(p.orientation, Orientation::Rotate270);
    assert_eq!(
        rungs(&p),
        owned(&[
            ("720p", 720, 1280, 60),
            ("480p", 480, 854, 60),
            ("360p", 360, 640, 60)
        ])
    );
}

#[test]
fn audio_only() {
    let p = plan(&fixture("m4a_aac_5.1_audio_only"), &Limits::default()).unwrap();
    assert!(p.video.is_empty() && p.thumbnails.is_none());
    let a = p.audio.unwrap();
    assert_eq!(
        (a.channels, a.sample_rate, a.bitrate_bps),
        (2, 48_000, 128_000)
    );
}

#[test]
fn odd_sized_444() {
    let p = plan(&fixture("mkv_h264_444_641x359p25"), &Limits::default()).unwrap();
    assert_eq!(rungs(&p), owned(&[("358p", 640, 358, 50)]));
}

#[test]
fn sixty_fps_caps_lower_rungs_at_thirty() {
    let p = plan(
        &fixture("mp4_h264_1280x720p60_no_audio"),
        &Limits::default(),
    )
    .unwrap();
    let fps: Vec<_> = p
        .video
        .iter()
        .map(|r| (r.fps_num, r.fps_den, r.gop_frames))
        .collect();
    assert_eq!(fps, [(60, 1, 120), (30, 1, 60), (30, 1, 60)]);
    assert!(p.audio.is_none());
    let strict = Limits {
        max_fps: 50.0,
        ..Limits::default()
    };
    assert_eq!(
        plan(&fixture("mp4_h264_1280x720p60_no_audio"), &strict)
            .unwrap_err()
            .code(),
        "media.frame_rate_too_high"
    );
}
