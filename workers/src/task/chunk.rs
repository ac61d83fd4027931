//! One chunk of a chunked encode: every video rung of one time range (read
//! from the source by ranged reads where the container allows), its
//! storyboard tiles and, for the chunk that holds it, the poster. Segments
//! go straight to their final keys (their global numbering makes a rerun
//! overwrite the same objects); tiles go to the job's work prefix for the
//! assembly. The master playlist, written by the assembly, is what makes
//! the video playable, so nothing here is visible early.

use vod_core::store::tasks::Failure;
use vod_plan::ChunkOutput;

use super::{Done, Step, transient};
use crate::backend::BackendError;
use crate::progress::Report;
use crate::publish::publish_files;

pub(super) async fn run(step: &Step<'_>) -> Result<Done, Failure> {
    let plan = super::assemble::plan_of(step)?;
    let index = u32::try_from(step.task.seq).map_err(|e| transient("job.bad_task", e))?;
    let input = super::source::input(step, &plan).await?;
    let outdir = step.workdir.join("out");
    tokio::fs::create_dir_all(&outdir)
        .await
        .map_err(|e| transient("job.workdir", e))?;
    let mut run = step.runner.settings.pipeline.run.clone();
    run.cancel = Some(step.reporter.cancel_flag());
    let tx = step.reporter.sender();
    let (p, dir) = (plan.clone(), outdir.clone());
    let output: ChunkOutput = crate::blocking(move || {
        vod_pipeline::chunked::encode_chunk(&p, index, &input, &dir, &run, |pr| {
            tx.send_replace(Report {
                stage: "transcoding",
                percent: pr.percent as f32,
            });
        })
    })
    .await
    .map_err(|e| transient("pipeline.panicked", e))?
    .map_err(|e| Failure::from(BackendError::pipeline(&e)))?;
    if step.reporter.is_cancelled() {
        return Err(super::cancelled());
    }
    step.reporter.set("publishing", 100.0);
    let s = &step.runner.services;
    let prefix = crate::output_prefix(step.video.id);
    publish_files(&s.outputs, &outdir, "hls", &format!("{prefix}hls/"))
        .await
        .map_err(|e| transient(e.code(), e))?;
    if output.poster {
        publish_files(
            &s.outputs,
            &outdir,
            "thumbs/poster.jpg",
            &format!("{prefix}thumbs/poster.jpg"),
        )
        .await
        .map_err(|e| transient(e.code(), e))?;
    }
    let tiles = super::assemble::tiles_prefix(step.job.id);
    publish_files(&s.outputs, &outdir, "thumbs/tiles", &tiles)
        .await
        .map_err(|e| transient(e.code(), e))?;
    Ok(Done {
        result: serde_json::to_value(&output).map_err(|e| transient("job.result", e))?,
        spawn: Vec::new(),
        plan: None,
    })
}
