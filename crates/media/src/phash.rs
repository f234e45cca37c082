//! 64-bit DCT perceptual hash ("pHash" in the common DCT form):
//!
//! 1. luma (Rec. 601) of the image, resized to 32 x 32 with a triangle
//!    (area-like) filter, ignoring aspect ratio;
//! 2. 2-D DCT-II of the 32 x 32;
//! 3. the 8 x 8 coefficients of frequencies 1..=8 on both axes (the DC row
//!    and column are skipped);
//! 4. bit `63 - (8 (v - 1) + (u - 1))` (row `v`, column `u`; the first
//!    coefficient is the most significant bit) is set when the coefficient
//!    is greater than the median of the 64 (mean of the two middle values).

use crate::RgbImage;

fn dct32() -> &'static [[f32; 32]; 9] {
    use std::sync::OnceLock;
    static D: OnceLock<[[f32; 32]; 9]> = OnceLock::new();
    D.get_or_init(|| {
        let mut d = [[0f32; 32]; 9];
        for (k, row) in d.iter_mut().enumerate() {
            for (n, v) in row.iter_mut().enumerate() {
                *v = (std::f64::consts::PI / 32.0 * (n as f64 + 0.5) * k as f64).cos() as f32;
            }
        }
        d
    })
}

/// pHash of `img`.
pub fn phash(img: &RgbImage) -> u64 {
    let (luma, w, h) = crate::pdq::hash_luma(img);
    phash_from_luma(&luma, w, h)
}

/// pHash of row-major luma.
pub fn phash_from_luma(luma: &[f32], w: usize, h: usize) -> u64 {
    let luma = crate::ops::resize_plane(luma, w, h, 32, 32);
    let d = dct32();
    // Rows: T[k][x] = sum_y D[k][y] L[y][x], k = 1..=8.
    let mut t = [[0f32; 32]; 8];
    for k in 0..8 {
        for x in 0..32 {
            let mut s = 0f32;
            for y in 0..32 {
                s += d[k + 1][y] * luma[y * 32 + x];
            }
            t[k][x] = s;
        }
    }
    let mut c = [0f32; 64];
    for v in 0..8 {
        for u in 0..8 {
            let mut s = 0f32;
            for x in 0..32 {
                s += t[v][x] * d[u + 1][x];
            }
            c[v * 8 + u] = s;
        }
    }
    let mut sorted = c;
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = (sorted[31] + sorted[32]) / 2.0;
    let mut h = 0u64;
    for (i, &v) in c.iter().enumerate() {
        if v > median {
            h |= 1 << (63 - i);
        }
    }
    h
}

/// Hamming distance between two pHashes (0-64).
pub fn phash_distance(a: u64, b: u64) -> u32 {
    (a ^ b).count_ones()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_and_stable() {
        let mut img = RgbImage::new(200, 150);
        for y in 0..150 {
            for x in 0..200 {
                let v = (((x as f32 / 23.0).sin()
                    + (y as f32 / 17.0).cos()
                    + (x as f32 * y as f32 / 900.0).sin())
                    * 60.0
                    + 128.0) as u8;
                img.put(x, y, [v, v / 2, 255 - v]);
            }
        }
        let h = phash(&img);
        let ones = h.count_ones();
        assert!((24..=40).contains(&ones), "{ones}");
        let smaller = crate::ops::resize(&img, 100, 75);
        assert!(phash_distance(h, phash(&smaller)) <= 6);
    }
}
