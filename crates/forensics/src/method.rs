//! The report's method texts, with the parameters filled in.

use crate::report::MethodStep;
use crate::{prnu, Params};

pub(crate) fn method(p: &Params) -> Vec<MethodStep> {
    vec![
        MethodStep {
            name: "cameras",
            text: format!(
                "Photos are grouped by the camera their EXIF names (Make, Model, BodySerialNumber). Within each folder, \
                 files are taken in name order (numbers compared as numbers: the camera's file counter or the archive's \
                 numbered names) and DateTimeOriginal (with SubSecTimeOriginal) must not go back; a forward step of more \
                 than {} hours is a clock jump. Gaps of more than {} days between a camera's consecutive photos are listed. \
                 DateTimeOriginal outside {} .. {} is flagged.",
                p.jump_hours, p.gap_days, p.first_day, p.last_day
            ),
        },
        MethodStep {
            name: "jpeg",
            text: "The DQT and SOF segments are read from the file up to the first scan. The IJG quality is the one \
                   whose Annex K tables, scaled as libjpeg's jpeg_quality_scaling does (baseline, clamped to 1..255), \
                   are nearest (mean absolute difference; 'exact' when equal). A photo whose tables (compared exactly) \
                   or frame size differ from those most photos of the same camera model have is flagged, as is an EXIF \
                   PixelXDimension/PixelYDimension that differs from the frame, and EXIF Software naming an editor."
                .into(),
        },
        MethodStep {
            name: "thumbnail",
            text: format!(
                "The EXIF thumbnail (IFD1) is decoded and compared with the full image resized (triangle filter) to fit \
                 inside it, centred; a mean absolute Rec. 601 luma difference above {} grey levels is flagged.",
                p.thumbnail_max_diff
            ),
        },
        MethodStep {
            name: "sensor",
            text: format!(
                "Sensor noise (PRNU) after Lukáš, Fridrich and Goljan (2006) and Chen et al. (2008). Each photo is decoded \
                 at full resolution; from the centre {c}×{c} crop of its Rec. 601 luma I the residual W = I − F(I) is taken, \
                 F the locally adaptive Wiener filter (local mean over 3×3; signal variance the smaller of the 3×3 and 5×5 \
                 estimates minus σ₀² = {s}², floored at 0); pixels with luma ≥ {sat} or ≤ {lo} are masked; W has its row \
                 and column means removed. A camera's fingerprint K = ΣWᵢIᵢ / ΣIᵢ² (row and column means removed) is \
                 estimated from up to {m} of its photos evenly spaced in time, then re-estimated from those whose \
                 leave-one-out PCE against the rest reaches {t} (at least {min} needed). Each photo is tested against every \
                 fingerprint (leaving itself out of its own) by the PCE of the circular cross-correlation of W with I·K \
                 (FFT): the squared correlation at zero shift, signed, over the mean squared correlation outside the \
                 {nb}×{nb} neighbourhood of zero shift. PCE ≥ {t} is a match. Photos without camera EXIF are clustered \
                 by the PCE between their residuals (≥ {ct} links two photos; clusters are the connected components).",
                c = p.crop,
                s = p.noise_sigma,
                sat = p.saturation,
                lo = 255.0 - p.saturation,
                m = p.fingerprint_photos,
                t = p.pce_threshold,
                min = p.min_fingerprint_photos,
                nb = prnu::PCE_NEIGHBOURHOOD,
                ct = p.cluster_pce_threshold
            ),
        },
        MethodStep {
            name: "duplicates",
            text: format!(
                "PDQ hashes (from the catalogue) within {} bits of each other in two different cases are listed as a \
                 possible single body under two cases. Pairs within {} bits whose 64×64 luma differs by at most {} grey \
                 levels on average are copies of one picture; copies whose EXIF camera or DateTimeOriginal differ are flagged.",
                p.pdq_distance, p.copy_pdq_distance, p.copy_pixel_diff
            ),
        },
    ]
}
