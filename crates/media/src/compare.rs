//! Is this copy made from that original? Perceptual hashes find candidates fast but rank a
//! cropped copy below other shots of the same scene; a direct comparison of pixels settles it.

use crate::ops;
use crate::RgbImage;

/// Width at which originals are compared: enough detail to tell two shots apart, small
/// enough to try many alignments.
const WIDTH: u32 = 64;
/// Window scales tried: a copy may show 64% to 100% of the original's area.
const SCALES: [f32; 5] = [1.0, 0.95, 0.9, 0.85, 0.8];
/// Offsets tried along each axis.
const STEPS: u32 = 5;

fn luma(img: &RgbImage, w: u32, h: u32) -> Vec<f32> {
    ops::resize(img, w.max(1), h.max(1)).luma_f32()
}

/// Normalised cross-correlation of two equal-length signals, in [-1, 1].
fn ncc(a: &[f32], b: &[f32]) -> f32 {
    let n = a.len() as f32;
    let (ma, mb) = (a.iter().sum::<f32>() / n, b.iter().sum::<f32>() / n);
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        let (dx, dy) = (x - ma, y - mb);
        sab += dx * dy;
        saa += dx * dx;
        sbb += dy * dy;
    }
    if saa <= f32::EPSILON || sbb <= f32::EPSILON {
        return 0.0;
    }
    sab / (saa * sbb).sqrt()
}

/// NCC after dropping the pixels that disagree most: a caption or logo pasted over a copy
/// covers part of the picture and must not outweigh the rest.
fn trimmed_ncc(a: &[f32], b: &[f32], keep: f32) -> f32 {
    let z = |v: &[f32]| {
        let n = v.len() as f32;
        let m = v.iter().sum::<f32>() / n;
        let sd = (v.iter().map(|x| (x - m) * (x - m)).sum::<f32>() / n)
            .sqrt()
            .max(1e-6);
        v.iter().map(|x| (x - m) / sd).collect::<Vec<f32>>()
    };
    let (za, zb) = (z(a), z(b));
    let mut residual: Vec<(f32, usize)> = za
        .iter()
        .zip(&zb)
        .enumerate()
        .map(|(i, (x, y))| ((x - y).abs(), i))
        .collect();
    residual.sort_by(|p, q| p.0.total_cmp(&q.0));
    residual.truncate(((a.len() as f32) * keep) as usize);
    let ka: Vec<f32> = residual.iter().map(|(_, i)| a[*i]).collect();
    let kb: Vec<f32> = residual.iter().map(|(_, i)| b[*i]).collect();
    ncc(&ka, &kb)
}

/// How well `copy` matches some window of `original`. The alignment (window scale, offset,
/// left-right mirror) with the best normalised cross-correlation of luma is found first; the
/// score is then the correlation there over the 80% of pixels that agree best. Near 1.0 for a
/// resized, re-encoded, cropped, captioned or mirrored copy; clearly lower for another photo.
pub fn copy_score(copy: &RgbImage, original: &RgbImage) -> f32 {
    if copy.width == 0 || copy.height == 0 || original.width == 0 || original.height == 0 {
        return 0.0;
    }
    let oh = (WIDTH as f32 * original.height as f32 / original.width as f32)
        .round()
        .max(1.0) as u32;
    let orig = luma(original, WIDTH, oh);
    let aspect = copy.height as f32 / copy.width as f32;
    let mirrored = ops::mirror(copy);
    let mut best = -1.0f32;
    let mut best_pair: Option<(Vec<f32>, Vec<f32>)> = None;
    for scale in SCALES {
        let mut ww = (WIDTH as f32 * scale).round() as u32;
        let mut wh = (ww as f32 * aspect).round() as u32;
        if wh > oh {
            // A taller copy: fit the window by height instead.
            wh = ((oh as f32) * scale).round() as u32;
            ww = (wh as f32 / aspect).round() as u32;
        }
        if ww == 0 || wh == 0 || ww > WIDTH || wh > oh {
            continue;
        }
        for c in [copy, &mirrored] {
            let q = luma(c, ww, wh);
            for sy in 0..STEPS {
                for sx in 0..STEPS {
                    let x0 = (WIDTH - ww) * sx / (STEPS - 1);
                    let y0 = (oh - wh) * sy / (STEPS - 1);
                    let window: Vec<f32> = (0..wh)
                        .flat_map(|y| {
                            let row = ((y0 + y) * WIDTH + x0) as usize;
                            orig[row..row + ww as usize].iter().copied()
                        })
                        .collect();
                    let score = ncc(&q, &window);
                    if score > best {
                        best = score;
                        best_pair = Some((q.clone(), window));
                    }
                }
            }
        }
    }
    match best_pair {
        Some((q, w)) => trimmed_ncc(&q, &w, 0.8),
        None => 0.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A scene of overlapping grey rectangles on a gradient: structure at several scales,
    /// like a photo, unlike a periodic pattern.
    fn pattern(w: u32, h: u32, seed: u32) -> RgbImage {
        let mut img = RgbImage::new(w, h);
        for y in 0..h {
            for x in 0..w {
                // The light falls from a different side in each scene.
                let along = if seed.is_multiple_of(2) {
                    x + y
                } else {
                    (w - x) + y
                };
                let v = (60 + along * 80 / (w + h)) as u8;
                img.put(x, y, [v, v, v]);
            }
        }
        let mut state = seed.wrapping_mul(2_654_435_761) | 1;
        let mut next = |n: u32| {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            state % n
        };
        for _ in 0..12 {
            let (x0, y0) = (next(w), next(h));
            let (rw, rh) = (20 + next(w / 3), 20 + next(h / 3));
            let v = next(256) as u8;
            for y in y0..(y0 + rh).min(h) {
                for x in x0..(x0 + rw).min(w) {
                    img.put(x, y, [v, v, v]);
                }
            }
        }
        img
    }

    #[test]
    fn a_crop_scores_higher_than_another_picture() {
        let a = pattern(320, 240, 3);
        let b = pattern(320, 240, 5);
        let crop = ops::crop(&a, 16, 12, 288, 216);
        let same = copy_score(&crop, &a);
        let other = copy_score(&crop, &b);
        assert!(same > 0.9, "{same}");
        assert!(same > 0.99 && other < same - 0.05, "{same} vs {other}");
        assert!(copy_score(&ops::mirror(&a), &a) > 0.95);
        let mut captioned = a.clone();
        for y in 200..240 {
            for x in 0..320 {
                captioned.put(x, y, [0, 0, 0]);
            }
        }
        assert!(copy_score(&captioned, &a) > 0.9);
    }
}
