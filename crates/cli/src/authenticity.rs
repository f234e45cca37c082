//! `athar authenticity`: the examiner's report on cameras, JPEG structure, sensor noise and
//! duplicates (the analysis lives in `athar-forensics`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Mutex;

use anyhow::{Context, Result};
use athar_forensics::{Lang, Params, Report, Scope};
use athar_vault::Access;
use clap::Args;

use crate::session::Session;
use crate::{output, PassArgs};

#[derive(Args, Debug)]
pub struct AuthenticityArgs {
    /// The vault directory.
    pub vault: PathBuf,
    /// Report on the photos of this case (repeatable).
    #[arg(long = "case", value_name = "ID", conflicts_with_all = ["photo", "all"])]
    pub cases: Vec<String>,
    /// Report on this photo (SHA-256 of the original; repeatable).
    #[arg(long = "photo", value_name = "SHA256", conflicts_with = "all")]
    pub photo: Vec<String>,
    /// Report on every analysed photo (the default when no case or photo is given).
    #[arg(long)]
    pub all: bool,
    /// Directory for report.html (English), report.ar.html (Arabic) and report.json.
    #[arg(long, value_name = "DIR", default_value = "authenticity-report")]
    pub out: PathBuf,
    /// Print the report's JSON on stdout as well.
    #[arg(long)]
    pub json: bool,
    /// First plausible day of DateTimeOriginal.
    #[arg(long, value_name = "YYYY-MM-DD", default_value = "2011-05-01")]
    pub from: String,
    /// Last plausible day of DateTimeOriginal.
    #[arg(long, value_name = "YYYY-MM-DD", default_value = "2013-08-31")]
    pub to: String,
    /// Side of the centre crop used for sensor noise, in pixels.
    #[arg(long, default_value_t = Params::default().crop)]
    pub crop: usize,
    /// Photos per camera the sensor fingerprint is estimated from.
    #[arg(long, default_value_t = Params::default().fingerprint_photos)]
    pub fingerprint_photos: usize,
    /// PCE at or above which a photo matches a fingerprint.
    #[arg(long, default_value_t = Params::default().pce_threshold)]
    pub pce_threshold: f64,
    #[command(flatten)]
    pub pass: PassArgs,
}

pub fn run(a: AuthenticityArgs) -> Result<ExitCode> {
    let params = Params {
        first_day: a.from.clone(),
        last_day: a.to.clone(),
        crop: a.crop,
        fingerprint_photos: a.fingerprint_photos,
        pce_threshold: a.pce_threshold,
        ..Params::default()
    };
    params.check()?;
    let scope = if !a.cases.is_empty() {
        Scope::Cases(a.cases.clone())
    } else if !a.photo.is_empty() {
        Scope::Photos(a.photo.clone())
    } else {
        Scope::All
    };
    let session = Session::open(&a.vault, &a.pass, Access::Read)?;
    let bar = progress_bar();
    let stage = Mutex::new(String::new());
    let report = athar_forensics::analyse(
        &session.vault,
        &session.catalog,
        &scope,
        &params,
        &|what, done, total| {
            let mut s = stage.lock().unwrap();
            if *s != what {
                *s = what.to_string();
                bar.set_message(what.to_string());
                bar.set_length(total as u64);
            }
            bar.set_position(done as u64);
        },
    )
    .context("authenticity analysis")?;
    bar.finish_and_clear();
    write(&a.out, &report)?;
    if a.json {
        output::json(&report.to_json());
        return Ok(ExitCode::SUCCESS);
    }
    let s = &report.summary;
    println!(
        "{} photos, {} cameras; sensor: {} match their EXIF camera, {} match another camera, {} inconclusive, {} without EXIF",
        s.photos, s.cameras, s.sensor_consistent, s.sensor_mismatch, s.sensor_inconclusive, s.without_exif
    );
    if report.findings.is_empty() {
        println!("no findings");
    }
    for (kind, n) in &s.findings {
        println!("  {kind:<24} {n:>6}");
    }
    println!(
        "wrote report.html, report.ar.html and report.json to {}",
        a.out.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} {per_sec} {eta}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar
}

/// The three files, each written whole (temporary name, then rename).
pub fn write(dir: &Path, report: &Report) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let json = serde_json::to_string_pretty(&report.to_json())? + "\n";
    for (name, body) in [
        ("report.json", json),
        ("report.html", report.to_html(Lang::En)),
        ("report.ar.html", report.to_html(Lang::Ar)),
    ] {
        let tmp = dir.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, body).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, dir.join(name))
            .with_context(|| format!("writing {}", dir.join(name).display()))?;
    }
    Ok(())
}
