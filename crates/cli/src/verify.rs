//! `athar verify`: the full report, then a "fixity check" event recording it.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Result};
use serde_json::json;

use athar_vault::verify::{verify, Report, VerifyOptions, VerifyProgress};
use athar_vault::{kind, Access, Vault};

use crate::{output, PassArgs};

struct Bar(indicatif::ProgressBar);

impl VerifyProgress for Bar {
    fn objects_total(&self, bytes: u64) {
        self.0.set_length(bytes);
    }
    fn advance(&self, bytes: u64) {
        self.0.inc(bytes);
    }
}

pub fn run(root: &Path, sample: Option<f64>, json_out: bool, pass: &PassArgs) -> Result<ExitCode> {
    if let Some(p) = sample {
        if !(p > 0.0 && p <= 100.0) {
            bail!("--sample takes a percentage above 0 and at most 100, not {p}");
        }
    }
    // Verify reads the log itself, not the catalogue: it must work when the catalogue is stale.
    let passphrase = crate::passphrase::get(pass)?;
    let mut vault = Vault::open(root, &passphrase, Access::Write)?;
    let bar = crate::output::byte_bar(true, "verifying");
    let report = verify(
        &vault,
        &VerifyOptions {
            sample_percent: sample,
        },
        &Bar(bar.clone()),
    )?;
    bar.finish_and_clear();
    // The catalogue picks the new event up the next time the vault is opened.
    let recorded = record(&mut vault, &report);
    if json_out {
        output::json(&json!({"report": report, "fixity_event_recorded": recorded}));
    } else {
        print_report(&report, recorded);
    }
    Ok(if report.ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Log the check, unless the log itself is damaged (appending would hide the damage).
fn record(vault: &mut Vault, report: &Report) -> bool {
    if !report.log_intact {
        return false;
    }
    let mut d = serde_json::Map::new();
    d.insert(
        "outcome".into(),
        json!(if report.ok() { "pass" } else { "fail" }),
    );
    d.insert("events".into(), json!(report.events));
    d.insert("objects_checked".into(), json!(report.objects_checked));
    d.insert("objects_total".into(), json!(report.objects_total));
    d.insert("bytes_checked".into(), json!(report.bytes_checked));
    d.insert("checkpoints".into(), json!(report.checkpoints));
    d.insert("problems".into(), json!(report.problems.len()));
    if let Some(p) = report.sample_percent {
        d.insert("sample_percent".into(), json!(p));
    }
    d.insert("custodian".into(), json!(vault.config().custodian));
    match vault.append_one(kind::FIXITY_CHECK, Vec::new(), d) {
        Ok(_) => true,
        Err(e) => {
            eprintln!("athar: the check could not be recorded in the log: {e}");
            false
        }
    }
}

fn print_report(r: &Report, recorded: bool) {
    println!(
        "checked {} events in {} log segments, {} source feeds, {} checkpoints, {} of {} objects ({})",
        r.events,
        r.segments,
        r.feeds,
        r.checkpoints,
        r.objects_checked,
        r.objects_total,
        output::bytes(r.bytes_checked)
    );
    for w in &r.warnings {
        println!("warning: {}: {}", w.subject, w.message);
    }
    for p in &r.problems {
        println!("PROBLEM: {}: {}", p.subject, p.message);
    }
    if r.ok() {
        println!("vault verified: no problems");
    } else {
        println!("{} problems found", r.problems.len());
    }
    if recorded {
        println!("recorded as a \"fixity check\" event");
    } else if !r.log_intact {
        println!(
            "not recorded in the log: the log itself is damaged (appending would bury the damage)"
        );
    } else if !recorded {
        println!("not recorded in the log (see the error above)");
    }
}
