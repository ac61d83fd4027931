//! A `GetJob` answer → our job record's terms: stage and percent while it
//! runs, success, or a classified error.

use aws_sdk_mediaconvert::types::{Job, JobPhase, JobStatus};

use crate::MediaConvertError;

/// What the worker's progress reporter shows (`jobs.stage`, `jobs.percent`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    pub stage: &'static str,
    /// 0–100.
    pub percent: f32,
}

#[derive(Debug)]
pub enum Poll {
    Running(Progress),
    Complete,
    Failed(MediaConvertError),
}

/// Stages: SUBMITTED → `submitted` (waiting in the queue), PROGRESSING by
/// phase → `probing` / `transcoding` / `publishing` (MediaConvert uploading
/// to S3); the percent is MediaConvert's `jobPercentComplete`, kept under
/// 100 until the job is COMPLETE, as the GStreamer backend does.
pub fn interpret(job: &Job) -> Poll {
    let percent = job
        .job_percent_complete()
        .map_or(0.0, |p| p.clamp(0, 100) as f32)
        .min(99.9);
    let running = |stage| Poll::Running(Progress { stage, percent });
    match job.status() {
        Some(JobStatus::Complete) => Poll::Complete,
        Some(JobStatus::Error) => Poll::Failed(MediaConvertError::from_job_error(
            job.error_code().unwrap_or(0),
            job.error_message()
                .unwrap_or("no error message was given")
                .to_owned(),
        )),
        Some(JobStatus::Canceled) => Poll::Failed(MediaConvertError::Canceled {
            job_id: job.id().unwrap_or_default().to_owned(),
        }),
        Some(JobStatus::Submitted) | None => Poll::Running(Progress {
            stage: "submitted",
            percent: 0.0,
        }),
        Some(_) => match job.current_phase() {
            Some(JobPhase::Probing) => running("probing"),
            Some(JobPhase::Uploading) => running("publishing"),
            _ => running("transcoding"),
        },
    }
}
