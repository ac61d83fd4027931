//! Inputs that must be refused with a stable code, without hanging.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use vod_pipeline::{PipelineError, ProbeOptions, Settings};

fn reject(input: &Path) -> PipelineError {
    let out = input.with_extension("out");
    let started = Instant::now();
    let err = vod_pipeline::transcode(input, &out, &Settings::default(), |_| {})
        .expect_err("input must be rejected");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "rejection took {:?}",
        started.elapsed()
    );
    assert!(
        err.is_media_error(),
        "{} is not a media error: {err}",
        err.code()
    );
    assert!(
        !out.join("hls").exists() && !out.join("manifest.json").exists(),
        "partial output left behind"
    );
    let sentence = err.to_string();
    assert!(sentence.ends_with('.') && sentence.len() > 20, "{sentence}");
    err
}

#[test]
fn empty_file() {
    let dir = common::workdir("reject_empty");
    let path = dir.join("empty.mp4");
    std::fs::write(&path, b"").unwrap();
    assert_eq!(reject(&path).code(), "media.empty_file");
}

#[test]
fn random_bytes() {
    let dir = common::workdir("reject_random");
    let path = dir.join("random.mp4");
    // xorshift: deterministic noise without a rand dependency.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..256 * 1024)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(&path, bytes).unwrap();
    let code = reject(&path).code();
    assert!(
        [
            "media.unrecognized",
            "media.corrupt",
            "media.no_streams",
            "media.decode_failed"
        ]
        .contains(&code),
        "{code}"
    );
}

#[test]
fn truncated_mp4() {
    let dir = common::workdir("reject_truncated");
    let good = dir.join("good.mp4");
    common::make_mp4(&good, 640, 360, 30, 3, true);
    let bytes = std::fs::read(&good).unwrap();
    let path = dir.join("truncated.mp4");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let code = reject(&path).code();
    assert!(
        ["media.corrupt", "media.no_streams", "media.decode_failed"].contains(&code),
        "{code}"
    );
}

#[test]
fn text_file() {
    let dir = common::workdir("reject_text");
    let path = dir.join("notes.mp4");
    std::fs::write(
        &path,
        "These are my holiday notes, not a video.\n".repeat(200),
    )
    .unwrap();
    let code = reject(&path).code();
    assert!(
        ["media.unsupported_container", "media.unrecognized"].contains(&code),
        "{code}"
    );
}

#[test]
fn png_image() {
    let dir = common::workdir("reject_png");
    let path = dir.join("picture.mp4");
    common::gst_launch(&format!(
        "videotestsrc num-buffers=1 ! video/x-raw,width=320,height=240 ! pngenc ! filesink location={}",
        path.display()
    ));
    let err = reject(&path);
    assert_eq!(err.code(), "media.unsupported_container");
    assert!(err.to_string().contains("image"), "{err}");
}

#[test]
fn hls_playlist_posing_as_mp4() {
    let dir = common::workdir("reject_hls");
    // A real, playable segment next to it: following the reference would
    // "work", which is exactly what must not happen.
    let segment = dir.join("seg.ts");
    common::gst_launch(&format!(
        "videotestsrc num-buffers=30 ! x264enc ! h264parse ! mpegtsmux ! filesink location={}",
        segment.display()
    ));
    let path = dir.join("video.mp4");
    std::fs::write(
        &path,
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:1.0,\nseg.ts\n#EXTINF:1.0,\nhttp://127.0.0.1:9/x.ts\n#EXT-X-ENDLIST\n",
    )
    .unwrap();
    let err = reject(&path);
    assert_eq!(err.code(), "media.unsupported_container");
    assert!(err.to_string().contains("HLS playlist"), "{err}");
}

#[test]
fn limits_are_enforced_with_codes() {
    let dir = common::workdir("reject_limits");
    let src = dir.join("src.mp4");
    common::make_mp4(&src, 640, 360, 30, 2, false);
    let probe = vod_pipeline::probe(&src, &ProbeOptions::default()).unwrap();
    let short = vod_plan::Limits {
        max_duration_s: 1.0,
        ..Default::default()
    };
    assert_eq!(
        vod_plan::plan(&probe, &short).unwrap_err().code(),
        "media.too_long"
    );
    let narrow = vod_plan::Limits {
        max_width: 320,
        ..Default::default()
    };
    assert_eq!(
        vod_plan::plan(&probe, &narrow).unwrap_err().code(),
        "media.resolution_too_large"
    );
}

#[test]
fn cli_reports_code_and_sentence() {
    let dir = common::workdir("reject_cli");
    let path = dir.join("notes.txt");
    std::fs::write(&path, "hello\n".repeat(100)).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_vod-transcode"))
        .arg(&path)
        .arg(dir.join("out"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("error [media."), "{stderr}");
}

/// A source that stops delivering data mid-stream must time out, not hang.
#[test]
fn stalled_input_times_out() {
    let dir = common::workdir("stall");
    let good = dir.join("good.ts");
    common::gst_launch(&format!(
        "videotestsrc num-buffers=90 ! video/x-raw,width=320,height=240,framerate=30/1 ! x264enc ! h264parse ! mpegtsmux ! filesink location={}",
        good.display()
    ));
    let probe = vod_pipeline::probe(&good, &ProbeOptions::default()).unwrap();
    let plan = vod_plan::plan(&probe, &vod_plan::Limits::default()).unwrap();
    let fifo = dir.join("feed.ts");
    let status = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(status.success());
    let fifo_w = fifo.clone();
    // A writer that opens the pipe and then sends nothing for 5 s: the
    // source blocks, nothing flows, and only the stall timer can end it.
    let writer = std::thread::spawn(move || {
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&fifo_w)
            .unwrap();
        std::thread::sleep(Duration::from_secs(5));
        drop(f);
    });
    let opts = vod_pipeline::RunOptions {
        stall_timeout: Duration::from_secs(2),
        ..Default::default()
    };
    let started = Instant::now();
    let out = dir.join("out");
    let err = vod_pipeline::run(&plan, &fifo, &out, &opts, |_| {})
        .expect_err("a stalled input must fail");
    assert_eq!(err.code(), "pipeline.stall_timeout", "{err}");
    assert!(!err.is_media_error());
    // Shutting down waits for the blocked read to return when the writer
    // closes at 5 s; without the stall timer this would never end.
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "took {:?}",
        started.elapsed()
    );
    assert!(!out.join("hls").exists(), "partial output left behind");
    writer.join().unwrap();
}
