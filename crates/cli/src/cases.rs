//! The archive team's questions: `cases`, `case`, `similar`, `stats`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use serde::Serialize;
use serde_json::json;

use athar_catalog::similar::PdqIndex;
use athar_catalog::{CaseFilter, Photos};
use athar_vault::Access;

use crate::session::Session;
use crate::{output, PassArgs};

/// ASCII digits for any Arabic-Indic or Eastern Arabic-Indic digits, so "٤٥١٢" finds 4512.
pub fn ascii_digits(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{0660}'..='\u{0669}' => char::from(b'0' + (c as u32 - 0x0660) as u8),
            '\u{06F0}'..='\u{06F9}' => char::from(b'0' + (c as u32 - 0x06F0) as u8),
            _ => c,
        })
        .collect::<String>()
        .trim()
        .to_string()
}

pub fn list(root: &Path, filter: CaseFilter, json_out: bool, pass: &PassArgs) -> Result<ExitCode> {
    let filter = CaseFilter {
        number: filter.number.as_deref().map(ascii_digits),
        branch: filter.branch.as_deref().map(ascii_digits),
        ..filter
    };
    let session = Session::open(root, pass, Access::Read)?;
    let cases = session.catalog.cases(&filter)?;
    if json_out {
        output::json(&cases);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{:<24} {:<11} {:>7} {:>8} {:>9} {:<10} {:<10} {:>6}",
        "case", "status", "branch", "detainee", "report", "hospital", "date", "photos"
    );
    for c in &cases {
        println!(
            "{:<24} {:<11} {:>7} {:>8} {:>9} {:<10} {:<10} {:>6}",
            c.id,
            c.status,
            c.branch.as_deref().unwrap_or("-"),
            c.detainee.as_deref().unwrap_or("-"),
            c.report.as_deref().unwrap_or("-"),
            c.hospital.as_deref().unwrap_or("-"),
            c.first_taken
                .as_deref()
                .map(|t| &t[..10.min(t.len())])
                .unwrap_or("-"),
            c.photos
        );
    }
    eprintln!("{} cases", cases.len());
    Ok(ExitCode::SUCCESS)
}

