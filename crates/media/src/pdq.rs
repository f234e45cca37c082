//! PDQ: the 256-bit perceptual hash published by Meta (ThreatExchange),
//! written from the published algorithm:
//!
//! 1. luminance `Y = 0.299 R + 0.587 G + 0.114 B` (as `f32`);
//! 2. two passes of a box filter along rows then columns (Jarosz: together
//!    a tent filter), window `ceil(width / 128)` along rows and
//!    `ceil(height / 128)` along columns;
//! 3. decimation to 64 x 64 by sampling at the centres of a 64 x 64 grid;
//! 4. quality: the sum over neighbouring pairs of the 64 x 64 image of
//!    `|trunc((a - b) * 100 / 255)|`, divided by 90, capped at 100;
//! 5. DCT-II of the 64 x 64 image keeping frequencies 1..=16 on both axes
//!    (16 x 16; the DC row and column are dropped);
//! 6. bit `16 i + j` is set when coefficient `(i, j)` is greater than the
//!    median (the 128th smallest of the 256).
//!
//! Hashes are stored as 32 bytes in the reference hex order: the hex string
//! prints 16-bit word 15 first, and bit `k` is bit `k % 16` of word `k / 16`.

use serde::{Serialize, Serializer};

/// A PDQ hash with its quality (0-100; below ~50 the hash is unreliable,
/// e.g. for nearly flat images).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Pdq {
    pub hash: [u8; 32],
    pub quality: u8,
}

impl Pdq {
    /// Lowercase hex, 64 characters, the reference format.
    pub fn hex(&self) -> String {
        hash_hex(&self.hash)
    }
}

impl Serialize for Pdq {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Pdq", 2)?;
        st.serialize_field("hash", &self.hex())?;
        st.serialize_field("quality", &self.quality)?;
        st.end()
    }
}

/// Lowercase hex of a 32-byte hash.
pub fn hash_hex(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

/// Parse a 64-character hex PDQ hash.
pub fn parse_hex(s: &str) -> Option<[u8; 32]> {
    let s = s.trim();
    if s.len() != 64 || !s.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, o) in out.iter_mut().enumerate() {
        *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).ok()?;
    }
    Some(out)
}

/// Hamming distance between two PDQ hashes (0-256). Reference practice:
/// 31 or less is a match for photos of quality 50 or more.
pub fn pdq_distance(a: &[u8; 32], b: &[u8; 32]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// The eight dihedral variants, in the reference order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dihedral {
    Original,
    Rotate90,
    Rotate180,
    Rotate270,
    /// Mirror top-bottom.
    FlipX,
    /// Mirror left-right.
    FlipY,
    /// Transpose (mirror about the main diagonal).
    FlipPlus1,
    /// Mirror about the anti-diagonal.
    FlipMinus1,
}

impl Dihedral {
    pub const ALL: [Dihedral; 8] = [
        Dihedral::Original,
        Dihedral::Rotate90,
        Dihedral::Rotate180,
        Dihedral::Rotate270,
        Dihedral::FlipX,
        Dihedral::FlipY,
        Dihedral::FlipPlus1,
        Dihedral::FlipMinus1,
    ];
}

const MIN_DIM: usize = 5;

fn set_bit(h: &mut [u8; 32], k: usize) {
    let word = k / 16;
    let bit = k % 16;
    let byte = (15 - word) * 2 + if bit >= 8 { 0 } else { 1 };
    h[byte] |= 1 << (bit % 8);
}

