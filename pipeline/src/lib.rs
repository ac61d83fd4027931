//! Media pipeline: probe, GStreamer graph, HLS packaging. The plan it runs
//! comes from `vod-plan` (pure): `probe` → `vod_plan::plan` → `run`;
//! `transcode` chains them.

pub mod chunked;
mod discover;
pub mod error;
mod graph;
mod hls;
mod manifest;
mod thumbs;

pub use discover::{ProbeOptions, detect_container, probe};
pub use error::{ErrorKind, PipelineError, Result};
pub use graph::{Progress, RunOptions, Stage, run, thumbnails};
use vod_plan::{Limits, Manifest, plan};

use std::path::Path;

#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Settings {
    pub probe: ProbeOptions,
    pub limits: Limits,
    pub run: RunOptions,
}

/// Probe, plan and run in one call.
pub fn transcode(
    input: &Path,
    outdir: &Path,
    settings: &Settings,
    progress: impl FnMut(Progress) + Send,
) -> Result<Manifest> {
    let probe = probe(input, &settings.probe)?;
    let plan = plan(&probe, &settings.limits)?;
    run(&plan, input, outdir, &settings.run, progress)
}
