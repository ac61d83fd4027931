//! Media and master playlists (m3u8-rs) from what the segmenters recorded.

use std::path::Path;

use m3u8_rs::{
    AlternativeMedia, AlternativeMediaType, MasterPlaylist, MediaPlaylist, MediaPlaylistType,
    MediaSegment, Resolution, VariantStream,
};
use vod_plan::codec::avc1_codec;
use vod_plan::outputs::segment_name;
use vod_plan::{Plan, Rendition, RenditionKind, SegmentInfo, SegmentRun};

use crate::error::{PipelineError, Result};
use crate::graph::SegLog;

#[derive(Debug, Clone, PartialEq)]
pub struct Packaged {
    pub master: String,
    pub video: Vec<Rendition>,
    pub audio: Option<Rendition>,
}

struct Measured {
    durations: Vec<f64>,
    bytes: u64,
    peak_bps: u64,
    average_bps: u64,
}

/// The segments a segmenter wrote: durations from the fragment start
/// times, sizes from the files (what the playlists and BANDWIDTH need).
pub(crate) fn run_of(name: &str, log: &SegLog) -> Result<SegmentRun> {
    if log.starts_ns.is_empty() {
        return Err(PipelineError::Decode {
            detail: format!("no output was produced for {}", log.dir.display()),
        });
    }
    let mut ends: Vec<u64> = log.starts_ns.iter().skip(1).copied().collect();
    ends.push(log.end_ns.max(log.starts_ns.last().copied().unwrap_or(0)));
    let mut segments = Vec::with_capacity(ends.len());
    for (i, (s, e)) in log.starts_ns.iter().zip(&ends).enumerate() {
        let index = log.first_index + u32::try_from(i).unwrap_or(u32::MAX);
        let path = log.dir.join(segment_name(index));
        let bytes = std::fs::metadata(&path)
            .map_err(|e| PipelineError::io(&path, e))?
            .len();
        segments.push(SegmentInfo {
            index,
            duration_s: e.saturating_sub(*s) as f64 / 1e9,
            bytes,
        });
    }
    Ok(SegmentRun {
        name: name.to_owned(),
        sps: log.sps,
        segments,
    })
}

fn measure(run: &SegmentRun) -> Result<Measured> {
    if run.segments.is_empty() {
        return Err(PipelineError::Decode {
            detail: format!("no output was produced for {}", run.name),
        });
    }
    // Segments must follow each other: a gap would need a discontinuity.
    for (want, seg) in run.segments.iter().enumerate() {
        if seg.index as usize != want {
            return Err(PipelineError::gst(format!(
                "{}: segment {} is missing",
                run.name,
                segment_name(u32::try_from(want).unwrap_or(u32::MAX))
            )));
        }
    }
    let durations: Vec<f64> = run.segments.iter().map(|s| s.duration_s).collect();
    let bytes: u64 = run.segments.iter().map(|s| s.bytes).sum();
    // The HLS spec's BANDWIDTH is the peak over every segment, short final
    // ones included.
    let peak = run
        .segments
        .iter()
        .filter(|s| s.duration_s > 0.0)
        .map(|s| s.bytes as f64 * 8.0 / s.duration_s)
        .fold(0f64, f64::max);
    let total: f64 = durations.iter().sum();
    let average = if total > 0.0 {
        bytes as f64 * 8.0 / total
    } else {
        0.0
    };
    Ok(Measured {
        durations,
        bytes,
        peak_bps: peak.ceil() as u64,
        average_bps: average.ceil() as u64,
    })
}

fn write_media_playlist(dir: &Path, durations: &[f64]) -> Result<()> {
    let target = durations
        .iter()
        .map(|d| d.round() as u64)
        .max()
        .unwrap_or(1)
        .max(1);
    let playlist = MediaPlaylist {
        version: Some(3),
        target_duration: target,
        media_sequence: 0,
        segments: durations
            .iter()
            .enumerate()
            .map(|(i, d)| MediaSegment {
                uri: segment_name(u32::try_from(i).unwrap_or(u32::MAX)),
                duration: *d as f32,
                ..Default::default()
            })
            .collect(),
        end_list: true,
        playlist_type: Some(MediaPlaylistType::Vod),
        independent_segments: true,
        ..Default::default()
    };
    write_playlist(&dir.join("index.m3u8"), |w| playlist.write_to(w))
}

