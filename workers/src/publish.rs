//! Uploads a finished output directory. Players find a video through its
//! master playlist, so that object goes up last: until it exists the video
//! is not playable, and once it exists everything it points at is there.

use std::path::{Path, PathBuf};

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use vod_core::storage::{ObjectStore, StorageError, content_type_for};

/// Uploads in flight at once; segments are small, so this bounds memory too.
pub const UPLOAD_CONCURRENCY: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublishedAsset {
    /// Full object key in the outputs bucket.
    pub key: String,
    /// Key relative to the video's prefix, as in `manifest.json`.
    pub relative: String,
    pub kind: AssetKind,
    pub bytes: u64,
    pub content_type: &'static str,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AssetKind {
    MasterPlaylist,
    MediaPlaylist,
    Segment,
    Poster,
    Sprite,
    Storyboard,
    Manifest,
}

impl AssetKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MasterPlaylist => "master_playlist",
            Self::MediaPlaylist => "media_playlist",
            Self::Segment => "segment",
            Self::Poster => "poster",
            Self::Sprite => "sprite",
            Self::Storyboard => "storyboard",
            Self::Manifest => "manifest",
        }
    }

    /// Classifies a relative output path; `None` for files we do not publish.
    pub fn of(relative: &str) -> Option<Self> {
        let name = relative.rsplit('/').next().unwrap_or(relative);
        let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        Some(match ext {
            "m3u8" if relative == "hls/master.m3u8" => Self::MasterPlaylist,
            "m3u8" => Self::MediaPlaylist,
            "ts" | "m4s" | "aac" => Self::Segment,
            "jpg" if name.starts_with("poster") => Self::Poster,
            "jpg" => Self::Sprite,
            "vtt" => Self::Storyboard,
            "json" if relative == "manifest.json" => Self::Manifest,
            _ => return None,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    #[error("reading output directory {path}: {source}")]
    Walk {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("output directory has no hls/master.m3u8")]
    NoMaster,
    #[error(transparent)]
    Storage(#[from] StorageError),
}

impl PublishError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Walk { .. } => "publish.walk",
            Self::NoMaster => "publish.no_master",
            Self::Storage(e) => e.code(),
        }
    }
}

/// Every publishable file under `dir`, as sorted relative paths.
pub fn collect(dir: &Path) -> Result<Vec<(String, AssetKind)>, PublishError> {
    Ok(walk(dir)?
        .into_iter()
        .filter_map(|rel| AssetKind::of(&rel).map(|kind| (rel, kind)))
        .collect())
}

/// Uploads `dir` under `prefix` (ending in `/`), master playlist last.
/// Re-publishing overwrites the same keys, so a retried job converges on one set.
pub async fn publish_dir(
    store: &dyn ObjectStore,
    dir: &Path,
    prefix: &str,
) -> Result<Vec<PublishedAsset>, PublishError> {
    let files = collect(dir)?;
    let (master, rest): (Vec<_>, Vec<_>) = files
        .into_iter()
        .partition(|(_, kind)| *kind == AssetKind::MasterPlaylist);
    let master = master.into_iter().next().ok_or(PublishError::NoMaster)?;

    let upload = |(rel, kind): (String, AssetKind)| async move {
        let key = format!("{prefix}{rel}");
        let content_type = content_type_for(&rel);
        let bytes = store
            .put_file(&key, &dir.join(&rel), Some(content_type))
            .await?;
        Ok::<_, PublishError>(PublishedAsset {
            key,
            relative: rel,
            kind,
            bytes,
            content_type,
        })
    };
    let mut assets: Vec<PublishedAsset> = futures::stream::iter(rest)
        .map(upload)
        .buffer_unordered(UPLOAD_CONCURRENCY)
        .try_collect()
        .await?;
    assets.push(upload(master).await?);
    metrics_bytes(&assets);
    Ok(assets)
}

