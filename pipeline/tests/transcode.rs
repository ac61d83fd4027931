//! End-to-end: synthetic sources through probe, plan and graph, checked
//! with ffprobe/ffmpeg and m3u8-rs.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{Expect, check_package, check_thumbnails, make_mp4, transcode, workdir};

#[test]
fn landscape_1080p_with_audio() {
    let dir = workdir("landscape_1080p");
    let src = dir.join("src.mp4");
    make_mp4(&src, 1920, 1080, 30, 7, true);
    let out = dir.join("out");
    let manifest = transcode(&src, &out);
    let master = check_package(
        &out,
        &Expect {
            rungs: &[
                ("1080p", 1920, 1080),
                ("720p", 1280, 720),
                ("480p", 854, 480),
                ("360p", 640, 360),
            ],
            audio: true,
            fps: &[30.0; 4],
            duration_s: 7.0,
        },
    );
    assert_eq!(master.alternatives.len(), 1);
    assert_eq!(master.alternatives[0].group_id, "aud");
    assert!(master.independent_segments);
    // 7 s at 6 s segments: one full segment and a remainder.
    assert_eq!(manifest.video[0].segment_count, 2);
    let audio = manifest.audio.as_ref().unwrap();
    let a = common::ffprobe_json(
        &["-select_streams", "a:0", "-show_streams"],
        &out.join(&audio.playlist),
    );
    let s = &a["streams"][0];
    assert_eq!(
        (s["codec_name"].as_str(), s["profile"].as_str()),
        (Some("aac"), Some("LC"))
    );
    assert_eq!(
        (s["channels"].as_u64(), s["sample_rate"].as_str()),
        (Some(2), Some("48000"))
    );
    check_thumbnails(&out, 7.0);
}

#[test]
fn small_source_is_not_upscaled() {
    let dir = workdir("small_640x360");
    let src = dir.join("src.mp4");
    make_mp4(&src, 640, 360, 30, 4, true);
    let out = dir.join("out");
    transcode(&src, &out);
    check_package(
        &out,
        &Expect {
            rungs: &[("360p", 640, 360)],
            audio: true,
            fps: &[30.0],
            duration_s: 4.0,
        },
    );
    check_thumbnails(&out, 4.0);
}

#[test]
fn vertical_phone_video() {
    let dir = workdir("vertical_720x1280");
    let src = dir.join("src.mp4");
    make_mp4(&src, 720, 1280, 30, 4, true);
    let out = dir.join("out");
    transcode(&src, &out);
    check_package(
        &out,
        &Expect {
            rungs: &[("720p", 720, 1280), ("480p", 480, 854), ("360p", 360, 640)],
            audio: true,
            fps: &[30.0; 3],
            duration_s: 4.0,
        },
    );
    check_thumbnails(&out, 4.0);
}

