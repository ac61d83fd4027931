//! Poster, sprite sheets and the WebVTT storyboard from grabbed frames.

use std::fmt::Write as _;
use std::path::Path;

use gst::prelude::*;
use gstreamer as gst;
use vod_plan::{ThumbSpec, Thumbnails};

use crate::error::{PipelineError, Result};

fn i420_len(w: u32, h: u32) -> usize {
    (w as usize) * (h as usize) * 3 / 2
}

pub(crate) fn write(
    spec: &ThumbSpec,
    duration_s: f64,
    dir: &Path,
    tiles: &[(u64, Vec<u8>)],
    poster: &[(u64, Vec<u8>)],
) -> Result<Thumbnails> {
    let (tw, th) = (spec.tile_width, spec.tile_height);
    let tiles: Vec<&[u8]> = tiles
        .iter()
        .map(|(_, d)| d.as_slice())
        .filter(|d| d.len() == i420_len(tw, th))
        .collect();
    let mut out = Thumbnails {
        poster: None,
        sprites: Vec::new(),
        storyboard: None,
        tile_width: tw,
        tile_height: th,
        interval_s: spec.interval_s,
        columns: spec.columns,
        rows: spec.rows,
        tile_count: tiles.len(),
    };
    if let Some((_, frame)) = poster.last()
        && write_poster(spec, dir, frame)?
    {
        out.poster = Some("thumbs/poster.jpg".into());
    }
    if tiles.is_empty() {
        tracing::warn!("no thumbnail frames were captured");
        return Ok(out);
    }
    let per_sheet = spec.tiles_per_sheet().max(1) as usize;
    let mut vtt = String::from("WEBVTT\n");
    for (sheet_idx, sheet_tiles) in tiles.chunks(per_sheet).enumerate() {
        let cols = sheet_tiles.len().min(spec.columns as usize) as u32;
        let rows = sheet_tiles.len().div_ceil(spec.columns.max(1) as usize) as u32;
        let (sw, sh) = (cols * tw, rows * th);
        let mut sheet = blank_i420(sw, sh);
        let name = format!("sprite_{sheet_idx:03}.jpg");
        for (i, tile) in sheet_tiles.iter().enumerate() {
            let (x, y) = (
                (i as u32 % spec.columns) * tw,
                (i as u32 / spec.columns) * th,
            );
            blit_i420(&mut sheet, sw, sh, tile, tw, th, x, y);
            let global = sheet_idx * per_sheet + i;
            let start = global as f64 * f64::from(spec.interval_s);
            let is_last = global + 1 == tiles.len();
            let end = if is_last {
                duration_s.max(start + 0.001)
            } else {
                start + f64::from(spec.interval_s)
            };
            let _ = write!(
                vtt,
                "\n{} --> {}\n{name}#xywh={x},{y},{tw},{th}\n",
                timestamp(start),
                timestamp(end)
            );
        }
        encode_jpeg(&sheet, sw, sh, &dir.join(&name))?;
        out.sprites.push(format!("thumbs/{name}"));
    }
    let vtt_path = dir.join("storyboard.vtt");
    std::fs::write(&vtt_path, vtt).map_err(|e| PipelineError::io(&vtt_path, e))?;
    out.storyboard = Some("thumbs/storyboard.vtt".into());
    Ok(out)
}

/// `dir/poster.jpg` from a grabbed frame; `false` when the frame is not
/// the poster's size (nothing written).
pub(crate) fn write_poster(spec: &ThumbSpec, dir: &Path, frame: &[u8]) -> Result<bool> {
    if frame.len() != i420_len(spec.poster_width, spec.poster_height) {
        return Ok(false);
    }
    encode_jpeg(
        frame,
        spec.poster_width,
        spec.poster_height,
        &dir.join("poster.jpg"),
    )?;
    Ok(true)
}

pub(crate) fn timestamp(s: f64) -> String {
    let ms = (s * 1000.0).round() as u64;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        ms / 3_600_000,
        ms / 60_000 % 60,
        ms / 1000 % 60,
        ms % 1000
    )
}

fn blank_i420(w: u32, h: u32) -> Vec<u8> {
    let luma = (w * h) as usize;
    let mut v = vec![16u8; luma];
    v.resize(i420_len(w, h), 128);
    v
}

