//! Fixtures, objects and row counts for the ingest tests.

use std::collections::HashMap;
use std::path::PathBuf;

use aws_lambda_events::event::s3::S3Event;
use aws_sdk_s3::primitives::ByteStream;
use vod_lambda::IngestConfig;
use vod_tests::TestEnv;

/// The trigger's settings for `env`: its own ingest folder and source copies.
pub fn config(env: &TestEnv) -> IngestConfig {
    let cfg = IngestConfig {
        ingest_prefix: env.key("ingest/"),
        source_key_prefix: format!("{}/", env.id),
        ..IngestConfig::default()
    };
    cfg.validate().unwrap();
    cfg
}

pub fn fixture_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A recorded event with `${BUCKET}` and `${PREFIX}` set to this test's.
pub fn event(env: &TestEnv, name: &str) -> S3Event {
    let raw = std::fs::read_to_string(fixture_path(name)).unwrap();
    let raw = raw
        .replace("${BUCKET}", &env.config.s3.sources_bucket)
        .replace("${PREFIX}", &format!("{}/", env.id));
    serde_json::from_str(&raw).unwrap_or_else(|e| panic!("fixture {name}: {e}"))
}

/// Bytes that pass the magic-byte check as MP4 (an `ftyp` box), padded to `len`.
pub fn fake_mp4(len: usize, seed: u8) -> Vec<u8> {
    let mut v = b"\0\0\0\x20ftypisom\0\0\x02\0isomiso2avc1mp41".to_vec();
    v.extend((0..len.saturating_sub(v.len())).map(|i| (i as u8).wrapping_mul(31) ^ seed));
    v
}

/// Puts an object into the sources bucket with `x-amz-meta-*` metadata.
pub async fn put(env: &TestEnv, key: &str, body: Vec<u8>, meta: &[(&str, &str)]) {
    let s = &env.services.sources;
    let metadata: HashMap<String, String> = meta
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    s.sdk()
        .put_object()
        .bucket(s.bucket())
        .key(key)
        .set_metadata(Some(metadata))
        .body(ByteStream::from(body))
        .send()
        .await
        .unwrap();
}

pub async fn get(env: &TestEnv, key: &str) -> Vec<u8> {
    use vod_core::storage::ObjectStore;
    env.services.sources.get_bytes(key).await.unwrap().to_vec()
}

pub async fn count(env: &TestEnv, table: &str) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}")))
        .fetch_one(&env.services.db)
        .await
        .unwrap()
}

/// Keys of the source copies made in this test's namespace.
pub async fn source_copies(env: &TestEnv) -> Vec<String> {
    use vod_core::storage::ObjectStore;
    env.services
        .sources
        .list(&env.key("sources/"))
        .await
        .unwrap()
        .into_iter()
        .map(|m| m.key)
        .collect()
}
