//! Single objects: created, delivered twice, ignored, rejected, URL-encoded
//! keys, large objects copied in parts, and a service outage.

use vod_core::db::get_video;
use vod_core::storage::S3Store;
use vod_core::store::jobs::latest_job_for_video;
use vod_lambda::{IngestConfig, handle};
use vod_tests::TestEnv;

use crate::support::{config, count, event, fake_mp4, get, put, source_copies};

#[tokio::test]
async fn a_created_object_becomes_one_video_with_a_queued_job() {
    let env = TestEnv::start("lambda_single").await;
    let key = env.key("ingest/clip one.mp4");
    let body = fake_mp4(2048, 1);
    let meta = [
        ("title", "Harbour at dawn"),
        ("description", "Boats"),
        ("tags", "sea, boats,sea"),
    ];
    put(&env, &key, body.clone(), &meta).await;

    let report = handle(
        &env.services,
        &config(&env),
        event(&env, "object_created_put.json"),
    )
    .await
    .unwrap();
    assert_eq!(report.created.len(), 1, "{report:?}");
    assert!(
        report.duplicates.is_empty() && report.rejected.is_empty() && report.ignored.is_empty()
    );
    let created = &report.created[0];
    assert_eq!(created.key, key);
    assert_eq!(
        created.video_id.get_version_num(),
        5,
        "derived from the object"
    );

    let video = get_video(&env.services.db, created.video_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(video.title, "Harbour at dawn");
    assert_eq!(video.description, "Boats");
    assert_eq!(video.tags, ["sea", "boats"]);
    assert_eq!(video.status, "queued");
    assert_eq!(video.source_bytes, Some(2048));
    let source_key = env.key(&format!("sources/{}/source.mp4", video.id));
    assert_eq!(video.source_key.as_deref(), Some(source_key.as_str()));
    assert_eq!(created.source_key, source_key);
    assert_eq!(get(&env, &source_key).await, body, "the copy is the object");

    let job = latest_job_for_video(&env.services.db, video.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((job.id, job.state.as_str()), (created.job_id, "queued"));
    assert_eq!(
        (count(&env, "videos").await, count(&env, "jobs").await),
        (1, 1)
    );
    // Serialised as Lambda returns it.
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["created"][0]["video_id"], video.id.to_string());
    env.cleanup().await;
}

#[tokio::test]
async fn the_same_event_delivered_again_creates_nothing_more() {
    let env = TestEnv::start("lambda_twice").await;
    put(
        &env,
        &env.key("ingest/clip one.mp4"),
        fake_mp4(4096, 2),
        &[],
    )
    .await;
    let cfg = config(&env);
    let first = handle(&env.services, &cfg, event(&env, "object_created_put.json"))
        .await
        .unwrap();
    assert_eq!(first.created.len(), 1, "{first:?}");
    let again = handle(&env.services, &cfg, event(&env, "object_created_put.json"))
        .await
        .unwrap();
    // Two concurrent deliveries too (Lambda may run retries in parallel).
    let (a, b) = tokio::join!(
        handle(&env.services, &cfg, event(&env, "object_created_put.json")),
        handle(&env.services, &cfg, event(&env, "object_created_put.json")),
    );
    for report in [again, a.unwrap(), b.unwrap()] {
        assert!(report.created.is_empty(), "{report:?}");
        assert_eq!(report.duplicates.len(), 1);
        assert_eq!(report.duplicates[0].video_id, first.created[0].video_id);
        assert_eq!(report.duplicates[0].job_id, first.created[0].job_id);
    }
    assert_eq!(
        (count(&env, "videos").await, count(&env, "jobs").await),
        (1, 1)
    );
    assert_eq!(source_copies(&env).await.len(), 1);
    env.cleanup().await;
}

#[tokio::test]
async fn records_for_other_events_buckets_or_prefixes_are_ignored() {
    let env = TestEnv::start("lambda_ignored").await;
    // Each record names a real media object: only the filter keeps it out.
    for key in [
        "ingest/clip one.mp4",
        "elsewhere/clip.mp4",
        "ingest/clip.mp4",
        "ingest/batch/a.mp4",
    ] {
        put(&env, &env.key(key), fake_mp4(1024, 3), &[]).await;
    }
    let cfg = config(&env);
    let report = handle(&env.services, &cfg, event(&env, "ignored_mixed.json"))
        .await
        .unwrap();
    let codes: Vec<_> = report.ignored.iter().map(|r| r.code).collect();
    assert_eq!(
        codes,
        [
            "ignored.not_created",
            "ignored.outside_prefix",
            "ignored.other_bucket",
            "ignored.batch_payload"
        ],
        "{report:?}"
    );
    assert!(report.created.is_empty() && report.rejected.is_empty());

    // The Lambda console's S3 Put test event parses and is not ours.
    let reference = std::fs::read_to_string(crate::support::fixture_path(
        "reference_lambda_console_s3_put.json",
    ))
    .unwrap();
    let report = handle(
        &env.services,
        &cfg,
        serde_json::from_str(&reference).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(report.ignored.len(), 1);
    assert_eq!(report.ignored[0].code, "ignored.other_bucket");
    assert_eq!(
        (count(&env, "videos").await, count(&env, "jobs").await),
        (0, 0)
    );
    assert!(source_copies(&env).await.is_empty());
    env.cleanup().await;
}

#[tokio::test]
async fn bad_objects_are_rejected_with_a_reason_and_create_nothing() {
    let env = TestEnv::start("lambda_rejected").await;
    put(
        &env,
        &env.key("ingest/notes.txt"),
        b"just some notes, not a video\n".to_vec(),
        &[],
    )
    .await;
    let cfg = config(&env);
    let report = handle(&env.services, &cfg, event(&env, "not_media.json"))
        .await
        .unwrap();
    assert_eq!(report.rejected.len(), 1, "{report:?}");
    let r = &report.rejected[0];
    assert_eq!(
        (r.key.as_str(), r.code),
        (env.key("ingest/notes.txt").as_str(), "ingest.not_media")
    );
    assert!(r.reason.contains("no supported container"), "{}", r.reason);

    // Not uploaded (deleted before the event was handled): missing.
    let report = handle(
        &env.services,
        &cfg,
        event(&env, "object_created_unicode.json"),
    )
    .await
    .unwrap();
    assert_eq!(report.rejected[0].code, "ingest.missing", "{report:?}");

    // Over the size limit.
    put(
        &env,
        &env.key("ingest/clip one.mp4"),
        fake_mp4(4096, 4),
        &[],
    )
    .await;
    let small = IngestConfig {
        max_source_bytes: 4095,
        ..cfg.clone()
    };
    let report = handle(
        &env.services,
        &small,
        event(&env, "object_created_put.json"),
    )
    .await
    .unwrap();
    assert_eq!(report.rejected[0].code, "ingest.too_large", "{report:?}");
    assert!(report.rejected[0].reason.contains("4096"));

    // Metadata the API would refuse is refused here too.
    let long = "x".repeat(501);
    put(
        &env,
        &env.key("ingest/clip one.mp4"),
        fake_mp4(4096, 5),
        &[("title", &long)],
    )
    .await;
    let report = handle(&env.services, &cfg, event(&env, "object_created_put.json"))
        .await
        .unwrap();
    assert_eq!(
        report.rejected[0].code, "ingest.invalid_metadata",
        "{report:?}"
    );
    assert!(report.rejected[0].reason.contains("title"));

    assert_eq!(
        (count(&env, "videos").await, count(&env, "jobs").await),
        (0, 0)
    );
    assert!(source_copies(&env).await.is_empty());
    env.cleanup().await;
}

#[tokio::test]
async fn url_encoded_keys_with_spaces_and_unicode_are_decoded() {
    let env = TestEnv::start("lambda_unicode").await;
    let key = env.key("ingest/Été à Paris 🎬 + more.mov");
    let body = fake_mp4(3000, 6);
    put(&env, &key, body.clone(), &[]).await;
    let report = handle(
        &env.services,
        &config(&env),
        event(&env, "object_created_unicode.json"),
    )
    .await
    .unwrap();
    assert_eq!(report.created.len(), 1, "{report:?}");
    let created = &report.created[0];
    assert_eq!(created.key, key);
    assert_eq!(
        created.title, "Été à Paris 🎬 + more",
        "title from the file name"
    );
    assert!(
        created.source_key.ends_with("/source.mov"),
        "{}",
        created.source_key
    );
    assert_eq!(get(&env, &created.source_key).await, body);
    env.cleanup().await;
}

#[tokio::test]
async fn objects_above_the_single_copy_limit_are_copied_in_parts() {
    let env = TestEnv::start("lambda_multipart").await;
    let body = fake_mp4(11 * 1024 * 1024 + 3, 7);
    put(
        &env,
        &env.key("ingest/clip one.mp4"),
        body.clone(),
        &[("title", "Big")],
    )
    .await;
    let cfg = IngestConfig {
        single_copy_max_bytes: 5 * 1024 * 1024,
        copy_part_bytes: 5 * 1024 * 1024,
        ..config(&env)
    };
    let report = handle(&env.services, &cfg, event(&env, "object_created_put.json"))
        .await
        .unwrap();
    assert_eq!(report.created.len(), 1, "{report:?}");
    let copy = get(&env, &report.created[0].source_key).await;
    assert_eq!(copy.len(), body.len());
    assert!(copy == body, "the 3-part copy differs from the object");
    env.cleanup().await;
}

#[tokio::test]
async fn an_unreachable_service_fails_the_invocation_and_a_retry_succeeds() {
    let env = TestEnv::start("lambda_transient").await;
    put(
        &env,
        &env.key("ingest/clip one.mp4"),
        fake_mp4(2048, 8),
        &[],
    )
    .await;
    let cfg = config(&env);
    let mut down = env.config.s3.clone();
    down.endpoint = Some("http://127.0.0.1:9".to_owned());
    let mut broken = env.services.clone();
    broken.sources = S3Store::new(
        S3Store::client(&down, std::time::Duration::from_secs(1))
            .await
            .unwrap(),
        env.config.s3.sources_bucket.clone(),
    );
    let err = handle(&broken, &cfg, event(&env, "object_created_put.json"))
        .await
        .unwrap_err();
    assert_eq!(err.code(), "storage.backend", "{err}");
    assert_eq!(count(&env, "videos").await, 0);

    let report = handle(&env.services, &cfg, event(&env, "object_created_put.json"))
        .await
        .unwrap();
    assert_eq!(report.created.len(), 1, "{report:?}");
    env.cleanup().await;
}