/// Uploads `dir/rel`: a file to the key `dest`, or every file of a
/// directory to `dest` + its path inside the directory (a chunk's
/// segments, tiles and poster). Returns the objects uploaded; a missing
/// `rel` uploads nothing.
pub async fn publish_files(
    store: &dyn ObjectStore,
    dir: &Path,
    rel: &str,
    dest: &str,
) -> Result<usize, PublishError> {
    let root = dir.join(rel);
    let files: Vec<(PathBuf, String)> = if root.is_file() {
        vec![(root.clone(), dest.to_owned())]
    } else if root.is_dir() {
        walk(&root)?
            .into_iter()
            .map(|inner| (root.join(&inner), format!("{dest}{inner}")))
            .collect()
    } else {
        Vec::new()
    };
    let count = files.len();
    futures::stream::iter(files)
        .map(|(path, key)| async move {
            store
                .put_file(&key, &path, Some(content_type_for(&key)))
                .await
                .map(|_| ())
        })
        .buffer_unordered(UPLOAD_CONCURRENCY)
        .try_collect::<Vec<()>>()
        .await?;
    Ok(count)
}

/// Every file under `dir`, as sorted relative paths with `/` separators.
fn walk(dir: &Path) -> Result<Vec<String>, PublishError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(current) = stack.pop() {
        let fail = |source| PublishError::Walk {
            path: current.clone(),
            source,
        };
        for entry in std::fs::read_dir(&current).map_err(fail)? {
            let entry = entry.map_err(fail)?;
            let path = entry.path();
            let file_type = entry.file_type().map_err(fail)?;
            if file_type.is_dir() {
                stack.push(path);
            } else if file_type.is_file()
                && let Ok(rel) = path.strip_prefix(dir)
            {
                out.push(rel.to_string_lossy().replace('\\', "/"));
            }
        }
    }
    out.sort();
    Ok(out)
}

fn metrics_bytes(assets: &[PublishedAsset]) {
    let total: u64 = assets.iter().map(|a| a.bytes).sum();
    tracing::info!(objects = assets.len(), bytes = total, "published outputs");
}

#[cfg(test)]
mod tests {
    use super::*;
    use vod_core::storage::MemoryStore;

    #[test]
    fn classifies_pipeline_outputs() {
        let cases = [
            ("hls/master.m3u8", Some(AssetKind::MasterPlaylist)),
            ("hls/720p/index.m3u8", Some(AssetKind::MediaPlaylist)),
            ("hls/720p/seg_00001.ts", Some(AssetKind::Segment)),
            ("thumbs/poster.jpg", Some(AssetKind::Poster)),
            ("thumbs/sprite_000.jpg", Some(AssetKind::Sprite)),
            ("thumbs/storyboard.vtt", Some(AssetKind::Storyboard)),
            ("manifest.json", Some(AssetKind::Manifest)),
            ("hls/720p/tmp.part", None),
        ];
        for (rel, want) in cases {
            assert_eq!(AssetKind::of(rel), want, "{rel}");
        }
    }

    #[tokio::test]
    async fn master_goes_up_last_and_everything_is_uploaded() {
        let dir = std::env::temp_dir().join(format!("vod-publish-{}", uuid::Uuid::new_v4()));
        for (rel, body) in [
            ("hls/master.m3u8", "#EXTM3U\n"),
            ("hls/360p/index.m3u8", "#EXTM3U\n"),
            ("hls/360p/seg_00001.ts", "ts"),
            ("thumbs/poster.jpg", "jpg"),
            ("manifest.json", "{}"),
            ("scratch.tmp", "ignored"),
        ] {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, body).unwrap();
        }
        let store = MemoryStore::new();
        let assets = publish_dir(&store, &dir, "videos/x/").await.unwrap();
        assert_eq!(assets.len(), 5);
        assert_eq!(assets.last().unwrap().kind, AssetKind::MasterPlaylist);
        let keys: Vec<_> = store
            .list("videos/x/")
            .await
            .unwrap()
            .into_iter()
            .map(|m| m.key)
            .collect();
        assert!(keys.contains(&"videos/x/hls/360p/seg_00001.ts".to_owned()));
        assert!(!keys.iter().any(|k| k.ends_with("scratch.tmp")));
        let meta = store
            .head("videos/x/hls/master.m3u8")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            meta.content_type.as_deref(),
            Some("application/vnd.apple.mpegurl")
        );

        std::fs::remove_file(dir.join("hls/master.m3u8")).unwrap();
        assert!(matches!(
            publish_dir(&store, &dir, "videos/y/").await,
            Err(PublishError::NoMaster)
        ));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
