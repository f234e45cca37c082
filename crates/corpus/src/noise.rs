//! Small deterministic hashing / noise helpers (no allocation, no state
//! shared between photos).

/// SplitMix64 finaliser.
#[inline]
pub(crate) fn splitmix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Derive an independent 64-bit seed from `(seed, tag, index)`.
pub(crate) fn mix(seed: u64, tag: u64, index: u64) -> u64 {
    splitmix(splitmix(splitmix(seed) ^ tag) ^ index)
}

/// 32-bit integer hash of a lattice point.
#[inline]
pub(crate) fn hash2(x: i32, y: i32, seed: u32) -> u32 {
    let mut h = (x as u32).wrapping_mul(0x8DA6_B343)
        ^ (y as u32).wrapping_mul(0xD816_3841)
        ^ seed.wrapping_mul(0xCB1A_B31F);
    h ^= h >> 16;
    h = h.wrapping_mul(0x7FEB_352D);
    h ^= h >> 15;
    h = h.wrapping_mul(0x846C_A68B);
    h ^ (h >> 16)
}

/// Lattice hash mapped to `[0, 1)`.
#[inline]
pub(crate) fn h01(x: i32, y: i32, seed: u32) -> f32 {
    (hash2(x, y, seed) >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// `floor` without a libm call (baseline x86-64 has no `roundss`); valid for
/// `|x| < 2^31`.
#[inline]
pub(crate) fn ifloor(x: f32) -> i32 {
    let i = x as i32;
    i - ((x < i as f32) as i32)
}

/// `x - floor(x)`, in `[0, 1)`.
#[inline]
pub(crate) fn fract(x: f32) -> f32 {
    x - ifloor(x) as f32
}

/// Cheap sine approximation (max error about 0.001).
#[inline]
pub(crate) fn fsin(x: f32) -> f32 {
    use std::f32::consts::{PI, TAU};
    let x = x - TAU * ifloor(x * (1.0 / TAU) + 0.5) as f32;
    let y = (4.0 / PI) * x - (4.0 / (PI * PI)) * x * x.abs();
    0.225 * (y * y.abs() - y) + y
}

/// Smooth value noise in `[0, 1]`, unit lattice spacing.
#[inline]
pub(crate) fn value_noise(x: f32, y: f32, seed: u32) -> f32 {
    let (ix, iy) = (ifloor(x), ifloor(y));
    let (fx, fy) = (x - ix as f32, y - iy as f32);
    let sx = fx * fx * (3.0 - 2.0 * fx);
    let sy = fy * fy * (3.0 - 2.0 * fy);
    let a = h01(ix, iy, seed);
    let b = h01(ix + 1, iy, seed);
    let c = h01(ix, iy + 1, seed);
    let d = h01(ix + 1, iy + 1, seed);
    let top = a + (b - a) * sx;
    let bot = c + (d - c) * sx;
    top + (bot - top) * sy
}

/// Centred value noise in `[-1, 1]`.
#[inline]
pub(crate) fn snoise(x: f32, y: f32, seed: u32) -> f32 {
    value_noise(x, y, seed) * 2.0 - 1.0
}

#[inline]
pub(crate) fn smoothstep(e0: f32, e1: f32, x: f32) -> f32 {
    let t = ((x - e0) / (e1 - e0)).clamp(0.0, 1.0);
    t * t * (3.0 - 2.0 * t)
}

#[inline]
pub(crate) fn lerp3(a: [f32; 3], b: [f32; 3], t: f32) -> [f32; 3] {
    [
        a[0] + (b[0] - a[0]) * t,
        a[1] + (b[1] - a[1]) * t,
        a[2] + (b[2] - a[2]) * t,
    ]
}

#[inline]
pub(crate) fn scale3(a: [f32; 3], k: f32) -> [f32; 3] {
    [a[0] * k, a[1] * k, a[2] * k]
}

/// log2 of the number of usable start offsets in [`gauss_table`].
pub(crate) const GAUSS_BITS: u32 = 20;
/// Padding after the last start offset, so a row of up to this many values
/// can be read from any offset.
pub(crate) const GAUSS_PAD: usize = 8192;

/// A fixed table of N(0, 1) samples (Box-Muller over a fixed hash stream).
/// Rows of sensor noise are read from it at per-row pseudo-random offsets,
/// which is far cheaper than drawing every pixel and, with 2^20 offsets,
/// does not correlate photos.
pub(crate) fn gauss_table() -> &'static [f32] {
    static TABLE: std::sync::OnceLock<Vec<f32>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let n = (1usize << GAUSS_BITS) + GAUSS_PAD;
        let mut out = Vec::with_capacity(n);
        let mut i = 0u64;
        while out.len() < n {
            let a = splitmix(0x6A09_E667_F3BC_C908 ^ i);
            i += 1;
            let u1 = ((a >> 40) as f32 + 0.5) * (1.0 / 16_777_216.0);
            let u2 = ((a >> 8) & 0xFF_FFFF) as f32 * (1.0 / 16_777_216.0);
            let r = (-2.0 * u1.ln()).sqrt();
            let t = std::f32::consts::TAU * u2;
            out.push((r * t.cos()).clamp(-4.0, 4.0));
            out.push((r * t.sin()).clamp(-4.0, 4.0));
        }
        out.truncate(n);
        out
    })
}
