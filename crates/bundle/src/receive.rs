//! `receive`: the courier's side. Checks every part against the signed manifest, repairs
//! what parity allows, and copies the verified bundle into a store directory. No key is
//! needed and nothing is decrypted: what reaches the courier's disk is the same ciphertext
//! that was on the drive.

use std::fs::{self, File};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::check::{check, CheckReport};
use crate::error::{io_at, BundleError, Result};
use crate::scan::{scan, Problem};

#[derive(Debug, Clone, Default)]
pub struct ReceiveOptions {
    /// Copy verified bundles here (one directory per bundle, named by its id).
    pub store: Option<PathBuf>,
    /// Accept only bundles signed by these keys (verifier key strings); empty = any signer,
    /// whose signature is still checked.
    pub signers: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Checked; intact or repairable (nothing copied: no store given).
    Checked,
    /// Copied into the store (repaired if it had to be).
    Stored,
    /// The store already holds this bundle.
    AlreadyStored,
    Refused,
}

#[derive(Debug, Clone, Serialize)]
pub struct Received {
    pub outcome: Outcome,
    pub reason: Option<String>,
    pub stored_at: Option<PathBuf>,
    pub report: CheckReport,
}

#[derive(Debug, Clone, Serialize)]
pub struct ReceiveSummary {
    pub bundles: Vec<Received>,
    pub problems: Vec<Problem>,
}

impl ReceiveSummary {
    pub fn all_ok(&self) -> bool {
        self.problems.is_empty() && self.bundles.iter().all(|b| b.outcome != Outcome::Refused)
    }
}

pub fn receive(drive: &Path, opts: &ReceiveOptions) -> Result<ReceiveSummary> {
    crate::writer::raise_file_limit();
    let found = scan(drive)?;
    if found.bundles.is_empty() && found.problems.is_empty() {
        return Err(BundleError::Refused(format!(
            "no bundle parts found in {}",
            drive.display()
        )));
    }
    let mut bundles = Vec::new();
    for b in &found.bundles {
        let id = &b.manifest.bundle;
        if !opts.signers.is_empty() && !opts.signers.contains(&b.manifest.signer) {
            let report = check(b, None)?;
            bundles.push(Received {
                outcome: Outcome::Refused,
                reason: Some(format!(
                    "signed by {}, which is not one of the expected sources",
                    b.manifest.signer
                )),
                stored_at: None,
                report,
            });
            continue;
        }
        let Some(store) = &opts.store else {
            let report = check(b, None)?;
            let refused = !report.recoverable;
            bundles.push(Received {
                outcome: if refused {
                    Outcome::Refused
                } else {
                    Outcome::Checked
                },
                reason: refused.then(|| report.refusal()),
                stored_at: None,
                report,
            });
            continue;
        };
        let target = store.join(id);
        if target.exists() {
            let report = check(b, None)?;
            bundles.push(Received {
                outcome: Outcome::AlreadyStored,
                reason: None,
                stored_at: Some(target),
                report,
            });
            continue;
        }
        fs::create_dir_all(store).map_err(io_at(store))?;
        let incoming = store.join(format!(".incoming-{id}"));
        if incoming.exists() {
            fs::remove_dir_all(&incoming).map_err(io_at(&incoming))?;
        }
        let report = match check(b, Some(&incoming)) {
            Ok(r) => r,
            Err(e) => {
                let _ = fs::remove_dir_all(&incoming);
                return Err(e);
            }
        };
        if !report.recoverable {
            let _ = fs::remove_dir_all(&incoming);
            bundles.push(Received {
                outcome: Outcome::Refused,
                reason: Some(report.refusal()),
                stored_at: None,
                report,
            });
            continue;
        }
        fs::rename(&incoming, &target).map_err(io_at(&target))?;
        File::open(store)
            .and_then(|d| d.sync_all())
            .map_err(io_at(store))?;
        bundles.push(Received {
            outcome: Outcome::Stored,
            reason: None,
            stored_at: Some(target),
            report,
        });
    }
    Ok(ReceiveSummary {
        bundles,
        problems: found.problems,
    })
}
