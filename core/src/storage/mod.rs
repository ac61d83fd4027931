//! Object storage port. The S3 adapter serves production and the local
//! Garage; the in-memory adapter serves unit tests. Both pass the same
//! contract suite in [`contract`].

use std::path::Path;

use async_trait::async_trait;
use bytes::Bytes;

pub mod contract;
mod memory;
mod s3;
mod s3_cors;

pub use memory::MemoryStore;
pub use s3::S3Store;
pub use s3_cors::upload_cors_rule;

/// Parts above this size go up as a multipart upload, one part in memory at a time.
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// S3 requires parts of at least 5 MiB (except the last).
pub const PART_SIZE: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub key: String,
    pub size: u64,
    pub content_type: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    #[error("object {key} not found")]
    NotFound { key: String },
    #[error("invalid object key {key:?}: {reason}")]
    InvalidKey { key: String, reason: &'static str },
    #[error("object store request {op} on {key} failed: {message}")]
    Backend {
        op: &'static str,
        key: String,
        message: String,
    },
    #[error("local file I/O for {key} failed: {source}")]
    Io {
        key: String,
        #[source]
        source: std::io::Error,
    },
}

impl StorageError {
    /// Stable code for logs, job records and API errors.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotFound { .. } => "storage.not_found",
            Self::InvalidKey { .. } => "storage.invalid_key",
            Self::Backend { .. } => "storage.backend",
            Self::Io { .. } => "storage.io",
        }
    }

    /// Whether retrying the same request later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Backend { .. })
    }
}

/// Keys are relative paths; refuse anything that could escape a prefix or
/// that S3 and filesystems disagree on.
pub fn validate_key(key: &str) -> Result<(), StorageError> {
    let bad = |reason| {
        Err(StorageError::InvalidKey {
            key: key.to_owned(),
            reason,
        })
    };
    if key.is_empty() {
        return bad("empty");
    }
    if key.len() > 1024 {
        return bad("longer than 1024 bytes");
    }
    if key.starts_with('/') {
        return bad("absolute");
    }
    if key
        .split('/')
        .any(|seg| seg.is_empty() || seg == "." || seg == "..")
    {
        return bad("empty, '.' or '..' path segment");
    }
    if key.chars().any(char::is_control) {
        return bad("control character");
    }
    Ok(())
}

#[async_trait]
pub trait ObjectStore: Send + Sync + std::fmt::Debug {
    /// Bucket or store name, for logs.
    fn name(&self) -> &str;

    async fn put_bytes(
        &self,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), StorageError>;

    /// Uploads a local file with bounded memory; returns its size.
    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: Option<&str>,
    ) -> Result<u64, StorageError>;

    async fn get_bytes(&self, key: &str) -> Result<Bytes, StorageError>;

    /// Streams an object into a local file with bounded memory; returns its size.
    async fn get_to_file(&self, key: &str, path: &Path) -> Result<u64, StorageError>;

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError>;

    /// Deleting a missing key is not an error (idempotent).
    async fn delete(&self, key: &str) -> Result<(), StorageError>;

    /// Every object under `prefix`, sorted by key.
    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError>;
}

/// Content type by extension for the files our pipeline writes.
pub fn content_type_for(key: &str) -> &'static str {
    let ext = key.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext.to_ascii_lowercase().as_str() {
        "m3u8" => "application/vnd.apple.mpegurl",
        "ts" => "video/mp2t",
        "m4s" => "video/iso.segment",
        "mp4" => "video/mp4",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        "vtt" => "text/vtt",
        "json" => "application/json",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_validated() {
        for good in ["a", "v/1/hls/master.m3u8", "x.y-z_1"] {
            assert!(validate_key(good).is_ok(), "{good}");
        }
        for bad in ["", "/abs", "a//b", "a/../b", "./a", "a/", "a\nb"] {
            assert!(validate_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn content_types_cover_hls_outputs() {
        assert_eq!(
            content_type_for("hls/master.m3u8"),
            "application/vnd.apple.mpegurl"
        );
        assert_eq!(content_type_for("hls/720p/seg_00001.ts"), "video/mp2t");
        assert_eq!(content_type_for("thumbs/poster.JPG"), "image/jpeg");
        assert_eq!(content_type_for("thumbs/storyboard.vtt"), "text/vtt");
        assert_eq!(content_type_for("noext"), "application/octet-stream");
    }
}