/// One pass of the reference box filter over `n` values spaced `stride`
/// apart: output `i` is the mean of inputs `i - (w - h) ..= i + h - 1`
/// clipped to the vector, with `h = (w + 2) / 2`.
fn box1d(input: &[f32], out: &mut [f32], start: usize, n: usize, stride: usize, w: usize) {
    let half = (w + 2) / 2;
    let before = w - half; // inputs before i
    let after = half - 1; // inputs after i
    let at = |i: usize| input[start + i * stride];
    let mut sum = 0f32;
    let (mut lo, mut hi) = (0usize, 0usize); // window [lo, hi)
                                             // Fill up to the first output's window.
    while hi < (after + 1).min(n) {
        sum += at(hi);
        hi += 1;
    }
    let mut count = 0;
    let mut inv = 0f32;
    for i in 0..n {
        let add = i > 0 && hi < n;
        let sub = i > before;
        match (add, sub) {
            // Steady state: one dependent add per step.
            (true, true) => {
                sum += at(hi) - at(lo);
                hi += 1;
                lo += 1;
            }
            (true, false) => {
                sum += at(hi);
                hi += 1;
            }
            (false, true) => {
                sum -= at(lo);
                lo += 1;
            }
            (false, false) => {}
        }
        if hi - lo != count {
            count = hi - lo;
            inv = 1.0 / count as f32;
        }
        out[start + i * stride] = sum * inv;
    }
}

/// [`box1d`] down every column at once (row by row, for the cache).
fn box_cols(input: &[f32], out: &mut [f32], w: usize, h: usize, win: usize) {
    let half = (win + 2) / 2;
    let before = win - half;
    let after = half - 1;
    let mut sum = vec![0f32; w];
    let (mut lo, mut hi) = (0usize, 0usize);
    for i in 0..h {
        let want_hi = (i + after + 1).min(h);
        while hi < want_hi {
            for (s, &v) in sum.iter_mut().zip(&input[hi * w..(hi + 1) * w]) {
                *s += v;
            }
            hi += 1;
        }
        let want_lo = i.saturating_sub(before);
        while lo < want_lo {
            for (s, &v) in sum.iter_mut().zip(&input[lo * w..(lo + 1) * w]) {
                *s -= v;
            }
            lo += 1;
        }
        let inv = 1.0 / (hi - lo) as f32;
        for (o, &s) in out[i * w..(i + 1) * w].iter_mut().zip(&sum) {
            *o = s * inv;
        }
    }
}

/// 16 x 16 DCT coefficients and quality from row-major luma.
#[allow(clippy::needless_range_loop)] // matrix code reads best with indices
fn dct16(luma: &[f32], w: usize, h: usize) -> Option<([[f32; 16]; 16], u8)> {
    if w < MIN_DIM || h < MIN_DIM || luma.len() != w * h {
        return None;
    }
    let mut a = luma.to_vec();
    let mut b = vec![0f32; w * h];
    let win_rows = w.div_ceil(128); // window along rows (horizontal)
    let win_cols = h.div_ceil(128);
    for _ in 0..2 {
        for r in 0..h {
            box1d(&a, &mut b, r * w, w, 1, win_rows);
        }
        box_cols(&b, &mut a, w, h, win_cols);
    }
    let mut m = [[0f32; 64]; 64];
    for (i, row) in m.iter_mut().enumerate() {
        let y = ((i as f64 + 0.5) * h as f64 / 64.0) as usize;
        for (j, v) in row.iter_mut().enumerate() {
            let x = ((j as f64 + 0.5) * w as f64 / 64.0) as usize;
            *v = a[y.min(h - 1) * w + x.min(w - 1)];
        }
    }
    // Quality.
    let mut grad: i64 = 0;
    for i in 0..63 {
        for j in 0..64 {
            grad += ((((m[i][j] - m[i + 1][j]) * 100.0) / 255.0) as i32).abs() as i64;
        }
    }
    for row in &m {
        for j in 0..63 {
            grad += ((((row[j] - row[j + 1]) * 100.0) / 255.0) as i32).abs() as i64;
        }
    }
    let quality = (grad / 90).min(100) as u8;
    // DCT: D[k][j] = sqrt(2/64) cos(pi/128 (k+1)(2j+1)); B = D M D^T.
    let d = dct_matrix();
    let mut t = [[0f32; 64]; 16];
    for k in 0..16 {
        for j in 0..64 {
            let mut s = 0f32;
            for (i, row) in m.iter().enumerate() {
                s += d[k][i] * row[j];
            }
            t[k][j] = s;
        }
    }
    let mut out = [[0f32; 16]; 16];
    for (k, orow) in out.iter_mut().enumerate() {
        for (l, o) in orow.iter_mut().enumerate() {
            let mut s = 0f32;
            for j in 0..64 {
                s += t[k][j] * d[l][j];
            }
            *o = s;
        }
    }
    Some((out, quality))
}

