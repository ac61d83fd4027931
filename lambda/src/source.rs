//! The S3 requests of an ingest: HEAD (size, ETag, user metadata), a ranged
//! read of the first bytes, and the server-side copy into
//! `sources/<id>/source.<ext>` (one CopyObject, or UploadPartCopy parts for
//! objects above S3's 5 GiB single-copy limit). No byte passes through the Lambda.

use std::collections::HashMap;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use vod_core::storage::{S3Store, StorageError};

use crate::LambdaError;
use crate::config::IngestConfig;

/// Copied parts in flight at once.
const COPY_CONCURRENCY: usize = 4;

/// What HEAD tells about an ingest object.
#[derive(Debug, Clone)]
pub struct Head {
    pub size: u64,
    /// As S3 sent it (quoted); used verbatim in preconditions.
    pub etag: Option<String>,
    pub version_id: Option<String>,
    pub content_type: Option<String>,
    /// `x-amz-meta-*` with the prefix removed, names lower-case.
    pub metadata: HashMap<String, String>,
}

impl Head {
    /// The object version's identity: the same upload reported twice (or
    /// listed twice) gives the same string; a re-upload does not.
    pub fn identity(&self, bucket: &str, key: &str) -> String {
        let etag = self.etag.as_deref().unwrap_or_default().trim_matches('"');
        let version = self.version_id.as_deref().unwrap_or_default();
        format!("s3://{bucket}/{key}\netag={etag}\nversion={version}")
    }
}

fn backend<E, R>(op: &'static str, key: &str, err: SdkError<E, R>) -> StorageError
where
    E: std::error::Error + 'static,
    R: std::fmt::Debug,
{
    StorageError::Backend {
        op,
        key: key.to_owned(),
        message: DisplayErrorContext(&err).to_string(),
    }
}

fn status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// A copy or read whose `If-Match` failed: the object was replaced after HEAD.
fn changed<E>(err: &SdkError<E, HttpResponse>) -> bool {
    status(err) == Some(412)
}

pub async fn head(store: &S3Store, key: &str) -> Result<Option<Head>, StorageError> {
    match store
        .sdk()
        .head_object()
        .bucket(store.bucket())
        .key(key)
        .send()
        .await
    {
        Ok(out) => Ok(Some(Head {
            size: out
                .content_length()
                .and_then(|l| u64::try_from(l).ok())
                .unwrap_or(0),
            etag: out.e_tag().map(str::to_owned),
            version_id: out.version_id().map(str::to_owned),
            content_type: out.content_type().map(str::to_owned),
            metadata: out.metadata().cloned().unwrap_or_default(),
        })),
        Err(e)
            if e.as_service_error().is_some_and(|s| s.is_not_found())
                || status(&e) == Some(404) =>
        {
            Ok(None)
        }
        Err(e) => Err(backend("head_object", key, e)),
    }
}

/// The first `len` bytes (fewer when the object is shorter) of the version HEAD saw.
pub async fn read_prefix(
    store: &S3Store,
    key: &str,
    head: &Head,
    len: usize,
) -> Result<Bytes, LambdaError> {
    if head.size == 0 || len == 0 {
        return Ok(Bytes::new());
    }
    let out = store
        .sdk()
        .get_object()
        .bucket(store.bucket())
        .key(key)
        .range(format!("bytes=0-{}", len - 1))
        .set_if_match(head.etag.clone())
        .send()
        .await
        .map_err(|e| {
            if changed(&e) {
                LambdaError::Changed(key.to_owned())
            } else {
                backend("get_object", key, e).into()
            }
        })?;
    let body = out
        .body
        .collect()
        .await
        .map_err(|e| StorageError::Backend {
            op: "get_object.body",
            key: key.to_owned(),
            message: e.to_string(),
        })?;
    Ok(body.into_bytes())
}

/// Characters left as they are in `x-amz-copy-source` (RFC 3986 unreserved and `/`).
const COPY_SOURCE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'/');

fn copy_source(bucket: &str, key: &str, head: &Head) -> String {
    let mut s = format!("{bucket}/{}", utf8_percent_encode(key, COPY_SOURCE));
    if let Some(v) = &head.version_id {
        s.push_str("?versionId=");
        s.extend(utf8_percent_encode(v, COPY_SOURCE));
    }
    s
}

