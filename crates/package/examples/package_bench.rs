//! Time to package and to verify 100 cases, with the real binaries.
//!
//! ```text
//! cargo build --release -p athar-cli -p athar-verify
//! cargo run --release -p athar-package --example package_bench -- [CASES] [RUNS]
//! ```
//!
//! Generates (once, cached under $TMPDIR/athar-package-bench) a synthetic collection with
//! enough bodies, ingests and analyses it into a vault, then, RUNS times each, interleaved:
//! `athar package` of CASES cases (originals only, and with --derivatives) and `athar-verify`
//! of each package. Prints medians as a markdown table.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let cases: usize = args.next().map_or(100, |a| a.parse().expect("CASES"));
    let runs: usize = args.next().map_or(5, |a| a.parse().expect("RUNS"));
    let bin_dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    let athar = bin_dir.join("athar");
    let verifier = bin_dir.join("athar-verify");
    for b in [&athar, &verifier] {
        assert!(
            b.exists(),
            "{} is missing: cargo build --release -p athar-cli -p athar-verify",
            b.display()
        );
    }
    let work = std::env::temp_dir().join("athar-package-bench");
    let vault = prepare(&athar, &work, cases);
    let pass = work.join("pass.txt");
    let ids = case_ids(&athar, &vault, &pass, cases);

    let mut times: Vec<(&str, Vec<f64>)> = vec![
        ("athar package (originals)", vec![]),
        ("athar-verify (originals)", vec![]),
        ("athar package --derivatives", vec![]),
        ("athar-verify (with derivatives)", vec![]),
    ];
    let mut facts = String::new();
    let mut analysis = Vec::new();
    for run in 0..runs {
        for (k, derivatives) in [(0, false), (2, true)] {
            let out = work.join(format!("pkg-{run}-{derivatives}"));
            let _ = std::fs::remove_dir_all(&out);
            let mut cmd = Command::new(&athar);
            cmd.env("ATHAR_PASSPHRASE_FILE", &pass)
                .arg("package")
                .arg(&vault)
                .arg("--out")
                .arg(&out)
                .arg("--json");
            for id in &ids {
                cmd.arg("--case").arg(id);
            }
            if derivatives {
                cmd.arg("--derivatives");
            }
            let t = Instant::now();
            let o = cmd.output().unwrap();
            times[k].1.push(t.elapsed().as_secs_f64());
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
            let s: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
            analysis.push(s["authenticity_seconds"].as_f64().unwrap());
            if run == 0 {
                facts.push_str(&format!(
                    "- {}: {} cases, {} originals, {} derivatives, {} events, {:.1} MB payload, log of {} events\n",
                    times[k].0,
                    s["cases"].as_array().unwrap().len(),
                    s["originals"],
                    s["derivatives"],
                    s["events"],
                    s["bags"][0]["payload_bytes"].as_f64().unwrap() / 1e6,
                    s["checkpoint_size"],
                ));
            }
            let t = Instant::now();
            let v = Command::new(&verifier).arg(&out).output().unwrap();
            times[k + 1].1.push(t.elapsed().as_secs_f64());
            assert!(v.status.success(), "{}", String::from_utf8_lossy(&v.stdout));
            std::fs::remove_dir_all(&out).unwrap();
        }
    }
    println!("| step | median of {runs} (s) | min (s) | max (s) |");
    println!("|---|---:|---:|---:|");
    for (name, mut t) in times {
        t.sort_by(f64::total_cmp);
        println!(
            "| {name} | {:.2} | {:.2} | {:.2} |",
            t[t.len() / 2],
            t[0],
            t[t.len() - 1]
        );
    }
    analysis.sort_by(f64::total_cmp);
    println!(
        "\nOf which the authenticity analysis of the cases: median {:.2} s over all {} packages.",
        analysis[analysis.len() / 2],
        analysis.len()
    );
    print!("\n{facts}");
}

/// A vault holding at least `cases` cases, made once and reused.
fn prepare(athar: &Path, work: &Path, cases: usize) -> PathBuf {
    let vault = work.join("vault");
    let done = work.join("ready");
    if done.exists() {
        return vault;
    }
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).unwrap();
    let pass = work.join("pass.txt");
    std::fs::write(&pass, "bench passphrase\n").unwrap();
    let collection = work.join("collection");
    // About one body in ten has no numbers and becomes a proposal, not a case.
    let opts = athar_corpus::CorpusOptions {
        bodies: cases + cases / 4,
        ..Default::default()
    };
    eprintln!("generating {} bodies", opts.bodies);
    athar_corpus::generate(&collection, &opts, &|_, _| {}).unwrap();
    run(Command::new(athar)
        .env("ATHAR_PASSPHRASE_FILE", &pass)
        .args(["init", "--scrypt-log-n", "10"])
        .arg(&vault));
    let years: Vec<PathBuf> = std::fs::read_dir(&collection)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    eprintln!("ingesting and analysing");
    run(Command::new(athar)
        .env("ATHAR_PASSPHRASE_FILE", &pass)
        .arg("ingest")
        .arg(&vault)
        .args(&years));
    std::fs::write(&done, "").unwrap();
    vault
}

fn case_ids(athar: &Path, vault: &Path, pass: &Path, n: usize) -> Vec<String> {
    let o = Command::new(athar)
        .env("ATHAR_PASSPHRASE_FILE", pass)
        .args(["cases", "--json", "--status", "unidentified"])
        .arg(vault)
        .output()
        .unwrap();
    assert!(o.status.success());
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let ids: Vec<String> = v
        .as_array()
        .unwrap()
        .iter()
        .take(n)
        .map(|c| c["id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), n, "the vault has only {} cases", ids.len());
    ids
}

fn run(cmd: &mut Command) {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}
