//! PDQ: the 256-bit perceptual hash published by Meta (ThreatExchange),
//! written from the published algorithm:
//!
//! 1. luminance `Y = 0.299 R + 0.587 G + 0.114 B` (as `f32`);
//! 2. two passes of a box filter along rows then columns (Jarosz: together
//!    a tent filter), window `ceil(width / 128)` along rows and
//!    `ceil(height / 128)` along columns;
//! 3. decimation to 64 x 64 by sampling at the centres of a 64 x 64 grid
//!    (steps 2 and 3 are computed together: the filter's weights at the
//!    sample positions applied to the plane, the same values up to float
//!    rounding);
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

/// The inputs the reference box filter of window `w` averages for output
/// `i` of `n`: `i - (w - h) ..= i + h - 1` with `h = (w + 2) / 2`, clipped
/// to the vector (as a half-open range).
fn box_window(i: usize, n: usize, w: usize) -> (usize, usize) {
    let half = (w + 2) / 2;
    (i.saturating_sub(w - half), (i + half).min(n))
}

/// One pass of the reference box filter, literally (the tests check the
/// sampled weights against it).
#[cfg(test)]
fn box1d(input: &[f32], out: &mut [f32], w: usize) {
    for (i, o) in out.iter_mut().enumerate() {
        let (lo, hi) = box_window(i, input.len(), w);
        *o = input[lo..hi].iter().sum::<f32>() / (hi - lo) as f32;
    }
}

/// The reference's filtering along one axis of length `n` (two box passes
/// of window `win`) read at the 64 sample positions of step 3, as weights:
/// sample `s` is `sum_k weights[s * width + k] * input[start[s] + k]`.
/// Only these 64 x 64 values of the filtered plane are ever used, so they
/// are computed directly.
struct Sampled {
    start: [usize; 64],
    weights: Vec<f32>,
    width: usize,
}

fn sampled_tent(n: usize, win: usize) -> Sampled {
    let mut per: Vec<(usize, Vec<f64>)> = Vec::with_capacity(64);
    for s in 0..64 {
        let p = (((s as f64 + 0.5) * n as f64 / 64.0) as usize).min(n - 1);
        let (lo, hi) = box_window(p, n, win);
        let first = box_window(lo, n, win).0;
        let last = box_window(hi - 1, n, win).1;
        let mut ws = vec![0f64; last - first];
        for j in lo..hi {
            let (a, b) = box_window(j, n, win);
            let wt = 1.0 / ((hi - lo) * (b - a)) as f64;
            ws[a - first..b - first].iter_mut().for_each(|w| *w += wt);
        }
        per.push((first, ws));
    }
    let width = per.iter().map(|(_, ws)| ws.len()).max().unwrap_or(1);
    let mut out = Sampled {
        start: [0; 64],
        weights: vec![0.0; 64 * width],
        width,
    };
    for (s, (first, ws)) in per.into_iter().enumerate() {
        let start = first.min(n - width);
        out.start[s] = start;
        let off = s * width + first - start;
        for (d, w) in out.weights[off..off + ws.len()].iter_mut().zip(ws) {
            *d = w as f32;
        }
    }
    out
}

/// Steps 2 and 3: the 64 x 64 samples of the filtered plane. Down y first
/// (contiguous rows, which vectorise), then along x at the 64 columns.
fn filtered_samples(luma: &[f32], w: usize, h: usize) -> [[f32; 64]; 64] {
    let ty = sampled_tent(h, h.div_ceil(128));
    let tx = sampled_tent(w, w.div_ceil(128));
    let mut m = [[0f32; 64]; 64];
    let mut col = vec![0f32; w];
    for ((mrow, &y0), wy) in m
        .iter_mut()
        .zip(&ty.start)
        .zip(ty.weights.chunks_exact(ty.width))
    {
        col.fill(0.0);
        for (k, &wt) in wy.iter().enumerate() {
            if wt != 0.0 {
                let row = &luma[(y0 + k) * w..(y0 + k + 1) * w];
                for (c, &v) in col.iter_mut().zip(row) {
                    *c += wt * v;
                }
            }
        }
        for ((v, &x0), wx) in mrow
            .iter_mut()
            .zip(&tx.start)
            .zip(tx.weights.chunks_exact(tx.width))
        {
            *v = col[x0..x0 + tx.width]
                .iter()
                .zip(wx)
                .map(|(p, q)| p * q)
                .sum();
        }
    }
    m
}

/// 16 x 16 DCT coefficients and quality from row-major luma.
#[allow(clippy::needless_range_loop)] // matrix code reads best with indices
fn dct16(luma: &[f32], w: usize, h: usize) -> Option<([[f32; 16]; 16], u8)> {
    if w < MIN_DIM || h < MIN_DIM || luma.len() != w * h {
        return None;
    }
    let m = filtered_samples(luma, w, h);
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
    // DCT: D[k][j] = sqrt(2/64) cos(pi/128 (k+1)(2j+1)); B = D M D^T, as
    // sums of whole rows (T = D M, then B = T D^T with D^T stored).
    let (d, dt) = dct_matrix();
    let mut t = [[0f32; 64]; 16];
    for (trow, drow) in t.iter_mut().zip(d.iter()) {
        for (&dk, mrow) in drow.iter().zip(&m) {
            for (o, &v) in trow.iter_mut().zip(mrow) {
                *o += dk * v;
            }
        }
    }
    let mut out = [[0f32; 16]; 16];
    for (orow, trow) in out.iter_mut().zip(&t) {
        for (&tk, dtrow) in trow.iter().zip(dt.iter()) {
            for (o, &v) in orow.iter_mut().zip(dtrow) {
                *o += tk * v;
            }
        }
    }
    Some((out, quality))
}

