//! Metadata and order checks: JPEG tables and frame size against the camera model's usual
//! ones, software, thumbnail, date range; per camera, file order against time and gaps.

use std::collections::{BTreeMap, HashMap, HashSet};

use athar_catalog::PhotoRow;

use crate::analysis::{round2, row_camera, Fingerprint, Tested};
use crate::metadata::{self, Facts, Shot};
use crate::report::*;
use crate::Params;

/// Per camera model: the most common JPEG tables and frame size, and per camera key the most
/// common software.
pub(crate) struct Usual {
    pub(crate) tables: BTreeMap<String, JpegUsual>,
    size: BTreeMap<String, ((u32, u32), usize, usize)>,
    software: BTreeMap<String, Option<String>>,
}

fn mode<T: Ord + Clone>(v: &[T]) -> Option<(T, usize)> {
    let mut counts: BTreeMap<&T, usize> = BTreeMap::new();
    for x in v {
        *counts.entry(x).or_default() += 1;
    }
    counts
        .into_iter()
        .max_by_key(|c| c.1)
        .map(|(x, n)| (x.clone(), n))
}

pub(crate) fn usual_tables<'a>(
    photos: impl Iterator<Item = (&'a str, &'a Facts, Option<(u32, u32)>)>,
    by_sha: &HashMap<&str, &PhotoRow>,
) -> Usual {
    type Seen = (Vec<(String, u8, bool, String)>, Vec<(u32, u32)>);
    let mut by_model: BTreeMap<String, Seen> = BTreeMap::new();
    let mut software: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for (sha, f, size) in photos {
        let Some(cam) = by_sha.get(sha).and_then(|r| row_camera(r)) else {
            continue;
        };
        let e = by_model
            .entry(metadata::model_of(&cam).to_string())
            .or_default();
        if let (Some(t), Some(q)) = (&f.tables, f.quality) {
            e.0.push((t.signature(), q.quality, q.exact, t.subsampling()));
        }
        e.1.extend(size);
        software.entry(cam).or_default().push(f.software.clone());
    }
    let mut u = Usual {
        tables: BTreeMap::new(),
        size: BTreeMap::new(),
        software: software
            .into_iter()
            .filter_map(|(c, v)| Some((c, mode(&v)?.0)))
            .collect(),
    };
    for (model, (tables, sizes)) in by_model {
        if let Some(((sig, q, exact, sub), n)) = mode(&tables) {
            u.tables.insert(
                model.clone(),
                JpegUsual {
                    quality: q,
                    exact_ijg: exact,
                    subsampling: sub,
                    tables: sig,
                    checked: tables.len(),
                    agreeing: n,
                },
            );
        }
        if let Some((s, n)) = mode(&sizes) {
            u.size.insert(model, (s, n, sizes.len()));
        }
    }
    u
}