/// Copies the version HEAD saw from `from` to `to` in the same bucket.
pub async fn copy(
    store: &S3Store,
    from: &str,
    to: &str,
    head: &Head,
    cfg: &IngestConfig,
) -> Result<(), LambdaError> {
    let source = copy_source(store.bucket(), from, head);
    if head.size <= cfg.single_copy_max_bytes {
        store
            .sdk()
            .copy_object()
            .bucket(store.bucket())
            .key(to)
            .copy_source(&source)
            .set_copy_source_if_match(head.etag.clone())
            .send()
            .await
            .map_err(|e| {
                if changed(&e) {
                    LambdaError::Changed(from.to_owned())
                } else {
                    backend("copy_object", to, e).into()
                }
            })?;
        return Ok(());
    }
    multipart_copy(store, from, to, &source, head, cfg).await
}

async fn multipart_copy(
    store: &S3Store,
    from: &str,
    to: &str,
    source: &str,
    head: &Head,
    cfg: &IngestConfig,
) -> Result<(), LambdaError> {
    let sdk = store.sdk();
    let bucket = store.bucket();
    let created = sdk
        .create_multipart_upload()
        .bucket(bucket)
        .key(to)
        .set_content_type(head.content_type.clone())
        .set_metadata(Some(head.metadata.clone()))
        .send()
        .await
        .map_err(|e| backend("create_multipart_upload", to, e))?;
    let upload_id = created.upload_id().unwrap_or_default().to_owned();
    let part = cfg.copy_part_bytes;
    let ranges: Vec<(i32, u64, u64)> = (0..head.size.div_ceil(part))
        .map(|i| {
            let start = i * part;
            let end = (start + part).min(head.size) - 1;
            (i32::try_from(i + 1).unwrap_or(i32::MAX), start, end)
        })
        .collect();
    let parts: Result<Vec<CompletedPart>, LambdaError> = futures::stream::iter(ranges)
        .map(|(n, start, end)| {
            let upload_id = &upload_id;
            async move {
                let out = sdk
                    .upload_part_copy()
                    .bucket(bucket)
                    .key(to)
                    .upload_id(upload_id)
                    .part_number(n)
                    .copy_source(source)
                    .copy_source_range(format!("bytes={start}-{end}"))
                    .set_copy_source_if_match(head.etag.clone())
                    .send()
                    .await
                    .map_err(|e| {
                        if changed(&e) {
                            LambdaError::Changed(from.to_owned())
                        } else {
                            backend("upload_part_copy", to, e).into()
                        }
                    })?;
                let etag = out
                    .copy_part_result()
                    .and_then(|r| r.e_tag())
                    .map(str::to_owned);
                Ok::<_, LambdaError>(
                    CompletedPart::builder()
                        .part_number(n)
                        .set_e_tag(etag)
                        .build(),
                )
            }
        })
        .buffered(COPY_CONCURRENCY)
        .try_collect()
        .await;
    let completed = match parts {
        Ok(parts) => sdk
            .complete_multipart_upload()
            .bucket(bucket)
            .key(to)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(parts))
                    .build(),
            )
            .send()
            .await
            .map(|_| ())
            .map_err(|e| backend("complete_multipart_upload", to, e).into()),
        Err(e) => Err(e),
    };
    if completed.is_err() {
        // An open upload keeps its parts billed and invisible.
        if let Err(e) = sdk
            .abort_multipart_upload()
            .bucket(bucket)
            .key(to)
            .upload_id(&upload_id)
            .send()
            .await
        {
            tracing::warn!(key = to, error = %DisplayErrorContext(&e), "abort_multipart_upload failed");
        }
    }
    completed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_is_percent_encoded() {
        let head = Head {
            size: 1,
            etag: None,
            version_id: Some("v+1".into()),
            content_type: None,
            metadata: HashMap::new(),
        };
        assert_eq!(
            copy_source("b", "ingest/Été à+b.mp4", &head),
            "b/ingest/%C3%89t%C3%A9%20%C3%A0%2Bb.mp4?versionId=v%2B1"
        );
    }

    #[test]
    fn identity_ignores_etag_quotes_and_tracks_versions() {
        let mut head = Head {
            size: 1,
            etag: Some("\"abc\"".into()),
            version_id: None,
            content_type: None,
            metadata: HashMap::new(),
        };
        let unquoted = Head {
            etag: Some("abc".into()),
            ..head.clone()
        };
        assert_eq!(head.identity("b", "k"), unquoted.identity("b", "k"));
        let first = head.identity("b", "k");
        head.version_id = Some("2".into());
        assert_ne!(first, head.identity("b", "k"));
        assert_ne!(first, unquoted.identity("b", "k2"));
    }
}
