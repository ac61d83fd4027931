//! Object keys and cache keys shared by the API and the workers.

use uuid::Uuid;

/// `{prefix}sources/<id>/source.<ext>`, keeping only a short alphanumeric
/// extension of the client's file name (never a path from it).
pub fn source_key(prefix: &str, video_id: Uuid, file_name: &str) -> String {
    let ext = std::path::Path::new(file_name)
        .extension()
        .and_then(|e| e.to_str())
        .filter(|e| e.len() <= 8 && e.chars().all(|c| c.is_ascii_alphanumeric()))
        .map(|e| format!(".{}", e.to_ascii_lowercase()))
        .unwrap_or_default();
    format!("{prefix}sources/{video_id}/source{ext}")
}

/// Where a video's outputs live in the outputs bucket.
pub fn output_prefix(video_id: Uuid) -> String {
    format!("videos/{video_id}/")
}

/// The cached `GET /v1/videos/{id}` body (under the cache's own prefix).
pub fn video_cache_key(video_id: Uuid) -> String {
    format!("video:{video_id}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_keys_keep_only_safe_extensions() {
        let id = Uuid::nil();
        assert!(source_key("", id, "Clip.MP4").ends_with("/source.mp4"));
        assert!(source_key("", id, "noext").ends_with("/source"));
        assert!(source_key("", id, "x.../../etc").ends_with("/source"));
        assert!(source_key("", id, "a.b c").ends_with("/source"));
        assert!(source_key("t1/", id, "a.mp4").starts_with("t1/sources/"));
    }
}