pub(crate) fn photo_checks(
    row: &PhotoRow,
    t: &Tested,
    usual: &Usual,
    p: &Params,
    out: &mut Vec<Finding>,
) {
    let camera = row_camera(row);
    let mut push = |kind: &'static str, severity: &'static str, detail: String| {
        out.push(Finding {
            kind,
            severity,
            photos: vec![row.sha256.clone()],
            camera: camera.clone(),
            detail,
        })
    };
    let f = &t.facts;
    if let (Some(cam), Some(tab), Some(q)) = (&camera, &f.tables, f.quality) {
        let model = metadata::model_of(cam);
        if let Some(u) = usual.tables.get(model) {
            if u.checked >= 3 && tab.signature() != u.tables {
                push(
                    "jpeg_tables",
                    "warning",
                    format!(
                        "quantization tables of quality {}{} {}, but {model} writes quality {}{} {} ({} of {} photos)",
                        q.quality,
                        if q.exact { "" } else { " (nearest)" },
                        tab.subsampling(),
                        u.quality,
                        if u.exact_ijg { "" } else { " (nearest)" },
                        u.subsampling,
                        u.agreeing,
                        u.checked
                    ),
                );
            }
        }
        if let (Some(size), Some(&(s, n, of))) = (t.size, usual.size.get(model)) {
            if of >= 3 && size != s && size != (s.1, s.0) {
                push(
                    "dimensions",
                    "warning",
                    format!(
                        "{}x{} pixels, but {model} photos are {}x{} ({n} of {of})",
                        size.0, size.1, s.0, s.1
                    ),
                );
            }
        }
        if let Some(sw) = f.software.as_deref() {
            if let Some(e) = metadata::editor(sw) {
                push(
                    "software",
                    "warning",
                    format!("EXIF Software {sw:?} names an editor ({e})"),
                );
            } else if usual
                .software
                .get(cam)
                .is_some_and(|u| u.as_deref() != Some(sw))
            {
                push(
                    "software",
                    "note",
                    format!("EXIF Software {sw:?} differs from what this camera usually writes"),
                );
            }
        }
    }
    if let (Some(exif), Some(frame)) = (f.exif_size, t.size) {
        if exif != frame {
            push(
                "dimensions",
                "warning",
                format!(
                    "EXIF says {}x{} pixels, the JPEG frame is {}x{}",
                    exif.0, exif.1, frame.0, frame.1
                ),
            );
        }
    }
    if let Some(d) = t.thumbnail_diff {
        if d > p.thumbnail_max_diff {
            push(
                "thumbnail",
                "warning",
                format!(
                    "the embedded thumbnail differs from the image by {d:.1} grey levels on average (threshold {})",
                    p.thumbnail_max_diff
                ),
            );
        }
    }
    if let Some(day) = row
        .taken
        .as_deref()
        .and_then(|t| metadata::parse_day(t.get(0..10)?))
    {
        let first = metadata::parse_day(&p.first_day).expect("checked");
        let last = metadata::parse_day(&p.last_day).expect("checked");
        if day < first || day > last {
            push(
                "date_out_of_range",
                "warning",
                format!(
                    "DateTimeOriginal {} is outside {} .. {}",
                    row.taken.as_deref().unwrap_or_default(),
                    p.first_day,
                    p.last_day
                ),
            );
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn camera_reports(
    per_camera: &BTreeMap<String, Vec<&PhotoRow>>,
    in_scope: &HashSet<&str>,
    usual: &Usual,
    fingerprints: &BTreeMap<String, Fingerprint>,
    rejected: &BTreeMap<String, usize>,
    p: &Params,
    out: &mut Vec<Finding>,
) -> Vec<CameraReport> {
    let mut reports = Vec::new();
    for (camera, rows) in per_camera {
        if !rows.iter().any(|r| in_scope.contains(r.sha256.as_str())) {
            continue;
        }
        let shots: Vec<Shot<'_>> = rows
            .iter()
            .map(|r| Shot {
                sha256: &r.sha256,
                path: r.source_path.as_deref(),
                taken: r.taken.as_deref(),
                t: r.taken
                    .as_deref()
                    .and_then(|t| metadata::seconds(t, r.subsec.as_deref())),
            })
            .collect();
        let (pairs, back, jumps) = metadata::order_steps(&shots, p.jump_hours * 3600.0);
        let touches = |s: &metadata::Step| {
            in_scope.contains(s.earlier_file.as_str()) || in_scope.contains(s.later_file.as_str())
        };
        for s in back.iter().filter(|s| touches(s)) {
            out.push(Finding {
                kind: "clock_backward",
                severity: "warning",
                photos: vec![s.earlier_file.clone(), s.later_file.clone()],
                camera: Some(camera.clone()),
                detail: format!(
                    "in file order, DateTimeOriginal goes back {} between consecutive files of one folder",
                    human(-s.seconds)
                ),
            });
        }
        for s in jumps.iter().filter(|s| touches(s)) {
            out.push(Finding {
                kind: "clock_jump",
                severity: "note",
                photos: vec![s.earlier_file.clone(), s.later_file.clone()],
                camera: Some(camera.clone()),
                detail: format!(
                    "in file order, DateTimeOriginal jumps forward {} between consecutive files of one folder",
                    human(s.seconds)
                ),
            });
        }
        let mut times: Vec<(f64, &str)> = shots
            .iter()
            .filter_map(|s| Some((s.t?, s.taken?)))
            .collect();
        times.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut gaps: Vec<Gap> = times
            .windows(2)
            .filter(|w| w[1].0 - w[0].0 > p.gap_days * 86_400.0)
            .map(|w| Gap {
                from: w[0].1.to_string(),
                to: w[1].1.to_string(),
                days: round2((w[1].0 - w[0].0) / 86_400.0),
            })
            .collect();
        let gap_count = gaps.len();
        gaps.sort_by(|a, b| b.days.total_cmp(&a.days));
        gaps.truncate(10);
        reports.push(CameraReport {
            camera: camera.clone(),
            photos: rows.len(),
            first: times.first().map(|t| t.1.to_string()),
            last: times.last().map(|t| t.1.to_string()),
            ordered_pairs: pairs,
            backward_steps: back.len(),
            forward_jumps: jumps.len(),
            gaps,
            gap_count,
            jpeg: usual.tables.get(metadata::model_of(camera)).cloned(),
            fingerprint_photos: fingerprints.get(camera).map_or(0, |f| f.members.len()),
            fingerprint_rejected: rejected.get(camera).copied().unwrap_or(0),
        });
    }
    reports
}

fn human(seconds: f64) -> String {
    if seconds >= 86_400.0 {
        format!("{:.1} days", seconds / 86_400.0)
    } else if seconds >= 3600.0 {
        format!("{:.1} hours", seconds / 3600.0)
    } else {
        format!("{seconds:.0} s")
    }
}
