//! athar-package: evidence packages for courts. A package is a BagIt (RFC 8493) bag: the
//! originals under `data/`, and as tag files each item's signed custody events, an inclusion
//! proof for every event against one signed checkpoint, consistency proofs from the archive's
//! earlier checkpoints, the archive's public keys, the authenticity report and a bilingual
//! index page; a detached Ed25519 signature covers the tag manifest. `athar-verify` checks it
//! all offline. Format: docs/formats/package.md.
//!
//! Modules in the order [`write`] uses them: `select` (cases → items, split into bags),
//! `proofs` (events, proofs and keys from the vault), `bag` (BagIt writing and the signature),
//! `index` (the index page), `authenticity` (the report from athar-forensics).

pub mod authenticity;
pub mod bag;
mod index;
mod proofs;
pub mod select;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Map, Value};

use athar_catalog::{CaseRow, SqlCatalog};
use athar_vault::{Vault, VaultError};

pub use select::Item;

#[derive(Debug, thiserror::Error)]
pub enum PackageError {
    #[error("name at least one case (`athar cases VAULT` lists them)")]
    NoCases,
    #[error("no case {0:?} in this vault; `athar cases VAULT` lists them")]
    UnknownCase(String),
    #[error("object {0} is named by a case but the catalogue has no record of it; run `athar catalog rebuild`")]
    MissingObject(String),
    #[error("{0} already exists and is not empty; give --out a new directory")]
    OutNotEmpty(PathBuf),
    #[error("photo {sha256} with its derivatives is {size} bytes, more than --split-size ({limit} bytes); choose a larger size")]
    TooBig {
        sha256: String,
        size: u64,
        limit: u64,
    },
    #[error("object {sha256} decrypted to bytes whose SHA-256 is {got}: the vault is damaged; run `athar verify`")]
    Corrupt { sha256: String, got: String },
    #[error("reading {what} from the vault: {source}")]
    Read {
        what: String,
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("checkpoint: {0}")]
    Checkpoint(String),
    #[error("the authenticity report: {0}")]
    Authenticity(String),
    #[error(transparent)]
    Vault(#[from] VaultError),
    #[error(transparent)]
    Catalog(#[from] athar_catalog::CatalogError),
}

pub type Result<T, E = PackageError> = std::result::Result<T, E>;

pub(crate) fn io_at(path: &Path) -> impl Fn(std::io::Error) -> PackageError + '_ {
    move |source| PackageError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What to package.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub cases: Vec<String>,
    /// Also the thumbnails and blurred previews made from each original.
    pub derivatives: bool,
    /// Largest payload per bag, in bytes; more than one bag makes a group ("1 of 3" …).
    pub split_size: Option<u64>,
}

/// Progress callbacks: total payload bytes once, then bytes as they are written.
pub trait Progress {
    fn start(&self, _total_bytes: u64) {}
    fn advance(&self, _bytes: u64) {}
}
impl Progress for () {}

#[derive(Debug, Clone, Serialize)]
pub struct BagSummary {
    pub path: PathBuf,
    pub bag_count: String,
    pub items: usize,
    pub payload_bytes: u64,
    pub payload_oxum: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub package: String,
    pub out: PathBuf,
    pub cases: Vec<String>,
    pub originals: usize,
    pub derivatives: usize,
    pub events: usize,
    pub checkpoint_size: u64,
    pub consistency_proofs: usize,
    pub authenticity_report: bool,
    /// Time spent on the authenticity analysis (most of a package's time).
    pub authenticity_seconds: f64,
    /// Sequence number of the "dissemination" event that records this export in the log.
    pub dissemination_seq: u64,
    pub bags: Vec<BagSummary>,
}

/// Write the package for `opts.cases` into `out` (absent or empty). Records a PREMIS
/// "dissemination" event naming every item, signs a checkpoint that covers it, then writes
/// the bag(s). With more than one bag, `out` holds `bag-1-of-N` … `bag-N-of-N`.
///
/// The bags are built in a sibling directory and renamed into place at the end, so `out`
/// never holds a half-written package.
pub fn write(
    vault: &mut Vault,
    catalog: &SqlCatalog,
    opts: &Options,
    out: &Path,
    progress: &dyn Progress,
) -> Result<Summary> {
    if out.exists() && std::fs::read_dir(out).map_err(io_at(out))?.next().is_some() {
        return Err(PackageError::OutNotEmpty(out.to_path_buf()));
    }
    let cases = select::cases(catalog, &opts.cases)?;
    let groups = select::groups(catalog, &cases, opts.derivatives)?;
    let mut bags = select::split(groups, opts.split_size)?;
    let started = std::time::Instant::now();
    let report = authenticity::report(vault, catalog, &cases)?;
    let authenticity_seconds = started.elapsed().as_secs_f64();

    let now = athar_vault::now_rfc3339();
    let package_id = format!(
        "athar-{}-{}",
        vault.config().id,
        now.replace([':', '-'], "")
    );
    let all_items: Vec<String> = bags
        .iter()
        .flatten()
        .flat_map(|g| g.items.iter().map(|i| i.sha256.clone()))
        .collect();
    let dissemination = vault.append_one(
        "dissemination",
        dedup(all_items.clone()),
        details(&package_id, &cases, opts, bags.len()),
    )?;

    let evidence = proofs::gather(vault, &all_items)?;
    for item in bags.iter_mut().flatten().flat_map(|g| g.items.iter_mut()) {
        item.event_seqs = evidence.events_of(&item.sha256);
    }

    let total: u64 = bags.iter().flatten().map(|g| g.bytes()).sum();
    progress.start(total);
    let staging = staging_dir(out);
    let _ = std::fs::remove_dir_all(&staging);
    let written = (|| -> Result<Vec<BagSummary>> {
        let count = bags.len();
        let mut summaries = Vec::new();
        for (n, bag_groups) in bags.iter().enumerate() {
            let (dir, final_dir) = if count == 1 {
                (staging.clone(), out.to_path_buf())
            } else {
                let name = format!("bag-{}-of-{count}", n + 1);
                (staging.join(&name), out.join(&name))
            };
            let ctx = BagContext {
                package_id: &package_id,
                created: &now,
                bag_number: n + 1,
                bag_count: count,
                cases: &cases,
                report: report.as_ref(),
            };
            let mut s = write_bag(vault, &evidence, bag_groups, &ctx, &dir, progress)?;
            s.path = final_dir;
            summaries.push(s);
        }
        bag::sync_dir(&staging)?;
        if out.exists() {
            std::fs::remove_dir(out).map_err(io_at(out))?;
        }
        std::fs::rename(&staging, out).map_err(io_at(out))?;
        bag::sync_dir(out)?;
        Ok(summaries)
    })();
    // A failed export leaves no decrypted file behind (its dissemination event stays in the
    // log, as the record of an attempt).
    let summaries = written.inspect_err(|_| {
        let _ = std::fs::remove_dir_all(&staging);
    })?;

    let items: Vec<&Item> = bags.iter().flatten().flat_map(|g| &g.items).collect();
    Ok(Summary {
        package: package_id,
        out: out.to_path_buf(),
        cases: cases.iter().map(|c| c.id.clone()).collect(),
        originals: items.iter().filter(|i| i.role == "original").count(),
        derivatives: items.iter().filter(|i| i.role == "derivative").count(),
        events: evidence.lines.len(),
        checkpoint_size: evidence.checkpoint.size,
        consistency_proofs: evidence.consistency.len(),
        authenticity_report: report.is_some(),
        authenticity_seconds,
        dissemination_seq: dissemination.event.seq,
        bags: summaries,
    })
}

pub(crate) struct BagContext<'a> {
    pub package_id: &'a str,
    pub created: &'a str,
    pub bag_number: usize,
    pub bag_count: usize,
    pub cases: &'a [CaseRow],
    pub report: Option<&'a authenticity::Report>,
}

