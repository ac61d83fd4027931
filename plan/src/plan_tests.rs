use super::*;
use crate::probe::{AudioStream, VideoStream};

fn probe(w: u32, h: u32, fps: (u32, u32), orientation: Orientation, audio: bool) -> Probe {
    Probe {
        container: "video/quicktime".into(),
        duration_s: 60.0,
        video: Some(VideoStream {
            codec: "video/x-h264".into(),
            profile: Some("high".into()),
            width: w,
            height: h,
            par_n: 1,
            par_d: 1,
            orientation,
            fps_num: fps.0,
            fps_den: fps.1,
            variable_fps: false,
            pixel_format: None,
            bit_depth: Some(8),
            interlaced: false,
        }),
        audio: audio.then(|| AudioStream {
            codec: "audio/mpeg".into(),
            channels: 6,
            sample_rate: 44_100,
        }),
        gst_version: String::new(),
    }
}

fn dims(p: &Plan) -> Vec<(String, u32, u32)> {
    p.video
        .iter()
        .map(|r| (r.name.clone(), r.width, r.height))
        .collect()
}

#[test]
fn ladder_table() {
    let r0 = Orientation::Rotate0;
    type Case<'a> = (u32, u32, Orientation, &'a [(&'a str, u32, u32)]);
    let cases: &[Case<'_>] = &[
        (
            1920,
            1080,
            r0,
            &[
                ("1080p", 1920, 1080),
                ("720p", 1280, 720),
                ("480p", 854, 480),
                ("360p", 640, 360),
            ],
        ),
        (
            3840,
            2160,
            r0,
            &[
                ("2160p", 3840, 2160),
                ("1080p", 1920, 1080),
                ("720p", 1280, 720),
                ("480p", 854, 480),
                ("360p", 640, 360),
            ],
        ),
        (
            4096,
            2304,
            r0,
            &[
                ("2160p", 3840, 2160),
                ("1080p", 1920, 1080),
                ("720p", 1280, 720),
                ("480p", 854, 480),
                ("360p", 640, 360),
            ],
        ),
        (640, 360, r0, &[("360p", 640, 360)]),
        (
            720,
            1280,
            r0,
            &[("720p", 720, 1280), ("480p", 480, 854), ("360p", 360, 640)],
        ),
        (
            1280,
            720,
            Orientation::Rotate90,
            &[("720p", 720, 1280), ("480p", 480, 854), ("360p", 360, 640)],
        ),
        (
            1280,
            720,
            Orientation::Rotate180,
            &[("720p", 1280, 720), ("480p", 854, 480), ("360p", 640, 360)],
        ),
        (
            1280,
            540,
            r0,
            &[("540p", 1280, 540), ("480p", 1138, 480), ("360p", 854, 360)],
        ),
        (641, 359, r0, &[("358p", 640, 358)]),
        // Aspect 1.777: 852 is the nearest even width at 480.
        (
            1921,
            1081,
            r0,
            &[
                ("1080p", 1920, 1080),
                ("720p", 1280, 720),
                ("480p", 852, 480),
                ("360p", 640, 360),
            ],
        ),
        (160, 120, r0, &[("120p", 160, 120)]),
        (
            1440,
            1080,
            r0,
            &[
                ("1080p", 1440, 1080),
                ("720p", 960, 720),
                ("480p", 640, 480),
                ("360p", 480, 360),
            ],
        ),
    ];
    for (w, h, o, want) in cases {
        let p = plan(&probe(*w, *h, (30, 1), *o, true), &Limits::default()).unwrap();
        let want: Vec<_> = want
            .iter()
            .map(|(n, w, h)| (n.to_string(), *w, *h))
            .collect();
        assert_eq!(dims(&p), want, "{w}x{h} {o:?}");
        assert_eq!(p.orientation, *o);
        for r in &p.video {
            assert!(r.width % 2 == 0 && r.height % 2 == 0);
        }
    }
}

#[test]
fn bitrates_follow_the_ladder() {
    let p = plan(
        &probe(1920, 1080, (30, 1), Orientation::Rotate0, true),
        &Limits::default(),
    )
    .unwrap();
    let rates: Vec<_> = p
        .video
        .iter()
        .map(|r| (r.bitrate_bps, r.maxrate_bps, r.bufsize_bits))
        .collect();
    assert_eq!(
        rates,
        [
            (5_000_000, 5_350_000, 7_500_000),
            (2_500_000, 2_675_000, 3_750_000),
            (1_000_000, 1_070_000, 1_500_000),
            (500_000, 535_000, 750_000)
        ]
    );
    let between = plan(
        &probe(1280, 540, (30, 1), Orientation::Rotate0, true),
        &Limits::default(),
    )
    .unwrap();
    assert!(between.video[0].bitrate_bps > 1_000_000 && between.video[0].bitrate_bps < 2_500_000);
}

#[test]
fn frame_rates_and_gops() {
    // (source fps, expected [(top rung fps, gop)], [(360p fps, gop)])
    let cases = [
        ((30, 1), (30, 1, 60), (30, 1, 60)),
        ((60, 1), (60, 1, 120), (30, 1, 60)),
        ((60000, 1001), (60000, 1001, 120), (30000, 1001, 60)),
        ((50, 1), (50, 1, 100), (25, 1, 50)),
        ((120, 1), (60, 1, 120), (30, 1, 60)),
        ((24000, 1001), (24000, 1001, 48), (24000, 1001, 48)),
        ((0, 1), (30, 1, 60), (30, 1, 60)),
    ];
    for (src, top, low) in cases {
        let p = plan(
            &probe(1280, 720, src, Orientation::Rotate0, false),
            &Limits::default(),
        )
        .unwrap();
        let t = &p.video[0];
        let l = p.video.last().unwrap();
        assert_eq!((t.fps_num, t.fps_den, t.gop_frames), top, "{src:?}");
        assert_eq!((l.fps_num, l.fps_den, l.gop_frames), low, "{src:?}");
        // Keyframes of every rung fall on the same instants.
        let t_gop = f64::from(t.gop_frames) / t.fps();
        let l_gop = f64::from(l.gop_frames) / l.fps();
        assert!((t_gop - l_gop).abs() < 1e-9, "{src:?}");
    }
}

#[test]
fn audio_only_and_video_only() {
    let mut p = probe(1280, 720, (30, 1), Orientation::Rotate0, true);
    p.video = None;
    let plan_a = plan(&p, &Limits::default()).unwrap();
    assert!(plan_a.video.is_empty() && plan_a.thumbnails.is_none());
    let a = plan_a.audio.unwrap();
    assert_eq!(
        (a.bitrate_bps, a.channels, a.sample_rate),
        (128_000, 2, 48_000)
    );
    let plan_v = plan(
        &probe(1280, 720, (30, 1), Orientation::Rotate0, false),
        &Limits::default(),
    )
    .unwrap();
    assert!(plan_v.audio.is_none());
    p.audio = None;
    assert_eq!(
        plan(&p, &Limits::default()).unwrap_err().code(),
        "media.no_streams"
    );
}

#[test]
fn limits_reject_with_codes() {
    let limits = Limits::default();
    let mut p = probe(1920, 1080, (30, 1), Orientation::Rotate0, true);
    p.duration_s = 7.0 * 3600.0;
    assert_eq!(plan(&p, &limits).unwrap_err().code(), "media.too_long");
    p.duration_s = 0.2;
    assert_eq!(plan(&p, &limits).unwrap_err().code(), "media.too_short");
    let big = probe(8192, 4320, (30, 1), Orientation::Rotate0, true);
    assert_eq!(
        plan(&big, &limits).unwrap_err().code(),
        "media.resolution_too_large"
    );
    let fast = probe(1280, 720, (240, 1), Orientation::Rotate0, true);
    assert_eq!(
        plan(&fast, &limits).unwrap_err().code(),
        "media.frame_rate_too_high"
    );
    let custom = Limits {
        max_duration_s: 30.0,
        ..Limits::default()
    };
    let p = probe(1920, 1080, (30, 1), Orientation::Rotate0, true);
    assert_eq!(plan(&p, &custom).unwrap_err().code(), "media.too_long");
}

#[test]
fn thumbnail_spec() {
    // (duration, interval, tiles, sheets)
    let cases = [
        (5.0, 1, 5, 1),
        (60.0, 1, 60, 1),
        (150.0, 2, 75, 1),
        (1000.0, 10, 100, 1),
        (3600.0, 10, 360, 4),
    ];
    for (d, interval, tiles, sheets) in cases {
        let mut p = probe(1280, 720, (30, 1), Orientation::Rotate0, true);
        p.duration_s = d;
        let t = plan(&p, &Limits::default()).unwrap().thumbnails.unwrap();
        assert_eq!(
            (t.interval_s, t.tile_count, t.sheet_count()),
            (interval, tiles, sheets),
            "{d}"
        );
        assert_eq!((t.tile_width, t.tile_height), (160, 90));
        assert_eq!((t.poster_width, t.poster_height), (1280, 720));
        assert!((t.poster_at_s - d * 0.1).abs() < 1e-9);
    }
    let portrait = plan(
        &probe(720, 1280, (30, 1), Orientation::Rotate0, true),
        &Limits::default(),
    )
    .unwrap();
    let t = portrait.thumbnails.unwrap();
    assert_eq!(
        (t.tile_width, t.tile_height, t.poster_width, t.poster_height),
        (160, 284, 720, 1280)
    );
    // 854 wide would give padded I420 rows; the poster width drops to a multiple of 8.
    let sd = plan(
        &probe(854, 480, (30, 1), Orientation::Rotate0, true),
        &Limits::default(),
    )
    .unwrap();
    let t = sd.thumbnails.unwrap();
    assert_eq!((t.poster_width, t.poster_height), (848, 476));
}

#[test]
fn plan_roundtrips_through_json() {
    let p = plan(
        &probe(1920, 1080, (30, 1), Orientation::Rotate0, true),
        &Limits::default(),
    )
    .unwrap();
    let json = serde_json::to_string(&p).unwrap();
    let back: Plan = serde_json::from_str(&json).unwrap();
    assert_eq!(back, p);
    back.validate().unwrap();
}
