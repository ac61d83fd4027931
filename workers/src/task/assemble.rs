//! The fan-in of a chunked encode, run once every chunk and the audio have
//! succeeded: media playlists stitched from the chunks' segments (no
//! discontinuity: their timestamps are continuous), BANDWIDTH measured over
//! the whole rendition, sprites and the storyboard from the chunks' tiles,
//! `manifest.json`, the master playlist last; then registration and the
//! removal of the job's work objects.

use vod_core::storage::ObjectStore;
use vod_core::store::tasks::Failure;
use vod_core::store::{TaskKind, tasks};
use vod_plan::{AudioOutput, ChunkOutput, Plan};

use super::{Done, Step, transient};
use crate::backend::BackendError;
use crate::publish::{AssetKind, PublishedAsset, publish_dir};
use crate::register::register;

/// Where chunk tasks leave storyboard tiles for the assembly.
pub(super) fn tiles_prefix(job_id: uuid::Uuid) -> String {
    format!("{}tiles/", work_prefix(job_id))
}

fn work_prefix(job_id: uuid::Uuid) -> String {
    format!("work/{job_id}/")
}

/// The plan the prepare task stored with the job.
pub(super) fn plan_of(step: &Step<'_>) -> Result<Plan, Failure> {
    step.job
        .plan
        .as_ref()
        .map(|p| p.0.clone())
        .ok_or_else(|| Failure {
            code: "job.no_plan".to_owned(),
            message: "the job has no plan; its prepare task did not store one".to_owned(),
            transient: false,
        })
}

pub(super) async fn run(step: &Step<'_>) -> Result<Done, Failure> {
    let plan = plan_of(step)?;
    let s = &step.runner.services;
    let db = &s.db;
    let job_id = step.job.id;
    let mut chunks: Vec<ChunkOutput> = Vec::new();
    for t in tasks::results_of(db, job_id, TaskKind::EncodeChunk)
        .await
        .map_err(|e| transient(e.code(), e))?
    {
        chunks.push(t.result_as().ok_or_else(|| unreadable(t.seq))?);
    }
    let expected = plan.chunks.as_ref().map_or(0, |c| c.chunks.len());
    if chunks.len() != expected {
        return Err(transient(
            "job.chunks_missing",
            format!("{} of {expected} chunks are done", chunks.len()),
        ));
    }
    let audio: Option<AudioOutput> = match plan.audio {
        None => None,
        Some(_) => {
            let done = tasks::results_of(db, job_id, TaskKind::Audio)
                .await
                .map_err(|e| transient(e.code(), e))?;
            let first = done
                .first()
                .ok_or_else(|| transient("job.audio_missing", "the audio task has not finished"))?;
            Some(first.result_as().ok_or_else(|| unreadable(0))?)
        }
    };

    step.reporter.set("assembling", 10.0);
    let outdir = step.workdir.join("out");
    let tiles_dir = step.workdir.join("tiles");
    tokio::fs::create_dir_all(&tiles_dir)
        .await
        .map_err(|e| transient("job.workdir", e))?;
    let tiles = tiles_prefix(job_id);
    for index in chunks.iter().flat_map(|c| c.tiles.iter().copied()) {
        let name = vod_plan::outputs::tile_name(index);
        s.outputs
            .get_to_file(&format!("{tiles}{name}"), &tiles_dir.join(&name))
            .await
            .map_err(|e| storage(&e))?;
    }
    let (p, c, a, t, o) = (
        plan.clone(),
        chunks.clone(),
        audio.clone(),
        tiles_dir.clone(),
        outdir.clone(),
    );
    let manifest =
        crate::blocking(move || vod_pipeline::chunked::assemble(&p, &c, a.as_ref(), &t, &o))
            .await
            .map_err(|e| transient("pipeline.panicked", e))?
            .map_err(|e| Failure::from(BackendError::pipeline(&e)))?;
    if step.reporter.is_cancelled() || !crate::backend::still_running(db, job_id).await {
        return Err(super::cancelled());
    }

    step.reporter.set("publishing", 60.0);
    let prefix = crate::output_prefix(step.video.id);
    let mut assets = publish_dir(&s.outputs, &outdir, &prefix)
        .await
        .map_err(|e| transient(e.code(), e))?;
    // The segments and the poster went up with their chunks.
    for run in chunks
        .iter()
        .flat_map(|c| c.renditions.iter())
        .chain(audio.iter().map(|a| &a.run))
    {
        for seg in &run.segments {
            let relative = format!(
                "hls/{}/{}",
                run.name,
                vod_plan::outputs::segment_name(seg.index)
            );
            assets.push(PublishedAsset {
                key: format!("{prefix}{relative}"),
                relative,
                kind: AssetKind::Segment,
                bytes: seg.bytes,
                content_type: vod_core::storage::content_type_for("x.ts"),
            });
        }
    }
    if chunks.iter().any(|c| c.poster) {
        let key = format!("{prefix}thumbs/poster.jpg");
        if let Some(meta) = s.outputs.head(&key).await.map_err(|e| storage(&e))? {
            assets.push(PublishedAsset {
                key,
                relative: "thumbs/poster.jpg".into(),
                kind: AssetKind::Poster,
                bytes: meta.size,
                content_type: vod_core::storage::content_type_for("poster.jpg"),
            });
        }
    }

    step.reporter.set("registering", 90.0);
    register(
        db,
        &s.catalog,
        &step.runner.playback,
        step.video.id,
        &prefix,
        &manifest,
        &assets,
    )
    .await
    .map_err(|e| transient(e.code(), e))?;
    // Work objects are only the assembly's input; a failure here leaves
    // them for the bucket's lifecycle rule on `work/`.
    remove_prefix(&s.outputs, &work_prefix(job_id)).await;
    tracing::info!(
        objects = assets.len(),
        chunks = chunks.len(),
        "assembled, published and registered"
    );
    Ok(Done {
        result: serde_json::json!({ "objects": assets.len() }),
        spawn: Vec::new(),
        plan: None,
    })
}

fn unreadable(seq: i32) -> Failure {
    Failure {
        code: "job.result_unreadable".to_owned(),
        message: format!("the result of task {seq} cannot be read"),
        transient: false,
    }
}

fn storage(e: &vod_core::storage::StorageError) -> Failure {
    Failure {
        transient: e.is_transient(),
        code: e.code().to_owned(),
        message: e.to_string(),
    }
}

async fn remove_prefix(store: &dyn ObjectStore, prefix: &str) {
    match store.list(prefix).await {
        Ok(objects) => {
            for obj in objects {
                if let Err(e) = store.delete(&obj.key).await {
                    tracing::warn!(key = %obj.key, error = %e, "removing a work object failed");
                }
            }
        }
        Err(e) => tracing::warn!(%prefix, error = %e, "listing work objects failed"),
    }
}
