//! Plane resizing for `vodscale`, on `fast_image_resize`.
//!
//! A separable resize is a vertical pass and a horizontal pass. The library
//! does the vertical pass of a one-byte-per-pixel plane fast (the same
//! kernel for a whole row, SIMD across pixels), but its horizontal pass
//! costs about 2 ns per output pixel whatever the kernel size: 2.0 ms of the
//! 2.3 ms a 1080p→720p luma plane takes. Its four-channel horizontal pass
//! costs about the same per *pixel*, so four rows are packed into the
//! channels of one RGBA-like row, resized together and unpacked: 0.3 ms,
//! plus 0.4 ms of packing, with bit-identical output.

use fast_image_resize as fir;

/// A plane as GStreamer lays it out: rows of `stride` bytes of which the
/// first `width` are pixels.
pub(crate) struct Plane<'a> {
    pub data: &'a [u8],
    pub stride: usize,
    pub width: usize,
    pub height: usize,
}

pub(crate) struct PlaneMut<'a> {
    pub data: &'a mut [u8],
    pub stride: usize,
    pub width: usize,
    pub height: usize,
}

/// The resizer and intermediate buffers, kept across frames.
pub(crate) struct Scratch {
    resizer: fir::Resizer,
    vertical: Vec<u8>,
    packed: Vec<u8>,
    packed_out: Vec<u8>,
}

impl Default for Scratch {
    fn default() -> Self {
        Self {
            resizer: fir::Resizer::new(),
            vertical: Vec::new(),
            packed: Vec::new(),
            packed_out: Vec::new(),
        }
    }
}

fn dim(v: usize) -> Result<u32, String> {
    u32::try_from(v).map_err(|_| format!("dimension {v} out of range"))
}

fn check(data_len: usize, stride: usize, width: usize, height: usize) -> Result<(), String> {
    if width == 0 || height == 0 || stride < width {
        return Err(format!("bad plane {width}x{height} stride {stride}"));
    }
    // GStreamer sizes every plane stride × height; the library wants that.
    let needed = stride * height;
    if data_len < needed {
        return Err(format!("plane of {data_len} bytes, {needed} needed"));
    }
    Ok(())
}

/// Resizes `src` into `dst` with `filter`, both passes in full (a
/// downscale filters with the kernel widened to the ratio).
pub(crate) fn resize_plane(
    scratch: &mut Scratch,
    filter: fir::FilterType,
    src: &Plane<'_>,
    dst: &mut PlaneMut<'_>,
) -> Result<(), String> {
    check(src.data.len(), src.stride, src.width, src.height)?;
    check(dst.data.len(), dst.stride, dst.width, dst.height)?;
    let opts = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(filter))
        .use_alpha(false);
    // Vertical pass into a packed (stride = width) buffer.
    let (rows, rows_stride): (&[u8], usize) = if src.height == dst.height {
        (src.data, src.stride)
    } else {
        // Declared stride-wide (so padded rows need no copy) and cropped
        // to the visible width: the library then skips its horizontal pass.
        let image = fir::images::ImageRef::new(
            dim(src.stride)?,
            dim(src.height)?,
            src.data,
            fir::PixelType::U8,
        )
        .map_err(|e| format!("source plane: {e}"))?;
        warm(&src.data[..src.stride * src.height]);
        let vertical = grown(&mut scratch.vertical, src.width * dst.height);
        let mut out = fir::images::Image::from_slice_u8(
            dim(src.width)?,
            dim(dst.height)?,
            vertical,
            fir::PixelType::U8,
        )
        .map_err(|e| format!("vertical pass: {e}"))?;
        let crop = opts.crop(0.0, 0.0, src.width as f64, src.height as f64);
        scratch
            .resizer
            .resize(&image, &mut out, &crop)
            .map_err(|e| format!("vertical pass: {e}"))?;
        (&scratch.vertical[..src.width * dst.height], src.width)
    };
    if src.width == dst.width {
        for (y, out) in dst.data.chunks_mut(dst.stride).take(dst.height).enumerate() {
            let from = &rows[y * rows_stride..y * rows_stride + dst.width];
            out[..dst.width].copy_from_slice(from);
        }
        return Ok(());
    }
    // Horizontal pass, four rows per packed row.
    let groups = dst.height.div_ceil(4);
    let packed = grown(&mut scratch.packed, src.width * 4 * groups);
    pack_rows(rows, rows_stride, src.width, dst.height, packed);
    let packed_out = grown(&mut scratch.packed_out, dst.width * 4 * groups);
    let image =
        fir::images::ImageRef::new(dim(src.width)?, dim(groups)?, packed, fir::PixelType::U8x4)
            .map_err(|e| format!("horizontal pass: {e}"))?;
    let mut out = fir::images::Image::from_slice_u8(
        dim(dst.width)?,
        dim(groups)?,
        packed_out,
        fir::PixelType::U8x4,
    )
    .map_err(|e| format!("horizontal pass: {e}"))?;
    scratch
        .resizer
        .resize(&image, &mut out, &opts)
        .map_err(|e| format!("horizontal pass: {e}"))?;
    unpack_rows(&scratch.packed_out[..dst.width * 4 * groups], dst);
    Ok(())
}

