//! The public shape of a video: its record plus what a player page needs
//! (playback, poster and storyboard URLs through the CDN, and renditions).

use serde::Serialize;
use sqlx::PgPool;
use uuid::Uuid;
use vod_core::PlaybackConfig;
use vod_core::db::Video;

#[derive(Debug, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct RenditionView {
    pub name: String,
    pub kind: String,
    pub width: Option<i32>,
    pub height: Option<i32>,
    pub frame_rate: Option<f64>,
    pub bandwidth: i64,
    pub average_bandwidth: Option<i64>,
    pub codecs: String,
    pub segment_count: i32,
    pub bytes: i64,
    pub duration_ms: i64,
    #[sqlx(skip)]
    pub playlist_url: String,
    #[serde(skip)]
    pub playlist_key: String,
}

#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct VideoView {
    #[serde(flatten)]
    pub video: Video,
    pub playback_url: Option<String>,
    pub poster_url: Option<String>,
    pub storyboard_url: Option<String>,
    pub renditions: Vec<RenditionView>,
    /// When the signed URLs above stop working (only when they are signed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub urls_expire_at: Option<chrono::DateTime<chrono::Utc>>,
}

pub async fn video_view(
    db: &PgPool,
    playback: &PlaybackConfig,
    video: Video,
) -> Result<VideoView, sqlx::Error> {
    let id: Uuid = video.id;
    let mut renditions: Vec<RenditionView> = sqlx::query_as(
        "SELECT name, kind, width, height, frame_rate, bandwidth, average_bandwidth, codecs, segment_count,
                bytes, duration_ms, playlist_key
         FROM renditions WHERE video_id = $1 ORDER BY kind DESC, height DESC NULLS LAST, name",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    for r in &mut renditions {
        r.playlist_url = playback.url(&r.playlist_key);
    }
    let assets: Vec<(String, String)> = sqlx::query_as(
        "SELECT kind, key FROM assets WHERE video_id = $1 AND kind IN ('master_playlist', 'poster', 'storyboard')",
    )
    .bind(id)
    .fetch_all(db)
    .await?;
    let url_of = |kind: &str| {
        assets
            .iter()
            .find(|(k, _)| k == kind)
            .map(|(_, key)| playback.url(key))
    };
    // Only a ready video is playable: a retry overwrites outputs in place.
    let ready = video.status == vod_core::store::VideoStatus::Ready;
    Ok(VideoView {
        playback_url: url_of("master_playlist").filter(|_| ready),
        poster_url: url_of("poster"),
        storyboard_url: url_of("storyboard"),
        renditions,
        video,
        urls_expire_at: None,
    })
}
