//! `athar checkpoint` and `athar prove`: what lets anyone check the archive from outside.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context, Result};

use athar_catalog::{Catalog, EventFilter};
use athar_tlog::{ConsistencyProofText, InclusionProofText};
use athar_vault::{kind, parse_sha256, Access};

use crate::session::Session;
use crate::PassArgs;

pub fn checkpoint(root: &Path, pass: &PassArgs) -> Result<ExitCode> {
    let session = Session::open(root, pass, Access::Write)?;
    let note = session.vault.checkpoint()?;
    print!("{note}");
    Ok(ExitCode::SUCCESS)
}

pub fn prove(
    root: &Path,
    sha256: Option<&str>,
    consistency: Option<&Path>,
    pass: &PassArgs,
) -> Result<ExitCode> {
    let session = Session::open(root, pass, Access::Write)?;
    let text = match (sha256, consistency) {
        (Some(sha), None) => inclusion(&session, sha)?,
        (None, Some(old)) => grown_since(&session, old)?,
        _ => bail!("give either an object's SHA-256 or --consistency OLD_CHECKPOINT_FILE"),
    };
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

/// The object's first ingestion event, proven against the latest checkpoint (signing a new
/// one if the event is newer than all of them).
fn inclusion(session: &Session, sha: &str) -> Result<String> {
    parse_sha256(sha)?;
    let sha = sha.to_lowercase();
    let first = session
        .catalog
        .events(&EventFilter {
            object: Some(sha.clone()),
            kind: Some(kind::INGESTION.into()),
            limit: Some(1),
            ..Default::default()
        })?
        .pop()
        .with_context(|| format!("no ingestion event for {sha} in this vault"))?;
    let vault = &session.vault;
    let (note, cp) = match vault.latest_checkpoint()? {
        Some((note, cp)) if cp.size >= first.seq => (note, cp),
        _ => {
            eprintln!(
                "athar: signing a new checkpoint that covers event {}",
                first.seq
            );
            let note = vault.checkpoint()?;
            let cp = athar_tlog::open_checkpoint(&note, &vault.verifier())?;
            (note, cp)
        }
    };
    let leaves = vault.leaves()?;
    let index = first.seq - 1;
    let hashes = athar_tlog::inclusion_proof(&leaves[..cp.size as usize], index);
    let line = vault.event(first.seq)?.line;
    let proof = InclusionProofText {
        index,
        extra: Some(line.into_bytes()),
        hashes,
        checkpoint_note: note,
    };
    Ok(proof.format())
}

fn grown_since(session: &Session, old_file: &Path) -> Result<String> {
    let vault = &session.vault;
    let old_note = std::fs::read_to_string(old_file)
        .with_context(|| format!("reading the old checkpoint {}", old_file.display()))?;
    let old = athar_tlog::open_checkpoint(&old_note, &vault.verifier()).with_context(|| {
        format!(
            "{} is not a checkpoint signed by this vault",
            old_file.display()
        )
    })?;
    let leaves = vault.leaves()?;
    if old.size > leaves.len() as u64 {
        bail!(
            "the old checkpoint covers {} events but the log holds only {}: events were removed; run `athar verify`",
            old.size,
            leaves.len()
        );
    }
    if athar_tlog::root(&leaves[..old.size as usize]) != old.root {
        bail!("this vault's log does not extend the old checkpoint: its first {} events differ; run `athar verify`", old.size);
    }
    let (note, new) = match vault.latest_checkpoint()? {
        Some((note, cp)) if cp.size >= old.size => (note, cp),
        _ => {
            let note = vault.checkpoint()?;
            let cp = athar_tlog::open_checkpoint(&note, &vault.verifier())?;
            (note, cp)
        }
    };
    let hashes = athar_tlog::consistency_proof(&leaves[..new.size as usize], old.size);
    Ok(ConsistencyProofText {
        old_size: old.size,
        new_size: new.size,
        hashes,
        checkpoint_note: note,
    }
    .format())
}
