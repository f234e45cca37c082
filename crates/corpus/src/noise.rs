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

/// Smooth value noise in `[0, 1]`, unit lattice spacing.
#[inline]
pub(crate) fn value_noise(x: f32, y: f32, seed: u32) -> f32 {
    let xf = x.floor();
    let yf = y.floor();
    let (ix, iy) = (xf as i32, yf as i32);
    let (fx, fy) = (x - xf, y - yf);
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

/// Very fast sequential generator for per-pixel noise (SplitMix64 stream).
pub(crate) struct FastRng(pub(crate) u64);

impl FastRng {
    #[inline]
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
}

/// Approximate N(0, 1) from four bytes (Irwin-Hall), cheap and bounded (|x| < 3.5).
#[inline]
pub(crate) fn gauss4(x: u32) -> f32 {
    let s = (x & 0xFF) + ((x >> 8) & 0xFF) + ((x >> 16) & 0xFF) + (x >> 24);
    (s as f32 - 510.0) * (1.0 / 147.8)
}
