//! Near-duplicates: one picture in two cases, and copies of one picture with different EXIF.

use std::collections::{BTreeSet, HashMap};

use athar_catalog::similar::PdqIndex;
use athar_catalog::PhotoRow;
use athar_media::{decode_reduced, ops};
use athar_vault::Vault;

use crate::analysis::{read_object, round2, row_camera};
use crate::report::*;
use crate::{Params, Result};

/// 64×64 luma of a photo, for the copy check.
fn small_luma(bytes: &[u8]) -> Option<Vec<f32>> {
    let d = decode_reduced(bytes, 64).ok()?;
    Some(ops::resize(&d.image, 64, 64).luma_f32())
}

pub(crate) fn duplicates(
    vault: &Vault,
    all: &[PhotoRow],
    by_sha: &HashMap<&str, &PhotoRow>,
    wanted: &[String],
    p: &Params,
    out: &mut Vec<Finding>,
) -> Result<Vec<Duplicate>> {
    let index = PdqIndex::new(
        all.iter()
            .filter_map(|r| Some((r.sha256.clone(), r.pdq?)))
            .collect(),
    );
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut dups = Vec::new();
    let mut lumas: HashMap<String, Option<Vec<f32>>> = HashMap::new();
    for s in wanted {
        let row = by_sha[s.as_str()];
        let Some(pdq) = row.pdq else { continue };
        for hit in index.nearest(&[pdq], 16, p.pdq_distance) {
            if hit.id == *s {
                continue;
            }
            let pair = if *s < hit.id {
                (s.clone(), hit.id.clone())
            } else {
                (hit.id.clone(), s.clone())
            };
            if !seen.insert(pair.clone()) {
                continue;
            }
            let other = by_sha[hit.id.as_str()];
            let (a, b) = (by_sha[pair.0.as_str()], by_sha[pair.1.as_str()]);
            let cases = [a.case_id.clone(), b.case_id.clone()];
            let mut pixel_diff = None;
            if hit.distance <= p.copy_pdq_distance {
                for x in [s, &hit.id] {
                    if !lumas.contains_key(x) {
                        let l = small_luma(&read_object(vault, x)?);
                        lumas.insert(x.clone(), l);
                    }
                }
                if let (Some(Some(la)), Some(Some(lb))) = (lumas.get(s), lumas.get(&hit.id)) {
                    let d = la
                        .iter()
                        .zip(lb)
                        .map(|(x, y)| (x - y).abs() as f64)
                        .sum::<f64>()
                        / la.len() as f64;
                    pixel_diff = Some(round2(d));
                }
            }
            let copy = pixel_diff.is_some_and(|d| d <= p.copy_pixel_diff);
            let claim = |r: &PhotoRow| (row_camera(r), r.taken.clone());
            if copy && claim(row) != claim(other) {
                let show = |r: &PhotoRow| {
                    format!(
                        "{} at {}",
                        row_camera(r).unwrap_or_else(|| "no camera".into()),
                        r.taken.as_deref().unwrap_or("no time")
                    )
                };
                let detail = format!(
                    "the same picture (PDQ distance {}, pixels differ by {:.1}) with different EXIF: {} / {}",
                    hit.distance,
                    pixel_diff.unwrap_or_default(),
                    show(a),
                    show(b)
                );
                out.push(Finding {
                    kind: "copy_different_exif",
                    severity: "warning",
                    photos: vec![pair.0.clone(), pair.1.clone()],
                    camera: None,
                    detail: detail.clone(),
                });
                dups.push(Duplicate {
                    kind: "copy_different_exif",
                    photos: [pair.0.clone(), pair.1.clone()],
                    cases: cases.clone(),
                    pdq_distance: hit.distance,
                    pixel_diff,
                    detail,
                });
            }
            if let [Some(ca), Some(cb)] = &cases {
                if ca != cb {
                    let detail = format!(
                        "near-identical photos (PDQ distance {}) in cases {ca} and {cb}: one body under two cases?",
                        hit.distance
                    );
                    out.push(Finding {
                        kind: "duplicate_across_cases",
                        severity: "warning",
                        photos: vec![pair.0.clone(), pair.1.clone()],
                        camera: None,
                        detail: detail.clone(),
                    });
                    dups.push(Duplicate {
                        kind: "same_body_two_cases",
                        photos: [pair.0, pair.1],
                        cases,
                        pdq_distance: hit.distance,
                        pixel_diff,
                        detail,
                    });
                }
            }
        }
    }
    Ok(dups)
}
