//! After COMPLETE: read back what MediaConvert wrote to the outputs bucket
//! and describe it as the same [`Manifest`] the GStreamer backend produces,
//! so registration does not care which backend ran.

use std::collections::HashMap;

use m3u8_rs::{AlternativeMediaType, MasterPlaylist, MediaPlaylist};
use vod_core::storage::{ObjectStore, StorageError};
use vod_plan::{Manifest, Plan, Rendition, RenditionKind};

use crate::MediaConvertError;
use crate::settings::{HLS_BASENAME, POSTER_BASENAME};

/// Our key of the poster, as in the GStreamer backend's layout.
pub const POSTER_KEY: &str = "thumbs/poster.jpg";
const AAC_LC: &str = "mp4a.40.2";

fn unusable(detail: impl Into<String>) -> MediaConvertError {
    MediaConvertError::Outputs {
        detail: detail.into(),
    }
}

/// Joins a playlist URI onto the directory of the playlist naming it;
/// anything that could leave the video's prefix is refused.
fn resolve(dir: &str, uri: &str) -> Result<String, MediaConvertError> {
    if uri.contains("://") || uri.starts_with('/') || uri.split('/').any(|s| s == "..") {
        return Err(unusable(format!(
            "playlist URI {uri:?} is not relative to its playlist"
        )));
    }
    Ok(format!("{dir}{uri}"))
}

fn parent(key: &str) -> &str {
    key.rfind('/').map_or("", |i| &key[..=i])
}

struct Media {
    /// Relative to the video's prefix.
    playlist: String,
    durations: Vec<f64>,
    bytes: u64,
    peak_bps: u64,
    average_bps: u64,
}

async fn read_media(
    store: &dyn ObjectStore,
    prefix: &str,
    key: &str,
    sizes: &HashMap<String, u64>,
) -> Result<Media, MediaConvertError> {
    let body = store.get_bytes(key).await?;
    let playlist: MediaPlaylist = m3u8_rs::parse_media_playlist_res(&body)
        .map_err(|e| unusable(format!("{key} is not a media playlist: {e}")))?;
    if playlist.segments.is_empty() || !playlist.end_list {
        return Err(unusable(format!(
            "{key} is empty or not a finished VOD playlist"
        )));
    }
    let (mut bytes, mut peak, mut durations) = (0u64, 0f64, Vec::new());
    for seg in &playlist.segments {
        let seg_key = resolve(parent(key), &seg.uri)?;
        let size = *sizes
            .get(&seg_key)
            .ok_or_else(|| unusable(format!("{key} lists {seg_key}, which does not exist")))?;
        let d = f64::from(seg.duration);
        if d > 0.0 {
            peak = peak.max(size as f64 * 8.0 / d);
        }
        bytes += size;
        durations.push(d);
    }
    let total: f64 = durations.iter().sum();
    Ok(Media {
        playlist: key.strip_prefix(prefix).unwrap_or(key).to_owned(),
        average_bps: if total > 0.0 {
            (bytes as f64 * 8.0 / total).ceil() as u64
        } else {
            0
        },
        peak_bps: peak.ceil() as u64,
        durations,
        bytes,
    })
}

fn rendition(name: &str, kind: RenditionKind, codecs: String, target: u64, m: Media) -> Rendition {
    Rendition {
        name: name.to_owned(),
        kind,
        playlist: m.playlist,
        width: None,
        height: None,
        frame_rate: None,
        codecs,
        target_bitrate_bps: target,
        peak_bitrate_bps: m.peak_bps,
        average_bitrate_bps: m.average_bps,
        duration_s: m.durations.iter().sum(),
        segment_count: m.durations.len(),
        bytes: m.bytes,
        segment_durations_s: m.durations,
    }
}

/// The rung a variant URI belongs to: `master_720p.m3u8` → `720p`.
fn rung_name(uri: &str) -> Option<&str> {
    let file = uri.rsplit('/').next()?;
    file.strip_suffix(".m3u8")?
        .strip_prefix(HLS_BASENAME)?
        .strip_prefix('_')
}

fn codec_part<'a>(codecs: Option<&'a str>, prefix: &str) -> Option<&'a str> {
    codecs?
        .split(',')
        .map(str::trim)
        .find(|c| c.starts_with(prefix))
}

