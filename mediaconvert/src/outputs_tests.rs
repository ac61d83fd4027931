#![allow(clippy::unwrap_used, reason = "tests")]

use bytes::Bytes;
use vod_core::storage::MemoryStore;
use vod_plan::{AudioCodec, AudioRendition, H264Profile, Orientation, Rung, VideoCodec};

use super::*;

const PREFIX: &str = "videos/v1/";

fn plan() -> Plan {
    Plan {
        version: vod_plan::PLAN_VERSION,
        container: String::new(),
        packaging: vod_plan::Packaging::HlsTs,
        chunks: None,
        duration_s: 7.0,
        orientation: Orientation::Rotate0,
        video: vec![Rung {
            name: "360p".into(),
            width: 640,
            height: 360,
            codec: VideoCodec::H264,
            profile: H264Profile::High,
            bitrate_bps: 500_000,
            maxrate_bps: 535_000,
            bufsize_bits: 750_000,
            fps_num: 30,
            fps_den: 1,
            gop_frames: 60,
        }],
        audio: Some(AudioRendition {
            name: "audio".into(),
            group_id: "aud".into(),
            codec: AudioCodec::AacLc,
            bitrate_bps: 128_000,
            channels: 2,
            sample_rate: 48_000,
        }),
        segment_target_s: 6.0,
        gop_s: 2.0,
        thumbnails: None,
    }
}

fn media(name: &str) -> String {
    format!(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:1\n\
         #EXT-X-PLAYLIST-TYPE:VOD\n#EXTINF:6.00000,\nmaster_{name}_00001.ts\n\
         #EXTINF:1.00000,\nmaster_{name}_00002.ts\n#EXT-X-ENDLIST\n"
    )
}

const MASTER: &str = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-INDEPENDENT-SEGMENTS\n\
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID=\"aud\",NAME=\"Audio\",AUTOSELECT=YES,DEFAULT=YES,URI=\"master_audio.m3u8\"\n\
#EXT-X-STREAM-INF:BANDWIDTH=700000,AVERAGE-BANDWIDTH=620000,CODECS=\"avc1.64001e,mp4a.40.2\",RESOLUTION=640x360,FRAME-RATE=30.000,AUDIO=\"aud\"\n\
master_360p.m3u8\n";

async fn put(store: &MemoryStore, rel: &str, body: impl Into<Bytes>) {
    store
        .put_bytes(&format!("{PREFIX}{rel}"), body.into(), None)
        .await
        .unwrap();
}

async fn package(store: &MemoryStore) {
    put(store, "hls/master.m3u8", MASTER).await;
    for name in ["360p", "audio"] {
        put(store, &format!("hls/master_{name}.m3u8"), media(name)).await;
        put(
            store,
            &format!("hls/master_{name}_00001.ts"),
            vec![0u8; 6000],
        )
        .await;
        put(
            store,
            &format!("hls/master_{name}_00002.ts"),
            vec![0u8; 500],
        )
        .await;
    }
}

#[tokio::test]
async fn reads_back_renditions_from_the_playlists() {
    let store = MemoryStore::new();
    package(&store).await;
    let m = read_manifest(&store, PREFIX, &plan()).await.unwrap();
    assert_eq!(m.master_playlist, "hls/master.m3u8");
    assert_eq!(m.duration_s, 7.0);
    let v = &m.video[0];
    assert_eq!(v.playlist, "hls/master_360p.m3u8");
    assert_eq!(
        (v.width, v.height, v.frame_rate),
        (Some(640), Some(360), Some(30.0))
    );
    assert_eq!(v.codecs, "avc1.64001e");
    assert_eq!(
        (v.peak_bitrate_bps, v.average_bitrate_bps),
        (700_000, 620_000)
    );
    assert_eq!((v.segment_count, v.bytes), (2, 6500));
    let a = m.audio.as_ref().unwrap();
    assert_eq!(
        (a.codecs.as_str(), a.kind),
        ("mp4a.40.2", RenditionKind::Audio)
    );
    // Measured: 6000 B over 6 s is the peak segment.
    assert_eq!(a.peak_bitrate_bps, 8000);
}

#[tokio::test]
async fn a_missing_segment_or_variant_is_reported() {
    let store = MemoryStore::new();
    package(&store).await;
    store
        .delete(&format!("{PREFIX}hls/master_360p_00002.ts"))
        .await
        .unwrap();
    let e = read_manifest(&store, PREFIX, &plan()).await.unwrap_err();
    assert_eq!(e.code(), "mediaconvert.outputs");
    assert!(e.to_string().contains("master_360p_00002.ts"), "{e}");

    let mut two = plan();
    let mut extra = two.video[0].clone();
    extra.name = "720p".into();
    two.video.insert(0, extra);
    let store = MemoryStore::new();
    package(&store).await;
    let e = read_manifest(&store, PREFIX, &two).await.unwrap_err();
    assert!(e.to_string().contains("no variant for 720p"), "{e}");

    let empty = MemoryStore::new();
    let e = read_manifest(&empty, PREFIX, &plan()).await.unwrap_err();
    assert!(e.to_string().contains("was not written"), "{e}");
}

#[tokio::test]
async fn uris_leaving_the_prefix_are_refused() {
    let store = MemoryStore::new();
    package(&store).await;
    put(
        &store,
        "hls/master.m3u8",
        MASTER.replace("master_360p.m3u8\n", "../../x/evil.m3u8\n"),
    )
    .await;
    assert!(read_manifest(&store, PREFIX, &plan()).await.is_err());
}

#[tokio::test]
async fn the_last_frame_capture_becomes_the_poster() {
    let store = MemoryStore::new();
    put(&store, "thumbs/poster.0000000.jpg", "first").await;
    put(&store, "thumbs/poster.0000001.jpg", "second").await;
    put(&store, "thumbs/sprite_000.jpg", "sprite").await;
    let got = promote_poster(&store, PREFIX).await.unwrap();
    assert_eq!(got.as_deref(), Some("thumbs/poster.jpg"));
    let keys: Vec<String> = store
        .list(PREFIX)
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(
        keys,
        [
            format!("{PREFIX}thumbs/poster.jpg"),
            format!("{PREFIX}thumbs/sprite_000.jpg")
        ]
    );
    let poster = store
        .get_bytes(&format!("{PREFIX}thumbs/poster.jpg"))
        .await
        .unwrap();
    assert_eq!(&poster[..], b"second");
    // Nothing captured (audio only): no poster, no error.
    assert_eq!(
        promote_poster(&MemoryStore::new(), PREFIX).await.unwrap(),
        None
    );
}
