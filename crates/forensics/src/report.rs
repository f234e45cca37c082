//! The report: what was found, how, and with which parameters. Serialised as documented in
//! `docs/formats/authenticity.md`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Params;

/// `format` field of the JSON.
pub const FORMAT: &str = "athar-authenticity/1";

/// Language of the HTML report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    En,
    Ar,
}

impl Lang {
    /// `"en"` or `"ar"`.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "en" => Some(Lang::En),
            "ar" => Some(Lang::Ar),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ar => "ar",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub format: &'static str,
    /// RFC 3339, UTC.
    pub generated: String,
    /// `athar-forensics <version>`.
    pub tool: String,
    pub scope: ScopeInfo,
    pub parameters: Params,
    /// How each figure was computed, in order.
    pub method: Vec<MethodStep>,
    pub summary: Summary,
    pub cameras: Vec<CameraReport>,
    pub photos: Vec<PhotoReport>,
    pub clusters: Vec<Cluster>,
    pub duplicates: Vec<Duplicate>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ScopeInfo {
    /// `collection`, `cases` or `photos`.
    pub kind: &'static str,
    /// Case ids or photo SHA-256s asked for (empty for the collection).
    pub ids: Vec<String>,
    /// Photos reported on.
    pub photos: usize,
    /// Analysed photos in the whole catalogue (fingerprints and camera statistics use them).
    pub catalogue_photos: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct MethodStep {
    pub name: &'static str,
    pub text: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub photos: usize,
    pub cameras: usize,
    /// Photos whose sensor noise was tested against at least one fingerprint.
    pub sensor_tested: usize,
    /// Photos whose sensor matches the camera their EXIF names.
    pub sensor_consistent: usize,
    /// Photos whose sensor matches another camera than the one named.
    pub sensor_mismatch: usize,
    /// Photos with a camera but no match either way (too little texture-free area, or a
    /// camera without a fingerprint).
    pub sensor_inconclusive: usize,
    /// Photos without camera EXIF.
    pub without_exif: usize,
    /// Findings by kind.
    pub findings: BTreeMap<String, usize>,
}

/// One camera body as its EXIF names it.
#[derive(Debug, Clone, Serialize)]
pub struct CameraReport {
    /// `MAKE MODEL #SERIAL`, the key used throughout the report.
    pub camera: String,
    /// Photos in the catalogue naming it.
    pub photos: usize,
    /// First and last DateTimeOriginal (camera's local time).
    pub first: Option<String>,
    pub last: Option<String>,
    /// Consecutive file pairs (same folder, name order) whose times were compared.
    pub ordered_pairs: usize,
    pub backward_steps: usize,
    pub forward_jumps: usize,
    /// Gaps between consecutive photos longer than `gap_days`, longest first (at most 10).
    pub gaps: Vec<Gap>,
    pub gap_count: usize,
    /// The JPEG tables most photos of this camera have.
    pub jpeg: Option<JpegUsual>,
    /// Photos the fingerprint was estimated from, and photos left out because they did not
    /// agree with the rest (PCE below threshold against the others).
    pub fingerprint_photos: usize,
    pub fingerprint_rejected: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Gap {
    pub from: String,
    pub to: String,
    pub days: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct JpegUsual {
    pub quality: u8,
    pub exact_ijg: bool,
    pub subsampling: String,
    /// Hash of the tables (compares tables exactly).
    pub tables: String,
    /// Photos read / photos with these tables.
    pub checked: usize,
    pub agreeing: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct PhotoReport {
    pub sha256: String,
    pub source_path: Option<String>,
    pub case: Option<String>,
    /// Camera named by the EXIF (`MAKE MODEL #SERIAL`), if any.
    pub exif_camera: Option<String>,
    pub taken: Option<String>,
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub jpeg_quality: Option<u8>,
    pub jpeg_exact_ijg: Option<bool>,
    pub subsampling: Option<String>,
    pub software: Option<String>,
    /// Mean absolute luma difference between the embedded thumbnail and the image.
    pub thumbnail_diff: Option<f64>,
    /// PCE against each camera's fingerprint.
    pub pce: BTreeMap<String, f64>,
    /// The camera whose fingerprint matches best at or above the threshold.
    pub sensor: Option<String>,
    /// `consistent`, `mismatch`, `inconclusive`, `no_exif`, `not_tested`.
    pub verdict: &'static str,
    pub cluster: Option<usize>,
    /// Kinds of the findings that name this photo.
    pub flags: Vec<String>,
    /// Why the pixels could not be analysed, if so.
    pub error: Option<String>,
}

/// Photos without EXIF that share a sensor.
#[derive(Debug, Clone, Serialize)]
pub struct Cluster {
    pub id: usize,
    pub photos: Vec<String>,
    /// The camera whose fingerprint most members match, if any.
    pub camera: Option<String>,
    /// Smallest PCE of the links that joined the cluster.
    pub weakest_link: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Duplicate {
    /// `same_body_two_cases` or `copy_different_exif`.
    pub kind: &'static str,
    pub photos: [String; 2],
    pub cases: [Option<String>; 2],
    pub pdq_distance: u32,
    /// Mean absolute 64×64 luma difference, when the pixels were compared.
    pub pixel_diff: Option<f64>,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub kind: &'static str,
    /// `warning` (needs an explanation) or `note` (worth knowing).
    pub severity: &'static str,
    pub photos: Vec<String>,
    pub camera: Option<String>,
    /// Plain English, with the figures.
    pub detail: String,
}

impl Report {
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("report serialises")
    }

    /// A self-contained HTML page (no scripts, no external resources).
    pub fn to_html(&self, lang: Lang) -> String {
        crate::html::render(self, lang)
    }

    /// Findings that name `sha256`.
    pub fn findings_for<'a>(&'a self, sha256: &'a str) -> impl Iterator<Item = &'a Finding> {
        self.findings
            .iter()
            .filter(move |f| f.photos.iter().any(|p| p == sha256))
    }
}
