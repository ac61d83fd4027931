//! `GET /v1/videos/{id}/events`: Server-Sent Events with the job's state,
//! stage, percent and ETA. The first event is a snapshot from Postgres, so a
//! late subscriber is never blank; live events follow from Redis; the stream
//! ends after a final state.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::response::sse::{Event, KeepAlive, Sse};
use futures::{Stream, StreamExt};
use vod_core::events::{JobEvent, events_channel};
use vod_core::jobs::latest_job_for_video;

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
    let s = &state.services;
    let video = vod_core::db::get_video(&s.db, id)
        .await?
        .ok_or_else(|| ApiError::NotFound(format!("video {id} does not exist")))?;
    // Subscribe before reading the snapshot so nothing falls in between.
    let live = s.cache.subscribe(&events_channel(&s.cache, id)).await?;
    let job = latest_job_for_video(&s.db, id).await?;
    let snapshot = match &job {
        Some(j) => JobEvent {
            video_id: id,
            job_id: j.id,
            state: j.state.clone(),
            stage: j.stage.clone().unwrap_or_else(|| j.state.clone()),
            percent: j.percent.unwrap_or(0.0),
            eta_seconds: j.eta_seconds,
            error_code: j.error_code.clone(),
            error_message: j.error_message.clone(),
        },
        None => JobEvent {
            video_id: id,
            job_id: uuid::Uuid::nil(),
            state: video.status.clone(),
            stage: video.status.clone(),
            percent: 0.0,
            eta_seconds: None,
            error_code: video.error_code.clone(),
            error_message: video.error_message.clone(),
        },
    };
    let done_already = FINAL.contains(&snapshot.state.as_str()) || job.is_none();
    let first = futures::stream::once(async move { snapshot });
    let rest = live
        .filter_map(|raw| async move { serde_json::from_str::<JobEvent>(&raw).ok() })
        .boxed();
    let rest = if done_already {
        futures::stream::empty().boxed()
    } else {
        rest
    };
    // Forward until (and including) the first final state, then end the
    // response at once rather than wait for another message.
    let events = first.chain(rest).boxed();
    let stream = futures::stream::unfold((events, false), |(mut events, ended)| async move {
        if ended {
            return None;
        }
        let ev = events.next().await?;
        let now_ended = FINAL.contains(&ev.state.as_str());
        Some((ev, (events, now_ended)))
    })
    .map(|ev| {
        let event = Event::default().event("progress");
        Ok(event
            .json_data(&ev)
            .unwrap_or_else(|_| Event::default().comment("unserializable event")))
    });
    Ok(Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15))))
}
