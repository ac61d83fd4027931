//! The behaviour every [`ObjectStore`] adapter must have. Unit tests run it
//! on the memory adapter, the integration suite on S3 (Garage). It panics
//! on the first violation, naming it.

use bytes::Bytes;

use super::{MULTIPART_THRESHOLD, ObjectStore, StorageError};

/// Runs the whole contract under `prefix` (which must be unused), then
/// removes what it wrote.
pub async fn run(store: &dyn ObjectStore, prefix: &str) {
    let key = |name: &str| format!("{prefix}/{name}");

    // Round trip with content type.
    let body = Bytes::from_static(b"#EXTM3U\n");
    must(
        store
            .put_bytes(
                &key("a/master.m3u8"),
                body.clone(),
                Some("application/vnd.apple.mpegurl"),
            )
            .await,
    );
    assert_eq!(
        must(store.get_bytes(&key("a/master.m3u8")).await),
        body,
        "get returns what put stored"
    );
    let meta = must(store.head(&key("a/master.m3u8")).await)
        .unwrap_or_else(|| panic!("head finds a stored object"));
    assert_eq!(meta.size, body.len() as u64, "head reports the size");
    assert_eq!(
        meta.content_type.as_deref(),
        Some("application/vnd.apple.mpegurl"),
        "content type kept"
    );

    // Overwrite replaces (a retried job overwrites its partial outputs).
    must(
        store
            .put_bytes(&key("a/master.m3u8"), Bytes::from_static(b"v2"), None)
            .await,
    );
    assert_eq!(
        must(store.get_bytes(&key("a/master.m3u8")).await),
        Bytes::from_static(b"v2"),
        "overwrite"
    );

    // Missing objects.
    assert!(
        must(store.head(&key("missing")).await).is_none(),
        "head of a missing key is None"
    );
    match store.get_bytes(&key("missing")).await {
        Err(StorageError::NotFound { .. }) => {}
        other => panic!("get of a missing key must be NotFound, got {other:?}"),
    }

    // A file above the multipart threshold, with a deterministic non-repeating pattern
    // so a misordered part would be caught.
    let big_len = MULTIPART_THRESHOLD as usize + 3 * 1024 * 1024 + 17;
    let big: Vec<u8> = (0..big_len)
        .map(|i| (i.wrapping_mul(31) ^ (i >> 13)) as u8)
        .collect();
    let dir = std::env::temp_dir().join(format!("vod-contract-{}", uuid::Uuid::new_v4()));
    must_io(std::fs::create_dir_all(&dir));
    let path = dir.join("big.bin");
    must_io(std::fs::write(&path, &big));
    let small_path = dir.join("small.bin");
    must_io(std::fs::write(&small_path, b"small"));
    assert_eq!(
        must(
            store
                .put_file(&key("b/big.bin"), &path, Some("video/mp4"))
                .await
        ),
        big_len as u64
    );
    assert_eq!(
        must(store.put_file(&key("b/small.bin"), &small_path, None).await),
        5
    );
    let back = must(store.get_bytes(&key("b/big.bin")).await);
    assert!(
        back.len() == big.len() && back[..] == big[..],
        "multipart upload round trip"
    );
    let _ = std::fs::remove_dir_all(&dir);

    // Listing is prefix-scoped and sorted.
    must(
        store
            .put_bytes(
                &format!("{prefix}-sibling/x"),
                Bytes::from_static(b"x"),
                None,
            )
            .await,
    );
    let listed: Vec<String> = must(store.list(&format!("{prefix}/")).await)
        .into_iter()
        .map(|m| m.key)
        .collect();
    assert_eq!(
        listed,
        vec![key("a/master.m3u8"), key("b/big.bin"), key("b/small.bin")],
        "list by prefix"
    );

    // Bad keys are refused before reaching the backend.
    assert!(matches!(
        store.put_bytes(&key("../escape"), Bytes::new(), None).await,
        Err(StorageError::InvalidKey { .. })
    ));

    // Delete is idempotent.
    for k in [
        key("a/master.m3u8"),
        key("b/big.bin"),
        key("b/small.bin"),
        format!("{prefix}-sibling/x"),
    ] {
        must(store.delete(&k).await);
        must(store.delete(&k).await);
    }
    assert!(
        must(store.list(&format!("{prefix}/")).await).is_empty(),
        "everything deleted"
    );
}

fn must<T>(r: Result<T, StorageError>) -> T {
    r.unwrap_or_else(|e| panic!("object store contract: {e} ({})", e.code()))
}

fn must_io<T>(r: std::io::Result<T>) -> T {
    r.unwrap_or_else(|e| panic!("object store contract: local file: {e}"))
}
