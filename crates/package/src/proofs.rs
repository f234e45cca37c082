//! The evidence from the vault's log: the event lines that name the packaged items, a signed
//! checkpoint covering them, an inclusion proof per event, consistency proofs from each
//! earlier checkpoint, and the public keys.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Value};

use athar_tlog::{Checkpoint, ConsistencyProofText, Hash, InclusionProofText};
use athar_vault::Vault;

use crate::{PackageError, Result};

pub struct Evidence {
    /// Event lines by sequence number, exactly as logged and signed.
    pub lines: HashMap<u64, String>,
    by_object: HashMap<String, Vec<u64>>,
    tree: Tree,
    pub checkpoint: Checkpoint,
    pub checkpoint_note: String,
    /// (old size, consistency-proof text) for every earlier checkpoint the vault signed.
    pub consistency: Vec<(u64, String)>,
}

impl Evidence {
    pub fn events_of(&self, sha256: &str) -> Vec<u64> {
        self.by_object.get(sha256).cloned().unwrap_or_default()
    }

    /// The C2SP tlog-proof text for event `seq` against the package's checkpoint.
    pub fn inclusion_proof(&self, seq: u64) -> String {
        InclusionProofText {
            index: seq - 1,
            extra: None,
            hashes: self.tree.path(seq - 1, self.checkpoint.size),
            checkpoint_note: self.checkpoint_note.clone(),
        }
        .format()
    }
}

/// Read the whole log once: leaves for the tree, lines for the events about `objects`.
pub fn gather(vault: &Vault, objects: &[String]) -> Result<Evidence> {
    let wanted: HashSet<&str> = objects.iter().map(String::as_str).collect();
    let mut lines = HashMap::new();
    let mut by_object: HashMap<String, Vec<u64>> = HashMap::new();
    let mut leaves = Vec::new();
    vault.read_log(|ev| {
        leaves.push(ev.leaf);
        let mut named = false;
        for o in &ev.event.objects {
            if wanted.contains(o.as_str()) {
                let seqs = by_object.entry(o.clone()).or_default();
                if seqs.last() != Some(&ev.event.seq) {
                    seqs.push(ev.event.seq);
                }
                named = true;
            }
        }
        if named {
            lines.insert(ev.event.seq, ev.line);
        }
        Ok(())
    })?;

    let note = vault.checkpoint()?;
    let verifier = vault.verifier();
    let checkpoint = athar_tlog::open_checkpoint(&note, &verifier)
        .map_err(|e| PackageError::Checkpoint(e.to_string()))?;
    if checkpoint.size != leaves.len() as u64 {
        return Err(PackageError::Checkpoint(format!(
            "the checkpoint covers {} events but the log holds {}",
            checkpoint.size,
            leaves.len()
        )));
    }
    let tree = Tree::new(leaves);
    let mut consistency = Vec::new();
    for key in vault.checkpoint_keys()? {
        let old_note = vault.read_checkpoint(&key)?;
        let old = athar_tlog::open_checkpoint(&old_note, &verifier)
            .map_err(|e| PackageError::Checkpoint(format!("{key}: {e}")))?;
        if old.size == 0 || old.size >= checkpoint.size {
            continue;
        }
        let text = ConsistencyProofText {
            old_size: old.size,
            new_size: checkpoint.size,
            hashes: tree.consistency(old.size, checkpoint.size),
            checkpoint_note: note.clone(),
        }
        .format();
        consistency.push((old.size, text));
    }
    Ok(Evidence {
        lines,
        by_object,
        tree,
        checkpoint,
        checkpoint_note: note,
        consistency,
    })
}

/// The archive's public keys, as `athar/keys.json`.
pub fn keys_json(vault: &Vault) -> Value {
    let c = vault.config();
    json!({
        "custodian": c.custodian,
        "origin": c.origin,
        "log_key": c.verifier_key,
        "event_signer": vault.actor(),
        "age_recipient": c.recipient,
        "vault_id": c.id,
    })
}

