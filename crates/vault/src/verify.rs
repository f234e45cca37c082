//! `athar verify`: re-read everything and report every problem, not just the first.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use rayon::prelude::*;
use serde::Serialize;
use sha2::{Digest, Sha256};

use athar_tlog::Hash;

use crate::envelope;
use crate::error::Result;
use crate::event::SignedEvent;
use crate::feed::{self, FeedRef};
use crate::log;
use crate::vault::{parse_sha256, Vault, CHECKPOINT_PREFIX};

#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Check only this share of the objects, chosen at random (a quick fixity check).
    pub sample_percent: Option<f64>,
}

/// One finding, named by what it concerns: `event 12`, `object <sha>`, `log/000000000007` …
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    pub subject: String,
    pub message: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    pub events: u64,
    pub segments: u64,
    pub objects_total: u64,
    pub objects_checked: u64,
    pub bytes_checked: u64,
    pub checkpoints: u64,
    /// Feed segments of sources and partners that the log names, re-checked.
    pub feeds: u64,
    pub sample_percent: Option<f64>,
    pub problems: Vec<Finding>,
    pub warnings: Vec<Finding>,
    /// True when the log itself read cleanly, so a fixity event may be appended to it.
    pub log_intact: bool,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Progress callbacks: the total number of object bytes to check, then bytes as they pass.
pub trait VerifyProgress: Sync {
    fn objects_total(&self, _bytes: u64) {}
    fn advance(&self, _bytes: u64) {}
}

impl VerifyProgress for () {}

struct Found(Mutex<Vec<Finding>>);

impl Found {
    fn add(&self, subject: impl Into<String>, message: impl Into<String>) {
        self.0.lock().expect("not poisoned").push(Finding {
            subject: subject.into(),
            message: message.into(),
        });
    }
    fn take(self) -> Vec<Finding> {
        self.0.into_inner().expect("not poisoned")
    }
}

pub fn verify(
    vault: &Vault,
    opts: &VerifyOptions,
    progress: &dyn VerifyProgress,
) -> Result<Report> {
    let problems = Found(Mutex::new(Vec::new()));
    let warnings = Found(Mutex::new(Vec::new()));
    let mut report = Report {
        sample_percent: opts.sample_percent,
        ..Report::default()
    };

    let scan = scan_log(vault, &problems, &mut report)?;
    check_checkpoints(vault, &scan.leaves, &problems, &mut report)?;
    check_feeds(vault, &scan.feeds, &problems, &mut report);
    check_objects(
        vault,
        &scan.objects,
        opts,
        &problems,
        &warnings,
        &mut report,
        progress,
    )?;

    report.problems = problems.take();
    report.warnings = warnings.take();
    Ok(report)
}

struct LogScan {
    leaves: Vec<Hash>,
    /// Objects the log names, with the size it records for them.
    objects: HashMap<[u8; 32], Option<u64>>,
    /// Feed segments named by transfer events.
    feeds: Vec<(u64, FeedRef)>,
}

