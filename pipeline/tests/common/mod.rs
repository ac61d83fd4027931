//! Shared helpers: synthetic sources from GStreamer test sources, and checks
//! of a produced package with independent tools (ffprobe, ffmpeg, m3u8-rs).

#![allow(dead_code, reason = "each test binary uses a subset")]

use std::path::{Path, PathBuf};
use std::process::Command;

use m3u8_rs::{MasterPlaylist, MediaPlaylist};
use vod_plan::Manifest;

pub fn workdir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join("pipeline-tests")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e} (is it installed?)"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Runs a gst-launch-1.0 description (split on spaces; no quoting needed).
pub fn gst_launch(desc: &str) {
    run(Command::new("gst-launch-1.0")
        .arg("-q")
        .arg("-e")
        .args(desc.split_whitespace()));
}

/// An H.264 + AAC MP4 from videotestsrc/audiotestsrc.
pub fn make_mp4(path: &Path, width: u32, height: u32, fps: u32, seconds: u32, audio: bool) {
    let frames = fps * seconds;
    let loc = path.display();
    let mut desc = format!(
        "videotestsrc num-buffers={frames} pattern=ball ! video/x-raw,format=I420,width={width},height={height},framerate={fps}/1 \
         ! x264enc speed-preset=ultrafast key-int-max={fps} ! h264parse ! mp4mux name=m ! filesink location={loc}"
    );
    if audio {
        let buffers = seconds * 44_100 / 1024;
        desc.push_str(&format!(
            " audiotestsrc num-buffers={buffers} samplesperbuffer=1024 ! audio/x-raw,rate=44100,channels=2 ! avenc_aac ! aacparse ! m."
        ));
    }
    gst_launch(&desc);
}

pub fn ffprobe(args: &[&str], target: &Path) -> String {
    run(Command::new("ffprobe")
        .args(["-v", "error"])
        .args(args)
        .arg(target))
}

pub fn ffprobe_json(args: &[&str], target: &Path) -> serde_json::Value {
    let mut all = vec!["-of", "json"];
    all.extend_from_slice(args);
    serde_json::from_str(&ffprobe(&all, target)).unwrap()
}

pub fn video_stream(target: &Path) -> serde_json::Value {
    let v = ffprobe_json(&["-select_streams", "v:0", "-show_streams"], target);
    v["streams"][0].clone()
}

pub fn master(out: &Path) -> MasterPlaylist {
    let bytes = std::fs::read(out.join("hls/master.m3u8")).unwrap();
    m3u8_rs::parse_master_playlist_res(&bytes).unwrap()
}

pub fn media(path: &Path) -> MediaPlaylist {
    let bytes = std::fs::read(path).unwrap();
    m3u8_rs::parse_media_playlist_res(&bytes).unwrap()
}

pub fn manifest(out: &Path) -> Manifest {
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

pub fn transcode(input: &Path, out: &Path) -> Manifest {
    let mut last = -1.0;
    let manifest = vod_pipeline::transcode(input, out, &vod_pipeline::Settings::default(), |p| {
        assert!(p.percent >= 0.0 && p.percent <= 100.0);
        last = p.percent;
    })
    .unwrap_or_else(|e| panic!("transcode failed: [{}] {e}", e.code()));
    assert_eq!(last, 100.0, "progress must end at 100 %");
    manifest
}

/// Presentation times of keyframes in a playlist's video stream.
pub fn keyframe_times(playlist: &Path) -> Vec<f64> {
    let out = ffprobe(
        &[
            "-select_streams",
            "v:0",
            "-show_entries",
            "packet=pts_time,flags",
            "-of",
            "csv=p=0",
        ],
        playlist,
    );
    let mut times: Vec<f64> = out
        .lines()
        .filter(|l| l.contains('K'))
        .filter_map(|l| l.split(',').next()?.parse().ok())
        .collect();
    times.sort_by(f64::total_cmp);
    times
}

/// What every good package must satisfy; returns the master playlist.
pub struct Expect<'a> {
    /// (name, width, height) per video rung, top first.
    pub rungs: &'a [(&'a str, u32, u32)],
    pub audio: bool,
    pub fps: &'a [f64],
    pub duration_s: f64,
}

