//! The custody log at rest: a sequence of segments, each an age file holding one or more
//! event lines. A segment is written once, atomically, under `log/<first seq, 12 digits>`, so
//! a crash leaves either the whole batch or none of it. Lines hold paths and digests, which is
//! why the log is encrypted like the objects.

use std::io::Read;

use athar_tlog::Hash;

use crate::envelope;
use crate::error::{Result, VaultError};
use crate::event::SignedEvent;
use crate::store::BlobStore;

pub const PREFIX: &str = "log/";

pub fn segment_key(first_seq: u64) -> String {
    format!("{PREFIX}{first_seq:012}")
}

/// First sequence number a segment key claims, if it is one.
pub fn segment_first_seq(key: &str) -> Option<u64> {
    key.strip_prefix(PREFIX)?.parse().ok()
}

/// The end of the log: what the next append must chain onto.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tail {
    /// Number of events in the log (= last seq).
    pub size: u64,
    /// Leaf hash of the last event, zeros for an empty log.
    pub last_leaf: Hash,
}

impl Tail {
    pub const EMPTY: Tail = Tail {
        size: 0,
        last_leaf: [0; 32],
    };
}

/// Decrypt one segment into its lines (unparsed).
pub fn read_segment(
    store: &dyn BlobStore,
    key: &str,
    identity: &age::x25519::Identity,
) -> Result<Vec<String>> {
    let reader = store.open(key)?;
    let mut text = String::new();
    envelope::open(reader, identity, key)?
        .read_to_string(&mut text)
        .map_err(|e| VaultError::Decrypt {
            what: key.to_string(),
            reason: e.to_string(),
        })?;
    Ok(text.lines().map(str::to_string).collect())
}

/// The tail of the log, from its last segment alone.
pub fn read_tail(store: &dyn BlobStore, identity: &age::x25519::Identity) -> Result<Tail> {
    let keys = store.list(PREFIX)?;
    let Some(last) = keys.last() else {
        return Ok(Tail::EMPTY);
    };
    tail_of_segment(store, last, identity)
}

/// The tail of the log, given one read earlier: only segments named after `known` are
/// listed, so a writer that lost a race to another machine catches up cheaply.
pub fn read_tail_since(
    store: &dyn BlobStore,
    identity: &age::x25519::Identity,
    known: Tail,
) -> Result<Tail> {
    // Every later segment starts past `known.size`, so its key sorts after this one.
    let newer = store.list_after(PREFIX, &segment_key(known.size))?;
    let Some(last) = newer.last() else {
        return Ok(known);
    };
    tail_of_segment(store, last, identity)
}

/// The tail after the last event of segment `key`.
fn tail_of_segment(
    store: &dyn BlobStore,
    key: &str,
    identity: &age::x25519::Identity,
) -> Result<Tail> {
    let lines = read_segment(store, key, identity)?;
    let line = lines
        .last()
        .ok_or_else(|| VaultError::BadLog(format!("segment {key} is empty")))?;
    let ev = SignedEvent::parse(line)
        .map_err(|e| VaultError::BadLog(format!("last event in {key}: {e}")))?;
    Ok(Tail {
        size: ev.event.seq,
        last_leaf: ev.leaf,
    })
}

/// Every event of the log in order, checked. Stops at the first problem: callers that need
/// a full damage report use `verify`.
pub fn read_all(
    store: &dyn BlobStore,
    identity: &age::x25519::Identity,
    each: impl FnMut(SignedEvent) -> Result<()>,
) -> Result<u64> {
    read_from(store, identity, 1, [0; 32], each)
}

/// Events from `from_seq` on, in order, checked; `prev` is the leaf hash of event
/// `from_seq - 1` (zeros when starting at 1). Segments wholly before `from_seq` are skipped
/// without decrypting, so catching up on a long log costs only its new part.
pub fn read_from(
    store: &dyn BlobStore,
    identity: &age::x25519::Identity,
    from_seq: u64,
    mut prev: Hash,
    mut each: impl FnMut(SignedEvent) -> Result<()>,
) -> Result<u64> {
    let keys = store.list(PREFIX)?;
    let start = keys
        .iter()
        .rposition(|k| segment_first_seq(k).is_some_and(|f| f <= from_seq))
        .unwrap_or(0);
    let mut expected = from_seq;
    let mut seen = 0;
    for key in &keys[start..] {
        for line in read_segment(store, key, identity)? {
            let ev = SignedEvent::parse(&line)
                .map_err(|e| VaultError::BadLog(format!("event in {key}: {e}")))?;
            if ev.event.seq < expected {
                continue;
            }
            if ev.event.seq != expected || ev.event.prev != hex::encode(prev) {
                return Err(VaultError::BadLog(format!(
                    "event {} in {key} is out of sequence (expected {expected})",
                    ev.event.seq
                )));
            }
            expected += 1;
            prev = ev.leaf;
            seen += 1;
            each(ev)?;
        }
    }
    Ok(seen)
}

/// One event by its sequence number, signature checked (its place in the chain is checked
/// by `verify` and by proofs against a checkpoint).
pub fn read_event(
    store: &dyn BlobStore,
    identity: &age::x25519::Identity,
    seq: u64,
) -> Result<SignedEvent> {
    let keys = store.list(PREFIX)?;
    let key = keys
        .iter()
        .rev()
        .find(|k| segment_first_seq(k).is_some_and(|f| f <= seq))
        .ok_or_else(|| VaultError::BadLog(format!("no segment holds event {seq}")))?;
    for line in read_segment(store, key, identity)? {
        let ev = SignedEvent::parse(&line)
            .map_err(|e| VaultError::BadLog(format!("event in {key}: {e}")))?;
        if ev.event.seq == seq {
            return Ok(ev);
        }
    }
    Err(VaultError::BadLog(format!("event {seq} is not in {key}")))
}