/// The 16 x 64 DCT matrix of step 5 and its transpose.
type DctMatrices = ([[f32; 64]; 16], [[f32; 16]; 64]);

fn dct_matrix() -> &'static DctMatrices {
    use std::sync::OnceLock;
    static D: OnceLock<Box<DctMatrices>> = OnceLock::new();
    D.get_or_init(|| {
        let mut m = Box::new(([[0f32; 64]; 16], [[0f32; 16]; 64]));
        let scale = (2.0f64 / 64.0).sqrt();
        for i in 0..16 {
            for j in 0..64 {
                let v = (scale
                    * (std::f64::consts::PI / 128.0 * (i + 1) as f64 * (2 * j + 1) as f64).cos())
                    as f32;
                m.0[i][j] = v;
                m.1[j][i] = v;
            }
        }
        m
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
    let (mut luma, mut w, mut h) = (luma(img), img.width as usize, img.height as usize);
    while w.max(h) > HASH_MAX_SIDE && w.min(h) >= 128 {
        (luma, w, h) = crate::ops::halve_plane(&luma, w, h);
    }
    (luma, w, h)
}

/// [`crate::RgbImage::luma_f32`], bit for bit, by table: each product
/// `0.299 * R` etc. is looked up and the three are added in the same
/// order (a lookup per channel is cheaper than a conversion and multiply).
fn luma(img: &crate::RgbImage) -> Vec<f32> {
    use std::sync::OnceLock;
    static TABLES: OnceLock<Box<[[f32; 256]; 3]>> = OnceLock::new();
    let t = TABLES.get_or_init(|| {
        let mut t = Box::new([[0f32; 256]; 3]);
        for v in 0..256 {
            let f = v as f32;
            (t[0][v], t[1][v], t[2][v]) = (0.299 * f, 0.587 * f, 0.114 * f);
        }
        t
    });
    img.pixels
        .chunks_exact(3)
        .map(|p| t[0][p[0] as usize] + t[1][p[1] as usize] + t[2][p[2] as usize])
        .collect()
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
        box1d(&input, &mut out, 7);
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
        box1d(&input, &mut out, 8);
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
    fn sampled_weights_equal_the_literal_filter() {
        // Two box passes along each axis, as the reference runs them, read
        // at the 64 x 64 sample positions.
        for (w, h) in [
            (5usize, 7usize),
            (64, 64),
            (333, 500),
            (400, 300),
            (1000, 750),
        ] {
            let luma: Vec<f32> = (0..w * h)
                .map(|i| ((i * 7919 + i / w * 31) % 256) as f32)
                .collect();
            let (wr, wc) = (w.div_ceil(128), h.div_ceil(128));
            let mut a = luma.clone();
            for _ in 0..2 {
                for row in a.chunks_exact_mut(w) {
                    let input = row.to_vec();
                    box1d(&input, row, wr);
                }
                for x in 0..w {
                    let input: Vec<f32> = (0..h).map(|y| a[y * w + x]).collect();
                    let mut out = vec![0f32; h];
                    box1d(&input, &mut out, wc);
                    (0..h).for_each(|y| a[y * w + x] = out[y]);
                }
            }
            let m = filtered_samples(&luma, w, h);
            for (i, row) in m.iter().enumerate() {
                let y = (((i as f64 + 0.5) * h as f64 / 64.0) as usize).min(h - 1);
                for (j, &v) in row.iter().enumerate() {
                    let x = (((j as f64 + 0.5) * w as f64 / 64.0) as usize).min(w - 1);
                    let want = a[y * w + x];
                    assert!((v - want).abs() < 1e-3, "{w}x{h} ({i}, {j}): {v} vs {want}");
                }
            }
        }
    }

    #[test]
    fn table_luma_is_luma_f32() {
        let mut img = crate::RgbImage::new(256, 3);
        for x in 0..256u32 {
            let v = x as u8;
            img.put(x, 0, [v, 0, 0]);
            img.put(x, 1, [v, v.wrapping_mul(7), 255 - v]);
            img.put(x, 2, [v / 3, 255 - v, v.wrapping_add(101)]);
        }
        let (a, b) = (luma(&img), img.luma_f32());
        assert!(a.iter().zip(&b).all(|(x, y)| x.to_bits() == y.to_bits()));
    }

    #[test]
    fn tiny_images_have_no_hash() {
        assert!(pdq_from_luma(&[0.0; 16], 4, 4).is_none());
        assert!(pdq_from_luma(&[0.0; 25], 5, 5).is_some());
    }
}