pub fn check_package(out: &Path, expect: &Expect<'_>) -> MasterPlaylist {
    let manifest = manifest(out);
    let master = master(out);
    let names: Vec<_> = manifest.video.iter().map(|r| r.name.as_str()).collect();
    let want: Vec<_> = expect.rungs.iter().map(|r| r.0).collect();
    assert_eq!(names, want);
    assert_eq!(manifest.audio.is_some(), expect.audio);
    assert!(
        (manifest.duration_s - expect.duration_s).abs() < 0.25,
        "duration {} vs {}",
        manifest.duration_s,
        expect.duration_s
    );

    let audio_peak = manifest
        .audio
        .as_ref()
        .map(|a| check_rendition_segments(out, a, None))
        .unwrap_or(0.0);
    let mut keyframes: Option<Vec<f64>> = None;
    for (i, (name, w, h)) in expect.rungs.iter().enumerate() {
        let playlist = out.join(format!("hls/{name}/index.m3u8"));
        let rendition = &manifest.video[i];
        // Independent decode of the whole rendition.
        run(Command::new("ffmpeg")
            .args(["-v", "error", "-xerror", "-i"])
            .arg(&playlist)
            .args(["-f", "null", "-"]));
        let stream = video_stream(&playlist);
        assert_eq!(
            (stream["width"].as_u64(), stream["height"].as_u64()),
            (Some(u64::from(*w)), Some(u64::from(*h))),
            "{name}"
        );
        assert_eq!(stream["pix_fmt"], "yuv420p", "{name}");
        assert_eq!(stream["profile"], "High", "{name}");
        let level = stream["level"].as_u64().unwrap();
        let variant = master
            .variants
            .iter()
            .find(|v| v.uri == format!("{name}/index.m3u8"))
            .unwrap();
        let codecs = variant.codecs.clone().unwrap();
        let video_codec = codecs.split(',').next().unwrap();
        assert_eq!(
            video_codec,
            format!("avc1.6400{level:02x}"),
            "{name}: CODECS vs ffprobe level"
        );
        assert_eq!(codecs.contains("mp4a.40.2"), expect.audio, "{name}");
        let res = variant.resolution.unwrap();
        assert_eq!((res.width, res.height), (u64::from(*w), u64::from(*h)));
        let fps = variant.frame_rate.unwrap();
        assert!(
            (fps - expect.fps[i]).abs() < 0.01,
            "{name}: FRAME-RATE {fps}"
        );
        let (num, den) = stream["avg_frame_rate"]
            .as_str()
            .unwrap()
            .split_once('/')
            .unwrap();
        let measured_fps = num.parse::<f64>().unwrap() / den.parse::<f64>().unwrap();
        assert!(
            (measured_fps - expect.fps[i]).abs() < 0.05,
            "{name}: ffprobe fps {measured_fps}"
        );
        assert_eq!(variant.audio.is_some(), expect.audio);

        let peak = check_rendition_segments(out, rendition, Some(i));
        let want_bw = peak + audio_peak;
        let bw = variant.bandwidth as f64;
        assert!(
            (bw - want_bw).abs() / want_bw < 0.02,
            "{name}: BANDWIDTH {bw} vs measured {want_bw}"
        );
        assert!(variant.average_bandwidth.unwrap() <= variant.bandwidth);

        // Same keyframe instants in every rung (1 ms: 90 kHz rounding).
        let times = keyframe_times(&playlist);
        assert!(!times.is_empty());
        match &keyframes {
            None => keyframes = Some(times),
            Some(first) => {
                assert_eq!(first.len(), times.len(), "{name}: keyframe count");
                for (a, b) in first.iter().zip(&times) {
                    assert!((a - b).abs() < 0.002, "{name}: keyframe {a} vs {b}");
                }
            }
        }
    }
    if let Some(times) = &keyframes {
        for pair in times.windows(2) {
            let gop = pair[1] - pair[0];
            assert!((gop - 2.0).abs() < 0.05, "GOP of {gop} s");
        }
    }
    master
}

