//! Other custodians' feeds, kept by the archive.
//!
//! A source device signs its own custody events ("capture" of each file it packs) and sends
//! them inside a bundle; a partner archive sends its log lines. The archive keeps each such
//! segment exactly as signed, encrypted like a log segment, under
//! `feeds/<keyed name of the signer>/<first seq, 12 digits>`, and names it in the "transfer"
//! event that imported it (see [`FeedRef`]). `athar verify` re-checks every signature and the
//! chain of every feed the log names, so the source's own word stays checkable for good.
//!
//! The directory name is a keyed hash of the signer's key: a seized vault does not reveal
//! which documenters it holds feeds from.

use std::io::{Read, Write};

use hmac::{KeyInit, Mac};
use serde_json::{json, Map, Value};

use athar_tlog::Hash;

use crate::envelope;
use crate::error::{io_at, Result, VaultError};
use crate::event::SignedEvent;
use crate::store::Committed;
use crate::vault::Vault;

pub const PREFIX: &str = "feeds/";

/// What a transfer event records about the feed segment it imported (its `feed` detail).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedRef {
    /// Blob key of the stored segment.
    pub key: String,
    /// `ed25519:<key>` of the custodian who signed every line.
    pub actor: String,
    /// Sequence numbers of the first and last line, in the signer's own feed.
    pub first: u64,
    pub last: u64,
    /// Leaf hash (hex) of the last line: the feed's head after this segment.
    pub head: String,
}

impl FeedRef {
    pub fn to_json(&self) -> Value {
        json!({
            "key": self.key,
            "actor": self.actor,
            "first": self.first,
            "last": self.last,
            "head": self.head,
        })
    }

    /// The `feed` member of a transfer event's details, if it has one.
    pub fn from_details(details: &Map<String, Value>) -> Option<FeedRef> {
        let f = details.get("feed")?.as_object()?;
        Some(FeedRef {
            key: f.get("key")?.as_str()?.to_string(),
            actor: f.get("actor")?.as_str()?.to_string(),
            first: f.get("first")?.as_u64()?,
            last: f.get("last")?.as_u64()?,
            head: f.get("head")?.as_str()?.to_string(),
        })
    }
}

/// The blob key for `actor`'s feed segment starting at `first_seq`.
pub fn key(vault: &Vault, actor: &str, first_seq: u64) -> String {
    let naming = vault.secrets().subkey("athar feed names v1");
    let mut mac = <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&naming[..])
        .expect("HMAC takes any key length");
    mac.update(actor.as_bytes());
    let dir = hex::encode(&mac.finalize().into_bytes()[..16]);
    format!("{PREFIX}{dir}/{first_seq:012}")
}

/// Store a feed segment (lines without newlines), encrypted to the vault. Not yet durable:
/// the log append that names it syncs first. Returns the key and whether it was new.
pub fn store(
    vault: &Vault,
    actor: &str,
    first_seq: u64,
    lines: &[String],
) -> Result<(String, Committed)> {
    let key = key(vault, actor, first_seq);
    let mut text = String::new();
    for line in lines {
        text.push_str(line);
        text.push('\n');
    }
    let recipient = vault.secrets().recipient();
    let sealed = envelope::seal_bytes(text.as_bytes(), &[&recipient])?;
    let mut pending = vault.store().create()?;
    pending
        .write_all(&sealed)
        .map_err(io_at(vault.store().locate(&key)))?;
    let committed = pending.commit(&key)?;
    Ok((key, committed))
}

/// The lines of a stored feed segment.
pub fn read(vault: &Vault, key: &str) -> Result<Vec<String>> {
    let reader = vault.store().open(key)?;
    let mut text = String::new();
    envelope::open(reader, vault.identity(), key)?
        .read_to_string(&mut text)
        .map_err(|e| VaultError::Decrypt {
            what: key.to_string(),
            reason: e.to_string(),
        })?;
    Ok(text.lines().map(str::to_string).collect())
}

/// Check a segment against what the log says of it: every line signed by `r.actor`,
/// numbered `r.first..=r.last` without gaps, each chained to the one before (to `prev`, the
/// head of the segment before it, when that is known), ending at `r.head`.
/// Returns the problems found, in words; empty when the segment is sound.
pub fn check(lines: &[String], r: &FeedRef, prev: Option<Hash>) -> Vec<String> {
    let mut problems = Vec::new();
    let mut expected = r.first;
    let mut prev = prev.map(hex::encode);
    let mut head = None;
    for (i, line) in lines.iter().enumerate() {
        let ev = match SignedEvent::parse(line) {
            Ok(ev) => ev,
            Err(e) => {
                problems.push(format!("line {}: {e}", i + 1));
                prev = None;
                expected += 1;
                continue;
            }
        };
        if ev.event.actor != r.actor {
            problems.push(format!(
                "event {} is signed by {}, not by the feed's custodian",
                ev.event.seq, ev.event.actor
            ));
        }
        if ev.event.seq != expected {
            problems.push(format!(
                "event {} appears where event {expected} was expected",
                ev.event.seq
            ));
        }
        if let Some(p) = &prev {
            if &ev.event.prev != p {
                problems.push(format!(
                    "event {}: chain broken (it does not follow the event before it)",
                    ev.event.seq
                ));
            }
        }
        expected = ev.event.seq + 1;
        prev = Some(hex::encode(ev.leaf));
        head = Some(hex::encode(ev.leaf));
    }
    if lines.is_empty() {
        problems.push("the segment is empty".into());
    } else if expected != r.last + 1 {
        problems.push(format!(
            "ends at event {} but the log recorded {}",
            expected - 1,
            r.last
        ));
    }
    if head.as_deref().is_some_and(|h| h != r.head) {
        problems
            .push("its last event is not the head the log recorded: the feed was altered".into());
    }
    problems
}