pub fn show(root: &Path, id: &str, json_out: bool, pass: &PassArgs) -> Result<ExitCode> {
    let session = Session::open(root, pass, Access::Read)?;
    let Some(case) = session.catalog.case(id)? else {
        bail!("no case {id:?}; `athar cases VAULT` lists them");
    };
    let photos = session.catalog.case_photos(id)?;
    if json_out {
        output::json(&json!({"case": case, "photos": photos}));
        return Ok(ExitCode::SUCCESS);
    }
    println!("case      {} ({}, {})", case.id, case.status, case.basis);
    println!("detainee  {}", case.detainee.as_deref().unwrap_or("-"));
    println!("branch    {}", case.branch.as_deref().unwrap_or("-"));
    println!("report    {}", case.report.as_deref().unwrap_or("-"));
    println!("hospital  {}", case.hospital.as_deref().unwrap_or("-"));
    println!("camera    {}", case.camera.as_deref().unwrap_or("-"));
    println!(
        "dates     {} .. {}",
        case.first_taken.as_deref().unwrap_or("-"),
        case.last_taken.as_deref().unwrap_or("-")
    );
    println!("photos    {}", photos.len());
    for p in &photos {
        println!(
            "  {}  {}  {}",
            p.sha256,
            p.taken.as_deref().unwrap_or("-"),
            p.source_path.as_deref().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct Match {
    sha256: String,
    case: Option<String>,
    distance: u32,
    /// How the copy relates to the original: "same", "near-identical", "altered".
    verdict: &'static str,
    /// The orientation under which the hashes matched ("as is", "mirrored left-right", ...).
    orientation: &'static str,
    /// Best normalised correlation of the copy's pixels with some window of the original's
    /// thumbnail (1.0 = the same pixels); ranks the candidates that the hashes found.
    pixel_score: f32,
    source_path: Option<String>,
}

/// The orientations searched: copies that circulate are often mirrored, rarely rotated, and
/// each extra orientation costs a whole search.
const ORIENTATIONS: [(athar_media::Dihedral, &str); 2] = [
    (athar_media::Dihedral::Original, "as is"),
    (athar_media::Dihedral::FlipY, "mirrored left-right"),
];

/// PDQ distances: at or under this, the same picture; the reference "match" bound is 31.
const NEAR: u32 = 31;
/// Farther than this, not a copy at all.
const MAX_DISTANCE: u32 = 128;
/// Hash candidates compared by pixels.
const CANDIDATES: usize = 20;

/// How well the query matches the original's thumbnail (see `athar_media::compare`).
fn pixel_score(session: &Session, original: &str, query: &athar_media::RgbImage) -> Result<f32> {
    let Some((_, thumb, _)) = session
        .catalog
        .derivatives(original)?
        .into_iter()
        .find(|(kind, _, _)| kind == "thumbnail")
    else {
        return Ok(0.0);
    };
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut session.vault.open_object(&thumb)?, &mut bytes)?;
    Ok(athar_media::decode_full(&bytes)
        .map(|t| athar_media::compare::copy_score(query, &t))
        .unwrap_or(0.0))
}

pub fn similar(
    root: &Path,
    images: &[std::path::PathBuf],
    top: usize,
    json_out: bool,
    pass: &PassArgs,
) -> Result<ExitCode> {
    let session = Session::open(root, pass, Access::Read)?;
    let index = PdqIndex::new(session.catalog.pdq_hashes()?);
    if index.is_empty() {
        bail!("no analysed photos in this vault yet; run `athar analyze VAULT` first");
    }
    let mut all = Vec::new();
    for image in images {
        let bytes = std::fs::read(image).with_context(|| format!("reading {}", image.display()))?;
        let decoded = athar_media::decode_reduced(&bytes, 512)
            .with_context(|| format!("{} is not an image athar can read", image.display()))?;
        let variants = athar_media::pdq_dihedral(&decoded.image)
            .with_context(|| format!("{} is too small or too flat to hash", image.display()))?;
        let hashes: Vec<[u8; 32]> = ORIENTATIONS
            .iter()
            .map(|(d, _)| {
                variants[athar_media::Dihedral::ALL
                    .iter()
                    .position(|x| x == d)
                    .expect("in ALL")]
                .hash
            })
            .collect();
        let started = std::time::Instant::now();
        // Hashes find candidates; pixels rank them (a crop hashes closer to its neighbours).
        let hits = index.nearest(&hashes, (top * 4).max(CANDIDATES), MAX_DISTANCE);
        let micros = started.elapsed().as_micros();
        let mut matches = Vec::new();
        for h in hits {
            let photo = session.catalog.photo(&h.id)?;
            matches.push(Match {
                pixel_score: pixel_score(&session, &h.id, &decoded.image)?,
                verdict: match h.distance {
                    0 => "same",
                    d if d <= NEAR => "near-identical (re-encoded, resized or lightly edited)",
                    _ => "altered (cropped, overlaid or heavily edited) or a different shot of the same scene",
                },
                orientation: ORIENTATIONS[h.variant].1,
                case: photo.as_ref().and_then(|p| p.case_id.clone()),
                source_path: photo.and_then(|p| p.source_path),
                sha256: h.id,
                distance: h.distance,
            });
        }
        matches.sort_by(|a, b| {
            b.pixel_score
                .total_cmp(&a.pixel_score)
                .then(a.distance.cmp(&b.distance))
        });
        matches.truncate(top);
        if !json_out {
            println!(
                "{}: {}",
                image.display(),
                if matches.is_empty() {
                    "no match in the archive"
                } else {
                    ""
                }
            );
            for m in &matches {
                println!(
                    "  {}  pixels {:.2}  distance {:>3}/256  case {}  {} ({})",
                    m.sha256,
                    m.pixel_score,
                    m.distance,
                    m.case.as_deref().unwrap_or("-"),
                    m.verdict,
                    m.orientation
                );
            }
        }
        all.push(json!({"image": image.display().to_string(), "matches": matches, "search_microseconds": micros}));
    }
    if json_out {
        output::json(&all);
    }
    Ok(ExitCode::SUCCESS)
}

pub fn stats(root: &Path, out: Option<&Path>, json_out: bool, pass: &PassArgs) -> Result<ExitCode> {
    let session = Session::open(root, pass, Access::Read)?;
    let s = session.catalog.stats()?;
    if let Some(dir) = out {
        write_stats(dir, &s)?;
        eprintln!(
            "wrote stats.json, the CSV tables and cases-per-month.svg to {}",
            dir.display()
        );
    }
    if json_out {
        output::json(&s);
        return Ok(ExitCode::SUCCESS);
    }
    println!(
        "{} photos, {} cases by their numbers ({} photos), {} groups proposed for review",
        s.photos, s.cases, s.photos_in_cases, s.proposed_groups
    );
    println!("cases by branch:");
    for (k, n) in &s.cases_by_branch {
        println!("  {k:<10} {n:>6}");
    }
    println!("cases by hospital:");
    for (k, n) in &s.cases_by_hospital {
        println!("  {k:<10} {n:>6}");
    }
    println!("photos by camera:");
    for (k, n) in &s.photos_by_camera {
        println!("  {k:<40} {n:>6}");
    }
    println!("photos per case:");
    for (k, n) in &s.photos_per_case {
        println!("  {k:>3} photos: {n:>6} cases");
    }
    Ok(ExitCode::SUCCESS)
}

/// stats.json, one CSV per table, and the chart.
pub fn write_stats(dir: &Path, s: &athar_catalog::Stats) -> Result<()> {
    use athar_report::csv::table;
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let write = |name: &str, text: String| -> Result<()> {
        std::fs::write(dir.join(name), text)
            .with_context(|| format!("writing {}", dir.join(name).display()))
    };
    let pairs = |v: &[(String, u64)]| {
        v.iter()
            .map(|(k, n)| vec![k.clone(), n.to_string()])
            .collect::<Vec<_>>()
    };
    write("stats.json", serde_json::to_string_pretty(s)?)?;
    write(
        "cases-by-branch.csv",
        table(&["branch", "cases"], pairs(&s.cases_by_branch)),
    )?;
    write(
        "cases-by-hospital.csv",
        table(&["hospital", "cases"], pairs(&s.cases_by_hospital)),
    )?;
    write(
        "cases-by-month.csv",
        table(&["month", "cases"], pairs(&s.cases_by_month)),
    )?;
    write(
        "cases-by-month-and-branch.csv",
        table(
            &["month", "branch", "cases"],
            s.cases_by_month_and_branch
                .iter()
                .map(|(m, b, n)| vec![m.clone(), b.clone(), n.to_string()]),
        ),
    )?;
    write(
        "photos-by-camera.csv",
        table(&["camera", "photos"], pairs(&s.photos_by_camera)),
    )?;
    write(
        "photos-per-case.csv",
        table(
            &["photos", "cases"],
            s.photos_per_case
                .iter()
                .map(|(k, n)| vec![k.to_string(), n.to_string()]),
        ),
    )?;
    write(
        "cases-per-month.svg",
        athar_report::chart::stacked_bars(
            "Cases per month, by branch",
            &s.cases_by_month_and_branch,
        ),
    )?;
    Ok(())
}