fn dct_matrix() -> &'static [[f32; 64]; 16] {
    use std::sync::OnceLock;
    static D: OnceLock<Box<[[f32; 64]; 16]>> = OnceLock::new();
    D.get_or_init(|| {
        let mut d = Box::new([[0f32; 64]; 16]);
        let scale = (2.0f64 / 64.0).sqrt();
        for (i, row) in d.iter_mut().enumerate() {
            for (j, v) in row.iter_mut().enumerate() {
                *v = (scale
                    * (std::f64::consts::PI / 128.0 * (i + 1) as f64 * (2 * j + 1) as f64).cos())
                    as f32;
            }
        }
        d
    })
}

#[allow(clippy::needless_range_loop)]
fn bits(c: &[[f32; 16]; 16]) -> [u8; 32] {
    let mut sorted: Vec<f32> = c.iter().flatten().copied().collect();
    sorted.sort_by(|a, b| a.total_cmp(b));
    let median = sorted[127];
    let mut h = [0u8; 32];
    for i in 0..16 {
        for j in 0..16 {
            if c[i][j] > median {
                set_bit(&mut h, i * 16 + j);
            }
        }
    }
    h
}

#[allow(clippy::needless_range_loop)]
fn transform(c: &[[f32; 16]; 16], t: Dihedral) -> [[f32; 16]; 16] {
    let mut o = [[0f32; 16]; 16];
    for i in 0..16 {
        for j in 0..16 {
            let v = c[i][j];
            // Frequencies are i+1, j+1: mirroring an axis negates the odd
            // frequencies of that axis, i.e. even indices.
            match t {
                Dihedral::Original => o[i][j] = v,
                Dihedral::Rotate90 => o[j][i] = if j & 1 == 1 { v } else { -v },
                Dihedral::Rotate180 => o[i][j] = if (i + j) & 1 == 1 { -v } else { v },
                Dihedral::Rotate270 => o[j][i] = if i & 1 == 1 { v } else { -v },
                Dihedral::FlipX => o[i][j] = if i & 1 == 1 { v } else { -v },
                Dihedral::FlipY => o[i][j] = if j & 1 == 1 { v } else { -v },
                Dihedral::FlipPlus1 => o[j][i] = v,
                Dihedral::FlipMinus1 => o[j][i] = if (i + j) & 1 == 1 { -v } else { v },
            }
        }
    }
    o
}

/// PDQ of row-major luma (`0..255` floats), `None` when smaller than 5 x 5.
pub fn pdq_from_luma(luma: &[f32], width: usize, height: usize) -> Option<Pdq> {
    let (c, quality) = dct16(luma, width, height)?;
    Some(Pdq {
        hash: bits(&c),
        quality,
    })
}

/// Longest side of the luma plane the hashes are computed from.
pub const HASH_MAX_SIDE: usize = 512;

/// The luma plane [`pdq`], [`pdq_dihedral`] and [`crate::phash`] hash:
/// Rec. 601 luma of `img`, halved by 2 x 2 averaging while its longer side
/// exceeds [`HASH_MAX_SIDE`]. Both hashes summarise the image into 64 x 64
/// (PDQ) or 32 x 32 (pHash) samples, so this changes them very little and
/// makes them independent of the decode size.
pub fn hash_luma(img: &crate::RgbImage) -> (Vec<f32>, usize, usize) {
    let (mut luma, mut w, mut h) = (img.luma_f32(), img.width as usize, img.height as usize);
    while w.max(h) > HASH_MAX_SIDE && w.min(h) >= 128 {
        (luma, w, h) = crate::ops::halve_plane(&luma, w, h);
    }
    (luma, w, h)
}

