//! The audio of a chunked encode, once for the whole track: AAC priming at
//! every chunk seam would leave gaps, and audio costs little.

use vod_core::store::tasks::Failure;
use vod_plan::AudioOutput;

use super::{Done, Step, transient};
use crate::backend::BackendError;
use crate::progress::Report;
use crate::publish::publish_files;

pub(super) async fn run(step: &Step<'_>) -> Result<Done, Failure> {
    let plan = super::assemble::plan_of(step)?;
    let input = super::source::input(step, &plan).await?;
    let outdir = step.workdir.join("out");
    tokio::fs::create_dir_all(&outdir)
        .await
        .map_err(|e| transient("job.workdir", e))?;
    let mut run = step.runner.settings.pipeline.run.clone();
    run.cancel = Some(step.reporter.cancel_flag());
    let tx = step.reporter.sender();
    let (p, dir) = (plan.clone(), outdir.clone());
    let output: AudioOutput = crate::blocking(move || {
        vod_pipeline::chunked::encode_audio(&p, &input, &dir, &run, |pr| {
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
    Ok(Done {
        result: serde_json::to_value(&output).map_err(|e| transient("job.result", e))?,
        spawn: Vec::new(),
        plan: None,
    })
}