fn scan_log(vault: &Vault, problems: &Found, report: &mut Report) -> Result<LogScan> {
    let store = vault.store();
    let actor = vault.actor();
    let keys = store.list(log::PREFIX)?;
    let mut scan = LogScan {
        leaves: Vec::new(),
        objects: HashMap::new(),
        feeds: Vec::new(),
    };
    let before = problems.0.lock().expect("not poisoned").len();
    let mut expected = 1u64;
    let mut prev: Option<Hash> = Some([0; 32]);
    for (i, key) in keys.iter().enumerate() {
        report.segments += 1;
        let Some(first) = log::segment_first_seq(key) else {
            problems.add(key.clone(), "unexpected file in the log directory");
            continue;
        };
        if first > expected {
            problems.add(
                key.clone(),
                format!(
                    "events {expected}..{} are missing: a log segment was deleted",
                    first - 1
                ),
            );
        } else if first < expected {
            problems.add(
                key.clone(),
                format!("segment starts at event {first} but event {expected} was expected: duplicated or reordered segment"),
            );
        }
        let lines = match log::read_segment(store, key, vault.identity()) {
            Ok(lines) => lines,
            Err(e) => {
                let end = keys
                    .get(i + 1)
                    .and_then(|k| log::segment_first_seq(k))
                    .map(|n| format!("{}", n - 1))
                    .unwrap_or_else(|| "end".into());
                problems.add(
                    key.clone(),
                    format!("cannot be read ({e}): events {first}..{end} are unreadable"),
                );
                prev = None;
                expected = expected.max(first);
                continue;
            }
        };
        for line in lines {
            let leaf = athar_tlog::leaf_hash(line.as_bytes());
            scan.leaves.push(leaf);
            let position = scan.leaves.len() as u64;
            match SignedEvent::parse(&line) {
                Err(e) => problems.add(format!("event {position}"), format!("in {key}: {e}")),
                Ok(ev) => {
                    check_event(&ev, expected, prev, &actor, problems);
                    if let Some(f) = FeedRef::from_details(&ev.event.details) {
                        scan.feeds.push((ev.event.seq, f));
                    }
                    // Ingestion and creation events record the size of their first object,
                    // the one they stored; other objects they name are only referred to.
                    let stores = matches!(
                        ev.event.kind.as_str(),
                        crate::kind::INGESTION | crate::kind::CREATION
                    );
                    for (i, sha) in ev.event.objects.iter().enumerate() {
                        match parse_sha256(sha) {
                            Ok(d) => {
                                let size = if stores && i == 0 {
                                    ev.event.detail_u64("size")
                                } else {
                                    None
                                };
                                let slot = scan.objects.entry(d).or_insert(size);
                                if slot.is_none() {
                                    *slot = size;
                                }
                            }
                            Err(_) => problems.add(
                                format!("event {}", ev.event.seq),
                                format!("names an invalid object digest {sha:?}"),
                            ),
                        }
                    }
                    expected = expected.max(ev.event.seq + 1);
                }
            }
            prev = Some(leaf);
            report.events += 1;
        }
    }
    if scan.leaves.len() as u64 != vault.tail().size && vault.tail().size != 0 {
        // The tail read at open disagrees with the full scan: an inner segment lost events.
        problems.add(
            "log",
            format!(
                "the log holds {} events but its last event is number {}",
                scan.leaves.len(),
                vault.tail().size
            ),
        );
    }
    report.log_intact = problems.0.lock().expect("not poisoned").len() == before;
    Ok(scan)
}

fn check_event(ev: &SignedEvent, expected: u64, prev: Option<Hash>, actor: &str, problems: &Found) {
    let seq = ev.event.seq;
    let subject = format!("event {seq}");
    if seq < expected {
        problems.add(
            &subject,
            format!("appears where event {expected} was expected: duplicated or reordered"),
        );
    } else if seq > expected {
        problems.add(
            &subject,
            format!(
                "events {expected}..{} before it are missing: deleted",
                seq - 1
            ),
        );
    }
    if let Some(prev) = prev {
        if ev.event.prev != hex::encode(prev) {
            problems.add(
                &subject,
                "chain broken: it does not follow the event before it (an event was removed, inserted or reordered)",
            );
        }
    }
    if ev.event.actor != actor {
        problems.add(
            &subject,
            format!("signed by {} , not this vault's custodian", ev.event.actor),
        );
    }
}

fn check_checkpoints(
    vault: &Vault,
    leaves: &[Hash],
    problems: &Found,
    report: &mut Report,
) -> Result<()> {
    let verifier = vault.verifier();
    for key in vault.checkpoint_keys()? {
        report.checkpoints += 1;
        let note = match vault.read_checkpoint(&key) {
            Ok(n) => n,
            Err(e) => {
                problems.add(key, format!("cannot be read: {e}"));
                continue;
            }
        };
        let cp = match athar_tlog::open_checkpoint(&note, &verifier) {
            Ok(cp) => cp,
            Err(e) => {
                problems.add(key, format!("signature or format invalid: {e}"));
                continue;
            }
        };
        let named: Option<u64> = key
            .strip_prefix(CHECKPOINT_PREFIX)
            .and_then(|s| s.parse().ok());
        if named != Some(cp.size) {
            problems.add(
                &key,
                format!("file name does not match its tree size {}", cp.size),
            );
        }
        if cp.origin != vault.config().origin {
            problems.add(&key, format!("origin {:?} is not this vault's", cp.origin));
        }
        if cp.size > leaves.len() as u64 {
            problems.add(
                key,
                format!(
                    "signed a log of {} events but the log now holds {}: events were deleted",
                    cp.size,
                    leaves.len()
                ),
            );
            continue;
        }
        if athar_tlog::root(&leaves[..cp.size as usize]) != cp.root {
            problems.add(
                key,
                format!("root hash does not match the first {} events of the log: the log was altered after it was signed", cp.size),
            );
        }
    }
    Ok(())
}

