//! The (fictional but plausibly named) cameras of the collection.

use crate::noise::{hash2, splitmix};

/// One camera body.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Camera {
    /// EXIF `Make`.
    pub make: &'static str,
    /// EXIF `Model`.
    pub model: &'static str,
    /// EXIF `BodySerialNumber` (exiftool: `SerialNumber`).
    pub serial: &'static str,
    /// Prefix of the camera's own file names (`DSCN0123.JPG` ...).
    pub file_prefix: &'static str,
    /// EXIF `Software`, written by only one camera.
    pub software: Option<&'static str>,
    /// JPEG quality used by this camera.
    pub quality: u8,
    /// Chroma subsampling factors (horizontal, vertical).
    pub subsampling: (u8, u8),
    /// Standard deviation of the multiplicative PRNU gain pattern.
    pub prnu_strength: f32,
    /// Seed of the camera's fixed sensor pattern (independent of the corpus seed:
    /// the same physical camera in every generated corpus).
    pub prnu_seed: u64,
    /// Read-noise floor (grey levels) and shot-noise slope of this sensor.
    pub noise: (f32, f32),
}

/// All cameras; `PhotoPlan::camera` indexes this table.
pub const CAMERAS: [Camera; 5] = [
    Camera {
        make: "NIKON",
        model: "COOLPIX P50",
        serial: "4012786",
        file_prefix: "DSCN",
        software: None,
        quality: 92,
        subsampling: (2, 1),
        prnu_strength: 0.012,
        prnu_seed: 0x4E49_4B4F_4E50_3530,
        noise: (1.8, 3.4),
    },
    Camera {
        make: "Canon",
        model: "Canon PowerShot A460",
        serial: "1320604417",
        file_prefix: "IMG_",
        software: None,
        quality: 90,
        subsampling: (2, 1),
        prnu_strength: 0.010,
        prnu_seed: 0x4341_4E4F_4E41_3436,
        noise: (2.0, 3.2),
    },
    Camera {
        make: "SONY",
        model: "DSC-W180",
        serial: "3081452",
        file_prefix: "DSC0",
        software: None,
        quality: 89,
        subsampling: (2, 1),
        prnu_strength: 0.014,
        prnu_seed: 0x534F_4E59_5731_3830,
        noise: (1.9, 3.6),
    },
    Camera {
        make: "FUJIFILM",
        model: "FinePix S5800 S800",
        serial: "6TA04139",
        file_prefix: "DSCF",
        software: Some("Digital Camera FinePix S5800 S800 Ver1.00"),
        quality: 91,
        subsampling: (2, 1),
        prnu_strength: 0.011,
        prnu_seed: 0x4655_4A49_5335_3830,
        noise: (1.7, 3.3),
    },
    Camera {
        make: "SAMSUNG",
        model: "SAMSUNG ES15",
        serial: "A15GC90B402217F",
        file_prefix: "SAM_",
        software: None,
        quality: 88,
        subsampling: (2, 2),
        prnu_strength: 0.013,
        prnu_seed: 0x5341_4D45_5331_3500,
        noise: (2.1, 3.5),
    },
];

/// The camera's fixed photo-response non-uniformity: one multiplicative gain
/// per pixel, `1 + strength * N(0, 1)` (clamped to 4 sigma), row-major,
/// `width * height` values. Pixel `(x, y)` depends only on the camera and
/// `(x, y)`, so the pattern of a smaller frame is a crop of a larger one.
pub fn prnu_pattern(camera: &Camera, width: u32, height: u32) -> Vec<f32> {
    let seed = splitmix(camera.prnu_seed);
    let (s1, s2) = (seed as u32, (seed >> 32) as u32);
    let mut out = Vec::with_capacity(width as usize * height as usize);
    for y in 0..height as i32 {
        for x in 0..width as i32 {
            let u1 = ((hash2(x, y, s1) >> 8) as f32 + 0.5) * (1.0 / 16_777_216.0);
            let u2 = (hash2(x, y, s2) >> 8) as f32 * (1.0 / 16_777_216.0);
            let n = (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos();
            out.push(1.0 + camera.prnu_strength * n.clamp(-4.0, 4.0));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prnu_is_fixed_and_crops() {
        let a = prnu_pattern(&CAMERAS[0], 64, 32);
        let b = prnu_pattern(&CAMERAS[0], 32, 16);
        assert_eq!(a[5 * 64 + 7], b[5 * 32 + 7]);
        let c = prnu_pattern(&CAMERAS[1], 64, 32);
        assert_ne!(a, c);
        let mean = a.iter().sum::<f32>() / a.len() as f32;
        let sd = (a.iter().map(|g| (g - mean).powi(2)).sum::<f32>() / a.len() as f32).sqrt();
        assert!((mean - 1.0).abs() < 0.002, "{mean}");
        assert!((sd - CAMERAS[0].prnu_strength).abs() < 0.002, "{sd}");
    }
}
