//! `export`: a bundle from a vault, for keeping a second copy at a partner archive.
//!
//! The bundle is the same format as a source's, signed by the vault's own key (its
//! verifier key, the one its checkpoints carry). Its feed is the vault's log lines since
//! the checkpoint the partner last received; its index carries the vault's new checkpoint
//! and a consistency proof from that older one. The partner checks the proof against the
//! last checkpoint it holds from the sender, recomputes the sender's tree from every line
//! it holds plus the new ones, and only then stores anything.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;

use rand::RngCore;
use serde::Serialize;
use serde_json::{json, Map};

use athar_tlog::{Checkpoint, ConsistencyProofText, Signer, Verifier};
use athar_vault::envelope::{self, SealError};
use athar_vault::feed;
use athar_vault::{kind, SignedEvent, Vault};

use crate::error::{io_at, BundleError, Result};
use crate::format::{self, Index, IndexObject};
use crate::import::{Plan, Registry};
use crate::layout::Layout;
use crate::pack::Progress;
use crate::profile::parse_recipients;
use crate::writer::{BundleWriter, ManifestInfo};

pub struct ExportOptions {
    pub part_size: u64,
    pub parity_percent: u32,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            part_size: crate::pack::DEFAULT_PART_SIZE,
            parity_percent: crate::pack::DEFAULT_PARITY,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportSummary {
    pub bundle: String,
    pub from_size: u64,
    pub to_size: u64,
    pub events: u64,
    pub files: u64,
    pub bytes: u64,
    pub parts: Vec<String>,
    pub part_size: u64,
    /// The checkpoint the bundle carries: give it as `--since` next time.
    pub checkpoint: String,
}

/// Objects an event stores for the first time (ingestion or creation, not a re-sighting).
fn first_storage(ev: &SignedEvent) -> Option<&str> {
    let e = &ev.event;
    let stores = matches!(e.kind.as_str(), kind::INGESTION | kind::CREATION)
        && e.objects.len() == 1
        && e.details.contains_key("media_type")
        && e.details.get("seen_again").and_then(|v| v.as_bool()) != Some(true);
    stores.then(|| e.objects[0].as_str())
}

/// Export everything logged after `since` (a checkpoint note of this vault; `None` = from
/// the beginning) into a new bundle in `out`, encrypted to `recipients`.
pub fn export(
    vault: &Vault,
    recipients: &[String],
    since: Option<&str>,
    out: &Path,
    opts: &ExportOptions,
    progress: &dyn Progress,
) -> Result<ExportSummary> {
    let recipients = parse_recipients(recipients)?;
    let verifier = vault.verifier();
    let old_size = match since {
        None => 0,
        Some(note) => {
            athar_tlog::open_checkpoint(note, &verifier)
                .map_err(|e| {
                    BundleError::BadOption(format!(
                        "--since is not a checkpoint of this vault: {e}"
                    ))
                })?
                .size
        }
    };
    let leaves = vault.leaves()?;
    let new_size = leaves.len() as u64;
    if old_size > new_size {
        return Err(BundleError::BadOption(format!(
            "--since names a log of {old_size} events, but this vault holds {new_size}"
        )));
    }
    if let Some(note) = since {
        let cp = athar_tlog::open_checkpoint(note, &verifier).expect("opened above");
        if athar_tlog::root(&leaves[..old_size as usize]) != cp.root {
            return Err(BundleError::Refused(
                "--since does not match this vault's log: the log was altered after that checkpoint; run athar verify".into(),
            ));
        }
    }
    if old_size == new_size {
        return Err(BundleError::NothingToPack(format!(
            "nothing was logged since that checkpoint ({new_size} events)"
        )));
    }
    let note = vault.checkpoint()?;
    let proof = ConsistencyProofText {
        old_size,
        new_size,
        hashes: athar_tlog::consistency_proof(&leaves, old_size),
        checkpoint_note: note.clone(),
    }
    .format();
    let prev = if old_size == 0 {
        [0; 32]
    } else {
        leaves[old_size as usize - 1]
    };
    let mut lines = Vec::new();
    let mut objects: Vec<(String, u64)> = Vec::new();
    let mut seen = HashSet::new();
    vault.read_log_from(old_size + 1, prev, |ev| {
        if ev.event.seq > new_size {
            return Ok(());
        }
        if let Some(sha) = first_storage(&ev) {
            if seen.insert(sha.to_string()) {
                objects.push((sha.to_string(), ev.event.detail_u64("size").unwrap_or(0)));
            }
        }
        lines.push(ev.line);
        Ok(())
    })?;

    let n = recipients.len();
    let bound =
        |size: u64| format::padme(size + 16 * (size / (64 << 10) + 1) + 316 + 200 * n as u64);
    let estimate: u64 = objects.iter().map(|(_, s)| bound(*s)).sum::<u64>()
        + bound(
            lines.iter().map(|l| l.len() as u64 + 8).sum::<u64>() + note.len() as u64 * 3 + 65_536,
        )
        + objects.len() as u64 * 200;
    let layout = Layout::plan(
        estimate + estimate / 100 + (1 << 20),
        opts.parity_percent,
        opts.part_size,
    )
    .map_err(BundleError::BadOption)?;
    let refs: Vec<&dyn age::Recipient> = recipients
        .iter()
        .map(|r| r as &dyn age::Recipient)
        .collect();
    progress.start(objects.iter().map(|(_, s)| s).sum());
    let mut writer = BundleWriter::create(out, layout)?;
    let bundle = writer.id_hex();
    let mut index_objects = Vec::with_capacity(objects.len());
    let mut rng = rand::thread_rng();
    let mut pad = vec![0u8; 64 << 10];
    let mut bytes = 0u64;
    for (sha, _) in &objects {
        let offset = writer.position();
        let mut reader = vault.open_object(sha)?;
        let sealed = envelope::seal(&mut reader, &mut writer, &refs).map_err(|e| match e {
            SealError::Read(e) => BundleError::Refused(format!(
                "object {sha} cannot be read from the vault: {e}; run athar verify"
            )),
            SealError::Write(e) => e.into(),
        })?;
        if hex::encode(sealed.sha256) != *sha {
            return Err(BundleError::Refused(format!(
                "object {sha} in the vault no longer matches its digest; run athar verify"
            )));
        }
        let length = writer.position() - offset;
        let mut padding = format::padme(length) - length;
        while padding > 0 {
            let k = padding.min(pad.len() as u64) as usize;
            rng.fill_bytes(&mut pad[..k]);
            writer.write_all(&pad[..k]).map_err(io_at(out))?;
            padding -= k as u64;
        }
        index_objects.push(IndexObject {
            offset,
            length,
            sha256: sha.clone(),
            size: sealed.size,
        });
        bytes += sealed.size;
        progress.advance(sealed.size);
    }
    let events = lines.len() as u64;
    let index = Index {
        format: format::INDEX_FORMAT.into(),
        version: format::VERSION,
        bundle: bundle.clone(),
        objects: index_objects,
        feed: lines,
        checkpoint: Some(note.clone()),
        consistency: Some(proof),
    };
    let json = serde_json::to_vec(&index).expect("index serialises");
    let index_offset = writer.position();
    envelope::seal(&mut &json[..], &mut writer, &refs).map_err(|e| match e {
        SealError::Read(e) => BundleError::Encrypt(e.to_string()),
        SealError::Write(e) => e.into(),
    })?;
    let index_len = writer.position() - index_offset;
    let parts = writer.names().to_vec();
    let signer = Signer::new(
        &vault.config().origin,
        vault.secrets().signing_key().clone(),
    )
    .map_err(|e| BundleError::Format(e.to_string()))?;
    let sealed = writer
        .finish(
            index_offset,
            index_len,
            ManifestInfo {
                kind: format::KIND_EXPORT,
                seq: new_size,
                signer: &signer,
            },
            Some(opts.part_size),
        )?
        .publish()?;
    Ok(ExportSummary {
        bundle,
        from_size: old_size,
        to_size: new_size,
        events,
        files: index.objects.len() as u64,
        bytes,
        parts,
        part_size: sealed.manifest.part_size,
        checkpoint: note,
    })
}

/// The partner's side: check the checkpoint, the consistency proof and the sender's tree,
/// and say what to log for each object.
pub(crate) fn plan_export(
    vault: &Vault,
    registry: &Registry,
    index: &Index,
    feed_events: &[SignedEvent],
    verifier: &Verifier,
) -> Result<Plan> {
    let refuse = |why: String| BundleError::Refused(why);
    let note = index
        .checkpoint
        .as_deref()
        .ok_or_else(|| refuse("the export carries no checkpoint".into()))?;
    let new = athar_tlog::open_checkpoint(note, verifier)
        .map_err(|e| refuse(format!("the export's checkpoint is not valid: {e}")))?;
    let signer = verifier.to_vkey_string();
    let actor = athar_vault::event::actor_id(verifier.verifying_key());
    // The last checkpoint this vault holds from the sender.
    let held: Option<Checkpoint> = registry
        .imported
        .iter()
        .filter(|i| i.signer == signer)
        .filter_map(|i| i.checkpoint.as_deref())
        .filter_map(|n| athar_tlog::open_checkpoint(n, verifier).ok())
        .max_by_key(|c| c.size);
    let old_size = held.as_ref().map_or(0, |c| c.size);
    let first = feed_events[0].event.seq;
    let last = feed_events[feed_events.len() - 1].event.seq;
    if first != old_size + 1 || last != new.size {
        return Err(refuse(format!(
            "the export covers events {first}..{last}, but this vault holds the sender's log up to {old_size} and the checkpoint is at {}: import the sender's earlier exports first, or ask for an export --since the last checkpoint received",
            new.size
        )));
    }
    if let Some(old) = &held {
        let text = index
            .consistency
            .as_deref()
            .ok_or_else(|| refuse("the export carries no consistency proof".into()))?;
        let proved = athar_tlog::verify_consistency_text(text, old, verifier).map_err(|e| {
            refuse(format!(
                "the consistency proof from the sender's checkpoint at {} fails: the sender's log was rewritten or the export forged ({e})",
                old.size
            ))
        })?;
        if proved != new {
            return Err(refuse(
                "the consistency proof ends at another checkpoint".into(),
            ));
        }
    }
    // Recompute the sender's tree from every line held plus the new ones.
    let mut leaves = Vec::with_capacity(new.size as usize);
    let mut held_feeds: Vec<_> = registry
        .imported
        .iter()
        .filter_map(|i| i.feed.as_ref())
        .filter(|f| f.actor == actor)
        .collect();
    held_feeds.sort_by_key(|f| f.first);
    for f in held_feeds {
        for line in feed::read(vault, &f.key)? {
            leaves.push(athar_tlog::leaf_hash(line.as_bytes()));
        }
    }
    leaves.extend(feed_events.iter().map(|e| e.leaf));
    if leaves.len() as u64 != new.size || athar_tlog::root(&leaves) != new.root {
        return Err(refuse(
            "the sender's log lines do not hash to its signed checkpoint: altered or incomplete export".into(),
        ));
    }
    let mut ingestion = Vec::with_capacity(index.objects.len());
    for o in &index.objects {
        let ev = feed_events
            .iter()
            .find(|e| first_storage(e) == Some(o.sha256.as_str()))
            .ok_or_else(|| {
                refuse(format!(
                    "object {} is in the export but no event of the sender's log stores it",
                    o.sha256
                ))
            })?;
        let mut d = Map::new();
        for k in ["source_path", "source_path_hex", "mtime", "btime"] {
            if let Some(v) = ev.event.details.get(k) {
                d.insert(k.into(), v.clone());
            }
        }
        d.insert("source_event".into(), json!(ev.event.seq));
        ingestion.push(d);
    }
    let mut transfer_details = Map::new();
    transfer_details.insert("checkpoint".into(), json!(note));
    transfer_details.insert("checkpoint_size".into(), json!(new.size));
    Ok(Plan {
        ingestion,
        transfer_details,
        checkpoint_size: Some(new.size),
    })
}
