//! The driver: choose the photos, read them, estimate fingerprints, test, check, report.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::io::Read;

use rayon::prelude::*;

use athar_catalog::similar::PdqIndex;
use athar_catalog::{PhotoRow, Photos, SqliteCatalog};
use athar_media::{decode_full, decode_reduced, ops, read_exif};
use athar_vault::Vault;

use crate::metadata::{self, Facts, Shot};
use crate::prnu::{self, Fft2, FingerprintSums, Residual, ResidualParams};
use crate::report::*;
use crate::{ForensicsError, Params, Result};

/// Which photos the report is about. Fingerprints and camera statistics always draw on the
/// whole catalogue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    All,
    Cases(Vec<String>),
    Photos(Vec<String>),
}

/// The report on the photos of `case_ids`, with the default [`Params`].
pub fn report_for_cases(
    vault: &Vault,
    catalog: &SqliteCatalog,
    case_ids: &[String],
) -> Result<Report> {
    analyse(
        vault,
        catalog,
        &Scope::Cases(case_ids.to_vec()),
        &Params::default(),
        &|_, _, _| {},
    )
}

/// What a photo's bytes gave.
struct Examined {
    facts: Facts,
    size: Option<(u32, u32)>,
    residual: Option<Residual>,
    thumbnail_diff: Option<f64>,
    error: Option<String>,
}

fn examine(bytes: &[u8], rp: &ResidualParams) -> Examined {
    let exif = read_exif(bytes).ok().flatten();
    let facts = metadata::facts(bytes, exif.as_ref());
    match decode_full(bytes) {
        Ok(img) => Examined {
            thumbnail_diff: facts
                .thumbnail
                .as_deref()
                .and_then(|t| metadata::thumbnail_diff(&img, t)),
            residual: prnu::residual(&img, rp),
            size: Some((img.width, img.height)),
            facts,
            error: None,
        },
        Err(e) => Examined {
            facts,
            size: None,
            residual: None,
            thumbnail_diff: None,
            error: Some(e.to_string()),
        },
    }
}

fn read_object(vault: &Vault, sha: &str) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    vault
        .open_object(sha)?
        .read_to_end(&mut out)
        .map_err(|source| ForensicsError::Read {
            sha256: sha.to_string(),
            source,
        })?;
    Ok(out)
}

/// Read and examine `shas` (in parallel, a batch at a time), handing each result to `each`.
fn examine_all(
    vault: &Vault,
    shas: &[&str],
    rp: &ResidualParams,
    mut each: impl FnMut(&str, Examined) -> Result<()>,
    tick: &dyn Fn(usize),
) -> Result<()> {
    let batch = 2 * rayon::current_num_threads().max(1);
    let mut done = 0;
    for chunk in shas.chunks(batch) {
        let bytes = chunk
            .iter()
            .map(|s| read_object(vault, s))
            .collect::<Result<Vec<_>>>()?;
        let results: Vec<Examined> = bytes.par_iter().map(|b| examine(b, rp)).collect();
        for (sha, ex) in chunk.iter().zip(results) {
            each(sha, ex)?;
        }
        done += chunk.len();
        tick(done);
    }
    Ok(())
}

fn row_camera(r: &PhotoRow) -> Option<String> {
    r.camera
        .as_ref()
        .map(|c| format!("{c} #{}", r.serial.as_deref().unwrap_or("?")))
}

/// A camera's fingerprint: sums over the agreeing photos, their residuals (for leave-one-out)
/// and the fingerprint from all of them.
struct Fingerprint {
    sums: FingerprintSums,
    members: HashMap<String, Residual>,
    k: Vec<f32>,
    rejected: usize,
}

