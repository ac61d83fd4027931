//! Worker-side glue between the pipeline and the services: publishing a
//! finished output directory to the outputs bucket and registering the
//! result in PostgreSQL and the MongoDB catalog.

pub mod ingest;
pub mod job;
pub mod progress;
pub mod publish;
pub mod register;
pub mod runner;
pub mod webhooks;

pub use vod_core::keys::output_prefix;

/// Where a video's source lives in the sources bucket.
pub fn source_key(video_id: uuid::Uuid, file_name: &str) -> String {
    vod_core::keys::source_key("", video_id, file_name)
}
