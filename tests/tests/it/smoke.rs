//! Every service reached through the project's own clients.

use bytes::Bytes;
use vod_core::catalog::CatalogEntry;
use vod_core::db::{self, NewVideo};
use vod_core::storage::{ObjectStore, contract};
use vod_core::store::VideoStatus;
use vod_tests::TestEnv;

#[tokio::test]
async fn s3_sources_bucket_passes_the_object_store_contract() {
    let env = TestEnv::start("s3_contract").await;
    contract::run(&env.services.sources, &env.key("contract")).await;
    // The outputs bucket is a second bucket under the same credentials.
    let key = env.key("hello.txt");
    env.services
        .outputs
        .put_bytes(&key, Bytes::from_static(b"hello"), Some("text/plain"))
        .await
        .unwrap();
    assert_eq!(
        env.services.outputs.get_bytes(&key).await.unwrap(),
        Bytes::from_static(b"hello")
    );
    env.cleanup().await;
}

#[tokio::test]
async fn postgres_row_round_trip_after_migrations() {
    let env = TestEnv::start("pg").await;
    let id = uuid::Uuid::now_v7();
    let tags = vec!["demo".to_owned(), "smoke".to_owned()];
    let inserted = db::insert_video(
        &env.services.db,
        &NewVideo {
            id,
            title: "Smoke test",
            description: "a row",
            tags: &tags,
        },
    )
    .await
    .unwrap();
    assert_eq!(inserted.status, "created");
    db::set_video_status(&env.services.db, id, VideoStatus::Queued)
        .await
        .unwrap();
    let back = db::get_video(&env.services.db, id).await.unwrap().unwrap();
    assert_eq!(back.title, "Smoke test");
    assert_eq!(back.tags, tags);
    assert_eq!(back.status, "queued");
    // The schema's CHECK constraint rejects unknown states.
    assert!(
        sqlx::query("UPDATE videos SET status = 'bogus' WHERE id = $1")
            .bind(id)
            .execute(&env.services.db)
            .await
            .is_err()
    );
    assert!(
        db::get_video(&env.services.db, uuid::Uuid::now_v7())
            .await
            .unwrap()
            .is_none()
    );
    env.cleanup().await;
}

fn entry(id: &str, title: &str, description: &str, tags: &[&str]) -> CatalogEntry {
    CatalogEntry {
        id: id.to_owned(),
        title: title.to_owned(),
        description: description.to_owned(),
        tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        status: "ready".to_owned(),
        duration_s: Some(12.5),
        playback_url: Some(format!("http://cdn/{id}/hls/master.m3u8")),
        poster_url: None,
        storyboard_url: None,
        renditions: vec![],
        updated_at: chrono::Utc::now().to_rfc3339(),
    }
}

#[tokio::test]
async fn mongo_catalog_upsert_and_text_search() {
    let env = TestEnv::start("mongo").await;
    let catalog = &env.services.catalog;
    catalog.ensure_indexes().await.unwrap();
    catalog.ensure_indexes().await.unwrap(); // idempotent
    let a = entry("a", "Sunset over the harbour", "boats at dusk", &["travel"]);
    let b = entry("b", "Cooking pasta", "a kitchen tutorial", &["food"]);
    catalog.upsert(&a).await.unwrap();
    catalog.upsert(&b).await.unwrap();
    // Upserting again replaces rather than duplicating.
    let mut a2 = a.clone();
    a2.description = "boats at dusk, remastered".to_owned();
    catalog.upsert(&a2).await.unwrap();
    assert_eq!(catalog.get("a").await.unwrap(), Some(a2.clone()));

    let hits = catalog.search("harbour", 10).await.unwrap();
    assert_eq!(
        hits.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["a"]
    );
    let hits = catalog.search("kitchen", 10).await.unwrap();
    assert_eq!(
        hits.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(),
        ["b"]
    );
    assert!(catalog.search("volcano", 10).await.unwrap().is_empty());

    // A restart ensures indexes again on a catalog that now holds documents.
    catalog.ensure_indexes().await.unwrap();
    catalog.delete("b").await.unwrap();
    assert!(catalog.get("b").await.unwrap().is_none());
    env.cleanup().await;
}

#[tokio::test]
async fn redis_key_round_trip_on_a_persistent_server() {
    let env = TestEnv::start("redis").await;
    let cache = &env.services.cache;
    assert!(
        cache.persists().await.unwrap(),
        "Redis must run with appendonly yes so queued jobs survive a restart"
    );
    cache
        .set_ex("video:1", "{\"title\":\"x\"}", 60)
        .await
        .unwrap();
    assert_eq!(
        cache.get("video:1").await.unwrap().as_deref(),
        Some("{\"title\":\"x\"}")
    );
    cache.del("video:1").await.unwrap();
    assert_eq!(cache.get("video:1").await.unwrap(), None);
    env.cleanup().await;
}

#[test]
fn gstreamer_encodes_h264_into_mp4_in_process() {
    use gstreamer as gst;
    use gstreamer::prelude::*;

    gst::init().unwrap();
    let dir = std::env::temp_dir().join(format!("vod-smoke-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("smoke.mp4");
    let pipeline = gst::parse::launch(&format!(
        "videotestsrc num-buffers=30 ! video/x-raw,width=320,height=240,framerate=30/1 \
         ! x264enc speed-preset=ultrafast ! h264parse ! mp4mux ! filesink location={}",
        out.display()
    ))
    .expect("videotestsrc, x264enc (gst-plugins-ugly), h264parse and mp4mux must be installed");
    pipeline.set_state(gst::State::Playing).unwrap();
    let bus = pipeline.bus().unwrap();
    let msg = bus
        .timed_pop_filtered(
            gst::ClockTime::from_seconds(30),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        )
        .expect("pipeline finished within 30 s");
    pipeline.set_state(gst::State::Null).unwrap();
    if let gst::MessageView::Error(err) = msg.view() {
        panic!("GStreamer error: {} ({:?})", err.error(), err.debug());
    }
    let bytes = std::fs::read(&out).unwrap();
    assert!(bytes.len() > 1000, "mp4 has content");
    assert_eq!(&bytes[4..8], b"ftyp", "output is an ISO-BMFF file");
    // mp4mux writes the moov index at EOS; its presence shows a finalized file.
    assert!(bytes.windows(4).any(|w| w == b"moov"), "moov box written");
    std::fs::remove_dir_all(&dir).unwrap();
}