/// Copies an I420 tile (tightly packed: even sizes, widths multiple of 8)
/// into an I420 sheet at an even offset.
#[allow(
    clippy::too_many_arguments,
    reason = "plane geometry is clearer spelled out"
)]
fn blit_i420(dst: &mut [u8], dw: u32, dh: u32, src: &[u8], sw: u32, sh: u32, x: u32, y: u32) {
    let planes = [
        (0usize, 0usize, 1u32),
        ((dw * dh) as usize, (sw * sh) as usize, 2),
        (
            (dw * dh + dw * dh / 4) as usize,
            (sw * sh + sw * sh / 4) as usize,
            2,
        ),
    ];
    for (doff, soff, div) in planes {
        let (dstride, sstride) = ((dw / div) as usize, (sw / div) as usize);
        for row in 0..(sh / div) as usize {
            let d = doff + (y / div) as usize * dstride + row * dstride + (x / div) as usize;
            let s = soff + row * sstride;
            if let (Some(dst_row), Some(src_row)) =
                (dst.get_mut(d..d + sstride), src.get(s..s + sstride))
            {
                dst_row.copy_from_slice(src_row);
            }
        }
    }
}

/// Encodes one I420 picture with GStreamer's jpegenc (fast even in debug
/// builds, unlike a Rust encoder compiled without optimisation).
fn encode_jpeg(data: &[u8], w: u32, h: u32, path: &Path) -> Result<()> {
    let desc = format!(
        "appsrc name=src format=time caps=video/x-raw,format=I420,width={w},height={h},framerate=0/1 \
         ! jpegenc quality=85 ! filesink name=sink"
    );
    let pipeline = gst::parse::launch(&desc)
        .map_err(PipelineError::gst)?
        .downcast::<gst::Pipeline>()
        .map_err(|_| PipelineError::gst("jpeg pipeline is not a pipeline"))?;
    let sink = pipeline
        .by_name("sink")
        .ok_or_else(|| PipelineError::gst("no filesink"))?;
    sink.set_property("location", path.to_string_lossy().to_string());
    let src = pipeline
        .by_name("src")
        .and_then(|e| e.downcast::<gstreamer_app::AppSrc>().ok())
        .ok_or_else(|| PipelineError::gst("no appsrc"))?;
    pipeline
        .set_state(gst::State::Playing)
        .map_err(PipelineError::gst)?;
    let mut buffer = gst::Buffer::from_mut_slice(data.to_vec());
    if let Some(b) = buffer.get_mut() {
        b.set_pts(gst::ClockTime::ZERO);
    }
    let pushed = src
        .push_buffer(buffer)
        .map_err(PipelineError::gst)
        .and_then(|_| src.end_of_stream().map_err(PipelineError::gst));
    let result = pushed.and_then(|_| wait_eos(&pipeline));
    let _ = pipeline.set_state(gst::State::Null);
    result
}

fn wait_eos(pipeline: &gst::Pipeline) -> Result<()> {
    let bus = pipeline.bus().ok_or_else(|| PipelineError::gst("no bus"))?;
    match bus.timed_pop_filtered(
        gst::ClockTime::from_seconds(30),
        &[gst::MessageType::Eos, gst::MessageType::Error],
    ) {
        Some(msg) => match msg.view() {
            gst::MessageView::Error(e) => Err(PipelineError::gst(e.error())),
            _ => Ok(()),
        },
        None => Err(PipelineError::gst("JPEG encoding timed out")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vtt_timestamps() {
        assert_eq!(timestamp(0.0), "00:00:00.000");
        assert_eq!(timestamp(3725.5), "01:02:05.500");
    }

    #[test]
    fn blit_places_planes() {
        let (tw, th) = (8, 2);
        let tile = vec![200u8; i420_len(tw, th)];
        let mut sheet = blank_i420(16, 4);
        blit_i420(&mut sheet, 16, 4, &tile, tw, th, 8, 2);
        assert_eq!(sheet[2 * 16 + 8], 200);
        assert_eq!(sheet[2 * 16 + 7], 16);
        assert_eq!(sheet[0], 16);
        // U plane starts after 64 luma bytes, stride 8: row 1, column 4.
        assert_eq!(sheet[64 + 8 + 4], 200);
        assert_eq!(sheet[64 + 8 + 3], 128);
    }
}
