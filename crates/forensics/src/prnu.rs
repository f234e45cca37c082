//! Sensor fingerprints (photo-response non-uniformity, PRNU).
//!
//! Each pixel of a sensor has a slightly different gain, fixed for the life of the camera, so
//! every photo carries a faint multiplicative pattern `I·K`. Following Lukáš, Fridrich and
//! Goljan ("Digital camera identification from sensor pattern noise", 2006; Chen et al.,
//! "Determining image origin and integrity using sensor noise", 2008):
//!
//! 1. the noise residual `W = I − F(I)` of a photo's luma, `F` a denoising filter (here a
//!    locally adaptive Wiener filter over 3×3 and 5×5 windows), on a fixed centre crop;
//! 2. a camera's fingerprint is the maximum-likelihood estimate `K = Σ Wᵢ·Iᵢ / Σ Iᵢ²`, with
//!    row and column means removed (they carry JPEG and readout artefacts that all cameras
//!    share, not the sensor);
//! 3. a photo is tested against a fingerprint by the peak-to-correlation energy (PCE) of the
//!    cross-correlation of `W` with `I·K`: the squared correlation at zero shift over the mean
//!    squared correlation at all shifts away from a small neighbourhood of it.
//!
//! Saturated and black pixels carry no pattern and are masked out.

use std::sync::Arc;

use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use athar_media::RgbImage;

/// Side of the square excluded around the peak when measuring the correlation energy.
pub const PCE_NEIGHBOURHOOD: usize = 11;

/// The noise residual of one photo's centre crop.
#[derive(Clone)]
pub struct Residual {
    /// Side of the crop.
    pub n: usize,
    /// `W`, row-major `n * n`, zero where masked.
    pub w: Vec<f32>,
    /// Luma `I` of the crop, zero where masked.
    pub i: Vec<f32>,
}

/// Parameters of residual extraction.
#[derive(Debug, Clone, Copy)]
pub struct ResidualParams {
    pub crop: usize,
    /// Standard deviation of the noise the Wiener filter removes (grey levels).
    pub noise_sigma: f32,
    /// Pixels with luma at or above this (or at or below 255 minus it) are masked.
    pub saturation: f32,
}

/// Residual of the centre `crop × crop` of `img`; `None` when the image is smaller.
pub fn residual(img: &RgbImage, p: &ResidualParams) -> Option<Residual> {
    let n = p.crop;
    let (w, h) = (img.width as usize, img.height as usize);
    if w < n || h < n || n < 16 {
        return None;
    }
    let (x0, y0) = ((w - n) / 2, (h - n) / 2);
    let mut luma = vec![0f32; n * n];
    for y in 0..n {
        let row = &img.pixels[((y0 + y) * w + x0) * 3..((y0 + y) * w + x0 + n) * 3];
        for (x, px) in row.chunks_exact(3).enumerate() {
            luma[y * n + x] = 0.299 * px[0] as f32 + 0.587 * px[1] as f32 + 0.114 * px[2] as f32;
        }
    }
    let mut res = wiener_residual(&luma, n, p.noise_sigma);
    for (r, l) in res.iter_mut().zip(luma.iter_mut()) {
        if *l >= p.saturation || *l <= 255.0 - p.saturation {
            *r = 0.0;
            *l = 0.0;
        }
    }
    zero_mean_rows_cols(&mut res, n);
    Some(Residual { n, w: res, i: luma })
}

/// `x − F(x)` where `F` is the locally adaptive Wiener filter: with local mean `μ` and the
/// signal variance `σ̂² = min over 3×3 and 5×5 windows of max(0, var − σ₀²)`,
/// `F(x) = μ + σ̂² / (σ̂² + σ₀²) · (x − μ)`. So the residual is `σ₀² / (σ̂² + σ₀²) · (x − μ₃)`:
/// nearly all of `x − μ` in flat areas, little of it on edges and texture.
fn wiener_residual(x: &[f32], n: usize, sigma0: f32) -> Vec<f32> {
    let v0 = sigma0 * sigma0;
    let (m3, q3) = box_moments(x, n, 1);
    let (m5, q5) = box_moments(x, n, 2);
    let mut out = vec![0f32; n * n];
    for k in 0..n * n {
        let var3 = (q3[k] - m3[k] * m3[k]).max(0.0);
        let var5 = (q5[k] - m5[k] * m5[k]).max(0.0);
        let s = (var3 - v0).max(0.0).min((var5 - v0).max(0.0));
        out[k] = v0 / (s + v0) * (x[k] - m3[k]);
    }
    out
}

