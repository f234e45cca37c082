//! athar-forensics: the evidence against "fabricated", gathered as an examiner would.
//!
//! Given a vault and its catalogue, [`analyse`] (or [`report_for_cases`]) reads the originals
//! and produces a [`Report`]: per camera (make, model, serial) the photo count and time span,
//! the order of DateTimeOriginal against file order, the JPEG quantization tables against the
//! camera model's usual ones, frame size against EXIF, editing software, the embedded
//! thumbnail against the image, dates outside the plausible range; sensor fingerprints (PRNU)
//! with attribution by PCE, clustering of photos without EXIF by sensor; near-duplicates
//! across cases and copies with different EXIF. The report says how each figure was computed
//! and with which parameters ([`Params`]), in JSON ([`Report::to_json`]) and HTML
//! ([`Report::to_html`], English or Arabic).
//!
//! Modules in the order the analysis runs: [`jpeg_tables`] (DQT/SOF reader, IJG quality),
//! [`metadata`] (what a file says; file order), [`prnu`] (residuals, fingerprints, PCE),
//! `analysis` (the driver: fingerprints, testing, clustering), `checks` (tables, sizes,
//! software, thumbnails, dates, order per camera), `duplicates`, `method` (the report's method
//! texts), [`report`] (the types), `html`. Format:
//! `docs/formats/authenticity.md`.

mod analysis;
mod checks;
mod duplicates;
mod html;
pub mod jpeg_tables;
pub mod metadata;
mod method;
pub mod prnu;
pub mod report;

use serde::Serialize;

pub use analysis::{analyse, report_for_cases, Scope};
pub use report::{Lang, Report};

/// Why an analysis could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ForensicsError {
    #[error(transparent)]
    Catalog(#[from] athar_catalog::CatalogError),
    #[error(transparent)]
    Vault(#[from] athar_vault::VaultError),
    #[error("reading object {sha256}: {source}")]
    Read {
        sha256: String,
        source: std::io::Error,
    },
    #[error("no case {0} in the catalogue; `athar cases VAULT` lists them")]
    NoSuchCase(String),
    #[error(
        "no analysed photo {0} in the catalogue; `athar analyze VAULT` analyses new originals"
    )]
    NoSuchPhoto(String),
    #[error("invalid parameter: {0}")]
    Param(String),
}

pub type Result<T, E = ForensicsError> = std::result::Result<T, E>;

/// Every parameter of the analysis; all are written into the report.
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
pub struct Params {
    /// First and last plausible day of DateTimeOriginal (`YYYY-MM-DD`, inclusive).
    pub first_day: String,
    pub last_day: String,
    /// A gap between two consecutive photos of one camera longer than this is listed.
    pub gap_days: f64,
    /// Within one folder, a forward step longer than this between consecutive files is a
    /// clock jump.
    pub jump_hours: f64,
    /// Side of the centre crop used for sensor noise (pixels of the full-resolution decode).
    pub crop: usize,
    /// Noise the Wiener filter removes (standard deviation, grey levels).
    pub noise_sigma: f32,
    /// Luma at or above this (or at or below 255 minus it) is masked as clipped.
    pub saturation: f32,
    /// Photos per camera the fingerprint is estimated from (evenly spaced in time).
    pub fingerprint_photos: usize,
    /// A camera needs at least this many agreeing photos to get a fingerprint.
    pub min_fingerprint_photos: usize,
    /// PCE at or above this is a match (photo against fingerprint).
    pub pce_threshold: f64,
    /// PCE at or above this puts two photos without EXIF in one cluster.
    pub cluster_pce_threshold: f64,
    /// Mean absolute luma difference (grey levels) above which the embedded thumbnail does
    /// not show the main image.
    pub thumbnail_max_diff: f64,
    /// PDQ distance (of 256 bits) within which photos in two cases may show one body.
    pub pdq_distance: u32,
    /// PDQ distance within which two photos are candidate copies of one original...
    pub copy_pdq_distance: u32,
    /// ... confirmed when their 64×64 luma differs by at most this (mean absolute, grey levels).
    pub copy_pixel_diff: f64,
}

impl Default for Params {
    fn default() -> Self {
        Params {
            first_day: "2011-05-01".into(),
            last_day: "2013-08-31".into(),
            gap_days: 30.0,
            jump_hours: 12.0,
            crop: 256,
            noise_sigma: 3.0,
            saturation: 250.0,
            fingerprint_photos: 60,
            min_fingerprint_photos: 5,
            pce_threshold: 60.0,
            cluster_pce_threshold: 60.0,
            thumbnail_max_diff: 16.0,
            pdq_distance: 31,
            copy_pdq_distance: 16,
            copy_pixel_diff: 4.0,
        }
    }
}

impl Params {
    /// Check the values make sense together.
    pub fn check(&self) -> Result<()> {
        for d in [&self.first_day, &self.last_day] {
            if metadata::parse_day(d).is_none() {
                return Err(ForensicsError::Param(format!(
                    "{d:?} is not a date YYYY-MM-DD"
                )));
            }
        }
        if self.first_day > self.last_day {
            return Err(ForensicsError::Param(format!(
                "the plausible range {}..{} is empty",
                self.first_day, self.last_day
            )));
        }
        if !(32..=2048).contains(&self.crop) {
            return Err(ForensicsError::Param(format!(
                "crop {} outside 32..=2048",
                self.crop
            )));
        }
        if self.min_fingerprint_photos < 2 || self.fingerprint_photos < self.min_fingerprint_photos
        {
            return Err(ForensicsError::Param(
                "fingerprint_photos must be at least min_fingerprint_photos, which must be at least 2"
                    .into(),
            ));
        }
        Ok(())
    }
}
