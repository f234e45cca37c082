//! athar's tag files: the archive's keys, the signature over the tag manifest, the signed
//! checkpoint, each item's signed custody events with their inclusion proofs, and the
//! consistency of a published checkpoint with the package's. Format: docs/formats/package.md.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde_json::Value;

use crate::bagit::{read_text, Bag, SIGNATURE, TAG_MANIFEST};
use crate::crypto::{self, LogKey, TreeHead};
use crate::{Findings, Summary};

const KEYS: &str = "athar/keys.json";
const CHECKPOINT: &str = "athar/checkpoint.txt";
const PACKAGE: &str = "athar/package.json";
const EVENTS: &str = "athar/events.jsonl";
const SIGNATURE_HEADER: &str = "athar.package-signature@v1";
const PACKAGE_PREFIX: &[u8] = b"athar package v1\n";
const EVENT_PREFIX: &[u8] = b"athar event v1\n";
const SIG_MEMBER: &str = ",\"sig\":\"";

/// The archive's keys from `athar/keys.json`: the log key (signed-note form) and the event
/// signer (`ed25519:<base64>`), which must be the same Ed25519 key.
pub fn keys(dir: &Path, pinned: Option<&str>, f: &mut Findings) -> Option<LogKey> {
    let json: Value = match read_text(dir, KEYS).map(|t| serde_json::from_str(&t)) {
        Some(Ok(v)) => v,
        Some(Err(_)) => return f.none("public key", KEYS, "is not valid JSON"),
        None => return f.none("missing file", KEYS, "is missing"),
    };
    let vkey = json["log_key"].as_str().unwrap_or_default();
    let key = match crypto::parse_vkey(vkey) {
        Ok(k) => k,
        Err(e) => return f.none("public key", KEYS, &format!("log_key: {e}")),
    };
    let signer = format!("ed25519:{}", crypto::b64_encode(key.key.as_bytes()));
    if json["event_signer"].as_str() != Some(signer.as_str()) {
        f.add(
            "public key",
            KEYS,
            "event_signer is not the same key as log_key",
        );
    }
    if let Some(pin) = pinned {
        if pin.trim() != vkey {
            f.add(
                "public key",
                KEYS,
                "is not the archive key given with --key",
            );
        }
    }
    Some(key)
}

/// The detached Ed25519 signature over `tagmanifest-sha256.txt`.
pub fn signature(dir: &Path, key: &LogKey, f: &mut Findings) {
    let Some(text) = read_text(dir, SIGNATURE) else {
        return f.add(
            "missing file",
            SIGNATURE,
            "is missing: the tag manifest is unsigned",
        );
    };
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() != 3 || lines[0] != SIGNATURE_HEADER {
        return f.add("signature", SIGNATURE, "is not an athar package signature");
    }
    match crypto::parse_vkey(lines[1]) {
        Ok(k) if k.key == key.key && k.name == key.name => {}
        _ => {
            return f.add(
                "signature",
                SIGNATURE,
                "names a key that is not the archive's",
            )
        }
    }
    let Ok(manifest) = std::fs::read(dir.join(TAG_MANIFEST)) else {
        return; // reported as missing by the bag check
    };
    let mut msg = PACKAGE_PREFIX.to_vec();
    msg.extend_from_slice(&manifest);
    let sig = crypto::b64(lines[2]).unwrap_or_default();
    if !crypto::ed25519_ok(&key.key, &msg, &sig) {
        f.add(
            "signature",
            SIGNATURE,
            "does not verify: the tag manifest or the signature was changed",
        );
    }
}

pub fn checkpoint(dir: &Path, key: &LogKey, f: &mut Findings) -> Option<(String, TreeHead)> {
    let Some(note) = read_text(dir, CHECKPOINT) else {
        return f.none("missing file", CHECKPOINT, "is missing");
    };
    match crypto::open_checkpoint(&note, key) {
        Ok(head) => Some((note, head)),
        Err(e) => f.none("checkpoint", CHECKPOINT, &e),
    }
}

/// Every event line is signed by the archive and in the log at the checkpoint; every item's
/// data file has its identity as hash, and its `event_seqs` are exactly the events naming it.
pub fn items(
    dir: &Path,
    bag: &Bag,
    key: &LogKey,
    cp: &(String, TreeHead),
    s: &mut Summary,
    f: &mut Findings,
) {
    let json: Value = match read_text(dir, PACKAGE).map(|t| serde_json::from_str(&t)) {
        Some(Ok(v)) => v,
        Some(Err(_)) => return f.add("package index", PACKAGE, "is not valid JSON"),
        None => return f.add("missing file", PACKAGE, "is missing"),
    };
    s.package = json["package"].as_str().unwrap_or_default().to_string();
    let Some(text) = read_text(dir, EVENTS) else {
        return f.add("missing file", EVENTS, "is missing");
    };
    let signer = format!("ed25519:{}", crypto::b64_encode(key.key.as_bytes()));
    // seq → the objects the event names, for the events that check out.
    let mut events: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (n, line) in text.lines().enumerate() {
        let part = format!("{EVENTS} line {}", n + 1);
        match event(line, &signer) {
            Ok((seq, _)) if events.keys().next_back().is_some_and(|last| *last >= seq) => {
                f.add("event", &part, "is out of log order or repeated")
            }
            Ok((seq, objects)) => {
                proof(dir, seq, line, cp, f);
                events.insert(seq, objects);
            }
            Err(e) => f.add("event", &part, &e),
        }
    }
    s.events = events.len();

    let mut described = BTreeSet::new();
    for item in json["items"].as_array().into_iter().flatten() {
        let sha = item["sha256"].as_str().unwrap_or_default();
        let path = item["path"].as_str().unwrap_or_default();
        described.insert(path.to_string());
        match bag.payload.get(path) {
            Some(listed) if listed == sha => {}
            Some(_) => f.add(
                "data file",
                path,
                &format!("is listed with a SHA-256 other than its identity {sha}"),
            ),
            None => f.add(
                "package index",
                PACKAGE,
                &format!("names {path}, which the manifest does not list"),
            ),
        }
        if item["role"] == "original" {
            s.originals += 1;
        } else {
            s.derivatives += 1;
        }
        let listed: Vec<u64> = item["event_seqs"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_u64)
            .collect();
        let naming: Vec<u64> = events
            .iter()
            .filter(|(_, o)| o.iter().any(|x| x == sha))
            .map(|(s, _)| *s)
            .collect();
        if listed != naming {
            f.add("event", EVENTS, &format!("the events naming {sha} are {naming:?}, but the package index lists {listed:?}"));
        }
    }
    for path in bag.payload.keys() {
        if !described.contains(path) {
            f.add("data file", path, "is not described in athar/package.json");
        }
    }
}

