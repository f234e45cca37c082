//! The driver: choose the photos, read them, estimate fingerprints, test, check, report.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;

use rayon::prelude::*;

use athar_catalog::{PhotoRow, Photos, SqlCatalog};
use athar_media::{decode_full, read_exif};
use athar_vault::Vault;

use crate::checks::{camera_reports, photo_checks, usual_tables};
use crate::duplicates::duplicates;
use crate::metadata::{self, Facts};
use crate::method::method;
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
    catalog: &SqlCatalog,
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

pub(crate) fn read_object(vault: &Vault, sha: &str) -> Result<Vec<u8>> {
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

pub(crate) fn row_camera(r: &PhotoRow) -> Option<String> {
    r.camera
        .as_ref()
        .map(|c| format!("{c} #{}", r.serial.as_deref().unwrap_or("?")))
}

/// A camera's fingerprint: sums over the agreeing photos, their residuals (for leave-one-out)
/// and the fingerprint from all of them.
pub(crate) struct Fingerprint {
    sums: FingerprintSums,
    pub(crate) members: HashMap<String, Residual>,
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
pub(crate) type Seen<'a> = (&'a str, Facts, Option<(u32, u32)>);

pub(crate) struct Tested {
    pub(crate) facts: Facts,
    pub(crate) size: Option<(u32, u32)>,
    pub(crate) thumbnail_diff: Option<f64>,
    pub(crate) error: Option<String>,
    pub(crate) pce: BTreeMap<String, f64>,
}

/// Analyse `scope` and build the report. `progress(stage, done, total)` is called as work
/// advances.
pub fn analyse(
    vault: &Vault,
    catalog: &SqlCatalog,
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
    let (clusters, cluster_of) = cluster_by_sensor(&exifless, &tested, &fft, p);
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

/// Photos without EXIF, clustered by sensor: their residuals compared pairwise by PCE, pairs
/// at the threshold linked, clusters the connected components. Also each photo's cluster id.
fn cluster_by_sensor(
    exifless: &[(String, Residual)],
    tested: &HashMap<String, Tested>,
    fft: &Fft2,
    p: &Params,
) -> (Vec<Cluster>, HashMap<String, usize>) {
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
    (clusters, cluster_of)
}

pub(crate) fn round2(v: f64) -> f64 {
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