/// Estimate a fingerprint robustly: from all chosen photos, then again from those whose
/// leave-one-out PCE against the others reaches the threshold (a photo from another sensor
/// filed under this camera must not shape its fingerprint).
fn estimate(residuals: Vec<(String, Residual)>, fft: &Fft2, p: &Params) -> Option<Fingerprint> {
    let n = p.crop;
    let mut sums = FingerprintSums::new(n);
    for (_, r) in &residuals {
        sums.add(r, 1.0);
    }
    let pces: Vec<f64> = residuals
        .par_iter()
        .map(|(_, r)| {
            let k = sums.fingerprint(Some(r));
            fft.pce(&fft.spectrum(&r.w), &fft.spectrum(&prnu::expected(r, &k)))
        })
        .collect();
    let mut members = HashMap::new();
    let mut rejected = 0;
    for ((sha, r), pce) in residuals.into_iter().zip(pces) {
        if pce >= p.pce_threshold {
            members.insert(sha, r);
        } else {
            sums.add(&r, -1.0);
            rejected += 1;
        }
    }
    if members.len() < p.min_fingerprint_photos {
        return None;
    }
    let k = sums.fingerprint(None);
    Some(Fingerprint {
        sums,
        members,
        k,
        rejected,
    })
}

/// Up to `m` of `v`, evenly spaced.
fn evenly<T: Clone>(v: &[T], m: usize) -> Vec<T> {
    if v.len() <= m {
        return v.to_vec();
    }
    (0..m)
        .map(|i| v[i * (v.len() - 1) / (m - 1).max(1)].clone())
        .collect()
}

/// A photo's facts and decoded size, for the usual tables and sizes of its camera model.
type Seen<'a> = (&'a str, Facts, Option<(u32, u32)>);

struct Tested {
    facts: Facts,
    size: Option<(u32, u32)>,
    thumbnail_diff: Option<f64>,
    error: Option<String>,
    pce: BTreeMap<String, f64>,
}