#[test]
fn source_without_audio() {
    let dir = workdir("no_audio");
    let src = dir.join("src.mp4");
    make_mp4(&src, 1280, 720, 25, 3, false);
    let out = dir.join("out");
    let manifest = transcode(&src, &out);
    let master = check_package(
        &out,
        &Expect {
            rungs: &[("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)],
            audio: false,
            fps: &[25.0; 3],
            duration_s: 3.0,
        },
    );
    assert!(master.alternatives.is_empty());
    assert!(manifest.audio.is_none());
    assert!(!out.join("hls/audio").exists());
}

#[test]
fn audio_only_source() {
    let dir = workdir("audio_only");
    let src = dir.join("src.m4a");
    common::gst_launch(&format!(
        "audiotestsrc num-buffers=250 samplesperbuffer=1024 ! audio/x-raw,rate=48000,channels=6 ! audioconvert \
         ! avenc_aac ! aacparse ! mp4mux ! filesink location={}",
        src.display()
    ));
    let out = dir.join("out");
    let manifest = transcode(&src, &out);
    assert!(manifest.video.is_empty() && manifest.thumbnails.is_none());
    let audio = manifest.audio.clone().unwrap();
    let master = common::master(&out);
    assert_eq!(master.variants.len(), 1);
    let v = &master.variants[0];
    assert_eq!(v.uri, "audio/index.m3u8");
    assert_eq!(v.codecs.as_deref(), Some("mp4a.40.2"));
    assert!(v.resolution.is_none());
    let playlist = out.join(&audio.playlist);
    let media = common::media(&playlist);
    assert_eq!(media.segments.len(), audio.segment_count);
    for seg in &media.segments {
        assert!(f64::from(seg.duration) <= 6.1);
    }
    let a = common::ffprobe_json(&["-select_streams", "a:0", "-show_streams"], &playlist);
    assert_eq!(
        a["streams"][0]["channels"].as_u64(),
        Some(2),
        "5.1 is downmixed to stereo"
    );
    let total: f64 = media.segments.iter().map(|s| f64::from(s.duration)).sum();
    assert!((total - 250.0 * 1024.0 / 48_000.0).abs() < 0.1, "{total}");
}

/// 1080p60 also covers the cascade across a frame-rate change: 360p30 is
/// scaled from the 720p60 rung's frames.
#[test]
fn sixty_fps_source() {
    let dir = workdir("fps60");
    let src = dir.join("src.mp4");
    make_mp4(&src, 1920, 1080, 60, 7, false);
    let out = dir.join("out");
    transcode(&src, &out);
    check_package(
        &out,
        &Expect {
            rungs: &[
                ("1080p", 1920, 1080),
                ("720p", 1280, 720),
                ("480p", 854, 480),
                ("360p", 640, 360),
            ],
            audio: false,
            fps: &[60.0, 60.0, 30.0, 30.0],
            duration_s: 7.0,
        },
    );
}

#[test]
fn rotated_source_is_displayed_upright() {
    let dir = workdir("rotated");
    let plain = dir.join("plain.mp4");
    make_mp4(&plain, 1280, 720, 30, 3, true);
    let src = dir.join("src.mp4");
    // A phone's display matrix, the way ffmpeg writes it.
    let status = std::process::Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-i"])
        .arg(&plain)
        .args(["-c", "copy", "-metadata:s:v:0", "rotate=90"])
        .arg(&src)
        .status()
        .unwrap();
    assert!(status.success());
    let probe = vod_pipeline::probe(&src, &vod_pipeline::ProbeOptions::default()).unwrap();
    assert!(probe.video.as_ref().unwrap().orientation.swaps_dimensions());
    let out = dir.join("out");
    transcode(&src, &out);
    check_package(
        &out,
        &Expect {
            rungs: &[("720p", 720, 1280), ("480p", 480, 854), ("360p", 360, 640)],
            audio: true,
            fps: &[30.0; 3],
            duration_s: 3.0,
        },
    );
    // Output frames are already upright: no rotation left to signal.
    let s = common::ffprobe(
        &[
            "-show_entries",
            "stream_side_data=rotation",
            "-of",
            "csv=p=0",
        ],
        &out.join("hls/720p/seg_00001.ts"),
    );
    assert!(s.trim().is_empty(), "unexpected rotation metadata: {s}");
}

#[test]
fn odd_dimensions_and_444_source() {
    let dir = workdir("odd");
    let src = dir.join("src.mkv");
    common::gst_launch(&format!(
        "videotestsrc num-buffers=75 ! video/x-raw,format=Y444,width=641,height=359,framerate=25/1 \
         ! x264enc speed-preset=ultrafast ! matroskamux ! filesink location={}",
        src.display()
    ));
    let out = dir.join("out");
    transcode(&src, &out);
    check_package(
        &out,
        &Expect {
            rungs: &[("358p", 640, 358)],
            audio: false,
            fps: &[25.0],
            duration_s: 3.0,
        },
    );
    check_thumbnails(&out, 3.0);
}
