#![allow(clippy::unwrap_used, reason = "tests fail loudly")]

use super::*;

/// Deterministic texture with edges and noise, so every tap matters.
fn plane(width: usize, height: usize, stride: usize, seed: u32) -> Vec<u8> {
    let mut x = seed;
    let mut data = vec![0xAA; stride * height];
    for y in 0..height {
        for c in 0..width {
            x = x.wrapping_mul(1_103_515_245).wrapping_add(12_345);
            let edge = if (c / 7 + y / 5) % 2 == 0 { 200 } else { 30 };
            data[y * stride + c] = (edge + (x >> 28) as usize) as u8;
        }
    }
    data
}

/// The library's own one-pass resize of a contiguous copy: the reference.
fn direct(src: &[u8], sw: usize, sh: usize, stride: usize, dw: usize, dh: usize) -> Vec<u8> {
    let packed: Vec<u8> = (0..sh)
        .flat_map(|y| src[y * stride..y * stride + sw].iter().copied())
        .collect();
    let image =
        fir::images::ImageRef::new(sw as u32, sh as u32, &packed, fir::PixelType::U8).unwrap();
    let mut out = fir::images::Image::new(dw as u32, dh as u32, fir::PixelType::U8);
    let opts = fir::ResizeOptions::new()
        .resize_alg(fir::ResizeAlg::Convolution(fir::FilterType::CatmullRom));
    fir::Resizer::new().resize(&image, &mut out, &opts).unwrap();
    out.into_vec()
}

#[test]
fn matches_a_one_pass_resize_bit_for_bit() {
    let mut scratch = Scratch::default();
    // (src w, h, stride) -> (dst w, h, stride)
    let cases = [
        ((1920, 1080, 1920), (1280, 720, 1280)),
        ((1918, 1080, 1920), (854, 480, 856)),
        ((1920, 1080, 1920), (640, 360, 640)),
        ((720, 1280, 720), (480, 854, 480)),
        ((1280, 720, 1280), (1280, 480, 1280)),
        ((1280, 720, 1280), (854, 720, 856)),
        ((9, 7, 12), (5, 3, 8)),
        ((321, 241, 324), (642, 482, 644)),
        ((64, 64, 64), (64, 64, 64)),
    ];
    for (i, ((sw, sh, ss), (dw, dh, ds))) in cases.into_iter().enumerate() {
        let src = plane(sw, sh, ss, i as u32 + 1);
        let mut dst = vec![0x55; ds * dh];
        resize_plane(
            &mut scratch,
            fir::FilterType::CatmullRom,
            &Plane {
                data: &src,
                stride: ss,
                width: sw,
                height: sh,
            },
            &mut PlaneMut {
                data: &mut dst,
                stride: ds,
                width: dw,
                height: dh,
            },
        )
        .unwrap();
        let want = direct(&src, sw, sh, ss, dw, dh);
        for y in 0..dh {
            assert_eq!(
                &dst[y * ds..y * ds + dw],
                &want[y * dw..(y + 1) * dw],
                "{sw}x{sh} -> {dw}x{dh}, row {y}"
            );
            // Row padding is left alone.
            assert!(dst[y * ds + dw..(y + 1) * ds].iter().all(|&b| b == 0x55));
        }
    }
}

#[test]
fn refuses_planes_smaller_than_their_geometry() {
    let mut scratch = Scratch::default();
    let src = vec![0u8; 100];
    let mut dst = vec![0u8; 100];
    let err = resize_plane(
        &mut scratch,
        fir::FilterType::CatmullRom,
        &Plane {
            data: &src,
            stride: 20,
            width: 20,
            height: 10,
        },
        &mut PlaneMut {
            data: &mut dst,
            stride: 10,
            width: 10,
            height: 5,
        },
    )
    .unwrap_err();
    assert!(err.contains("200 needed"), "{err}");
}
