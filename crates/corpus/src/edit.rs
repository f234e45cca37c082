//! A few distractors whose EXIF was edited after the shot: swapped to another camera's make,
//! model and serial, or stripped. The pixels (and so the sensor pattern) stay those of the
//! camera that took the photo, which is what sensor-fingerprint attribution must notice.
//!
//! Drawn with a separate RNG per photo, so the plan, the pixels and every other photo are the
//! same as without edits.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::camera::CAMERAS;
use crate::noise::mix;
use crate::plan::{PhotoKind, PhotoPlan};

const TAG_EDIT: u64 = 0x4558_4946_4544;
/// Share of distractors whose EXIF names another camera.
pub const SWAPPED_PERCENT: f64 = 3.0;
/// Share of distractors without EXIF.
pub const STRIPPED_PERCENT: f64 = 3.0;

/// How a photo's EXIF differs from what its camera wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExifEdit {
    /// Make, model, serial and software of this camera (index into [`CAMERAS`]).
    Swapped(usize),
    /// No EXIF block at all (the JFIF header stays).
    Stripped,
}

impl ExifEdit {
    pub fn as_str(self) -> &'static str {
        match self {
            ExifEdit::Swapped(_) => "swapped",
            ExifEdit::Stripped => "stripped",
        }
    }
}

/// The edit made to `photo` of a corpus generated with `seed`, if any (distractors only, so
/// that cases and their grouping are untouched).
pub fn exif_edit(seed: u64, photo: &PhotoPlan) -> Option<ExifEdit> {
    if photo.kind != PhotoKind::Distractor {
        return None;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, TAG_EDIT, photo.index as u64));
    let u = rng.gen::<f64>() * 100.0;
    if u < SWAPPED_PERCENT {
        let k = rng.gen_range(1..CAMERAS.len());
        Some(ExifEdit::Swapped((photo.camera + k) % CAMERAS.len()))
    } else if u < SWAPPED_PERCENT + STRIPPED_PERCENT {
        Some(ExifEdit::Stripped)
    } else {
        None
    }
}
