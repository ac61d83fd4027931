//! The first task of a transcode job: download the source, probe it, plan
//! it, then either fan out (a plan with a chunk schedule becomes one
//! `encode_chunk` task per chunk, an `audio` task and a waiting `assemble`
//! task) or, when the plan has no chunks (a short source, or a backend that
//! parallelises by itself), run the whole encode here: publish, register.
//! Either way the plan is stored with the job.

use vod_core::storage::ObjectStore;
use vod_core::store::tasks::Failure;
use vod_core::store::{NewTask, TaskKind, TaskState};
use vod_plan::Plan;

use super::{Done, Step, transient};
use crate::backend::{BackendError, BackendJob};
use crate::register::register;

/// Shares of the job's progress: chunks split most of it by frames.
const AUDIO_WEIGHT: f32 = 6.0;
const ASSEMBLE_WEIGHT: f32 = 2.0;
const CHUNKS_WEIGHT: f32 = 90.0;

pub(super) async fn run(step: &Step<'_>) -> Result<Done, Failure> {
    let runner = step.runner;
    let s = &runner.services;
    let source_key = step.video.source_key.clone().ok_or_else(|| Failure {
        code: "job.no_source".to_owned(),
        message: "the video has no stored source file".to_owned(),
        transient: false,
    })?;
    let input = step.workdir.join("source");
    step.reporter.set("downloading", 0.0);
    s.sources
        .get_to_file(&source_key, &input)
        .await
        .map_err(|e| Failure {
            transient: e.is_transient(),
            code: e.code().to_owned(),
            message: e.to_string(),
        })?;
    step.reporter.set("probing", 0.0);
    let plan = probe_and_plan(step, &input).await?;
    tracing::info!(
        rungs = plan.video.len(),
        audio = plan.audio.is_some(),
        chunks = plan.chunks.as_ref().map_or(0, |c| c.chunks.len()),
        "planned"
    );
    if plan.chunks.is_some() {
        let spawn = fan_out(&plan);
        return Ok(Done {
            result: serde_json::json!({ "tasks": spawn.len() }),
            spawn,
            plan: Some(plan),
        });
    }
    whole(step, &plan, &source_key, &input).await
}

async fn probe_and_plan(step: &Step<'_>, input: &std::path::Path) -> Result<Plan, Failure> {
    let settings = step.runner.settings.pipeline.clone();
    // MediaConvert splits the work by itself: its plans are never chunked.
    let chunk_s = if step.runner.backend.name() == "gstreamer" {
        step.runner.settings.chunk_seconds
    } else {
        0.0
    };
    let input = input.to_path_buf();
    crate::blocking(move || {
        let probe = vod_pipeline::probe(&input, &settings.probe)?;
        Ok::<_, vod_pipeline::PipelineError>(
            vod_plan::plan(&probe, &settings.limits)?.with_chunks(chunk_s),
        )
    })
    .await
    .map_err(|e| transient("pipeline.panicked", e))?
    .map_err(|e| BackendError::pipeline(&e).into())
}

/// The tasks of a chunked plan: every chunk, the audio, and the assembly
/// that waits for all of them.
pub(crate) fn fan_out(plan: &Plan) -> Vec<NewTask> {
    let Some(schedule) = &plan.chunks else {
        return Vec::new();
    };
    let total_frames = (plan.duration_s / schedule.frame_s()).max(1.0);
    let mut tasks: Vec<NewTask> = schedule
        .chunks
        .iter()
        .map(|c| {
            let frames = c.frame_count.map_or_else(
                || (total_frames - c.first_frame as f64).max(1.0),
                |n| n as f64,
            );
            NewTask {
                kind: TaskKind::EncodeChunk,
                seq: i32::try_from(c.index).unwrap_or(i32::MAX),
                state: TaskState::Queued,
                weight: (f64::from(CHUNKS_WEIGHT) * frames / total_frames) as f32,
            }
        })
        .collect();
    if plan.audio.is_some() {
        tasks.push(NewTask {
            kind: TaskKind::Audio,
            seq: 0,
            state: TaskState::Queued,
            weight: AUDIO_WEIGHT,
        });
    }
    tasks.push(NewTask {
        kind: TaskKind::Assemble,
        seq: 0,
        state: TaskState::Waiting,
        weight: ASSEMBLE_WEIGHT,
    });
    tasks
}