/// A signed event line (docs/formats/events.md): returns its sequence number.
fn event(line: &str, signer: &str) -> Result<(u64, Vec<String>), String> {
    let at = line.rfind(SIG_MEMBER).ok_or("has no signature")?;
    let sig = line[at + SIG_MEMBER.len()..]
        .strip_suffix("\"}")
        .ok_or("has a malformed signature")?;
    let body = format!("{}}}", &line[..at]);
    let ev: Value = serde_json::from_str(&body).map_err(|_| "is not a JSON event")?;
    if ev["actor"].as_str() != Some(signer) {
        return Err("is signed by a key that is not the archive's".into());
    }
    let key_bytes: [u8; 32] = crypto::b64(&signer["ed25519:".len()..])?
        .try_into()
        .map_err(|_| "bad key")?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes).map_err(|_| "bad key")?;
    let mut msg = EVENT_PREFIX.to_vec();
    msg.extend_from_slice(body.as_bytes());
    if !crypto::ed25519_ok(&key, &msg, &crypto::b64(sig)?) {
        return Err("has a signature that does not verify: the line was changed".into());
    }
    let objects = ev["objects"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|o| o.as_str().map(str::to_string))
        .collect();
    let seq = ev["seq"]
        .as_u64()
        .filter(|s| *s >= 1)
        .ok_or("has no sequence number")?;
    Ok((seq, objects))
}

/// `athar/proofs/<seq>.tlog-proof`: the event's line is leaf `seq - 1` of the checkpoint's tree.
fn proof(dir: &Path, seq: u64, line: &str, cp: &(String, TreeHead), f: &mut Findings) {
    let name = format!("athar/proofs/{seq:012}.tlog-proof");
    let Some(text) = read_text(dir, &name) else {
        return f.add("missing file", &name, "is missing");
    };
    let p = match crypto::parse_proof(&text, "c2sp.org/tlog-proof@v1") {
        Ok(p) => p,
        Err(e) => return f.add("proof", &name, &e),
    };
    if p.note != cp.0 {
        return f.add(
            "proof",
            &name,
            "is against a checkpoint other than athar/checkpoint.txt",
        );
    }
    if p.number("index") != Ok(seq - 1) {
        return f.add(
            "proof",
            &name,
            &format!("is not for event {seq} (leaf {})", seq - 1),
        );
    }
    let head = &cp.1;
    if !crypto::inclusion_ok(
        &crypto::leaf_hash(line.as_bytes()),
        seq - 1,
        head.size,
        &p.hashes,
        &head.root,
    ) {
        f.add("proof", &name, &format!("does not lead from event {seq} to the checkpoint's root: the event or the proof was changed"));
    }
}

/// A checkpoint the archive published: the package's checkpoint must extend it.
pub fn published(
    dir: &Path,
    file: &Path,
    key: &LogKey,
    cp: &TreeHead,
    f: &mut Findings,
) -> Option<u64> {
    let part = "published checkpoint";
    let shown = file.display().to_string();
    let Ok(note) = std::fs::read_to_string(file) else {
        return f.none(part, &shown, "cannot be read");
    };
    let old = match crypto::open_checkpoint(&note, key) {
        Ok(h) => h,
        Err(e) => {
            return f.none(
                part,
                &shown,
                &format!("{e}: it is not from this package's log, or was changed"),
            )
        }
    };
    if old.size > cp.size {
        return f.none(part, &shown, &format!(
            "is newer (size {}) than the package's checkpoint (size {}); ask the archive for `athar prove VAULT --consistency athar/checkpoint.txt` and check that instead",
            old.size, cp.size
        ));
    }
    if old.size == cp.size {
        if old.root != cp.root {
            return f.none(
                part,
                &shown,
                "has the package's size but another root: the log was rewritten",
            );
        }
        return Some(old.size);
    }
    let name = format!("athar/consistency/{:012}.consistency-proof", old.size);
    let Some(text) = read_text(dir, &name) else {
        return f.none(part, &shown, &format!(
            "has size {}, and the package carries no consistency proof from it ({name}); ask the archive for `athar prove VAULT --consistency {shown}`",
            old.size
        ));
    };
    let ok = crypto::parse_proof(&text, "athar.consistency-proof@v1").is_ok_and(|p| {
        p.number("old") == Ok(old.size)
            && p.number("new") == Ok(cp.size)
            && crypto::open_checkpoint(&p.note, key).is_ok_and(|h| h == *cp)
            && crypto::consistency_ok(old.size, cp.size, &p.hashes, &old.root, &cp.root)
    });
    if !ok {
        return f.none(
            "proof",
            &name,
            &format!(
                "does not show that the log at size {} grew into the package's checkpoint",
                old.size
            ),
        );
    }
    Some(old.size)
}