/// Reads one byte of every cache line of `data`, front to back. A decoded
/// frame reaches a rung's scaler cold (another thread wrote it), and the
/// vertical pass reads it 64 bytes at a time across as many rows as the
/// kernel has taps, a pattern the hardware prefetcher follows badly: on
/// frames not in cache the three rungs took 4.6 ms a 1080p frame, and
/// 2.6 ms after this sequential read (2.3 ms when the frame is hot).
fn warm(data: &[u8]) {
    let acc = data.chunks(64).fold(0u8, |acc, line| acc ^ line[0]);
    std::hint::black_box(acc);
}

/// The first `len` bytes of `buf`, growing it only when too short: luma
/// and chroma planes alternate, and shrinking would re-zero every frame.
fn grown(buf: &mut Vec<u8>, len: usize) -> &mut [u8] {
    if buf.len() < len {
        buf.resize(len, 0);
    }
    &mut buf[..len]
}

/// Interleaves rows 4g..4g+3 into packed row g (byte c of pixel x is row
/// 4g+c); missing rows of the last group repeat its last row.
fn pack_rows(rows: &[u8], stride: usize, width: usize, height: usize, packed: &mut [u8]) {
    let row = |y: usize| {
        let y = y.min(height - 1);
        &rows[y * stride..y * stride + width]
    };
    for (g, out) in packed.chunks_exact_mut(width * 4).enumerate() {
        let (r0, r1, r2, r3) = (row(4 * g), row(4 * g + 1), row(4 * g + 2), row(4 * g + 3));
        for ((((px, a), b), c), d) in out.chunks_exact_mut(4).zip(r0).zip(r1).zip(r2).zip(r3) {
            px.copy_from_slice(&[*a, *b, *c, *d]);
        }
    }
}

fn unpack_rows(packed: &[u8], dst: &mut PlaneMut<'_>) {
    let (width, stride, height) = (dst.width, dst.stride, dst.height);
    for (g, src) in packed.chunks_exact(width * 4).enumerate() {
        let top = 4 * g;
        let rows = &mut dst.data[top * stride..];
        if top + 4 <= height {
            let (r0, rest) = rows.split_at_mut(stride);
            let (r1, rest) = rest.split_at_mut(stride);
            let (r2, r3) = rest.split_at_mut(stride);
            let mut outs = [
                &mut r0[..width],
                &mut r1[..width],
                &mut r2[..width],
                &mut r3[..width],
            ];
            unpack_group(src, &mut outs);
        } else {
            for (c, row) in rows.chunks_mut(stride).take(height - top).enumerate() {
                for (o, px) in row[..width].iter_mut().zip(src.chunks_exact(4)) {
                    *o = px[c];
                }
            }
        }
    }
}

/// Splits one packed row into four rows, 16 pixels at a time. Each pixel
/// is read as one little-endian word and row c takes byte c by shifting:
/// the compiler vectorises shifts and narrowing packs even at the x86-64
/// baseline (SSE2, no byte shuffle), which made the whole scaler 20 %
/// faster than byte-wise deinterleaving through arrays.
fn unpack_group(src: &[u8], outs: &mut [&mut [u8]; 4]) {
    const B: usize = 16;
    let width = outs[0].len();
    let whole = width / B * B;
    for (k, block) in src[..whole * 4].chunks_exact(4 * B).enumerate() {
        let mut words = [0u32; B];
        for (w, px) in words.iter_mut().zip(block.chunks_exact(4)) {
            *w = u32::from_le_bytes([px[0], px[1], px[2], px[3]]);
        }
        for (c, out) in outs.iter_mut().enumerate() {
            let dst = &mut out[k * B..(k + 1) * B];
            for (d, w) in dst.iter_mut().zip(&words) {
                *d = (w >> (8 * c)) as u8;
            }
        }
    }
    for (i, px) in src[whole * 4..width * 4].chunks_exact(4).enumerate() {
        for (out, v) in outs.iter_mut().zip(px) {
            out[whole + i] = *v;
        }
    }
}

#[cfg(test)]
#[path = "resize_tests.rs"]
mod tests;
