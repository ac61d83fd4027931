//! Chunked encoding: the pieces a plan with a chunk schedule
//! (`vod_plan::chunks`) is encoded in, by different workers at once, and
//! their assembly into one package with no seam.
//!
//! - [`encode_chunk`]: every video rung of one chunk's frames, its
//!   storyboard tiles and (for the chunk that holds it) the poster.
//! - [`encode_audio`]: the whole audio track, once.
//! - [`assemble`]: media and master playlists from the segments every task
//!   wrote, sprites and the storyboard from the tiles, `manifest.json`.
//!
//! Files under the output directory: `hls/<rendition>/seg_NNNNN.ts` with
//! the global numbering, `thumbs/tiles/tile_NNNNN.i420` (raw I420 at the
//! plan's tile size), `thumbs/poster.jpg`; the assembly adds the playlists,
//! `thumbs/sprite_NNN.jpg`, `thumbs/storyboard.vtt` and `manifest.json`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use vod_plan::{AudioOutput, ChunkOutput, Manifest, Plan};

use crate::error::{PipelineError, Result};

mod assemble;
mod encode;
pub(crate) mod grid;
pub(crate) mod window;

pub(crate) use grid::TilePicker;

pub use assemble::assemble;
pub use encode::{encode_audio, encode_chunk};

/// Where a chunk or audio task reads the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A local file.
    File(PathBuf),
    /// An HTTP(S) URL (a presigned S3 GET): read with ranged requests, so a
    /// chunk fetches only its part of the file.
    Url(String),
}

impl Input {
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::File(p) => p.display().to_string(),
            // A presigned URL carries a signature: keep it out of messages.
            Self::Url(u) => u.split('?').next().unwrap_or_default().to_owned(),
        }
    }
}

/// Containers whose demuxer seeks over HTTP with byte ranges (measured:
/// README, "Chunked encoding"); the rest are downloaded whole first.
pub fn seekable_over_http(container: &str) -> bool {
    encode::SEEKABLE_OVER_HTTP.contains(&container)
}

/// The chunk of `plan` with index `index`, or an error naming the plan's
/// fault (a chunk task of a plan without a schedule).
pub(crate) fn chunk_of(
    plan: &Plan,
    index: u32,
) -> Result<(&vod_plan::ChunkSchedule, &vod_plan::Chunk)> {
    let schedule = plan.chunks.as_ref().ok_or_else(|| {
        PipelineError::Plan(vod_plan::PlanError::InvalidPlan {
            detail: "a chunk was asked of a plan without a chunk schedule".into(),
        })
    })?;
    let chunk = schedule.chunks.get(index as usize).ok_or_else(|| {
        PipelineError::Plan(vod_plan::PlanError::InvalidPlan {
            detail: format!("chunk {index} is not in the plan's schedule"),
        })
    })?;
    Ok((schedule, chunk))
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// What a whole chunked encode run in this process produced, and what each
/// task cost (wall seconds), for the benchmark's time-to-ready simulation.
#[derive(Debug)]
pub struct ChunkedRun {
    pub manifest: Manifest,
    pub chunks: Vec<ChunkOutput>,
    pub audio: Option<AudioOutput>,
    /// Per chunk, in chunk order.
    pub chunk_s: Vec<f64>,
    pub audio_s: Option<f64>,
    pub assemble_s: f64,
}

/// A whole chunked encode in this process, the chunks `jobs` at a time and
/// then the audio: `vod-transcode --chunk-seconds` and the tests use it to
/// compare with the single-pass graph.
pub fn transcode_chunked(
    plan: &Plan,
    input: &Input,
    outdir: &Path,
    opts: &crate::RunOptions,
    jobs: usize,
) -> Result<ChunkedRun> {
    let schedule = plan.chunks.as_ref().ok_or_else(|| {
        PipelineError::Plan(vod_plan::PlanError::InvalidPlan {
            detail: "the plan has no chunk schedule".into(),
        })
    })?;
    let indices: Vec<u32> = schedule.chunks.iter().map(|c| c.index).collect();
    let results = std::sync::Mutex::new(Vec::new());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let failed = std::sync::Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(&index) = indices.get(i) else {
                        return;
                    };
                    let started = Instant::now();
                    match encode_chunk(plan, index, input, outdir, opts, |_| {}) {
                        Ok(out) => lock(&results).push((out, started.elapsed().as_secs_f64())),
                        Err(e) => {
                            lock(&failed).get_or_insert(e);
                            return;
                        }
                    }
                }
            });
        }
    });
    if let Some(e) = failed
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
    {
        return Err(e);
    }
    let mut done = results
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    done.sort_by_key(|(c, _)| c.chunk);
    let (chunks, chunk_s): (Vec<ChunkOutput>, Vec<f64>) = done.into_iter().unzip();
    let started = Instant::now();
    let audio = match plan.audio {
        Some(_) => Some(encode_audio(plan, input, outdir, opts, |_| {})?),
        None => None,
    };
    let audio_s = audio.as_ref().map(|_| started.elapsed().as_secs_f64());
    let started = Instant::now();
    let manifest = assemble(
        plan,
        &chunks,
        audio.as_ref(),
        &outdir.join("thumbs/tiles"),
        outdir,
    )?;
    Ok(ChunkedRun {
        manifest,
        chunks,
        audio,
        chunk_s,
        audio_s,
        assemble_s: started.elapsed().as_secs_f64(),
    })
}
