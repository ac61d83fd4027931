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

/// Where a video's outputs live in the outputs bucket.
pub fn output_prefix(video_id: uuid::Uuid) -> String {
    format!("videos/{video_id}/")
}

/// Where a video's source lives in the sources bucket.
pub fn source_key(video_id: uuid::Uuid, file_name: &str) -> String {
    let ext = std::path::Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|e| format!(".{}", e.to_ascii_lowercase()))
        .unwrap_or_default();
    format!("sources/{video_id}/source{ext}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_keys_keep_only_safe_extensions() {
        let id = uuid::Uuid::nil();
        assert!(source_key(id, "Clip.MP4").ends_with("/source.mp4"));
        assert!(source_key(id, "noext").ends_with("/source"));
        assert!(source_key(id, "x.../../etc").ends_with("/source"));
        assert!(source_key(id, "a.b c").ends_with("/source"));
    }
}
