//! Streams a source file of any size into the sources bucket as an S3
//! multipart upload, while it arrives: one part uploading while the next
//! fills, so memory stays near two parts whatever the file size. The first
//! bytes are checked before anything is sent to S3. An upload that is not
//! committed is aborted, also when the handler is dropped mid-way (client
//! disconnect), so no invisible, billed parts are left behind.

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::{Bytes, BytesMut};
use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::task::JoinHandle;
use vod_core::storage::S3Store;

use crate::ApiError;
use crate::sniff::{self, Container, SNIFF_LEN};

type PartResult = Result<CompletedPart, ApiError>;

/// Part size of streamed uploads: S3's minimum, so that many concurrent
/// uploads fit a small memory budget. 10 000 parts cover 48 GiB.
pub const STREAM_PART_SIZE: usize = 5 * 1024 * 1024;

/// The process-wide budget of part buffers: every buffer being filled or
/// uploaded holds one permit, so memory stays bounded whatever the number of
/// concurrent uploads (beyond it, uploads wait and TCP slows the clients).
pub fn memory_budget(mib: u64) -> Arc<Semaphore> {
    let parts = (mib * 1024 * 1024 / STREAM_PART_SIZE as u64).max(2);
    Arc::new(Semaphore::new(usize::try_from(parts).unwrap_or(2)))
}

pub struct SourceUpload {
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    limit: u64,
    received: u64,
    container: Option<Container>,
    buf: BytesMut,
    memory: Arc<Semaphore>,
    buf_permit: Option<OwnedSemaphorePermit>,
    upload_id: Option<String>,
    in_flight: Option<JoinHandle<PartResult>>,
    parts: Vec<CompletedPart>,
    next_part: i32,
    settled: bool,
    /// Label of the upload path, for the bytes counter.
    method: &'static str,
}

pub fn s3_error<E: std::error::Error + 'static, R: std::fmt::Debug>(
    op: &str,
    e: aws_sdk_s3::error::SdkError<E, R>,
) -> ApiError {
    ApiError::Unavailable(format!("S3 {op}: {}", DisplayErrorContext(&e)))
}

pub fn unsupported(head: &[u8]) -> ApiError {
    ApiError::UnsupportedType(sniff::refusal(head))
}

impl SourceUpload {
    pub fn new(
        store: &S3Store,
        key: String,
        limit: u64,
        method: &'static str,
        memory: Arc<Semaphore>,
    ) -> Self {
        Self {
            client: store.sdk().clone(),
            bucket: store.bucket().to_owned(),
            key,
            limit,
            received: 0,
            container: None,
            buf: BytesMut::new(),
            memory,
            buf_permit: None,
            upload_id: None,
            in_flight: None,
            parts: Vec::new(),
            next_part: 1,
            settled: false,
            method,
        }
    }

    pub fn key(&self) -> &str {
        &self.key
    }

    pub fn received(&self) -> u64 {
        self.received
    }

    pub fn container(&self) -> Option<Container> {
        self.container
    }

