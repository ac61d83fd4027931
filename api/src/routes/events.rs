//! `GET /v1/videos/{id}/events`: Server-Sent Events with the job's state,
//! stage, percent and ETA. The first event is a snapshot from Postgres, so a
//! late subscriber is never blank; live events follow from Redis; the stream
//! ends after a final state.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::stream::BoxStream;
use futures::{Stream, StreamExt};
use uuid::Uuid;
use vod_core::Services;
use vod_core::events::{JobEvent, events_channel};
use vod_core::store::jobs::{latest_job_for_video, with_tasks};

use crate::auth::RequireViewer;
use crate::records::parse_id;
use crate::{ApiError, AppState};

const FINAL: &[&str] = &["succeeded", "failed", "cancelled", "dead"];

/// Server-Sent Events: a snapshot, then live job events until a final state.
#[utoipa::path(get, path = "/v1/videos/{id}/events", tag = "videos", security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Video id")),
    responses((status = 200, description = "`data:` lines each holding a JobEvent",
            body = vod_core::events::JobEvent, content_type = "text/event-stream"),
        (status = 401, body = crate::openapi::ErrorBody), (status = 404, body = crate::openapi::ErrorBody)))]
pub async fn events(
    State(state): State<AppState>,
    RequireViewer(_who): RequireViewer,
    Path(id): Path<String>,
) -> Result<Sse<impl Stream<Item = Result<Event, Infallible>>>, ApiError> {
    let id = parse_id(&id, "video")?;
    let services = state.services.clone();
    // Subscribe before reading the snapshot so nothing falls in between.
    let live = services
        .cache
        .subscribe(&events_channel(&services.cache, id))
        .await?;
    let (snapshot, has_job) = snapshot(&services, id).await?;
    let done_already = FINAL.contains(&snapshot.state.as_str()) || !has_job;
    let follow = Follow {
        services,
        video_id: id,
        live: Some(live.boxed()),
        pending: VecDeque::from([snapshot]),
        ended: false,
        last_only: done_already,
        attempts: 0,
    };
    let stream = futures::stream::unfold(follow, |mut f| async move {
        let ev = f.next().await?;
        Some((ev, f))
    })
    .map(|ev| {
        let event = Event::default().event("progress");
        Ok(event
            .json_data(&ev)
            .unwrap_or_else(|_| Event::default().comment("unserializable event")))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}

/// The job's state from PostgreSQL (or the video's, when it has no job).
async fn snapshot(services: &Services, id: Uuid) -> Result<(JobEvent, bool), ApiError> {
    let video = vod_core::db::get_video(&services.db, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("video {id} does not exist")))?;
    let job = match latest_job_for_video(&services.db, id).await? {
        Some(job) => Some(with_tasks(&services.db, job).await?),
        None => None,
    };
    let event = match &job {
        Some(j) => JobEvent {
            video_id: id,
            job_id: j.id,
            state: j.state.to_string(),
            stage: j.stage.clone().unwrap_or_else(|| j.state.to_string()),
            percent: j.percent.unwrap_or(0.0),
            eta_seconds: j.eta_seconds,
            error_code: j.error_code.clone(),
            error_message: j.error_message.clone(),
            queue: j.queue_status,
        },
        None => JobEvent {
            video_id: id,
            job_id: Uuid::nil(),
            state: video.status.to_string(),
            stage: video.status.to_string(),
            percent: 0.0,
            eta_seconds: None,
            error_code: video.error_code.clone(),
            error_message: video.error_message.clone(),
            queue: None,
        },
    };
    Ok((event, job.is_some()))
}

/// Forwards live events until (and including) the first final state, then
/// ends the response at once rather than wait for another message. When
/// Redis drops the subscription (a restart, a failover) it subscribes again
/// and sends a fresh snapshot, so a final state reached meanwhile is not missed.
struct Follow {
    services: Arc<Services>,
    video_id: Uuid,
    live: Option<BoxStream<'static, String>>,
    pending: VecDeque<JobEvent>,
    ended: bool,
    /// The snapshot was final already: send it and end.
    last_only: bool,
    /// Failed attempts to subscribe again.
    attempts: u32,
}

impl Follow {
    async fn next(&mut self) -> Option<JobEvent> {
        loop {
            if self.ended {
                return None;
            }
            if let Some(ev) = self.pending.pop_front() {
                self.ended = self.last_only || FINAL.contains(&ev.state.as_str());
                return Some(ev);
            }
            match &mut self.live {
                Some(live) => match live.next().await {
                    Some(raw) => {
                        if let Ok(ev) = serde_json::from_str::<JobEvent>(&raw) {
                            self.pending.push_back(ev);
                        }
                    }
                    None => {
                        tracing::info!(video_id = %self.video_id, "event subscription lost; subscribing again");
                        self.live = None;
                    }
                },
                None => self.resubscribe().await,
            }
        }
    }

    async fn resubscribe(&mut self) {
        if self.attempts > 0 {
            let wait = Duration::from_millis(250 * 2u64.pow(self.attempts.min(4)));
            tokio::time::sleep(wait).await;
        }
        let cache = &self.services.cache;
        match cache.subscribe(&events_channel(cache, self.video_id)).await {
            Ok(live) => {
                self.attempts = 0;
                self.live = Some(live.boxed());
                if let Ok((snapshot, _)) = snapshot(&self.services, self.video_id).await {
                    self.pending.push_back(snapshot);
                }
            }
            Err(e) => {
                self.attempts += 1;
                tracing::debug!(video_id = %self.video_id, error = %e, "subscribing to events again failed");
            }
        }
    }
}
