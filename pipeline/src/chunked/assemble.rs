//! The fan-in: one package from the segments, tiles and poster the chunk
//! and audio tasks wrote. Playlists come from the recorded segment lists
//! (durations and sizes), so the segments themselves need not be here.

use std::path::Path;

use vod_plan::outputs::tile_name;
use vod_plan::{AudioOutput, ChunkOutput, Manifest, Plan, SegmentRun};

use crate::error::{PipelineError, Result};

/// Writes `hls/<rendition>/index.m3u8`, `hls/master.m3u8`, the sprites and
/// storyboard (from `tiles_dir/tile_NNNNN.i420`) and `manifest.json` under
/// `outdir`. The poster, if a chunk wrote one, is `thumbs/poster.jpg`.
pub fn assemble(
    plan: &Plan,
    chunks: &[ChunkOutput],
    audio: Option<&AudioOutput>,
    tiles_dir: &Path,
    outdir: &Path,
) -> Result<Manifest> {
    plan.validate()?;
    crate::discover::init()?;
    let hls = outdir.join("hls");
    for name in plan
        .video
        .iter()
        .map(|r| r.name.as_str())
        .chain(plan.audio.iter().map(|a| a.name.as_str()))
    {
        let dir = hls.join(name);
        std::fs::create_dir_all(&dir).map_err(|e| PipelineError::io(&dir, e))?;
    }
    let mut sorted: Vec<&ChunkOutput> = chunks.iter().collect();
    sorted.sort_by_key(|c| c.chunk);
    let video = stitch(plan, &sorted)?;
    let packaged = crate::hls::package(plan, &hls, &video, audio.map(|a| &a.run))?;

    let thumbnails = match &plan.thumbnails {
        None => None,
        Some(spec) => {
            let dir = outdir.join("thumbs");
            std::fs::create_dir_all(&dir).map_err(|e| PipelineError::io(&dir, e))?;
            let mut indices: Vec<u32> = sorted
                .iter()
                .flat_map(|c| c.tiles.iter().copied())
                .collect();
            indices.sort_unstable();
            indices.dedup();
            let mut tiles = Vec::with_capacity(indices.len());
            for index in indices {
                let path = tiles_dir.join(tile_name(index));
                let frame = std::fs::read(&path).map_err(|e| PipelineError::io(&path, e))?;
                tiles.push((u64::from(index), frame));
            }
            let mut written = crate::thumbs::write(spec, plan.duration_s, &dir, &tiles, &[])?;
            if sorted.iter().any(|c| c.poster) {
                written.poster = Some("thumbs/poster.jpg".into());
            }
            Some(written)
        }
    };
    let manifest = Manifest::new(
        plan,
        packaged.master,
        packaged.video,
        packaged.audio,
        thumbnails,
    );
    crate::manifest::write(&manifest, outdir)?;
    Ok(manifest)
}

/// Each rung's segments from every chunk, in order.
fn stitch(plan: &Plan, chunks: &[&ChunkOutput]) -> Result<Vec<SegmentRun>> {
    plan.video
        .iter()
        .enumerate()
        .map(|(i, rung)| {
            let mut run = SegmentRun {
                name: rung.name.clone(),
                sps: None,
                segments: Vec::new(),
            };
            for chunk in chunks {
                let part = chunk
                    .renditions
                    .get(i)
                    .filter(|r| r.name == rung.name)
                    .ok_or_else(|| {
                        PipelineError::gst(format!(
                            "chunk {} has no segments for {}",
                            chunk.chunk, rung.name
                        ))
                    })?;
                // Every chunk encodes with the same settings (x264's
                // stitchable), so their SPS name the same codec.
                run.sps = run.sps.or(part.sps);
                run.segments.extend(part.segments.iter().cloned());
            }
            Ok(run)
        })
        .collect()
}