/// Reads `hls/master.m3u8` under `prefix` and every playlist it names.
/// Video renditions take CODECS, RESOLUTION, FRAME-RATE and the variant's
/// BANDWIDTH / AVERAGE-BANDWIDTH as MediaConvert wrote them (so, unlike
/// the GStreamer backend's per-rendition figures, they include the
/// alternate audio); sizes and durations come from the media playlists and
/// the objects themselves.
pub async fn read_manifest(
    store: &dyn ObjectStore,
    prefix: &str,
    plan: &Plan,
) -> Result<Manifest, MediaConvertError> {
    let sizes: HashMap<String, u64> = store
        .list(prefix)
        .await?
        .into_iter()
        .map(|m| (m.key, m.size))
        .collect();
    let master_key = format!("{prefix}hls/{HLS_BASENAME}.m3u8");
    let body = match store.get_bytes(&master_key).await {
        Err(StorageError::NotFound { .. }) => {
            return Err(unusable(format!("{master_key} was not written")));
        }
        other => other?,
    };
    let master: MasterPlaylist = m3u8_rs::parse_master_playlist_res(&body)
        .map_err(|e| unusable(format!("{master_key} is not a master playlist: {e}")))?;
    let hls_dir = parent(&master_key).to_owned();
    let variants: Vec<_> = master.variants.iter().filter(|v| !v.is_i_frame).collect();
    let first_codecs = variants.first().and_then(|v| v.codecs.as_deref());

    let audio = match &plan.audio {
        None => None,
        Some(a) => {
            let uri = if plan.video.is_empty() {
                variants.first().map(|v| v.uri.as_str())
            } else {
                master
                    .alternatives
                    .iter()
                    .find(|m| {
                        m.media_type == AlternativeMediaType::Audio && m.group_id == a.group_id
                    })
                    .and_then(|m| m.uri.as_deref())
            };
            let uri =
                uri.ok_or_else(|| unusable("the master playlist names no audio rendition"))?;
            let m = read_media(store, prefix, &resolve(&hls_dir, uri)?, &sizes).await?;
            let codec = codec_part(first_codecs, "mp4a")
                .unwrap_or(AAC_LC)
                .to_owned();
            Some(rendition(
                &a.name,
                RenditionKind::Audio,
                codec,
                a.bitrate_bps,
                m,
            ))
        }
    };

    let mut video = Vec::with_capacity(plan.video.len());
    for rung in &plan.video {
        let v = variants
            .iter()
            .find(|v| rung_name(&v.uri) == Some(rung.name.as_str()))
            .ok_or_else(|| {
                unusable(format!(
                    "the master playlist has no variant for {}",
                    rung.name
                ))
            })?;
        let m = read_media(store, prefix, &resolve(&hls_dir, &v.uri)?, &sizes).await?;
        let codec = codec_part(v.codecs.as_deref(), "avc1")
            .ok_or_else(|| unusable(format!("variant {} declares no avc1 codec", v.uri)))?
            .to_owned();
        let mut r = rendition(&rung.name, RenditionKind::Video, codec, rung.bitrate_bps, m);
        let res = v.resolution;
        r.width = Some(res.map_or(rung.width, |r| u32::try_from(r.width).unwrap_or(rung.width)));
        r.height = Some(res.map_or(rung.height, |r| {
            u32::try_from(r.height).unwrap_or(rung.height)
        }));
        r.frame_rate = Some(v.frame_rate.unwrap_or_else(|| rung.fps()));
        r.peak_bitrate_bps = v.bandwidth;
        r.average_bitrate_bps = v.average_bandwidth.unwrap_or(r.average_bitrate_bps);
        video.push(r);
    }
    let produced = video
        .iter()
        .chain(audio.iter())
        .map(|r| r.duration_s)
        .fold(0.0, f64::max);
    Ok(Manifest {
        version: 1,
        duration_s: if produced > 0.0 {
            produced
        } else {
            plan.duration_s
        },
        master_playlist: format!("hls/{HLS_BASENAME}.m3u8"),
        segment_target_s: plan.segment_target_s,
        gop_s: plan.gop_s,
        video,
        audio,
        thumbnails: None,
    })
}

/// The frame-capture group wrote `thumbs/poster.NNNNNNN.jpg` (one at 0 s,
/// one at the poster time): the last one becomes `thumbs/poster.jpg`, as in
/// the GStreamer layout, and the numbered captures are removed.
pub async fn promote_poster(
    store: &dyn ObjectStore,
    prefix: &str,
) -> Result<Option<String>, MediaConvertError> {
    let captures_of = format!("{prefix}thumbs/{POSTER_BASENAME}.");
    let mut captures: Vec<String> = store
        .list(&captures_of)
        .await?
        .into_iter()
        .map(|m| m.key)
        .filter(|k| {
            k.strip_prefix(&captures_of)
                .and_then(|rest| rest.strip_suffix(".jpg"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    captures.sort();
    let Some(chosen) = captures.last() else {
        return Ok(None);
    };
    let body = store.get_bytes(chosen).await?;
    store
        .put_bytes(&format!("{prefix}{POSTER_KEY}"), body, Some("image/jpeg"))
        .await?;
    for key in &captures {
        store.delete(key).await?;
    }
    Ok(Some(POSTER_KEY.to_owned()))
}

#[cfg(test)]
#[path = "outputs_tests.rs"]
mod tests;
