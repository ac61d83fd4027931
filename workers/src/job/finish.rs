//! How a job run ends: the `jobs` row, the video's status, a progress
//! event for live viewers and, for final states, a webhook event.

use std::time::Duration;

use vod_core::jobs::JobRecord;

use super::{Failure, JobRunner};
use crate::progress::{JobEvent, publish};
use crate::webhooks;

impl JobRunner {
    pub(super) async fn finish_succeeded(&self, job: &JobRecord) {
        let master = format!("{}hls/master.m3u8", crate::output_prefix(job.video_id));
        let data = serde_json::json!({
            "video_id": job.video_id,
            "job_id": job.id,
            "status": "ready",
            "playback_url": self.playback.url(&master),
        });
        let res = async {
            let mut tx = self.services.db.begin().await?;
            sqlx::query(
                "UPDATE jobs SET state = 'succeeded', stage = 'done', percent = 100, eta_seconds = 0,
                     finished_at = now(), updated_at = now() WHERE id = $1",
            )
            .bind(job.id)
            .execute(&mut *tx)
            .await?;
            webhooks::enqueue_event(&mut *tx, "video.ready", data).await?;
            tx.commit().await
        }
        .await;
        self.after_finish(job, "succeeded", "done", 100.0, None, res)
            .await;
    }

    pub(super) async fn finish_failed(
        &self,
        job: &JobRecord,
        state: &str,
        code: &str,
        message: &str,
    ) {
        let res = async {
            let mut tx = self.services.db.begin().await?;
            sqlx::query(
                "UPDATE jobs SET state = $2, error_code = $3, error_message = $4, finished_at = now(),
                     eta_seconds = NULL, updated_at = now() WHERE id = $1",
            )
            .bind(job.id)
            .bind(state)
            .bind(code)
            .bind(message)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "UPDATE videos SET status = 'failed', error_code = $2, error_message = $3, updated_at = now() WHERE id = $1",
            )
            .bind(job.video_id)
            .bind(code)
            .bind(message)
            .execute(&mut *tx)
            .await?;
            let data = serde_json::json!({
                "video_id": job.video_id,
                "job_id": job.id,
                "status": state,
                "error_code": code,
                "error_message": message,
            });
            webhooks::enqueue_event(&mut *tx, "video.failed", data).await?;
            tx.commit().await
        }
        .await;
        tracing::warn!(code, message, "job failed");
        self.after_finish(
            job,
            state,
            "failed",
            job.percent.unwrap_or(0.0),
            Some((code, message)),
            res,
        )
        .await;
    }

    pub(super) async fn finish_cancelled(&self, job: &JobRecord) {
        let res = sqlx::query(
            "UPDATE videos SET status = 'failed', error_code = 'job.cancelled', error_message = 'cancelled by a user',
                 updated_at = now() WHERE id = $1",
        )
        .bind(job.video_id)
        .execute(&self.services.db)
        .await;
        let _ = sqlx::query("UPDATE jobs SET finished_at = now() WHERE id = $1")
            .bind(job.id)
            .execute(&self.services.db)
            .await;
        self.after_finish(
            job,
            "cancelled",
            "cancelled",
            0.0,
            Some(("job.cancelled", "cancelled by a user")),
            res,
        )
        .await;
    }

    pub(super) async fn schedule_retry(&self, job: &JobRecord, f: &Failure, after: Duration) {
        let res = sqlx::query(
            "UPDATE jobs SET state = 'retrying', error_code = $2, error_message = $3,
                 next_attempt_at = now() + make_interval(secs => $4), updated_at = now() WHERE id = $1",
        )
        .bind(job.id)
        .bind(&f.code)
        .bind(&f.message)
        .bind(after.as_secs_f64())
        .execute(&self.services.db)
        .await;
        tracing::warn!(code = %f.code, message = %f.message, retry_in_s = after.as_secs(), "transient failure; will retry");
        self.after_finish(
            job,
            "retrying",
            "queued",
            0.0,
            Some((&f.code, &f.message)),
            res,
        )
        .await;
    }

    pub(super) async fn after_finish<T>(
        &self,
        job: &JobRecord,
        state: &str,
        stage: &str,
        percent: f32,
        error: Option<(&str, &str)>,
        res: Result<T, sqlx::Error>,
    ) {
        if let Err(e) = res {
            tracing::error!(error = %e, state, "recording the job outcome failed");
        }
        self.invalidate(job.video_id).await;
        let event = JobEvent {
            video_id: job.video_id,
            job_id: job.id,
            state: state.to_owned(),
            stage: stage.to_owned(),
            percent,
            eta_seconds: None,
            error_code: error.map(|(c, _)| c.to_owned()),
            error_message: error.map(|(_, m)| m.to_owned()),
            queue: None,
        };
        publish(&self.services.cache, &event).await;
    }

    /// The API caches video reads; every status change must drop that copy.
    pub(super) async fn invalidate(&self, video_id: uuid::Uuid) {
        let key = vod_core::keys::video_cache_key(video_id);
        if let Err(e) = self.services.cache.del(&key).await {
            tracing::warn!(error = %e, "cache invalidation failed");
        }
    }
}