/// Local mean and mean of squares over a `(2r+1)²` window (clipped at the borders).
fn box_moments(x: &[f32], n: usize, r: usize) -> (Vec<f32>, Vec<f32>) {
    // Summed-area tables in f64: exact enough for 8-bit data at any crop size.
    let stride = n + 1;
    let mut s1 = vec![0f64; stride * stride];
    let mut s2 = vec![0f64; stride * stride];
    for y in 0..n {
        let (mut a, mut b) = (0f64, 0f64);
        for xx in 0..n {
            let v = x[y * n + xx] as f64;
            a += v;
            b += v * v;
            s1[(y + 1) * stride + xx + 1] = s1[y * stride + xx + 1] + a;
            s2[(y + 1) * stride + xx + 1] = s2[y * stride + xx + 1] + b;
        }
    }
    let mut m = vec![0f32; n * n];
    let mut q = vec![0f32; n * n];
    for y in 0..n {
        let (ya, yb) = (y.saturating_sub(r), (y + r + 1).min(n));
        for xx in 0..n {
            let (xa, xb) = (xx.saturating_sub(r), (xx + r + 1).min(n));
            let area = ((yb - ya) * (xb - xa)) as f64;
            let sum = |s: &[f64]| {
                s[yb * stride + xb] - s[ya * stride + xb] - s[yb * stride + xa]
                    + s[ya * stride + xa]
            };
            m[y * n + xx] = (sum(&s1) / area) as f32;
            q[y * n + xx] = (sum(&s2) / area) as f32;
        }
    }
    (m, q)
}

fn zero_mean_rows_cols(a: &mut [f32], n: usize) {
    for row in a.chunks_exact_mut(n) {
        let m = row.iter().sum::<f32>() / n as f32;
        row.iter_mut().for_each(|v| *v -= m);
    }
    for x in 0..n {
        let m = (0..n).map(|y| a[y * n + x]).sum::<f32>() / n as f32;
        for y in 0..n {
            a[y * n + x] -= m;
        }
    }
}

/// Running sums of a fingerprint estimate: `Σ W·I` and `Σ I²` per pixel.
#[derive(Clone)]
pub struct FingerprintSums {
    pub n: usize,
    pub wi: Vec<f64>,
    pub ii: Vec<f64>,
    pub count: usize,
}

impl FingerprintSums {
    pub fn new(n: usize) -> FingerprintSums {
        FingerprintSums {
            n,
            wi: vec![0.0; n * n],
            ii: vec![0.0; n * n],
            count: 0,
        }
    }

    pub fn add(&mut self, r: &Residual, sign: f64) {
        for k in 0..self.n * self.n {
            let i = r.i[k] as f64;
            self.wi[k] += sign * r.w[k] as f64 * i;
            self.ii[k] += sign * i * i;
        }
        self.count = (self.count as isize + sign as isize) as usize;
    }

    /// The fingerprint `K`, with `leave_out` (a photo that is in the sums) taken out.
    pub fn fingerprint(&self, leave_out: Option<&Residual>) -> Vec<f32> {
        let n = self.n;
        let mut k = vec![0f32; n * n];
        for (idx, kv) in k.iter_mut().enumerate() {
            let (mut wi, mut ii) = (self.wi[idx], self.ii[idx]);
            if let Some(r) = leave_out {
                let i = r.i[idx] as f64;
                wi -= r.w[idx] as f64 * i;
                ii -= i * i;
            }
            *kv = if ii > 1e-6 { (wi / ii) as f32 } else { 0.0 };
        }
        zero_mean_rows_cols(&mut k, n);
        k
    }
}

/// 2-D FFTs of one size, planned once.
pub struct Fft2 {
    n: usize,
    fft: Arc<dyn Fft<f32>>,
    ifft: Arc<dyn Fft<f32>>,
}

impl Fft2 {
    pub fn new(n: usize) -> Fft2 {
        let mut planner = FftPlanner::new();
        Fft2 {
            n,
            fft: planner.plan_fft_forward(n),
            ifft: planner.plan_fft_inverse(n),
        }
    }

    fn run(&self, data: &mut [Complex32], f: &Arc<dyn Fft<f32>>) {
        let n = self.n;
        f.process(data);
        transpose(data, n);
        f.process(data);
        transpose(data, n);
    }

    /// Spectrum of a real `n × n` image with its mean removed.
    pub fn spectrum(&self, x: &[f32]) -> Vec<Complex32> {
        let mean = x.iter().sum::<f32>() / x.len() as f32;
        let mut d: Vec<Complex32> = x.iter().map(|&v| Complex32::new(v - mean, 0.0)).collect();
        let fft = self.fft.clone();
        self.run(&mut d, &fft);
        d
    }

