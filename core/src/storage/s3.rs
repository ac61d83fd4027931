//! S3 adapter (AWS S3 in production, Garage locally).

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::{
    RequestChecksumCalculation, ResponseChecksumValidation, timeout::TimeoutConfig,
};
use aws_sdk_s3::error::{DisplayErrorContext, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;
use futures::TryStreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{MULTIPART_THRESHOLD, ObjectMeta, ObjectStore, PART_SIZE, StorageError, validate_key};
use crate::aws::{self, ConfigLoader};
use crate::config::{ConfigError, S3Config};

/// Parts in flight per upload: bounds memory to about this many × [`PART_SIZE`].
const PART_CONCURRENCY: usize = 4;

#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
}

impl S3Store {
    /// A client for `cfg`; one per process is enough (it pools connections).
    /// Static keys when `VOD_S3_ACCESS_KEY_ID`/`…SECRET…` are set, else the
    /// AWS default credential chain (the ECS task role, Lambda's role).
    pub async fn client(
        cfg: &S3Config,
        connect_timeout: Duration,
    ) -> Result<aws_sdk_s3::Client, ConfigError> {
        Self::client_with(cfg, connect_timeout, aws::default_loader()).await
    }

    /// [`S3Store::client`] with the default chain of `loader`.
    pub async fn client_with(
        cfg: &S3Config,
        connect_timeout: Duration,
        loader: ConfigLoader,
    ) -> Result<aws_sdk_s3::Client, ConfigError> {
        let keys = cfg.static_keys()?;
        tracing::debug!(credentials = %aws::describe(keys.as_ref()), "S3 client");
        let shared = aws::sdk_config(loader, &cfg.region, keys.as_ref()).await;
        let mut builder = aws_sdk_s3::config::Builder::from(&shared)
            .force_path_style(cfg.force_path_style)
            // Non-AWS endpoints reject or mishandle the default CRC checksum headers.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(connect_timeout)
                    .build(),
            );
        if let Some(endpoint) = &cfg.endpoint {
            builder = builder.endpoint_url(endpoint);
        }
        Ok(aws_sdk_s3::Client::from_conf(builder.build()))
    }

    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>) -> Self {
        Self {
            client,
            bucket: bucket.into(),
        }
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    pub fn sdk(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// A presigned GET URL of `key`, valid for `expires_in`: media readers
    /// (GStreamer's HTTP source) fetch byte ranges of it without our keys.
    pub async fn presign_get(
        &self,
        key: &str,
        expires_in: std::time::Duration,
    ) -> Result<String, StorageError> {
        let config =
            aws_sdk_s3::presigning::PresigningConfig::expires_in(expires_in).map_err(|e| {
                StorageError::Backend {
                    op: "presign",
                    key: key.to_owned(),
                    message: e.to_string(),
                }
            })?;
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .presigned(config)
            .await
            .map_err(|e| backend("presign get_object", key, e))?;
        Ok(request.uri().to_owned())
    }

    /// Fails unless the bucket exists and our credentials may use it.
    pub async fn check_bucket(&self) -> Result<(), StorageError> {
        self.client
            .head_bucket()
            .bucket(&self.bucket)
            .send()
            .await
            .map_err(|e| backend("head_bucket", &self.bucket, e))?;
        Ok(())
    }

    async fn put_multipart(
        &self,
        key: &str,
        path: &Path,
        content_type: Option<&str>,
    ) -> Result<(), StorageError> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key)
            .set_content_type(content_type.map(str::to_owned))
            .send()
            .await
            .map_err(|e| backend("create_multipart_upload", key, e))?;
        let upload_id = created.upload_id().unwrap_or_default().to_owned();
        match self.upload_parts(key, path, &upload_id).await {
            Ok(parts) => {
                self.client
                    .complete_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .multipart_upload(
                        CompletedMultipartUpload::builder()
                            .set_parts(Some(parts))
                            .build(),
                    )
                    .send()
                    .await
                    .map_err(|e| backend("complete_multipart_upload", key, e))?;
                Ok(())
            }
            Err(err) => {
                // Leaving the upload open would keep its parts billed and invisible.
                if let Err(abort) = self
                    .client
                    .abort_multipart_upload()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(&upload_id)
                    .send()
                    .await
                {
                    tracing::warn!(key, error = %DisplayErrorContext(&abort), "abort_multipart_upload failed");
                }
                Err(err)
            }
        }
    }

    async fn upload_parts(
        &self,
        key: &str,
        path: &Path,
        upload_id: &str,
    ) -> Result<Vec<CompletedPart>, StorageError> {
        let io_err = |source| StorageError::Io {
            key: key.to_owned(),
            source,
        };
        let file = tokio::fs::File::open(path).await.map_err(io_err)?;
        // Read sequentially, upload up to PART_CONCURRENCY parts at once.
        let chunks = futures::stream::try_unfold((file, 1i32), |(mut file, n)| async move {
            let mut buf = Vec::with_capacity(PART_SIZE);
            while buf.len() < PART_SIZE {
                let read = (&mut file)
                    .take((PART_SIZE - buf.len()) as u64)
                    .read_to_end(&mut buf)
                    .await?;
                if read == 0 {
                    break;
                }
            }
            if buf.is_empty() {
                Ok(None)
            } else {
                Ok(Some(((n, Bytes::from(buf)), (file, n + 1))))
            }
        });
        chunks
            .map_err(io_err)
            .map_ok(|(n, chunk)| async move {
                let out = self
                    .client
                    .upload_part()
                    .bucket(&self.bucket)
                    .key(key)
                    .upload_id(upload_id)
                    .part_number(n)
                    .body(ByteStream::from(chunk))
                    .send()
                    .await
                    .map_err(|e| backend("upload_part", key, e))?;
                Ok(CompletedPart::builder()
                    .part_number(n)
                    .set_e_tag(out.e_tag().map(str::to_owned))
                    .build())
            })
            .try_buffered(PART_CONCURRENCY)
            .try_collect()
            .await
    }
}

