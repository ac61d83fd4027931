//! The local backend: our GStreamer pipeline runs the plan on a blocking
//! thread, then the output directory is published to the outputs bucket,
//! master last.

use std::path::Path;

use async_trait::async_trait;

use super::{BackendError, BackendJob, Produced, TranscodeBackend, still_running};
use crate::progress::{Report, Reporter};
use crate::publish::publish_dir;

pub struct GStreamerBackend;

#[async_trait]
impl TranscodeBackend for GStreamerBackend {
    fn name(&self) -> &'static str {
        "gstreamer"
    }

    async fn produce(
        &self,
        job: &BackendJob<'_>,
        reporter: &Reporter,
    ) -> Result<Option<Produced>, BackendError> {
        let outdir = job.workdir.join("out");
        tokio::fs::create_dir_all(&outdir)
            .await
            .map_err(|e| BackendError::transient("job.workdir", e))?;
        let manifest = transcode(job.plan, job.input, &outdir, job.pipeline, reporter).await?;
        if reporter.is_cancelled() || !still_running(&job.services.db, job.task.job_id).await {
            reporter
                .cancel_flag()
                .store(true, std::sync::atomic::Ordering::SeqCst);
            return Ok(None);
        }
        reporter.set("publishing", 100.0);
        let assets = publish_dir(&job.services.outputs, &outdir, job.output_prefix)
            .await
            .map_err(|e| BackendError::transient(e.code(), e))?;
        Ok(Some(Produced { manifest, assets }))
    }
}

async fn transcode(
    plan: &vod_plan::Plan,
    input: &Path,
    outdir: &Path,
    settings: &vod_pipeline::Settings,
    reporter: &Reporter,
) -> Result<vod_plan::Manifest, BackendError> {
    let mut run = settings.run.clone();
    run.cancel = Some(reporter.cancel_flag());
    let tx = reporter.sender();
    let joined = crate::run_blocking(plan, input, outdir, run, move |p| {
        let stage = match p.stage {
            vod_pipeline::Stage::Transcoding => "transcoding",
            vod_pipeline::Stage::Packaging => "packaging",
            vod_pipeline::Stage::Done => "publishing",
        };
        tx.send_replace(Report {
            stage,
            percent: p.percent as f32,
        });
    })
    .await
    .map_err(|e| BackendError::transient("pipeline.panicked", e))?;
    joined.map_err(|e| BackendError::pipeline(&e))
}