fn write_bag(
    vault: &Vault,
    evidence: &proofs::Evidence,
    groups: &[select::Group],
    ctx: &BagContext<'_>,
    dir: &Path,
    progress: &dyn Progress,
) -> Result<BagSummary> {
    let mut bag = bag::BagWriter::create(dir)?;
    let items: Vec<&Item> = groups.iter().flat_map(|g| &g.items).collect();
    for item in &items {
        let mut reader = vault.open_object(&item.sha256)?;
        let got = bag.payload(&item.path, &mut reader, &mut |n| progress.advance(n))?;
        if got != item.sha256 {
            return Err(PackageError::Corrupt {
                sha256: item.sha256.clone(),
                got,
            });
        }
    }

    // Every event about the bag's items, once (a transfer or dissemination event can name
    // thousands of objects: one copy per item would grow with the square of the package).
    let seqs: std::collections::BTreeSet<u64> = items
        .iter()
        .flat_map(|i| i.event_seqs.iter().copied())
        .collect();
    let mut lines = String::new();
    for seq in &seqs {
        lines.push_str(&evidence.lines[seq]);
        lines.push('\n');
    }
    bag.tag("athar/events.jsonl", lines.as_bytes())?;
    for seq in &seqs {
        bag.tag(
            &format!("athar/proofs/{seq:012}.tlog-proof"),
            evidence.inclusion_proof(*seq).as_bytes(),
        )?;
    }
    bag.tag("athar/checkpoint.txt", evidence.checkpoint_note.as_bytes())?;
    for (old, text) in &evidence.consistency {
        bag.tag(
            &format!("athar/consistency/{old:012}.consistency-proof"),
            text.as_bytes(),
        )?;
    }
    let keys = proofs::keys_json(vault);
    bag.tag(
        "athar/keys.json",
        serde_json::to_string_pretty(&keys)
            .expect("json")
            .as_bytes(),
    )?;
    let case_ids: Vec<&str> = groups.iter().map(|g| g.case.as_str()).collect();
    let bag_cases: Vec<&CaseRow> = ctx
        .cases
        .iter()
        .filter(|c| case_ids.contains(&c.id.as_str()))
        .collect();
    let package_json = json!({
        "format": "athar-package",
        "version": 1,
        "package": ctx.package_id,
        "created": ctx.created,
        "bag": ctx.bag_number,
        "bags": ctx.bag_count,
        "origin": vault.config().origin,
        "checkpoint_size": evidence.checkpoint.size,
        "cases": bag_cases,
        "items": items,
    });
    bag.tag(
        "athar/package.json",
        serde_json::to_string_pretty(&package_json)
            .expect("json")
            .as_bytes(),
    )?;
    if let Some(r) = ctx.report {
        bag.tag("athar/authenticity.json", r.json.as_bytes())?;
        bag.tag("athar/authenticity.html", r.html_en.as_bytes())?;
        if let Some(ar) = &r.html_ar {
            bag.tag("athar/authenticity.ar.html", ar.as_bytes())?;
        }
    }
    let page = index::page(&index::IndexData {
        ctx,
        origin: &vault.config().origin,
        custodian: &vault.config().custodian,
        checkpoint: &evidence.checkpoint,
        cases: &bag_cases,
        items: &items,
        events: seqs.len(),
        vkey: &vault.config().verifier_key,
    });
    bag.tag("index.html", page.as_bytes())?;

    let oxum = bag.oxum();
    let payload_bytes = bag.payload_bytes();
    let info = bag_info(vault, ctx, &bag_cases);
    let secrets = vault.secrets();
    bag.finish(&info, &vault.config().verifier_key, &|m| secrets.sign(m))?;
    Ok(BagSummary {
        path: dir.to_path_buf(),
        bag_count: format!("{} of {}", ctx.bag_number, ctx.bag_count),
        items: items.len(),
        payload_bytes,
        payload_oxum: oxum,
    })
}

