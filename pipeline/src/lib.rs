//! Media pipeline: probe, plan, GStreamer graph, HLS packaging.
//!
//! `probe` → `plan` (pure) → `run`; `transcode` chains them.

mod discover;
pub mod error;
mod graph;
mod hls;
pub mod limits;
pub mod manifest;
pub mod plan;
pub mod probe;
mod thumbs;

pub use discover::{ProbeOptions, detect_container, probe};
pub use error::{ErrorKind, PipelineError, Result};
pub use graph::{Progress, RunOptions, Stage, run, thumbnails};
pub use limits::Limits;
pub use manifest::Manifest;
pub use plan::{AudioRendition, Plan, Rung, ThumbSpec, plan};
pub use probe::{AudioStream, Orientation, Probe, VideoStream};

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
