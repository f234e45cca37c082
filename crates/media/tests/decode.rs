//! The fast reduced-scale JPEG path against jpeg-decoder's scaled decode,
//! on generated photos (4:2:2 and 4:2:0), greyscale, restart intervals and
//! progressive files (which go to the fallback).

mod common;

use athar_media::decode::{decode_jpeg_fast, decode_reduced};
use athar_media::RgbImage;

fn reference(bytes: &[u8], reduction: u16) -> RgbImage {
    let mut d = jpeg_decoder::Decoder::new(bytes);
    d.read_info().unwrap();
    let i = d.info().unwrap();
    let long = i.width.max(i.height).div_ceil(reduction);
    d.scale(long, long).unwrap();
    let px = d.decode().unwrap();
    let i = d.info().unwrap();
    let px = match i.pixel_format {
        jpeg_decoder::PixelFormat::L8 => px.iter().flat_map(|&v| [v, v, v]).collect(),
        _ => px,
    };
    RgbImage::from_raw(i.width as u32, i.height as u32, px).unwrap()
}

fn compare(bytes: &[u8], reduction: u32, what: &str) {
    let fast = decode_jpeg_fast(bytes, reduction).unwrap_or_else(|e| panic!("{what}: {e}"));
    let slow = reference(bytes, reduction as u16);
    assert_eq!(
        (fast.width, fast.height),
        (slow.width, slow.height),
        "{what} 1/{reduction}"
    );
    // Luma agreement. The methods differ (area averages here, a truncated
    // scaled IDCT there; chroma upsampling too), most on tiny, detailed
    // images.
    let (a, b) = (fast.luma_u8(), slow.luma_u8());
    let diff: u64 = a.iter().zip(&b).map(|(x, y)| x.abs_diff(*y) as u64).sum();
    let mean = diff as f64 / a.len() as f64;
    assert!(
        mean < 3.0,
        "{what} 1/{reduction}: mean luma difference {mean:.2}"
    );
}

#[test]
fn fast_path_agrees_with_jpeg_decoder() {
    let dir = common::corpus(3, 31, 1600, 1200);
    let mut cameras = std::collections::HashSet::new();
    for row in common::ground_truth(dir.path()) {
        if !cameras.insert(row["camera_model"].clone()) {
            continue;
        }
        let bytes = std::fs::read(dir.path().join(&row["path"])).unwrap();
        for r in [2, 4, 8] {
            compare(&bytes, r, &row["path"]);
        }
    }
    for f in common::sample_files() {
        let name = f.file_name().unwrap().to_string_lossy().to_string();
        if name == "corrupted.jpg" {
            continue;
        }
        let bytes = std::fs::read(&f).unwrap();
        if decode_jpeg_fast(&bytes, 2).is_ok() {
            for r in [2, 4, 8] {
                compare(&bytes, r, &name);
            }
        } else {
            // Not baseline (or not handled): the public path still decodes.
            assert!(decode_reduced(&bytes, 16).is_ok(), "{name}");
        }
    }
}

fn test_pixels(w: u16, h: u16) -> Vec<u8> {
    let mut v = Vec::with_capacity(w as usize * h as usize * 3);
    for y in 0..h as u32 {
        for x in 0..w as u32 {
            v.extend_from_slice(&[
                (x * 3 % 256) as u8,
                ((x + y) % 256) as u8,
                (y * 2 % 256) as u8,
            ]);
        }
    }
    v
}

#[test]
fn greyscale_restart_intervals_and_progressive() {
    let (w, h) = (333u16, 250u16);
    let px = test_pixels(w, h);
    // Restart intervals.
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 85);
    enc.set_restart_interval(3);
    enc.encode(&px, w, h, jpeg_encoder::ColorType::Rgb).unwrap();
    for r in [2, 4, 8] {
        compare(&out, r, "restart");
    }
    // Greyscale.
    let grey: Vec<u8> = px.chunks_exact(3).map(|p| p[1]).collect();
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 85)
        .encode(&grey, w, h, jpeg_encoder::ColorType::Luma)
        .unwrap();
    for r in [2, 4, 8] {
        compare(&out, r, "grey");
    }
    // Progressive: the fast path declines, decode_reduced falls back.
    let mut out = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut out, 85);
    enc.set_progressive(true);
    enc.encode(&px, w, h, jpeg_encoder::ColorType::Rgb).unwrap();
    assert!(decode_jpeg_fast(&out, 4).is_err());
    let d = decode_reduced(&out, 80).unwrap();
    assert_eq!((d.image.width, d.image.height, d.reduction), (84, 63, 4));
}

#[test]
fn truncation_is_detected_by_the_fast_path() {
    let px = test_pixels(640, 480);
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&px, 640, 480, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    assert!(decode_jpeg_fast(&out, 4).is_ok());
    for cut in [out.len() / 3, out.len() / 2, out.len() - 100] {
        let e = decode_jpeg_fast(&out[..cut], 4).unwrap_err();
        assert!(e.contains("truncated"), "{e}");
    }
}