/// Analyse `scope` and build the report. `progress(stage, done, total)` is called as work
/// advances.
pub fn analyse(
    vault: &Vault,
    catalog: &SqliteCatalog,
    scope: &Scope,
    p: &Params,
    progress: &(dyn Fn(&str, usize, usize) + Sync),
) -> Result<Report> {
    p.check()?;
    let all = catalog.photos()?;
    let by_sha: HashMap<&str, &PhotoRow> = all.iter().map(|r| (r.sha256.as_str(), r)).collect();

    // The photos reported on.
    let mut wanted: Vec<String> = Vec::new();
    let (kind, ids) = match scope {
        Scope::All => {
            wanted = all.iter().map(|r| r.sha256.clone()).collect();
            ("collection", Vec::new())
        }
        Scope::Cases(ids) => {
            for id in ids {
                if catalog.case(id)?.is_none() {
                    return Err(ForensicsError::NoSuchCase(id.clone()));
                }
                wanted.extend(catalog.case_photos(id)?.into_iter().map(|r| r.sha256));
            }
            ("cases", ids.clone())
        }
        Scope::Photos(shas) => {
            for s in shas {
                let s = s.to_ascii_lowercase();
                if !by_sha.contains_key(s.as_str()) {
                    return Err(ForensicsError::NoSuchPhoto(s));
                }
                wanted.push(s);
            }
            ("photos", shas.clone())
        }
    };
    let mut seen = HashSet::new();
    wanted.retain(|s| seen.insert(s.clone()));
    let in_scope: HashSet<&str> = wanted.iter().map(String::as_str).collect();

    // Fingerprint photos: per camera, up to `fingerprint_photos` evenly spaced in time.
    let mut per_camera: BTreeMap<String, Vec<&PhotoRow>> = BTreeMap::new();
    for r in &all {
        if let Some(c) = row_camera(r) {
            per_camera.entry(c).or_default().push(r);
        }
    }
    for rows in per_camera.values_mut() {
        rows.sort_by(|a, b| {
            (&a.taken, &a.subsec, &a.sha256).cmp(&(&b.taken, &b.subsec, &b.sha256))
        });
    }
    let chosen: BTreeMap<&str, Vec<&str>> = per_camera
        .iter()
        .map(|(c, rows)| {
            let usable: Vec<&str> = rows
                .iter()
                .filter(|r| r.error.is_none())
                .map(|r| r.sha256.as_str())
                .collect();
            (c.as_str(), evenly(&usable, p.fingerprint_photos))
        })
        .collect();

    let rp = ResidualParams {
        crop: p.crop,
        noise_sigma: p.noise_sigma,
        saturation: p.saturation,
    };
    let fft = Fft2::new(p.crop);

    // 1. Fingerprints.
    let fp_shas: Vec<&str> = chosen.values().flatten().copied().collect();
    let mut fp_examined: HashMap<String, Examined> = HashMap::new();
    examine_all(
        vault,
        &fp_shas,
        &rp,
        |sha, ex| {
            fp_examined.insert(sha.to_string(), ex);
            Ok(())
        },
        &|d| progress("fingerprints", d, fp_shas.len()),
    )?;
    let mut fingerprints: BTreeMap<String, Fingerprint> = BTreeMap::new();
    let mut fp_rejected: BTreeMap<String, usize> = BTreeMap::new();
    for (camera, shas) in &chosen {
        let residuals: Vec<(String, Residual)> = shas
            .iter()
            .filter_map(|s| {
                let r = fp_examined.get(*s)?.residual.clone()?;
                Some((s.to_string(), r))
            })
            .collect();
        let tried = residuals.len();
        match estimate(residuals, &fft, p) {
            Some(f) => {
                fp_rejected.insert(camera.to_string(), f.rejected);
                fingerprints.insert(camera.to_string(), f);
            }
            None => {
                fp_rejected.insert(camera.to_string(), tried);
            }
        }
    }

    // 2. Every photo in scope: metadata, thumbnail, PCE against every fingerprint.
    let test = |ex: Examined, row: &PhotoRow| -> (Tested, Option<Residual>) {
        let mut pce = BTreeMap::new();
        let mut keep = None;
        if let Some(r) = &ex.residual {
            let w = fft.spectrum(&r.w);
            let own = row_camera(row);
            let results: Vec<(String, f64)> = fingerprints
                .par_iter()
                .map(|(c, f)| {
                    let loo = (f.members.contains_key(&row.sha256)).then_some(r);
                    let k = if loo.is_some() {
                        std::borrow::Cow::Owned(f.sums.fingerprint(loo))
                    } else {
                        std::borrow::Cow::Borrowed(&f.k)
                    };
                    (
                        c.clone(),
                        fft.pce(&w, &fft.spectrum(&prnu::expected(r, &k))),
                    )
                })
                .collect();
            pce.extend(results);
            if own.is_none() {
                keep = ex.residual.clone();
            }
        }
        (
            Tested {
                facts: ex.facts,
                size: ex.size,
                thumbnail_diff: ex.thumbnail_diff,
                error: ex.error,
                pce,
            },
            keep,
        )
    };
    let mut tested: HashMap<String, Tested> = HashMap::new();
    let mut exifless: Vec<(String, Residual)> = Vec::new();
    let mut fresh: Vec<&str> = Vec::new();
    for s in &wanted {
        match fp_examined.remove(s.as_str()) {
            Some(ex) => {
                let (t, keep) = test(ex, by_sha[s.as_str()]);
                exifless.extend(keep.map(|r| (s.clone(), r)));
                tested.insert(s.clone(), t);
            }
            None => fresh.push(s),
        }
    }
    let already = tested.len();
    examine_all(
        vault,
        &fresh,
        &rp,
        |sha, ex| {
            let (t, keep) = test(ex, by_sha[sha]);
            exifless.extend(keep.map(|r| (sha.to_string(), r)));
            tested.insert(sha.to_string(), t);
            Ok(())
        },
        &|d| progress("photos", already + d, wanted.len()),
    )?;
    // Fingerprint photos outside the scope still tell what a camera's JPEG tables are.
    let reference: Vec<Seen<'_>> = fp_examined
        .into_iter()
        .map(|(s, ex)| (by_sha[s.as_str()].sha256.as_str(), ex.facts, ex.size))
        .collect();

    // 3. Photos without EXIF, clustered by sensor.
    progress("clusters", 0, exifless.len());
    let spectra: Vec<_> = exifless
        .par_iter()
        .map(|(_, r)| fft.spectrum(&r.w))
        .collect();
    let pairs: Vec<(usize, usize)> = (0..spectra.len())
        .flat_map(|i| (i + 1..spectra.len()).map(move |j| (i, j)))
        .collect();
    let links: Vec<(usize, usize, f64)> = pairs
        .par_iter()
        .map(|&(i, j)| (i, j, fft.pce(&spectra[i], &spectra[j])))
        .filter(|l| l.2 >= p.cluster_pce_threshold)
        .collect();
    let mut parent: Vec<usize> = (0..exifless.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut weakest: HashMap<usize, f64> = HashMap::new();
    for &(i, j, pce) in &links {
        let (a, b) = (root(&mut parent, i), root(&mut parent, j));
        if a != b {
            parent[b] = a;
            let wa = weakest.remove(&a).unwrap_or(f64::INFINITY);
            let wb = weakest.remove(&b).unwrap_or(f64::INFINITY);
            weakest.insert(a, wa.min(wb).min(pce));
        }
    }
    let mut groups: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..exifless.len() {
        let r = root(&mut parent, i);
        groups.entry(r).or_default().push(i);
    }
    let mut clusters: Vec<Cluster> = Vec::new();
    let mut cluster_of: HashMap<String, usize> = HashMap::new();
    for (r, members) in &groups {
        let id = clusters.len() + 1;
        let photos: Vec<String> = members.iter().map(|&i| exifless[i].0.clone()).collect();
        let mut votes: BTreeMap<String, usize> = BTreeMap::new();
        for s in &photos {
            cluster_of.insert(s.clone(), id);
            if let Some(c) = best_match(&tested[s].pce, p.pce_threshold) {
                *votes.entry(c.0).or_default() += 1;
            }
        }
        clusters.push(Cluster {
            id,
            camera: votes
                .into_iter()
                .max_by_key(|v| v.1)
                .filter(|v| 2 * v.1 > photos.len())
                .map(|v| v.0),
            photos,
            weakest_link: weakest.get(r).copied().filter(|w| w.is_finite()),
        });
    }
    drop(exifless);

    // 4. Metadata, order and duplicates; verdicts.
    progress("checks", 0, 1);
    let mut findings: Vec<Finding> = Vec::new();
    let usual = usual_tables(
        tested
            .iter()
            .map(|(s, t)| (s.as_str(), &t.facts, t.size))
            .chain(reference.iter().map(|(s, f, z)| (*s, f, *z))),
        &by_sha,
    );
    for s in &wanted {
        let (row, t) = (by_sha[s.as_str()], &tested[s]);
        photo_checks(row, t, &usual, p, &mut findings);
    }
    let cameras = camera_reports(
        &per_camera,
        &in_scope,
        &usual,
        &fingerprints,
        &fp_rejected,
        p,
        &mut findings,
    );
    let duplicates = duplicates(vault, &all, &by_sha, &wanted, p, &mut findings)?;

    let mut photos = Vec::with_capacity(wanted.len());
    let mut summary = Summary {
        photos: wanted.len(),
        cameras: cameras.len(),
        ..Summary::default()
    };
    for s in &wanted {
        let (row, t) = (by_sha[s.as_str()], tested.remove(s).expect("tested"));
        let claimed = row_camera(row);
        let best = best_match(&t.pce, p.pce_threshold);
        let verdict = match (&claimed, &best) {
            _ if t.pce.is_empty() => "not_tested",
            (None, _) => "no_exif",
            (Some(c), _) if t.pce.get(c).is_some_and(|v| *v >= p.pce_threshold) => "consistent",
            (Some(_), Some(_)) => "mismatch",
            (Some(_), None) => "inconclusive",
        };
        sensor_finding(
            s,
            claimed.as_deref(),
            verdict,
            &t.pce,
            best.as_ref(),
            cluster_of.get(s),
            &mut findings,
        );
        if !t.pce.is_empty() {
            summary.sensor_tested += 1;
        }
        match verdict {
            "consistent" => summary.sensor_consistent += 1,
            "mismatch" => summary.sensor_mismatch += 1,
            "inconclusive" => summary.sensor_inconclusive += 1,
            "no_exif" => summary.without_exif += 1,
            _ if claimed.is_none() => summary.without_exif += 1,
            _ => {}
        }
        let q = t.facts.quality;
        photos.push(PhotoReport {
            sha256: s.clone(),
            source_path: row.source_path.clone(),
            case: row.case_id.clone(),
            exif_camera: claimed,
            taken: row.taken.clone(),
            width: t.size.map(|z| z.0),
            height: t.size.map(|z| z.1),
            jpeg_quality: q.map(|q| q.quality),
            jpeg_exact_ijg: q.map(|q| q.exact),
            subsampling: t.facts.tables.as_ref().map(|t| t.subsampling()),
            software: t.facts.software.clone(),
            thumbnail_diff: t.thumbnail_diff.map(round2),
            pce: t.pce.iter().map(|(c, v)| (c.clone(), round2(*v))).collect(),
            sensor: best.map(|b| b.0),
            verdict,
            cluster: cluster_of.get(s).copied(),
            flags: Vec::new(),
            error: t.error.or_else(|| row.error.clone()),
        });
    }
    findings.sort_by(|a, b| {
        (a.severity != "warning", a.kind, &a.photos).cmp(&(
            b.severity != "warning",
            b.kind,
            &b.photos,
        ))
    });
    for f in &findings {
        *summary.findings.entry(f.kind.to_string()).or_default() += 1;
    }
    let flags: HashMap<&str, Vec<String>> = findings.iter().fold(HashMap::new(), |mut m, f| {
        for s in &f.photos {
            m.entry(s.as_str())
                .or_insert_with(Vec::new)
                .push(f.kind.to_string());
        }
        m
    });
    for ph in &mut photos {
        if let Some(k) = flags.get(ph.sha256.as_str()) {
            ph.flags = k.clone();
            ph.flags.dedup();
        }
    }
    progress("checks", 1, 1);
    Ok(Report {
        format: FORMAT,
        generated: athar_vault::now_rfc3339(),
        tool: format!("athar-forensics {}", env!("CARGO_PKG_VERSION")),
        scope: ScopeInfo {
            kind,
            ids,
            photos: wanted.len(),
            catalogue_photos: all.len(),
        },
        parameters: p.clone(),
        method: method(p),
        summary,
        cameras,
        photos,
        clusters,
        duplicates,
        findings,
    })
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// The camera with the highest PCE, if it reaches `threshold`.
fn best_match(pce: &BTreeMap<String, f64>, threshold: f64) -> Option<(String, f64)> {
    pce.iter()
        .max_by(|a, b| a.1.total_cmp(b.1))
        .filter(|b| *b.1 >= threshold)
        .map(|(c, v)| (c.clone(), *v))
}

fn sensor_finding(
    sha: &str,
    claimed: Option<&str>,
    verdict: &str,
    pce: &BTreeMap<String, f64>,
    best: Option<&(String, f64)>,
    cluster: Option<&usize>,
    out: &mut Vec<Finding>,
) {
    let of = |c: &str| {
        pce.get(c)
            .map_or("no fingerprint".into(), |v| format!("PCE {v:.1}"))
    };
    let (kind, severity, detail) = match verdict {
        "mismatch" => {
            let (b, v) = best.expect("mismatch has a best match");
            let c = claimed.unwrap_or_default();
            (
                "sensor_mismatch",
                "warning",
                format!(
                    "EXIF names {c} ({}), but the sensor noise matches {b} (PCE {v:.1})",
                    of(c)
                ),
            )
        }
        "inconclusive" => {
            let c = claimed.unwrap_or_default();
            (
                "sensor_inconclusive",
                "note",
                format!(
                    "EXIF names {c} ({}); no fingerprint reaches the threshold",
                    of(c)
                ),
            )
        }
        "no_exif" => (
            "no_exif",
            "note",
            format!(
                "no camera in EXIF; sensor noise {}{}",
                best.map_or("matches no known camera".into(), |(b, v)| format!(
                    "matches {b} (PCE {v:.1})"
                )),
                cluster.map_or(String::new(), |c| format!("; sensor cluster {c}"))
            ),
        ),
        _ => return,
    };
    out.push(Finding {
        kind,
        severity,
        photos: vec![sha.to_string()],
        camera: claimed.map(str::to_string),
        detail,
    });
}

/// Per camera model: the most common JPEG tables and frame size, and per camera key the most
/// common software.
struct Usual {
    tables: BTreeMap<String, JpegUsual>,
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

fn usual_tables<'a>(
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

fn photo_checks(row: &PhotoRow, t: &Tested, usual: &Usual, p: &Params, out: &mut Vec<Finding>) {
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
fn camera_reports(
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

/// 64×64 luma of a photo, for the copy check.
fn small_luma(bytes: &[u8]) -> Option<Vec<f32>> {
    let d = decode_reduced(bytes, 64).ok()?;
    Some(ops::resize(&d.image, 64, 64).luma_f32())
}

fn duplicates(
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

fn method(p: &Params) -> Vec<MethodStep> {
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
