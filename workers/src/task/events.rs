//! What live viewers and the API cache hear about a job: a progress event
//! on Redis (SSE) and the dropped cached read of its video. Best effort:
//! the store in PostgreSQL is authoritative, and its transactions already
//! recorded the webhooks.

use vod_core::store::{JobRecord, JobState};

use super::TaskRunner;
use crate::progress::{JobEvent, publish};

impl TaskRunner {
    /// The `video.ready` event's data, recorded by the store in the same
    /// transaction that ends the job.
    pub(super) fn ready_event(&self, job: &JobRecord) -> serde_json::Value {
        let master = format!("{}hls/master.m3u8", crate::output_prefix(job.video_id));
        serde_json::json!({
            "video_id": job.video_id,
            "job_id": job.id,
            "status": "ready",
            "playback_url": self.playback.url(&master),
        })
    }

    /// Tells viewers where the job stands now.
    pub(super) async fn publish_job(&self, job: &JobRecord) {
        let error = job.error_code.as_deref().zip(job.error_message.as_deref());
        let stage = match job.state {
            JobState::Succeeded => "done".to_owned(),
            JobState::Failed | JobState::Dead => "failed".to_owned(),
            JobState::Cancelled => "cancelled".to_owned(),
            _ => job.stage.clone().unwrap_or_else(|| job.state.to_string()),
        };
        let event = JobEvent {
            video_id: job.video_id,
            job_id: job.id,
            state: job.state.to_string(),
            stage,
            percent: job.percent.unwrap_or(0.0),
            eta_seconds: job.eta_seconds,
            error_code: error.map(|(c, _)| c.to_owned()),
            error_message: error.map(|(_, m)| m.to_owned()),
            queue: None,
        };
        publish(&self.services.cache, &event).await;
    }

    /// After a task's outcome: the video's cached read is stale, and viewers
    /// hear the job's new state.
    pub(super) async fn job_ended(&self, job: &JobRecord) {
        self.invalidate(job.video_id).await;
        self.publish_job(job).await;
    }

    /// The API caches video reads; every status change must drop that copy.
    pub(super) async fn invalidate(&self, video_id: uuid::Uuid) {
        let key = vod_core::keys::video_cache_key(video_id);
        if let Err(e) = self.services.cache.del(&key).await {
            tracing::warn!(error = %e, "cache invalidation failed");
        }
    }
}