/// A Merkle tree with every perfect, aligned subtree root kept, so a proof costs O(log² n)
/// hashes instead of the O(n) of recomputing subtrees from the leaves (a package may need
/// thousands of proofs in a log of millions).
struct Tree {
    /// `levels[h][i]` = root of leaves `i·2^h .. (i+1)·2^h`.
    levels: Vec<Vec<Hash>>,
}

impl Tree {
    fn new(leaves: Vec<Hash>) -> Tree {
        let mut levels = vec![leaves];
        while levels.last().expect("level").len() > 1 {
            let below = levels.last().expect("level");
            let up = below
                .chunks_exact(2)
                .map(|p| athar_tlog::node_hash(&p[0], &p[1]))
                .collect();
            levels.push(up);
        }
        Tree { levels }
    }

    /// Root of leaves `lo..hi`, where `lo` is a multiple of the largest power of two below
    /// `hi - lo` (always so for the subtrees RFC 9162 proofs visit).
    fn root(&self, lo: u64, hi: u64) -> Hash {
        let n = hi - lo;
        if n.is_power_of_two() {
            let h = n.trailing_zeros() as usize;
            return self.levels[h][(lo >> h) as usize];
        }
        let k = split(n);
        athar_tlog::node_hash(&self.root(lo, lo + k), &self.root(lo + k, hi))
    }

    /// RFC 9162 PATH(m, D[0:size]), leaf sibling first.
    fn path(&self, index: u64, size: u64) -> Vec<Hash> {
        let (mut lo, mut hi, mut m) = (0, size, index);
        let mut siblings = Vec::new();
        while hi - lo > 1 {
            let k = split(hi - lo);
            if m < k {
                siblings.push(self.root(lo + k, hi));
                hi = lo + k;
            } else {
                siblings.push(self.root(lo, lo + k));
                lo += k;
                m -= k;
            }
        }
        siblings.reverse();
        siblings
    }

    /// RFC 9162 PROOF(old, D[0:size]).
    fn consistency(&self, old: u64, size: u64) -> Vec<Hash> {
        if old == 0 || old == size {
            return Vec::new();
        }
        let (mut lo, mut hi, mut m, mut whole) = (0, size, old, true);
        let mut siblings = Vec::new();
        let mut proof = Vec::new();
        loop {
            let n = hi - lo;
            if m == n {
                if !whole {
                    proof.push(self.root(lo, hi));
                }
                break;
            }
            let k = split(n);
            if m <= k {
                siblings.push(self.root(lo + k, hi));
                hi = lo + k;
            } else {
                siblings.push(self.root(lo, lo + k));
                lo += k;
                m -= k;
                whole = false;
            }
        }
        proof.extend(siblings.into_iter().rev());
        proof
    }
}

/// Largest power of two strictly below `n` (n > 1).
fn split(n: u64) -> u64 {
    1 << (63 - (n - 1).leading_zeros())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The cached tree must give exactly athar-tlog's proofs, for every shape of tree.
    #[test]
    fn proofs_match_athar_tlog() {
        let leaves: Vec<Hash> = (0u32..70)
            .map(|i| athar_tlog::leaf_hash(&i.to_be_bytes()))
            .collect();
        let tree = Tree::new(leaves.clone());
        for size in 1..=70u64 {
            for index in 0..size {
                assert_eq!(
                    tree.path(index, size),
                    athar_tlog::inclusion_proof(&leaves[..size as usize], index),
                    "inclusion {index} of {size}"
                );
            }
            for old in 0..=size {
                assert_eq!(
                    tree.consistency(old, size),
                    athar_tlog::consistency_proof(&leaves[..size as usize], old),
                    "consistency {old} → {size}"
                );
            }
            assert_eq!(
                tree.root(0, size),
                athar_tlog::root(&leaves[..size as usize])
            );
        }
    }
}