fn write_playlist(path: &Path, f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> Result<()> {
    let mut buf = Vec::new();
    f(&mut buf).map_err(|e| PipelineError::io(path, e))?;
    std::fs::write(path, buf).map_err(|e| PipelineError::io(path, e))
}

/// Media playlists under `hls/<name>/` and the master playlist, from the
/// segments every rendition has (in order, from 0, whichever tasks wrote
/// them).
pub(crate) fn package(
    plan: &Plan,
    hls: &Path,
    video: &[SegmentRun],
    audio: Option<&SegmentRun>,
) -> Result<Packaged> {
    let audio_out = match (&plan.audio, audio) {
        (Some(a), Some(run)) => {
            let m = measure(run)?;
            write_media_playlist(&hls.join(&a.name), &m.durations)?;
            Some(rendition(
                &a.name,
                RenditionKind::Audio,
                a.codec.codecs_string().into(),
                a.bitrate_bps,
                m,
            ))
        }
        _ => None,
    };
    let mut videos = Vec::new();
    for (rung, run) in plan.video.iter().zip(video) {
        let m = measure(run)?;
        write_media_playlist(&hls.join(&rung.name), &m.durations)?;
        let codec = run.sps.map(avc1_codec).unwrap_or_else(|| {
            tracing::warn!(rung = %rung.name, "no SPS seen; assuming High@4.0");
            "avc1.640028".into()
        });
        let mut r = rendition(&rung.name, RenditionKind::Video, codec, rung.bitrate_bps, m);
        r.width = Some(rung.width);
        r.height = Some(rung.height);
        r.frame_rate = Some(rung.fps());
        videos.push(r);
    }

    let mut master = MasterPlaylist {
        version: Some(4),
        independent_segments: true,
        ..Default::default()
    };
    let rel = |r: &Rendition| r.playlist.trim_start_matches("hls/").to_owned();
    if let Some(a) = &audio_out {
        master.alternatives.push(AlternativeMedia {
            media_type: AlternativeMediaType::Audio,
            uri: (!videos.is_empty()).then(|| rel(a)),
            group_id: plan
                .audio
                .as_ref()
                .map(|p| p.group_id.clone())
                .unwrap_or_default(),
            name: "Audio".into(),
            default: true,
            autoselect: true,
            channels: Some("2".into()),
            ..Default::default()
        });
    }
    for v in &videos {
        let (peak_a, avg_a, codec_a) = audio_out
            .as_ref()
            .map(|a| {
                (
                    a.peak_bitrate_bps,
                    a.average_bitrate_bps,
                    format!(",{}", a.codecs),
                )
            })
            .unwrap_or_default();
        master.variants.push(VariantStream {
            uri: rel(v),
            bandwidth: v.peak_bitrate_bps + peak_a,
            average_bandwidth: Some(v.average_bitrate_bps + avg_a),
            codecs: Some(format!("{}{codec_a}", v.codecs)),
            resolution: v.width.zip(v.height).map(|(w, h)| Resolution {
                width: w.into(),
                height: h.into(),
            }),
            frame_rate: v.frame_rate.map(|f| (f * 1000.0).round() / 1000.0),
            audio: audio_out
                .as_ref()
                .and(plan.audio.as_ref())
                .map(|a| a.group_id.clone()),
            ..Default::default()
        });
    }
    if videos.is_empty() {
        master.alternatives.clear();
        if let Some(a) = &audio_out {
            master.variants.push(VariantStream {
                uri: rel(a),
                bandwidth: a.peak_bitrate_bps,
                average_bandwidth: Some(a.average_bitrate_bps),
                codecs: Some(a.codecs.clone()),
                ..Default::default()
            });
        }
    }
    write_playlist(&hls.join("master.m3u8"), |w| master.write_to(w))?;
    Ok(Packaged {
        master: "hls/master.m3u8".into(),
        video: videos,
        audio: audio_out,
    })
}

fn rendition(
    name: &str,
    kind: RenditionKind,
    codecs: String,
    target: u64,
    m: Measured,
) -> Rendition {
    Rendition {
        name: name.to_owned(),
        kind,
        playlist: format!("hls/{name}/index.m3u8"),
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
