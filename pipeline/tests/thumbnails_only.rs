//! The thumbnails-only entry point used when another backend (MediaConvert)
//! encodes the renditions: poster, sprites and storyboard from the source,
//! and nothing else.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests fail loudly")]

mod common;

use common::{make_mp4, video_stream, workdir};
use vod_pipeline::{ProbeOptions, RunOptions, probe, thumbnails};
use vod_plan::{Limits, plan};

#[test]
fn makes_poster_sprites_and_storyboard_without_renditions() {
    let dir = workdir("thumbnails_only");
    let src = dir.join("src.mp4");
    make_mp4(&src, 640, 360, 30, 12, true);
    let plan = plan(
        &probe(&src, &ProbeOptions::default()).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    let spec = plan.thumbnails.clone().unwrap();
    let out = dir.join("out");
    let thumbs = thumbnails(&plan, &src, &out, &RunOptions::default())
        .unwrap()
        .expect("a video plan has thumbnails");

    // The same tiles, sheets and cues as a full run of the same plan.
    let full = common::transcode(&src, &dir.join("full"))
        .thumbnails
        .expect("full-run thumbnails");
    assert_eq!(thumbs.tile_count, full.tile_count);
    assert!(
        thumbs.tile_count as u32 + 1 >= spec.tile_count,
        "{} tiles",
        thumbs.tile_count
    );
    assert_eq!(thumbs.sprites, full.sprites);
    assert_eq!(thumbs.sprites, ["thumbs/sprite_000.jpg"]);
    let vtt = std::fs::read_to_string(out.join("thumbs/storyboard.vtt")).unwrap();
    let full_vtt = std::fs::read_to_string(dir.join("full/thumbs/storyboard.vtt")).unwrap();
    assert_eq!(vtt, full_vtt);
    assert_eq!(vtt.matches(" --> ").count(), thumbs.tile_count);
    let sheet = video_stream(&out.join(&thumbs.sprites[0]));
    assert_eq!(
        sheet["width"].as_u64(),
        Some(u64::from(10 * spec.tile_width))
    );
    let poster = video_stream(&out.join(thumbs.poster.as_deref().unwrap()));
    assert_eq!(poster["width"].as_u64(), Some(u64::from(spec.poster_width)));

    // No encoder ran: no HLS output at all, and no manifest.
    let hls = out.join("hls");
    assert!(
        !hls.exists() || std::fs::read_dir(&hls).unwrap().next().is_none(),
        "thumbnails-only wrote renditions"
    );
    assert!(!out.join("manifest.json").exists());
}

#[test]
fn audio_only_plan_has_no_thumbnails() {
    let dir = workdir("thumbnails_only_audio");
    let src = dir.join("a.m4a");
    common::gst_launch(&format!(
        "audiotestsrc num-buffers=200 samplesperbuffer=1024 ! audio/x-raw,rate=44100,channels=2 \
         ! avenc_aac ! aacparse ! mp4mux ! filesink location={}",
        src.display()
    ));
    let plan = plan(
        &probe(&src, &ProbeOptions::default()).unwrap(),
        &Limits::default(),
    )
    .unwrap();
    let got = thumbnails(&plan, &src, &dir.join("out"), &RunOptions::default()).unwrap();
    assert!(got.is_none());
}
