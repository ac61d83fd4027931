//! Chunked encoding against the single-pass graph on the same source: the
//! stitched renditions must hold the same frames at the same times, with
//! keyframes where the single pass puts them, no discontinuity, the same
//! quality, and the same storyboard and poster. Checked with ffprobe and
//! ffmpeg on the segment files, not with our own parsers.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{manifest, media, workdir};
use vod_pipeline::chunked::{Input, transcode_chunked};
use vod_pipeline::{ProbeOptions, RunOptions};
use vod_plan::{Limits, Plan};

fn ffmpeg_source(path: &Path, video: &str, extra: &[&str]) {
    let mut cmd = Command::new("ffmpeg");
    cmd.args(["-v", "error", "-y", "-f", "lavfi", "-i", video]);
    cmd.args(extra).arg(path);
    let out = cmd.output().expect("ffmpeg runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn plan_of(src: &Path) -> Plan {
    let probe = vod_pipeline::probe(src, &ProbeOptions::default()).unwrap();
    vod_plan::plan(&probe, &Limits::default()).unwrap()
}

/// The segments of a media playlist, concatenated in order: the stream a
/// player decodes.
fn joined(playlist: &Path, to: &Path) -> PathBuf {
    let dir = playlist.parent().unwrap();
    let mut bytes = Vec::new();
    for seg in media(playlist).segments {
        bytes.extend(std::fs::read(dir.join(&seg.uri)).unwrap());
    }
    std::fs::write(to, bytes).unwrap();
    to.to_path_buf()
}

#[derive(Debug, PartialEq)]
struct Packet {
    pts: i64,
    dts: i64,
    key: bool,
}

fn packets(ts: &Path, stream: &str) -> Vec<Packet> {
    common::ffprobe(
        &[
            "-select_streams",
            stream,
            "-show_entries",
            "packet=pts,dts,flags",
            "-of",
            "csv=p=0",
        ],
        ts,
    )
    .lines()
    .filter(|l| !l.trim().is_empty())
    .map(|l| {
        let f: Vec<&str> = l.split(',').collect();
        Packet {
            pts: f[0].parse().unwrap(),
            dts: f[1].parse().unwrap(),
            key: f[2].contains('K'),
        }
    })
    .collect()
}

/// Mean PSNR of a rendition against the source scaled to its size.
fn psnr(rendition: &Path, src: &Path, width: u32, height: u32) -> f64 {
    let filter = format!("[1:v]scale={width}:{height}:flags=bicubic[r];[0:v][r]psnr");
    let out = Command::new("ffmpeg")
        .args(["-v", "info", "-i"])
        .arg(rendition)
        .arg("-i")
        .arg(src)
        .args(["-lavfi", &filter, "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    let avg = log
        .lines()
        .filter_map(|l| l.split("average:").nth(1))
        .next_back()
        .unwrap_or_else(|| panic!("no PSNR in ffmpeg output: {log}"));
    avg.split_whitespace().next().unwrap().parse().unwrap()
}

/// Encodes `src` both ways and checks every promise of the chunked path;
/// returns how many chunks it used.
fn chunked_matches_single_pass(name: &str, src_args: (&str, &[&str]), chunk_s: f64) -> usize {
    let dir = workdir(name);
    let src = dir.join("src.mp4");
    ffmpeg_source(&src, src_args.0, src_args.1);
    let plan = plan_of(&src);
    let chunked_plan = plan.clone().with_chunks(chunk_s);
    let chunks = chunked_plan.chunks.as_ref().map_or(0, |c| c.chunks.len());
    assert!(
        chunks >= 2,
        "{name}: the source must be long enough to chunk"
    );
    let opts = RunOptions::default();
    let (single, chunked) = (dir.join("single"), dir.join("chunked"));
    vod_pipeline::run(&plan, &src, &single, &opts, |_| {}).unwrap();
    let run =
        transcode_chunked(&chunked_plan, &Input::File(src.clone()), &chunked, &opts, 2).unwrap();
    assert_eq!(run.chunks.len(), chunks);

    let mut key_times: Vec<Vec<i64>> = Vec::new();
    for rung in &plan.video {
        let playlist = |out: &Path| out.join("hls").join(&rung.name).join("index.m3u8");
        let text = std::fs::read_to_string(playlist(&chunked)).unwrap();
        assert!(
            !text.contains("DISCONTINUITY"),
            "{name} {}: {text}",
            rung.name
        );
        let durations = |out: &Path| -> Vec<f64> {
            media(&playlist(out))
                .segments
                .iter()
                .map(|s| f64::from(s.duration))
                .collect()
        };
        let (a, b) = (durations(&single), durations(&chunked));
        assert_eq!(a.len(), b.len(), "{name} {}: segment count", rung.name);
        for (x, y) in a.iter().zip(&b) {
            assert!(
                (x - y).abs() < 1e-3,
                "{name} {}: segments {a:?} vs {b:?}",
                rung.name
            );
        }

        let s_ts = joined(&playlist(&single), &dir.join(format!("s_{}.ts", rung.name)));
        let c_ts = joined(
            &playlist(&chunked),
            &dir.join(format!("c_{}.ts", rung.name)),
        );
        let (sp, cp) = (packets(&s_ts, "v:0"), packets(&c_ts, "v:0"));
        assert_eq!(sp.len(), cp.len(), "{name} {}: frame count", rung.name);
        let pts_set = |p: &[Packet]| p.iter().map(|p| p.pts).collect::<BTreeSet<_>>();
        assert_eq!(
            pts_set(&cp).len(),
            cp.len(),
            "{name} {}: a timestamp twice",
            rung.name
        );
        assert_eq!(
            pts_set(&sp),
            pts_set(&cp),
            "{name} {}: frame times",
            rung.name
        );
        let keys = |p: &[Packet]| {
            p.iter()
                .filter(|p| p.key)
                .map(|p| p.pts)
                .collect::<Vec<_>>()
        };
        assert_eq!(keys(&sp), keys(&cp), "{name} {}: keyframes", rung.name);
        assert!(
            cp.windows(2).all(|w| w[0].dts < w[1].dts),
            "{name} {}: decode times must rise across seams",
            rung.name
        );
        key_times.push(keys(&cp));

        let (ps, pc) = (
            psnr(&s_ts, &src, rung.width, rung.height),
            psnr(&c_ts, &src, rung.width, rung.height),
        );
        assert!(
            (ps - pc).abs() <= 0.1,
            "{name} {}: PSNR single {ps:.3} dB, chunked {pc:.3} dB",
            rung.name
        );
    }
    // Every rung switches at the same instants.
    assert!(
        key_times.windows(2).all(|w| w[0] == w[1]),
        "{name}: keyframes across rungs"
    );

    if let Some(a) = &plan.audio {
        let playlist = |out: &Path| out.join("hls").join(&a.name).join("index.m3u8");
        let s_ts = joined(&playlist(&single), &dir.join("s_audio.ts"));
        let c_ts = joined(&playlist(&chunked), &dir.join("c_audio.ts"));
        assert_eq!(
            packets(&s_ts, "a:0"),
            packets(&c_ts, "a:0"),
            "{name}: audio"
        );
    }

    let (ms, mc) = (manifest(&single), manifest(&chunked));
    let (ts, tc) = (ms.thumbnails.unwrap(), mc.thumbnails.unwrap());
    assert_eq!(ts.sprites, tc.sprites, "{name}: sprite sheets");
    assert_eq!(ts.tile_count, tc.tile_count, "{name}: tiles");
    assert_eq!((ts.columns, ts.rows), (tc.columns, tc.rows));
    let read = |out: &Path, f: &str| std::fs::read(out.join("thumbs").join(f)).unwrap();
    assert_eq!(
        read(&single, "storyboard.vtt"),
        read(&chunked, "storyboard.vtt"),
        "{name}: storyboard cues"
    );
    assert_eq!(
        read(&single, "poster.jpg"),
        read(&chunked, "poster.jpg"),
        "{name}: poster"
    );
    for (vs, vc) in ms.video.iter().zip(&mc.video) {
        assert_eq!(vs.codecs, vc.codecs, "{name}: CODECS");
        assert!(vc.peak_bitrate_bps > 0, "{name}: BANDWIDTH is measured");
    }
    chunks
}

#[test]
fn chunked_output_matches_single_pass_frame_for_frame() {
    let n = chunked_matches_single_pass(
        "chunked_basic",
        (
            "testsrc2=size=854x480:rate=30,format=yuv420p",
            &[
                "-f",
                "lavfi",
                "-i",
                "sine=frequency=440:sample_rate=48000",
                "-t",
                "30",
                "-c:v",
                "libx264",
                "-g",
                "60",
                "-bf",
                "3",
                "-preset",
                "veryfast",
                "-c:a",
                "aac",
                "-shortest",
            ],
        ),
        12.0,
    );
    assert_eq!(
        n, 3,
        "30 s in 12 s chunks: the 6 s tail is a chunk of its own"
    );
}

#[test]
fn chunked_long_keyframe_interval_and_b_frames() {
    // Keyframes 10 s apart: a chunk decodes from up to 10 s before its start.
    chunked_matches_single_pass(
        "chunked_long_gop",
        (
            "testsrc2=size=640x360:rate=25,format=yuv420p",
            &[
                "-t",
                "36",
                "-c:v",
                "libx264",
                "-g",
                "250",
                "-bf",
                "3",
                "-b_strategy",
                "2",
                "-preset",
                "veryfast",
            ],
        ),
        12.0,
    );
}

#[test]
fn chunked_sixty_fps_source() {
    chunked_matches_single_pass(
        "chunked_60fps",
        (
            "testsrc2=size=640x360:rate=60,format=yuv420p",
            &[
                "-t",
                "26",
                "-c:v",
                "libx264",
                "-g",
                "120",
                "-bf",
                "3",
                "-preset",
                "ultrafast",
            ],
        ),
        12.0,
    );
}

#[test]
fn chunked_rotated_ntsc_source() {
    // 29.97 fps (frame times that do not land on whole milliseconds) and a
    // rotation the graph applies.
    chunked_matches_single_pass(
        "chunked_rotated",
        (
            "testsrc2=size=640x480:rate=30000/1001,format=yuv420p",
            &[
                "-t",
                "26",
                "-c:v",
                "libx264",
                "-g",
                "60",
                "-bf",
                "2",
                "-preset",
                "veryfast",
                "-metadata:s:v",
                "rotate=90",
            ],
        ),
        12.0,
    );
}

#[test]
fn audio_only_source_is_not_chunked_and_encodes_in_one_pass() {
    let dir = workdir("chunked_audio_only");
    let src = dir.join("src.m4a");
    let out = Command::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=300:sample_rate=44100",
        ])
        .args(["-t", "40", "-c:a", "aac"])
        .arg(&src)
        .output()
        .unwrap();
    assert!(out.status.success());
    let plan = plan_of(&src).with_chunks(12.0);
    assert!(plan.video.is_empty());
    assert!(plan.chunks.is_none(), "nothing to chunk without video");
    let manifest = vod_pipeline::run(
        &plan,
        &src,
        &dir.join("out"),
        &RunOptions::default(),
        |_| {},
    )
    .unwrap();
    let audio = manifest.audio.unwrap();
    assert!(
        (audio.duration_s - 40.0).abs() < 0.2,
        "{}",
        audio.duration_s
    );
    // The audio task alone on the same plan gives the same segments.
    let task = vod_pipeline::chunked::encode_audio(
        &plan,
        &Input::File(src),
        &dir.join("task"),
        &RunOptions::default(),
        |_| {},
    )
    .unwrap();
    assert_eq!(task.run.segments.len(), audio.segment_count);
}
