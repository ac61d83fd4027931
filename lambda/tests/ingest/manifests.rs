//! Batch manifests: good rows become videos, bad rows are reported with
//! their row number and reason, and a repeated delivery adds nothing.

use vod_core::db::get_video;
use vod_lambda::handle;
use vod_tests::TestEnv;

use crate::support::{config, count, event, fake_mp4, fixture_path, put};

fn manifest_body(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap()
}

#[tokio::test]
async fn a_json_manifest_creates_a_video_per_good_row_and_reports_the_bad_one() {
    let env = TestEnv::start("lambda_json_manifest").await;
    let dir = env.key("ingest/batch/2026-11/");
    put(
        &env,
        &format!("{dir}a.mp4"),
        fake_mp4(2048, 11),
        &[("title", "row wins")],
    )
    .await;
    let b_meta = [("title", "B from metadata")];
    put(
        &env,
        &format!("{dir}clips/b clip.mkv"),
        fake_mp4(2048, 12),
        &b_meta,
    )
    .await;
    let manifest = format!("{dir}list.json");
    put(&env, &manifest, manifest_body("list.json"), &[]).await;
    let cfg = config(&env);

    let report = handle(&env.services, &cfg, event(&env, "manifest_json.json"))
        .await
        .unwrap();
    assert_eq!(report.created.len(), 2, "{report:?}");
    let titles: Vec<_> = report.created.iter().map(|c| c.title.as_str()).collect();
    assert_eq!(titles, ["Batch A", "B from metadata"]);
    let a = get_video(&env.services.db, report.created[0].video_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (a.description.as_str(), a.tags.clone()),
        ("The first clip", vec!["batch".to_owned(), "a".to_owned()])
    );
    let b = get_video(&env.services.db, report.created[1].video_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(b.tags, ["batch", "b"]);
    assert!(b.source_key.unwrap().ends_with("/source.mkv"));
    let from = report.created[1].from.as_ref().unwrap();
    assert_eq!((from.manifest.as_str(), from.row), (manifest.as_str(), 2));

    assert_eq!(report.rejected.len(), 1);
    let bad = &report.rejected[0];
    assert_eq!(
        (bad.code, bad.from.as_ref().unwrap().row),
        ("ingest.missing", 3)
    );
    assert_eq!(bad.key, format!("{dir}missing.mp4"));
    assert_eq!(
        (count(&env, "videos").await, count(&env, "jobs").await),
        (2, 2)
    );

    // The manifest delivered again: the same two videos, nothing new.
    let again = handle(&env.services, &cfg, event(&env, "manifest_json.json"))
        .await
        .unwrap();
    assert!(again.created.is_empty(), "{again:?}");
    let ids: Vec<_> = again.duplicates.iter().map(|d| d.video_id).collect();
    let first: Vec<_> = report.created.iter().map(|d| d.video_id).collect();
    assert_eq!(ids, first);
    assert_eq!(
        (count(&env, "videos").await, count(&env, "jobs").await),
        (2, 2)
    );

    // A manifest that is not a JSON array is rejected whole.
    put(&env, &manifest, b"{\"key\": \"a.mp4\"}".to_vec(), &[]).await;
    let broken = handle(&env.services, &cfg, event(&env, "manifest_json.json"))
        .await
        .unwrap();
    assert_eq!(broken.rejected.len(), 1, "{broken:?}");
    assert_eq!(broken.rejected[0].code, "ingest.manifest_invalid");
    assert!(broken.created.is_empty() && broken.duplicates.is_empty());

    // Manifests are read whole, so their size is capped.
    let tiny = vod_lambda::IngestConfig {
        max_manifest_bytes: 10,
        ..cfg.clone()
    };
    let big = handle(&env.services, &tiny, event(&env, "manifest_json.json"))
        .await
        .unwrap();
    assert_eq!(big.rejected[0].code, "ingest.manifest_too_large", "{big:?}");
    env.cleanup().await;
}

#[tokio::test]
async fn a_csv_manifest_is_read_by_its_header() {
    let env = TestEnv::start("lambda_csv_manifest").await;
    let dir = env.key("ingest/batch/");
    put(&env, &format!("{dir}one.mp4"), fake_mp4(2048, 21), &[]).await;
    put(
        &env,
        &format!("{dir}two.mp4"),
        fake_mp4(2048, 22),
        &[("tags", "from-meta")],
    )
    .await;
    put(
        &env,
        &format!("{dir}notes.txt"),
        b"not a video".to_vec(),
        &[],
    )
    .await;
    // Would be a valid source if the row could reach outside the manifest's folder.
    put(&env, &env.key("ingest/escape.mp4"), fake_mp4(2048, 23), &[]).await;
    put(
        &env,
        &format!("{dir}list.csv"),
        manifest_body("list.csv"),
        &[],
    )
    .await;

    let report = handle(
        &env.services,
        &config(&env),
        event(&env, "manifest_csv.json"),
    )
    .await
    .unwrap();
    assert_eq!(report.created.len(), 2, "{report:?}");
    let one = get_video(&env.services.db, report.created[0].video_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(one.title, "CSV One");
    assert_eq!(one.description, "A description, with a comma");
    assert_eq!(one.tags, ["csv", "one"]);
    let two = get_video(&env.services.db, report.created[1].video_id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (two.title.as_str(), two.tags.clone()),
        ("two", vec!["from-meta".to_owned()])
    );
    assert_eq!(two.status, "queued");

    let rejected: Vec<_> = report
        .rejected
        .iter()
        .map(|r| (r.from.as_ref().unwrap().row, r.code))
        .collect();
    assert_eq!(
        rejected,
        [(3, "ingest.not_media"), (4, "ingest.manifest_row_invalid")]
    );
    assert_eq!(report.rejected[1].key, "../escape.mp4");
    assert!(
        report.rejected[1].reason.contains(".."),
        "{}",
        report.rejected[1].reason
    );
    assert_eq!(
        (count(&env, "videos").await, count(&env, "jobs").await),
        (2, 2)
    );
    env.cleanup().await;
}