/// PDQ of an RGB image (of its [`hash_luma`] plane).
pub fn pdq(img: &crate::RgbImage) -> Option<Pdq> {
    let (luma, w, h) = hash_luma(img);
    pdq_from_luma(&luma, w, h)
}

/// The hashes of the eight rotations and mirror images of `img`, in the
/// order of [`Dihedral::ALL`] (computed from one DCT, as the reference
/// does). Comparing a hash against all eight of another image finds
/// rotated and mirrored copies.
pub fn pdq_dihedral(img: &crate::RgbImage) -> Option<[Pdq; 8]> {
    let (luma, w, h) = hash_luma(img);
    pdq_dihedral_from_luma(&luma, w, h)
}

/// The eight dihedral hashes of row-major luma (see [`pdq_dihedral`]).
pub fn pdq_dihedral_from_luma(luma: &[f32], width: usize, height: usize) -> Option<[Pdq; 8]> {
    let (c, quality) = dct16(luma, width, height)?;
    Some(Dihedral::ALL.map(|t| Pdq {
        hash: bits(&transform(&c, t)),
        quality,
    }))
}

/// Smallest distance between `a` and any of the eight dihedral hashes `b`.
pub fn pdq_min_distance(a: &[u8; 32], b: &[Pdq; 8]) -> u32 {
    b.iter()
        .map(|p| pdq_distance(a, &p.hash))
        .min()
        .unwrap_or(256)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bit_layout_matches_reference_hex() {
        // Bit 0 is the lowest bit of word 0, printed last.
        let mut h = [0u8; 32];
        set_bit(&mut h, 0);
        assert!(hash_hex(&h).ends_with("0001"));
        let mut h = [0u8; 32];
        set_bit(&mut h, 255);
        assert!(hash_hex(&h).starts_with("8000"));
        let mut h = [0u8; 32];
        set_bit(&mut h, 9);
        assert!(hash_hex(&h).ends_with("0200"));
        assert_eq!(parse_hex(&hash_hex(&h)), Some(h));
    }

    #[test]
    fn box_filter_matches_reference_phases() {
        // Window 7 over 0..16 (the reference's worked example, sums then
        // divided by the window size in use).
        let input: Vec<f32> = (0..16).map(|x| x as f32).collect();
        let mut out = vec![0f32; 16];
        box1d(&input, &mut out, 0, 16, 1, 7);
        let sums = [
            6, 10, 15, 21, 28, 35, 42, 49, 56, 63, 70, 77, 84, 75, 65, 54,
        ];
        let counts = [4, 5, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 6, 5, 4];
        for i in 0..16 {
            assert!(
                (out[i] - sums[i] as f32 / counts[i] as f32).abs() < 1e-5,
                "{i}"
            );
        }
        // Window 8.
        box1d(&input, &mut out, 0, 16, 1, 8);
        let sums = [
            10, 15, 21, 28, 36, 44, 52, 60, 68, 76, 84, 92, 84, 75, 65, 54,
        ];
        let counts = [5, 6, 7, 8, 8, 8, 8, 8, 8, 8, 8, 8, 7, 6, 5, 4];
        for i in 0..16 {
            assert!(
                (out[i] - sums[i] as f32 / counts[i] as f32).abs() < 1e-5,
                "{i}"
            );
        }
    }

    #[test]
    fn tiny_images_have_no_hash() {
        assert!(pdq_from_luma(&[0.0; 16], 4, 4).is_none());
        assert!(pdq_from_luma(&[0.0; 25], 5, 5).is_some());
    }
}