    /// PCE of the circular cross-correlation of two images given their spectra, signed by
    /// the correlation at zero shift (a negative correlation is no match).
    pub fn pce(&self, a: &[Complex32], b: &[Complex32]) -> f64 {
        let n = self.n;
        let mut c: Vec<Complex32> = a.iter().zip(b).map(|(x, y)| x * y.conj()).collect();
        let ifft = self.ifft.clone();
        self.run(&mut c, &ifft);
        let peak = c[0].re as f64;
        let h = PCE_NEIGHBOURHOOD / 2;
        let near = |v: usize| v <= h || v >= n - h;
        let (mut energy, mut count) = (0f64, 0usize);
        for y in 0..n {
            for x in 0..n {
                if near(x) && near(y) {
                    continue;
                }
                let v = c[y * n + x].re as f64;
                energy += v * v;
                count += 1;
            }
        }
        if energy <= 0.0 {
            return 0.0;
        }
        peak.signum() * peak * peak / (energy / count as f64)
    }
}

fn transpose(d: &mut [Complex32], n: usize) {
    for y in 0..n {
        for x in y + 1..n {
            d.swap(y * n + x, x * n + y);
        }
    }
}

/// `I·K`: what the fingerprint predicts in a photo of luma `I`.
pub fn expected(r: &Residual, k: &[f32]) -> Vec<f32> {
    r.i.iter().zip(k).map(|(i, k)| i * k).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth scene times `1 + K` plus white noise, like a camera.
    fn shot(k: &[f32], n: usize, seed: u64) -> RgbImage {
        let mut s = seed;
        let mut rnd = || {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) as f32 / (1u64 << 31) as f32) - 0.5
        };
        let mut img = RgbImage::new(n as u32, n as u32);
        let phase = (seed % 7) as f32;
        for y in 0..n {
            for x in 0..n {
                let base =
                    120.0 + 40.0 * ((x as f32 / 37.0 + phase).sin() * (y as f32 / 53.0).cos());
                let v = base * (1.0 + k[y * n + x]) + 4.0 * (rnd() + rnd() + rnd());
                let v = v.clamp(0.0, 255.0).round() as u8;
                img.put(x as u32, y as u32, [v, v, v]);
            }
        }
        img
    }

    fn pattern(n: usize, seed: u64) -> Vec<f32> {
        let mut s = seed;
        (0..n * n)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                0.012 * (((s >> 11) as f32 / (1u64 << 53) as f32) * 2.0 - 1.0) * 1.7
            })
            .collect()
    }

    #[test]
    fn a_photo_matches_its_own_sensor_and_not_another() {
        let n = 128;
        let p = ResidualParams {
            crop: n,
            noise_sigma: 3.0,
            saturation: 250.0,
        };
        let (ka, kb) = (pattern(n, 1), pattern(n, 2));
        let mut sums = FingerprintSums::new(n);
        for s in 0..12 {
            sums.add(&residual(&shot(&ka, n, 100 + s), &p).unwrap(), 1.0);
        }
        let k = sums.fingerprint(None);
        let fft = Fft2::new(n);
        let test = |img: &RgbImage| {
            let r = residual(img, &p).unwrap();
            fft.pce(&fft.spectrum(&r.w), &fft.spectrum(&expected(&r, &k)))
        };
        let own = test(&shot(&ka, n, 7));
        let other = test(&shot(&kb, n, 7));
        assert!(own > 60.0, "own camera PCE {own}");
        assert!(other < 60.0, "other camera PCE {other}");
    }

    #[test]
    fn leave_one_out_equals_the_sums_without_it() {
        let n = 32;
        let p = ResidualParams {
            crop: n,
            noise_sigma: 3.0,
            saturation: 250.0,
        };
        let k = pattern(n, 3);
        let rs: Vec<Residual> = (0..3)
            .map(|s| residual(&shot(&k, n, s), &p).unwrap())
            .collect();
        let mut all = FingerprintSums::new(n);
        let mut two = FingerprintSums::new(n);
        for (i, r) in rs.iter().enumerate() {
            all.add(r, 1.0);
            if i > 0 {
                two.add(r, 1.0);
            }
        }
        let a = all.fingerprint(Some(&rs[0]));
        let b = two.fingerprint(None);
        for (x, y) in a.iter().zip(&b) {
            assert!((x - y).abs() < 1e-5);
        }
    }
}