/// One pass for everything, as before chunking: the backend produces and
/// publishes the package, then it is registered.
async fn whole(
    step: &Step<'_>,
    plan: &Plan,
    source_key: &str,
    input: &std::path::Path,
) -> Result<Done, Failure> {
    let runner = step.runner;
    let s = &runner.services;
    let prefix = crate::output_prefix(step.video.id);
    let backend_job = BackendJob {
        services: s,
        task: step.task,
        plan,
        video_id: step.video.id,
        source_key,
        input,
        workdir: &step.workdir,
        output_prefix: &prefix,
        pipeline: &runner.settings.pipeline,
    };
    let Some(produced) = runner.backend.produce(&backend_job, step.reporter).await? else {
        // Cancelled meanwhile: the reporter's flag tells the caller.
        return Ok(Done {
            result: serde_json::Value::Null,
            spawn: Vec::new(),
            plan: None,
        });
    };
    step.reporter.set("registering", 100.0);
    register(
        &s.db,
        &s.catalog,
        &runner.playback,
        step.video.id,
        &prefix,
        &produced.manifest,
        &produced.assets,
    )
    .await
    .map_err(|e| transient(e.code(), e))?;
    tracing::info!(
        backend = runner.backend.name(),
        objects = produced.assets.len(),
        "outputs published and registered"
    );
    Ok(Done {
        result: serde_json::json!({ "objects": produced.assets.len() }),
        spawn: Vec::new(),
        plan: Some(plan.clone()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vod_plan::{Limits, Orientation, Probe, VideoStream};

    fn plan(duration_s: f64, audio: bool) -> Plan {
        let probe = Probe {
            container: "video/quicktime".into(),
            duration_s,
            video: Some(VideoStream {
                codec: "video/x-h264".into(),
                profile: None,
                width: 1280,
                height: 720,
                par_n: 1,
                par_d: 1,
                orientation: Orientation::Rotate0,
                fps_num: 30,
                fps_den: 1,
                variable_fps: false,
                pixel_format: None,
                bit_depth: Some(8),
                interlaced: false,
            }),
            audio: audio.then(|| vod_plan::AudioStream {
                codec: "audio/mpeg".into(),
                channels: 2,
                sample_rate: 48_000,
            }),
            gst_version: String::new(),
        };
        vod_plan::plan(&probe, &Limits::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .with_chunks(60.0)
    }

    #[test]
    fn a_chunked_plan_fans_out_into_chunks_audio_and_a_waiting_assembly() {
        let tasks = fan_out(&plan(150.0, true));
        let kinds: Vec<(TaskKind, i32, TaskState)> =
            tasks.iter().map(|t| (t.kind, t.seq, t.state)).collect();
        assert_eq!(
            kinds,
            [
                (TaskKind::EncodeChunk, 0, TaskState::Queued),
                (TaskKind::EncodeChunk, 1, TaskState::Queued),
                (TaskKind::EncodeChunk, 2, TaskState::Queued),
                (TaskKind::Audio, 0, TaskState::Queued),
                (TaskKind::Assemble, 0, TaskState::Waiting),
            ]
        );
        // 60 + 60 + 30 s of frames share the chunks' 90.
        let chunk_weights: Vec<f32> = tasks[..3].iter().map(|t| t.weight).collect();
        assert!((chunk_weights[0] - 36.0).abs() < 0.1, "{chunk_weights:?}");
        assert!((chunk_weights[2] - 18.0).abs() < 0.1, "{chunk_weights:?}");
    }

    #[test]
    fn without_audio_or_chunks() {
        let silent = fan_out(&plan(150.0, false));
        assert!(!silent.iter().any(|t| t.kind == TaskKind::Audio));
        assert!(fan_out(&plan(30.0, true)).is_empty(), "short: single pass");
    }
}
