//! Writes `manifest.json` (the type is `vod_plan::Manifest`).

use std::path::Path;

use vod_plan::Manifest;

use crate::error::{PipelineError, Result};

pub(crate) fn write(manifest: &Manifest, outdir: &Path) -> Result<()> {
    let path = outdir.join("manifest.json");
    let json =
        serde_json::to_vec_pretty(manifest).map_err(|e| PipelineError::gst(e.to_string()))?;
    std::fs::write(&path, json).map_err(|e| PipelineError::io(&path, e))
}