/// Every feed segment the log names: present, decryptable, each line signed by its
/// custodian, numbered and chained, ending at the head the log recorded; consecutive
/// segments of one custodian chain onto each other.
fn check_feeds(vault: &Vault, feeds: &[(u64, FeedRef)], problems: &Found, report: &mut Report) {
    let mut sorted: Vec<&(u64, FeedRef)> = feeds.iter().collect();
    sorted.sort_by(|a, b| (&a.1.actor, a.1.first).cmp(&(&b.1.actor, b.1.first)));
    let mut heads: HashMap<(&str, u64), Hash> = HashMap::new();
    for (seq, r) in sorted {
        report.feeds += 1;
        let subject = format!("feed {} (event {seq})", r.key);
        let lines = match feed::read(vault, &r.key) {
            Ok(lines) => lines,
            Err(e) => {
                problems.add(subject, format!("cannot be read: {e}"));
                continue;
            }
        };
        let prev = if r.first == 1 {
            Some([0; 32])
        } else {
            heads.get(&(r.actor.as_str(), r.first - 1)).copied()
        };
        for p in feed::check(&lines, r, prev) {
            problems.add(&subject, p);
        }
        if let Some(h) = hex::decode(&r.head).ok().and_then(|b| b.try_into().ok()) {
            heads.insert((r.actor.as_str(), r.last), h);
        }
    }
}

fn check_objects(
    vault: &Vault,
    expected: &HashMap<[u8; 32], Option<u64>>,
    opts: &VerifyOptions,
    problems: &Found,
    warnings: &Found,
    report: &mut Report,
    progress: &dyn VerifyProgress,
) -> Result<()> {
    report.objects_total = expected.len() as u64;
    let mut todo: Vec<([u8; 32], Option<u64>)> = expected.iter().map(|(k, v)| (*k, *v)).collect();
    todo.sort_by_key(|(k, _)| vault.object_key(k));
    if let Some(p) = opts.sample_percent {
        let keep = ((todo.len() as f64) * p / 100.0).ceil() as usize;
        let mut rng = rand::thread_rng();
        rand::seq::SliceRandom::shuffle(&mut todo[..], &mut rng);
        todo.truncate(keep.min(todo.len()));
    }
    progress.objects_total(todo.iter().filter_map(|(_, s)| *s).sum());
    let bytes = AtomicU64::new(0);
    todo.par_iter().for_each(|(sha, size)| {
        let subject = format!("object {}", hex::encode(sha));
        match rehash(vault, &vault.object_key(sha), progress) {
            Err(e) => problems.add(subject, e),
            Ok((got, n)) => {
                bytes.fetch_add(n, Ordering::Relaxed);
                if &got != sha {
                    problems.add(
                        subject,
                        format!("content changed: it now hashes to {}", hex::encode(got)),
                    );
                } else if size.is_some_and(|s| s != n) {
                    problems.add(
                        subject,
                        format!(
                            "size {n} differs from the {} bytes logged",
                            size.unwrap_or(0)
                        ),
                    );
                }
            }
        }
    });
    report.objects_checked = todo.len() as u64;
    report.bytes_checked = bytes.into_inner();

    // Blobs the log does not name: leftovers of an interrupted run, or planted files.
    let known: HashSet<String> = expected.keys().map(|k| vault.object_key(k)).collect();
    for key in vault.store().list("objects/")? {
        if known.contains(&key) {
            continue;
        }
        match rehash(vault, &key, &()) {
            Err(e) => problems.add(key, format!("unknown file that is not a vault object: {e}")),
            Ok((sha, _)) if vault.object_key(&sha) != key => problems.add(
                key,
                "holds content that does not match its name: the object was replaced",
            ),
            Ok((sha, _)) => warnings.add(
                format!("object {}", hex::encode(sha)),
                "stored but not named by any event, probably left by an interrupted ingest; ingest its file again to record it",
            ),
        }
    }
    Ok(())
}

fn rehash(
    vault: &Vault,
    key: &str,
    progress: &dyn VerifyProgress,
) -> std::result::Result<([u8; 32], u64), String> {
    let store = vault.store();
    if !store.exists(key).map_err(|e| e.to_string())? {
        return Err(format!("missing: {} does not exist", store.locate(key)));
    }
    let reader = store.open(key).map_err(|e| e.to_string())?;
    let mut plain = envelope::open(reader, vault.identity(), key).map_err(|e| e.to_string())?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut n = 0u64;
    loop {
        let got = plain.read(&mut buf).map_err(|e| {
            format!("cannot be decrypted: {e} (the encrypted file was damaged or altered)")
        })?;
        if got == 0 {
            break;
        }
        hasher.update(&buf[..got]);
        progress.advance(got as u64);
        n += got as u64;
    }
    Ok((hasher.finalize().into(), n))
}