fn bag_info(vault: &Vault, ctx: &BagContext<'_>, cases: &[&CaseRow]) -> Vec<(String, String)> {
    let c = vault.config();
    let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    let mut info = vec![
        ("Source-Organization".into(), c.custodian.clone()),
        ("Bagging-Date".into(), ctx.created[..10].to_string()),
        ("External-Identifier".into(), ctx.package_id.to_string()),
        (
            "External-Description".into(),
            format!(
                "Evidence package of {} case(s) from the athar archive {}: originals with their signed custody events and Merkle proofs. Check it with athar-verify.",
                ids.len(),
                c.origin
            ),
        ),
        ("Internal-Sender-Identifier".into(), ids.join(" ")),
    ];
    if ctx.bag_count > 1 {
        info.push(("Bag-Group-Identifier".into(), ctx.package_id.to_string()));
        info.push((
            "Bag-Count".into(),
            format!("{} of {}", ctx.bag_number, ctx.bag_count),
        ));
    }
    info.push(("Athar-Log-Origin".into(), c.origin.clone()));
    info.push((
        "Bag-Software-Agent".into(),
        format!("athar-package {}", env!("CARGO_PKG_VERSION")),
    ));
    info
}

fn details(package_id: &str, cases: &[CaseRow], opts: &Options, bags: usize) -> Map<String, Value> {
    let mut d = BTreeMap::new();
    d.insert("package", json!(package_id));
    d.insert(
        "cases",
        json!(cases.iter().map(|c| c.id.clone()).collect::<Vec<_>>()),
    );
    d.insert("derivatives", json!(opts.derivatives));
    d.insert("bags", json!(bags));
    d.insert("format", json!("BagIt 1.0 (RFC 8493)"));
    d.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

fn dedup(mut v: Vec<String>) -> Vec<String> {
    let mut seen = HashMap::new();
    v.retain(|s| seen.insert(s.clone(), ()).is_none());
    v
}

fn staging_dir(out: &Path) -> PathBuf {
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "package".into());
    out.with_file_name(format!(".{name}.partial-{}", std::process::id()))
}