/// Segment checks with ffprobe; returns the measured peak segment bitrate
/// (bit/s) from file sizes and the playlist's durations.
fn check_rendition_segments(
    out: &Path,
    r: &vod_plan::Rendition,
    video_index: Option<usize>,
) -> f64 {
    let playlist_path = out.join(&r.playlist);
    let playlist = media(&playlist_path);
    assert_eq!(
        playlist.playlist_type,
        Some(m3u8_rs::MediaPlaylistType::Vod)
    );
    assert!(playlist.independent_segments && playlist.end_list);
    assert_eq!(playlist.segments.len(), r.segment_count);
    let dir = playlist_path.parent().unwrap();
    let mut peak: f64 = 0.0;
    let n = playlist.segments.len();
    for (i, seg) in playlist.segments.iter().enumerate() {
        let path = dir.join(&seg.uri);
        let extinf = f64::from(seg.duration);
        assert!(
            extinf.round() as u64 <= playlist.target_duration,
            "{}: EXTINF {extinf}",
            seg.uri
        );
        assert!(
            extinf <= 6.1,
            "{}: segment of {extinf} s exceeds the 6 s target",
            seg.uri
        );
        if i + 1 < n && video_index.is_some() {
            assert!(
                extinf > 3.9,
                "{}: a non-final video segment of {extinf} s",
                seg.uri
            );
        }
        let dur: f64 = ffprobe(
            &["-show_entries", "format=duration", "-of", "csv=p=0"],
            &path,
        )
        .trim()
        .parse()
        .unwrap();
        if video_index.is_some() {
            // The container's duration spans the last frame's start only.
            assert!(
                (dur - extinf).abs() < 0.1,
                "{}: ffprobe {dur} vs EXTINF {extinf}",
                seg.uri
            );
            let first = ffprobe(
                &[
                    "-select_streams",
                    "v:0",
                    "-show_entries",
                    "packet=flags",
                    "-read_intervals",
                    "%+#1",
                    "-of",
                    "csv=p=0",
                ],
                &path,
            );
            assert!(
                first.trim_start().starts_with('K'),
                "{} does not start with a keyframe",
                seg.uri
            );
        }
        let bytes = std::fs::metadata(&path).unwrap().len() as f64;
        peak = peak.max(bytes * 8.0 / extinf);
    }
    peak
}

/// Storyboard cues cover the duration and point inside the sprite sheets.
pub fn check_thumbnails(out: &Path, duration_s: f64) {
    let manifest = manifest(out);
    let thumbs = manifest.thumbnails.expect("thumbnails");
    let poster = out.join(thumbs.poster.as_ref().expect("poster"));
    let p = video_stream(&poster);
    assert!(p["width"].as_u64().unwrap() <= 1280);
    let vtt = std::fs::read_to_string(out.join("thumbs/storyboard.vtt")).unwrap();
    assert!(vtt.starts_with("WEBVTT"));
    let mut expected_start = 0.0;
    let mut cues = 0;
    let lines: Vec<&str> = vtt.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some((a, b)) = line.split_once(" --> ") else {
            continue;
        };
        let (start, end) = (vtt_time(a), vtt_time(b));
        assert!((start - expected_start).abs() < 0.001, "cue gap at {start}");
        assert!(end > start);
        expected_start = end;
        cues += 1;
        let target = lines[i + 1];
        let (file, frag) = target.split_once("#xywh=").unwrap();
        let xywh: Vec<u64> = frag.split(',').map(|v| v.parse().unwrap()).collect();
        let sheet = video_stream(&out.join("thumbs").join(file));
        let (sw, sh) = (
            sheet["width"].as_u64().unwrap(),
            sheet["height"].as_u64().unwrap(),
        );
        assert!(
            xywh[0] + xywh[2] <= sw && xywh[1] + xywh[3] <= sh,
            "{target} outside {sw}x{sh}"
        );
        assert_eq!(xywh[2], 160);
    }
    assert!(cues > 0 && cues <= 101, "{cues} cues");
    assert!(
        (expected_start - duration_s).abs() < 0.3,
        "cues end at {expected_start}, video at {duration_s}"
    );
}

fn vtt_time(s: &str) -> f64 {
    let parts: Vec<f64> = s.trim().split(':').map(|p| p.parse().unwrap()).collect();
    parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
}
