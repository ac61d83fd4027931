//! Live job events, published on Redis for Server-Sent Events clients. Best
//! effort: the PostgreSQL job record stays authoritative, and a client that
//! connects late reads the current state from it first.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::cache::Cache;
use crate::store::QueueStatus;

/// What SSE clients and webhooks see. Published on `{prefix}events:{video_id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct JobEvent {
    pub video_id: Uuid,
    pub job_id: Uuid,
    pub state: String,
    pub stage: String,
    pub percent: f32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eta_seconds: Option<i32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// For a queued job: `waiting` in the queue or `stranded` outside it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<QueueStatus>,
}

pub fn events_channel(cache: &Cache, video_id: Uuid) -> String {
    cache.key(&format!("events:{video_id}"))
}

pub async fn publish(cache: &Cache, event: &JobEvent) {
    let Ok(json) = serde_json::to_string(event) else {
        return;
    };
    if let Err(e) = cache
        .publish(&events_channel(cache, event.video_id), &json)
        .await
    {
        // Progress is best-effort: the Postgres record stays authoritative.
        tracing::warn!(error = %e, "publishing job event failed");
    }
}