#[test]
fn damaged_scans_give_errors_not_panics() {
    let px = test_pixels(320, 240);
    let mut clean = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut clean, 90);
    enc.set_restart_interval(7);
    enc.encode(&px, 320, 240, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    // Where the entropy-coded data starts: after the SOS segment.
    let sos = clean.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let start = sos + 2 + u16::from_be_bytes([clean[sos + 2], clean[sos + 3]]) as usize;
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut errors, mut decoded) = (0, 0);
    for round in 0..300 {
        let mut bytes = clean.clone();
        for _ in 0..1 + round % 4 {
            let at = start + (next() as usize) % (bytes.len() - start - 2);
            bytes[at] = match next() % 4 {
                0 => 0xFF,             // a marker or stuffing where there was none
                1 => bytes[at] ^ 0x10, // a flipped bit
                _ => next() as u8,
            };
        }
        for r in [2, 4, 8] {
            match decode_jpeg_fast(&bytes, r) {
                Ok(img) => {
                    decoded += 1;
                    assert_eq!((img.width, img.height), (320 / r, 240 / r));
                }
                Err(e) => {
                    errors += 1;
                    assert!(e.contains("JPEG"), "{e}");
                }
            }
        }
        // The card reader's region decode on the same damage: an error or an image, never
        // a panic.
        let region = athar_media::decode::Region {
            x0: 0.2,
            y0: 0.2,
            x1: 0.7,
            y1: 0.9,
        };
        let _ = athar_media::decode::decode_reduced_grey_in(&bytes, 160, &[region]);
    }
    // Both outcomes occur: damage is caught, and harmless changes decode.
    assert!(
        errors > 0 && decoded > 0,
        "{errors} errors, {decoded} decoded"
    );
}

/// The card reader's second decode: luma inside the regions, as grey, black outside; the
/// luma agrees with the colour decode's, at the same size, for every sampling layout.
#[test]
fn grey_in_regions_is_the_luma_there_and_black_elsewhere() {
    use athar_media::decode::{decode_reduced_grey_in, Region};
    let (w, h) = (333u16, 250u16);
    let px = test_pixels(w, h);
    let grey: Vec<u8> = px.chunks_exact(3).map(|p| p[1]).collect();
    let mut files = Vec::new();
    for (sampling, restart) in [
        (jpeg_encoder::SamplingFactor::F_1_1, 0),
        (jpeg_encoder::SamplingFactor::F_2_1, 0),
        (jpeg_encoder::SamplingFactor::F_2_2, 5),
    ] {
        let mut c = Vec::new();
        let mut enc = jpeg_encoder::Encoder::new(&mut c, 85);
        enc.set_sampling_factor(sampling);
        enc.set_restart_interval(restart);
        enc.encode(&px, w, h, jpeg_encoder::ColorType::Rgb).unwrap();
        files.push((c, format!("{sampling:?} restart {restart}")));
    }
    let mut g = Vec::new();
    jpeg_encoder::Encoder::new(&mut g, 85)
        .encode(&grey, w, h, jpeg_encoder::ColorType::Luma)
        .unwrap();
    files.push((g, "grey".into()));
    let regions = [
        Region {
            x0: 0.1,
            y0: 0.2,
            x1: 0.45,
            y1: 0.5,
        },
        Region {
            x0: 0.7,
            y0: 0.6,
            x1: 1.0,
            y1: 1.0,
        },
    ];
    for (bytes, what) in &files {
        for want in [40, 80, 160] {
            let colour = decode_reduced(bytes, want).unwrap();
            let g = decode_reduced_grey_in(bytes, want, &regions).unwrap();
            let (iw, ih) = (g.image.width as usize, g.image.height as usize);
            assert_eq!(
                (iw, ih, g.reduction),
                (
                    colour.image.width as usize,
                    colour.image.height as usize,
                    colour.reduction
                ),
                "{what} {want}"
            );
            let luma = colour.image.luma_u8();
            let inside = |r: &Region, x: usize, y: usize| {
                (r.x0 * iw as f32) as usize <= x
                    && x < (r.x1 * iw as f32).ceil() as usize
                    && (r.y0 * ih as f32) as usize <= y
                    && y < (r.y1 * ih as f32).ceil() as usize
            };
            let (mut n, mut diff) = (0u64, 0u64);
            for y in 0..ih {
                for x in 0..iw {
                    let p = g.image.get(x as u32, y as u32);
                    if regions.iter().any(|r| inside(r, x, y)) {
                        assert!(
                            p[0] == p[1] && p[1] == p[2],
                            "{what} {want}: grey at {x},{y}"
                        );
                        n += 1;
                        diff += p[0].abs_diff(luma[y * iw + x]) as u64;
                    } else if !regions.iter().any(|r| {
                        // Whole blocks are decoded: allow one block (8 px) of overreach.
                        let m = 8.0 / iw as f32;
                        let r = Region {
                            x0: r.x0 - m,
                            y0: r.y0 - m,
                            x1: r.x1 + m,
                            y1: r.y1 + m,
                        };
                        inside(&r, x, y)
                    }) {
                        assert_eq!(p, [0, 0, 0], "{what} {want}: black at {x},{y}");
                    }
                }
            }
            // The JPEG's own Y against luma recomputed from its RGB: rounding apart.
            let mean = diff as f64 / n as f64;
            assert!(
                n > 0 && mean < 1.5,
                "{what} {want}: mean difference {mean:.2}"
            );
        }
    }
}