    pub async fn push(&mut self, chunk: Bytes) -> Result<(), ApiError> {
        self.received += chunk.len() as u64;
        if self.received > self.limit {
            return Err(ApiError::TooLarge { limit: self.limit });
        }
        metrics::counter!("vod_upload_bytes_total", "method" => self.method)
            .increment(chunk.len() as u64);
        let mut rest = &chunk[..];
        while !rest.is_empty() {
            if self.buf_permit.is_none() {
                let permit = self
                    .memory
                    .clone()
                    .acquire_owned()
                    .await
                    .map_err(|_| ApiError::Internal("upload memory budget closed".into()))?;
                self.buf_permit = Some(permit);
                // Exactly one part: growing by doubling would overshoot the budget.
                self.buf = BytesMut::with_capacity(STREAM_PART_SIZE);
            }
            let n = (STREAM_PART_SIZE - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            if self.container.is_none() && self.buf.len() >= SNIFF_LEN {
                self.sniff()?;
            }
            if self.buf.len() == STREAM_PART_SIZE {
                let part = std::mem::take(&mut self.buf).freeze();
                let permit = self.buf_permit.take();
                self.send_part(part, permit).await?;
            }
        }
        Ok(())
    }

    fn sniff(&mut self) -> Result<(), ApiError> {
        let head = &self.buf[..self.buf.len().min(SNIFF_LEN)];
        self.container = Some(sniff::sniff(head).ok_or_else(|| unsupported(head))?);
        Ok(())
    }

    async fn send_part(
        &mut self,
        body: Bytes,
        permit: Option<OwnedSemaphorePermit>,
    ) -> Result<(), ApiError> {
        let upload_id = match &self.upload_id {
            Some(id) => id.clone(),
            None => {
                let created = self
                    .client
                    .create_multipart_upload()
                    .bucket(&self.bucket)
                    .key(&self.key)
                    .send()
                    .await
                    .map_err(|e| s3_error("create_multipart_upload", e))?;
                let id = created
                    .upload_id()
                    .ok_or_else(|| ApiError::Internal("S3 returned no upload id".into()))?
                    .to_owned();
                self.upload_id = Some(id.clone());
                id
            }
        };
        // Waiting for the previous part here is what bounds memory to two parts.
        self.wait_in_flight().await?;
        let n = self.next_part;
        self.next_part += 1;
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(upload_id)
            .part_number(n)
            .body(ByteStream::from(body));
        self.in_flight = Some(tokio::spawn(async move {
            // The permit goes with the part's bytes and is released with them.
            let _permit = permit;
            let out = request
                .send()
                .await
                .map_err(|e| s3_error("upload_part", e))?;
            Ok(CompletedPart::builder()
                .part_number(n)
                .set_e_tag(out.e_tag().map(str::to_owned))
                .build())
        }));
        Ok(())
    }

    async fn wait_in_flight(&mut self) -> Result<(), ApiError> {
        if let Some(task) = self.in_flight.take() {
            let part = task
                .await
                .map_err(|e| ApiError::Internal(format!("part upload task: {e}")))??;
            self.parts.push(part);
        }
        Ok(())
    }

    /// The whole file has arrived: checks short files and sends the last
    /// part. The upload stays open until [`commit`](Self::commit).
    pub async fn finish(&mut self) -> Result<u64, ApiError> {
        if self.received == 0 {
            return Err(ApiError::invalid("the file is empty"));
        }
        if self.container.is_none() {
            self.sniff()?;
        }
        if !self.buf.is_empty() {
            let last = std::mem::take(&mut self.buf).freeze();
            let permit = self.buf_permit.take();
            self.send_part(last, permit).await?;
        }
        self.wait_in_flight().await?;
        Ok(self.received)
    }

    /// Makes the object visible under its key.
    pub async fn commit(mut self) -> Result<(), ApiError> {
        let Some(upload_id) = self.upload_id.clone() else {
            return Err(ApiError::Internal("commit before finish".into()));
        };
        let result = self
            .client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(&self.key)
            .upload_id(&upload_id)
            .multipart_upload(
                CompletedMultipartUpload::builder()
                    .set_parts(Some(std::mem::take(&mut self.parts)))
                    .build(),
            )
            .send()
            .await;
        match result {
            Ok(_) => {
                self.settled = true;
                Ok(())
            }
            Err(e) => Err(s3_error("complete_multipart_upload", e)),
        }
    }

    /// Discards everything sent so far.
    pub async fn abort(mut self) {
        self.settled = true;
        abort_upload(
            self.client.clone(),
            self.bucket.clone(),
            self.key.clone(),
            self.upload_id.take(),
            self.in_flight.take(),
        )
        .await;
    }
}

async fn abort_upload(
    client: aws_sdk_s3::Client,
    bucket: String,
    key: String,
    upload_id: Option<String>,
    in_flight: Option<JoinHandle<PartResult>>,
) {
    // A part landing after the abort would recreate nothing but could make
    // the abort report success while S3 still holds the part.
    if let Some(task) = in_flight {
        task.abort();
        let _ = task.await;
    }
    let Some(upload_id) = upload_id else { return };
    match client
        .abort_multipart_upload()
        .bucket(&bucket)
        .key(&key)
        .upload_id(&upload_id)
        .send()
        .await
    {
        Ok(_) => tracing::info!(%key, "multipart upload aborted"),
        Err(e) => {
            tracing::warn!(%key, error = %DisplayErrorContext(&e), "abort_multipart_upload failed");
        }
    }
}

impl Drop for SourceUpload {
    fn drop(&mut self) {
        if self.settled || (self.upload_id.is_none() && self.in_flight.is_none()) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(key = %self.key, "upload dropped outside a runtime; not aborted");
            return;
        };
        tracing::info!(key = %self.key, "upload abandoned mid-way; aborting it");
        runtime.spawn(abort_upload(
            self.client.clone(),
            self.bucket.clone(),
            self.key.clone(),
            self.upload_id.take(),
            self.in_flight.take(),
        ));
    }
}
