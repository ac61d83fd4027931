//! The MediaConvert backend: from the plan the prepare task made (a probe
//! of the downloaded source), submit the job, make sprites and storyboard locally while MediaConvert
//! encodes, poll to the end, then read the package back from the outputs
//! bucket and add our thumbnails and `manifest.json` beside it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use async_trait::async_trait;
use bytes::Bytes;
use vod_core::storage::{ObjectStore, content_type_for};
use vod_mediaconvert::{JobRequest, Locations, MediaConvert, MediaConvertError};
use vod_plan::Thumbnails;

use super::{BackendError, BackendJob, Produced, TranscodeBackend, still_running};
use crate::progress::{Report, Reporter};
use crate::publish::{AssetKind, PublishedAsset};

pub struct MediaConvertBackend {
    client: MediaConvert,
    sources_bucket: String,
    outputs_bucket: String,
}

impl MediaConvertBackend {
    pub fn new(client: MediaConvert, sources_bucket: String, outputs_bucket: String) -> Self {
        Self {
            client,
            sources_bucket,
            outputs_bucket,
        }
    }
}

fn failed(e: &MediaConvertError) -> BackendError {
    BackendError {
        code: e.code().to_owned(),
        message: e.to_string(),
        transient: e.is_transient(),
    }
}

#[async_trait]
impl TranscodeBackend for MediaConvertBackend {
    fn name(&self) -> &'static str {
        "mediaconvert"
    }

    async fn produce(
        &self,
        job: &BackendJob<'_>,
        reporter: &Reporter,
    ) -> Result<Option<Produced>, BackendError> {
        let plan = job.plan.clone();
        let at = Locations {
            input: format!("s3://{}/{}", self.sources_bucket, job.source_key),
            output_prefix: format!("s3://{}/{}", self.outputs_bucket, job.output_prefix),
        };
        let settings = vod_mediaconvert::job_settings(&plan, &at).map_err(|e| failed(&e))?;

        // Sprites and storyboard from the local copy, while MediaConvert
        // works. Their own stop flag: set when the job is cancelled or fails.
        let stop_thumbs = Arc::new(AtomicBool::new(false));
        let mut run = job.pipeline.run.clone();
        run.cancel = Some(stop_thumbs.clone());
        let thumbs_dir = job.workdir.join("out");
        let (p, input, dir) = (plan.clone(), job.input.to_path_buf(), thumbs_dir.clone());
        let span = tracing::Span::current();
        let thumbs = tokio::task::spawn_blocking(move || {
            let _entered = span.enter();
            vod_pipeline::thumbnails(&p, &input, &dir, &run)
        });

        let request = JobRequest {
            settings,
            // A re-delivery of the same attempt gets the same MediaConvert job.
            client_token: format!("{}-{}", job.task.id, job.task.attempts),
            user_metadata: vec![
                ("video_id".into(), job.video_id.to_string()),
                ("job_id".into(), job.task.job_id.to_string()),
            ],
        };
        let waited = async {
            let id = self.client.create_job(request).await?;
            tracing::info!(mediaconvert_job = %id, "MediaConvert job submitted");
            let tx = reporter.sender();
            let cancel = reporter.cancel_flag();
            self.client
                .wait(&id, &cancel, |p| {
                    tx.send_replace(Report {
                        stage: p.stage,
                        percent: p.percent,
                    });
                })
                .await
        }
        .await;
        if waited.is_err() {
            stop_thumbs.store(true, Ordering::SeqCst);
        }
        let thumbs = thumbs.await;
        match waited {
            Err(_) if reporter.is_cancelled() => return Ok(None),
            Err(e) => return Err(failed(&e)),
            Ok(()) => {}
        }
        if !still_running(&job.services.db, job.task.job_id).await {
            reporter.cancel_flag().store(true, Ordering::SeqCst);
            return Ok(None);
        }
        let thumbs = thumbs
            .map_err(|e| BackendError::transient("pipeline.panicked", e))?
            .map_err(|e| BackendError::pipeline(&e))?;

        reporter.set("publishing", 100.0);
        let store = &job.services.outputs;
        let prefix = job.output_prefix;
        let mut manifest = vod_mediaconvert::read_manifest(store, prefix, &plan)
            .await
            .map_err(|e| failed(&e))?;
        let poster = vod_mediaconvert::promote_poster(store, prefix)
            .await
            .map_err(|e| failed(&e))?;
        if let Some(t) = thumbs {
            manifest.thumbnails =
                Some(publish_thumbnails(store, prefix, &thumbs_dir, t, poster).await?);
        }
        let json = serde_json::to_vec_pretty(&manifest)
            .map_err(|e| BackendError::transient("job.manifest", e))?;
        store
            .put_bytes(
                &format!("{prefix}manifest.json"),
                Bytes::from(json),
                Some(content_type_for("manifest.json")),
            )
            .await
            .map_err(|e| BackendError::transient(e.code(), e))?;
        let assets = list_assets(store, prefix).await?;
        Ok(Some(Produced { manifest, assets }))
    }
}

/// Sprites and storyboard go up from the local run; the poster is
/// MediaConvert's frame capture (ours is not published).
async fn publish_thumbnails(
    store: &vod_core::storage::S3Store,
    prefix: &str,
    dir: &std::path::Path,
    mut thumbs: Thumbnails,
    poster: Option<String>,
) -> Result<Thumbnails, BackendError> {
    for rel in thumbs.sprites.iter().chain(thumbs.storyboard.iter()) {
        store
            .put_file(
                &format!("{prefix}{rel}"),
                &dir.join(rel),
                Some(content_type_for(rel)),
            )
            .await
            .map_err(|e| BackendError::transient(e.code(), e))?;
    }
    thumbs.poster = poster;
    Ok(thumbs)
}

/// Every object under the prefix that registration knows, master last as
/// `publish_dir` reports it.
async fn list_assets(
    store: &vod_core::storage::S3Store,
    prefix: &str,
) -> Result<Vec<PublishedAsset>, BackendError> {
    let objects = store
        .list(prefix)
        .await
        .map_err(|e| BackendError::transient(e.code(), e))?;
    let mut assets: Vec<PublishedAsset> = objects
        .into_iter()
        .filter_map(|o| {
            let relative = o.key.strip_prefix(prefix)?.to_owned();
            let kind = AssetKind::of(&relative)?;
            Some(PublishedAsset {
                content_type: content_type_for(&relative),
                key: o.key,
                relative,
                kind,
                bytes: o.size,
            })
        })
        .collect();
    assets.sort_by_key(|a| a.kind == AssetKind::MasterPlaylist);
    Ok(assets)
}
