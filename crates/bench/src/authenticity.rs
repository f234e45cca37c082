//! `athar-bench authenticity`: time of `athar authenticity --all` on the generated collection,
//! and its accuracy against the collection's ground truth.

use std::collections::{BTreeMap, HashMap};
use std::process::Command;

use anyhow::{bail, ensure, Context, Result};
use clap::Args;
use serde_json::Value;

use crate::collection;
use crate::contenders::{self, IngestOpts};
use crate::measure::{self, run_child};
use crate::report::LIGHT_SCRYPT_LOG_N;

#[derive(Args)]
pub struct AuthenticityArgs {
    #[command(flatten)]
    common: crate::Common,
}

pub fn run(args: AuthenticityArgs) -> Result<()> {
    let (env, work) = crate::setup(
        &args.common,
        std::path::Path::new(crate::RESTIC),
        "scratch-authenticity",
    )?;
    let scratch = env.scratch.clone();
    let c = collection::ensure(&work, args.common.photos)?;
    let truth_file = c
        .dir
        .parent()
        .context("collection folder")?
        .join(athar_corpus::GROUND_TRUTH);
    let truth = athar_corpus::ground_truth_rows(&std::fs::read_to_string(&truth_file)?);
    if truth.first().is_none_or(|r| !r.contains_key("exif_edit")) {
        bail!(
            "{} was generated before photos with swapped or stripped EXIF were added; delete {} to regenerate it",
            truth_file.display(),
            c.dir.parent().unwrap().display()
        );
    }
    collection::warm(&c.files)?;
    eprintln!(
        "ingesting and analysing {} photos (not timed) ...",
        c.photos()
    );
    let opts = IngestOpts {
        scrypt_log_n: Some(LIGHT_SCRYPT_LOG_N),
        analyze: true,
    };
    contenders::athar_ingest(&env, &c, &env.vault(), opts, "for-authenticity")?;

    let out = scratch.join("report");
    let mut times = Vec::new();
    let mut last = String::new();
    for r in 0..args.common.runs {
        contenders::settle();
        let mut cmd = Command::new(&env.athar);
        cmd.env("ATHAR_PASSPHRASE_FILE", scratch.join("passphrase"))
            .arg("authenticity")
            .arg(env.vault())
            .args(["--all", "--json", "--out"])
            .arg(&out);
        let (m, stdout) = run_child(&mut cmd, &env.logs, &format!("athar-authenticity-{r}"))?;
        println!(
            "run {}: athar authenticity --all {:.2} s ({:.2} cores, peak RSS {} MiB)",
            r + 1,
            m.time.as_secs_f64(),
            m.cpu.as_secs_f64() / m.time.as_secs_f64(),
            m.max_rss_kib.unwrap_or(0) / 1024
        );
        times.push(m.time.as_secs_f64());
        last = stdout;
    }
    let report: Value = serde_json::from_str(&last).context("parsing the report")?;
    ensure!(
        report["scope"]["photos"].as_u64() == Some(c.photos() as u64),
        "the report does not cover every photo"
    );
    let median = measure::median(&times).unwrap_or(f64::NAN);

    // Accuracy against the ground truth.
    let photos: HashMap<&str, &Value> = report["photos"]
        .as_array()
        .context("photos")?
        .iter()
        .filter_map(|p| Some((p["sha256"].as_str()?, p)))
        .collect();
    let serial = |v: &Value| {
        v.as_str()
            .and_then(|c| c.rsplit_once(" #"))
            .map_or("none".to_string(), |c| c.1.to_string())
    };
    let mut confusion: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    let (mut right, mut swapped, mut caught, mut honest, mut false_alarms) = (0, 0, 0, 0, 0);
    for r in &truth {
        let p = photos
            .get(r["sha256"].as_str())
            .context("a photo missing from the report")?;
        let got = serial(&p["sensor"]);
        right += usize::from(got == r["camera_serial"]);
        match r["exif_edit"].as_str() {
            "swapped" => {
                swapped += 1;
                caught += usize::from(p["verdict"] == "mismatch" && got == r["camera_serial"]);
            }
            "" => {
                honest += 1;
                false_alarms += usize::from(p["verdict"] == "mismatch");
            }
            _ => {}
        }
        *confusion
            .entry(r["camera_serial"].clone())
            .or_default()
            .entry(got)
            .or_default() += 1;
    }
    let camera_of: HashMap<&str, &str> = truth
        .iter()
        .map(|r| (r["sha256"].as_str(), r["camera_serial"].as_str()))
        .collect();
    let (mut members, mut majority) = (0, 0);
    let clusters = report["clusters"].as_array().context("clusters")?;
    for cl in clusters {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for s in cl["photos"].as_array().into_iter().flatten() {
            *count
                .entry(
                    camera_of
                        .get(s.as_str().unwrap_or(""))
                        .copied()
                        .unwrap_or("?"),
                )
                .or_default() += 1;
        }
        members += count.values().sum::<usize>();
        majority += count.values().max().copied().unwrap_or(0);
    }

    let n = c.photos() as f64;
    println!();
    println!(
        "| {} photos (1600x1200), {} runs | median s | photos/s |",
        c.photos(),
        args.common.runs
    );
    println!("|---|---:|---:|");
    println!(
        "| `athar authenticity --all` (full decode, PRNU, PCE against every camera, checks, duplicates) | {median:.2} | {:.0} |",
        n / median
    );
    println!();
    println!(
        "attribution accuracy: {right}/{} = {:.4}",
        truth.len(),
        right as f64 / truth.len() as f64
    );
    println!("swapped EXIF detected: {caught}/{swapped}");
    println!("false mismatches: {false_alarms}/{honest}");
    println!(
        "EXIF-less clustering: {members} photos in {} clusters, purity {:.3}",
        clusters.len(),
        majority as f64 / members.max(1) as f64
    );
    println!();
    let cams: Vec<&String> = confusion.keys().collect();
    println!(
        "| true \\ attributed | {} | none |",
        cams.iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(" | ")
    );
    println!("|---|{}---:|", "---:|".repeat(cams.len()));
    for (t, row) in &confusion {
        let cells: Vec<String> = cams
            .iter()
            .chain([&&"none".to_string()])
            .map(|c| row.get(*c).copied().unwrap_or(0).to_string())
            .collect();
        println!("| {t} | {} |", cells.join(" | "));
    }
    Ok(())
}