impl S3Store {
    async fn get_object(
        &self,
        key: &str,
    ) -> Result<aws_sdk_s3::operation::get_object::GetObjectOutput, StorageError> {
        validate_key(key)?;
        match self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(out),
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_no_such_key()) || is_not_found(&e) =>
            {
                Err(StorageError::NotFound {
                    key: key.to_owned(),
                })
            }
            Err(e) => Err(backend("get_object", key, e)),
        }
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

/// Garage answers HEAD/GET on a missing key with a bare 404 that the SDK
/// does not always model as NoSuchKey/NotFound.
fn is_not_found<E>(err: &SdkError<E, HttpResponse>) -> bool {
    err.raw_response()
        .is_some_and(|r| r.status().as_u16() == 404)
}

#[async_trait]
impl ObjectStore for S3Store {
    fn name(&self) -> &str {
        &self.bucket
    }

    async fn put_bytes(
        &self,
        key: &str,
        body: Bytes,
        content_type: Option<&str>,
    ) -> Result<(), StorageError> {
        validate_key(key)?;
        self.client
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .set_content_type(content_type.map(str::to_owned))
            .body(ByteStream::from(body))
            .send()
            .await
            .map_err(|e| backend("put_object", key, e))?;
        Ok(())
    }

    async fn put_file(
        &self,
        key: &str,
        path: &Path,
        content_type: Option<&str>,
    ) -> Result<u64, StorageError> {
        validate_key(key)?;
        let io_err = |source| StorageError::Io {
            key: key.to_owned(),
            source,
        };
        let size = tokio::fs::metadata(path).await.map_err(io_err)?.len();
        if size > MULTIPART_THRESHOLD {
            self.put_multipart(key, path, content_type).await?;
        } else {
            let body = ByteStream::from_path(path)
                .await
                .map_err(|e| io_err(std::io::Error::other(e)))?;
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(key)
                .set_content_type(content_type.map(str::to_owned))
                .content_length(i64::try_from(size).unwrap_or(i64::MAX))
                .body(body)
                .send()
                .await
                .map_err(|e| backend("put_object", key, e))?;
        }
        Ok(size)
    }

    async fn get_bytes(&self, key: &str) -> Result<Bytes, StorageError> {
        let out = self.get_object(key).await?;
        let data = out
            .body
            .collect()
            .await
            .map_err(|e| StorageError::Backend {
                op: "get_object.body",
                key: key.to_owned(),
                message: e.to_string(),
            })?;
        Ok(data.into_bytes())
    }

    async fn get_to_file(&self, key: &str, path: &Path) -> Result<u64, StorageError> {
        let mut out = self.get_object(key).await?;
        let io_err = |source| StorageError::Io {
            key: key.to_owned(),
            source,
        };
        let mut file = tokio::fs::File::create(path).await.map_err(io_err)?;
        let mut written = 0u64;
        while let Some(chunk) = out.body.next().await {
            let chunk = chunk.map_err(|e| StorageError::Backend {
                op: "get_object.body",
                key: key.to_owned(),
                message: e.to_string(),
            })?;
            file.write_all(&chunk).await.map_err(io_err)?;
            written += chunk.len() as u64;
        }
        file.flush().await.map_err(io_err)?;
        Ok(written)
    }

    async fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StorageError> {
        validate_key(key)?;
        match self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(out) => Ok(Some(ObjectMeta {
                key: key.to_owned(),
                size: out
                    .content_length()
                    .and_then(|l| u64::try_from(l).ok())
                    .unwrap_or(0),
                content_type: out.content_type().map(str::to_owned),
            })),
            Err(e)
                if e.as_service_error().is_some_and(|s| s.is_not_found()) || is_not_found(&e) =>
            {
                Ok(None)
            }
            Err(e) => Err(backend("head_object", key, e)),
        }
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        validate_key(key)?;
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| backend("delete_object", key, e))?;
        Ok(())
    }

    async fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StorageError> {
        let mut pages = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .into_paginator()
            .send();
        let mut out = Vec::new();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| backend("list_objects_v2", prefix, e))?;
            for obj in page.contents() {
                out.push(ObjectMeta {
                    key: obj.key().unwrap_or_default().to_owned(),
                    size: obj.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                    content_type: None,
                });
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}
