//! `import`: bundles into a vault.
//!
//! Everything that can be checked is checked before the vault is touched: the manifest's
//! signer must be a trusted source, the bundle new and not a replay, every shard intact or
//! repairable, the index decryptable with the vault's key, and the source's feed signed,
//! numbered and chained onto what the vault already holds of it. Then the objects are
//! decrypted and stored (each re-hashed against the source's claim), the feed is kept, and
//! one log segment records an "ingestion" event per file and one "transfer" event for the
//! bundle. If anything fails after the first object was stored, what this import added is
//! removed again: a failed import leaves the vault as it was. A crash instead leaves
//! unlogged objects, which the next run of the same import finds and reuses.

use std::collections::HashSet;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use serde::Serialize;
use serde_json::{json, Map, Value};

use athar_tlog::Verifier;
use athar_vault::feed::{self, FeedRef};
use athar_vault::{kind, Committed, EventDraft, SignedEvent, Vault};

use crate::check::{check, CheckReport};
use crate::error::{BundleError, Result};
use crate::format::{self, Index};
use crate::payload::Payload;
use crate::scan::Found;

/// A signer the vault trusts (from its "trust" events).
#[derive(Debug, Clone, Serialize)]
pub struct Trusted {
    pub name: String,
    /// Verifier key string.
    pub key: String,
    pub event: u64,
}

/// A bundle the vault imported (from its "transfer" events).
#[derive(Debug, Clone)]
pub struct Imported {
    pub bundle: String,
    pub signer: String,
    pub bundle_seq: u64,
    pub event: u64,
    pub time: String,
    pub feed: Option<FeedRef>,
    /// Export bundles: the sender's checkpoint this import brought.
    pub checkpoint: Option<String>,
}

/// What the vault's log says about trusted signers and imported bundles.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    pub trusted: Vec<Trusted>,
    pub imported: Vec<Imported>,
}

impl Registry {
    /// Take in one logged event (call in log order).
    pub fn add_event(&mut self, kind: &str, seq: u64, time: &str, details: &Map<String, Value>) {
        let s = |k: &str| details.get(k).and_then(Value::as_str).map(str::to_string);
        match kind {
            kind::TRUST => {
                if let (Some(name), Some(key)) = (s("name"), s("key")) {
                    self.trusted.retain(|t| t.key != key);
                    self.trusted.push(Trusted {
                        name,
                        key,
                        event: seq,
                    });
                }
            }
            kind::TRANSFER => {
                if let (Some(bundle), Some(signer)) = (s("bundle"), s("signer")) {
                    self.imported.push(Imported {
                        bundle,
                        signer,
                        bundle_seq: details
                            .get("bundle_seq")
                            .and_then(Value::as_u64)
                            .unwrap_or(0),
                        event: seq,
                        time: time.to_string(),
                        feed: FeedRef::from_details(details),
                        checkpoint: s("checkpoint"),
                    });
                }
            }
            _ => {}
        }
    }

    /// Read the whole log (when no catalogue is at hand).
    pub fn from_vault(vault: &Vault) -> Result<Registry> {
        let mut r = Registry::default();
        vault.read_log(|ev| {
            r.add_event(
                &ev.event.kind,
                ev.event.seq,
                &ev.event.time,
                &ev.event.details,
            );
            Ok(())
        })?;
        Ok(r)
    }

    pub fn trusted(&self, key: &str) -> Option<&Trusted> {
        self.trusted.iter().find(|t| t.key == key)
    }

    pub fn imported(&self, bundle: &str) -> Option<&Imported> {
        self.imported.iter().find(|i| i.bundle == bundle)
    }

    /// The head (leaf hash) of `actor`'s feed after its event `seq`, if the vault holds it.
    fn head_after(&self, actor: &str, seq: u64) -> Option<&str> {
        self.imported
            .iter()
            .filter_map(|i| i.feed.as_ref())
            .find(|f| f.actor == actor && f.last == seq)
            .map(|f| f.head.as_str())
    }

    /// An imported feed segment of `actor` that overlaps `first..=last`.
    fn overlapping(&self, actor: &str, first: u64, last: u64) -> Option<&Imported> {
        self.imported.iter().find(|i| {
            i.feed
                .as_ref()
                .is_some_and(|f| f.actor == actor && f.first <= last && first <= f.last)
        })
    }
}

/// The event that makes the vault trust `key` under `name`; `None` if it already does.
pub fn trust(registry: &Registry, key: &str, name: &str) -> Result<Option<EventDraft>> {
    let verifier =
        Verifier::from_vkey(key.trim()).map_err(|_| BundleError::BadKey(key.to_string()))?;
    let key = verifier.to_vkey_string();
    if name.trim().is_empty() {
        return Err(BundleError::BadOption("--name must not be empty".into()));
    }
    if let Some(t) = registry.trusted(&key) {
        if t.name == name {
            return Ok(None);
        }
    }
    if let Some(t) = registry
        .trusted
        .iter()
        .find(|t| t.name == name && t.key != key)
    {
        return Err(BundleError::Refused(format!(
            "the name {name:?} already belongs to another key ({}); choose another name",
            t.key
        )));
    }
    let mut d = Map::new();
    d.insert("name".into(), json!(name));
    d.insert("key".into(), json!(key));
    d.insert(
        "actor".into(),
        json!(athar_vault::event::actor_id(verifier.verifying_key())),
    );
    Ok(Some(EventDraft {
        kind: kind::TRUST.into(),
        objects: Vec::new(),
        details: d,
    }))
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportSummary {
    pub bundle: String,
    pub kind: String,
    pub source: String,
    pub signer: String,
    pub bundle_seq: u64,
    pub files: u64,
    pub new: u64,
    pub already_held: u64,
    pub bytes: u64,
    pub parts: usize,
    /// Parts that were missing or damaged and rebuilt from parity.
    pub repaired: Vec<String>,
    /// Export bundles: the sender's tree size now trusted.
    pub checkpoint_size: Option<u64>,
    #[serde(skip)]
    pub events: Vec<SignedEvent>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum ImportOutcome {
    Imported(ImportSummary),
    AlreadyImported {
        bundle: String,
        event: u64,
        time: String,
    },
}

/// Progress: total object bytes, then bytes as they are stored.
pub trait Progress: Sync {
    fn start(&self, _total: u64) {}
    fn advance(&self, _bytes: u64) {}
}
impl Progress for () {}

#[derive(Default)]
pub struct ImportOptions<'a> {
    pub threads: Option<usize>,
    /// Whether the vault already held an object (to mark `seen_again`), e.g. from the
    /// catalogue. Defaults to the object store.
    pub held: Option<&'a dyn Fn(&str) -> bool>,
}

/// Import one bundle found on disk. See the module documentation for the order of checks.
pub fn import(
    vault: &mut Vault,
    registry: &Registry,
    found: &Found,
    opts: &ImportOptions<'_>,
    progress: &dyn Progress,
) -> Result<ImportOutcome> {
    let m = &found.manifest;
    let Some(trusted) = registry.trusted(&m.signer) else {
        return Err(BundleError::Refused(format!(
            "bundle {} is signed by a key this vault does not trust ({}): unknown signer. If you know this source, register its key first: athar source trust VAULT KEY --name NAME",
            m.bundle, m.signer
        )));
    };
    if let Some(done) = registry.imported(&m.bundle) {
        return Ok(ImportOutcome::AlreadyImported {
            bundle: m.bundle.clone(),
            event: done.event,
            time: done.time.clone(),
        });
    }
    if let Some(prior) = registry
        .imported
        .iter()
        .find(|i| i.signer == m.signer && i.bundle_seq == m.seq)
    {
        return Err(BundleError::Refused(format!(
            "bundle {} claims to be bundle #{} of {}, but bundle #{} of that source was already imported on {} (bundle {}): a replayed or forked bundle, refused",
            m.bundle, m.seq, trusted.name, m.seq, prior.time, prior.bundle
        )));
    }

    let report = check(found, None)?;
    if !report.recoverable {
        return Err(BundleError::Refused(report.refusal()));
    }
    let repair_dir = vault
        .root()
        .join("tmp")
        .join(format!("bundle-{}", m.bundle));
    let _cleanup = RemoveOnDrop(repair_dir.clone());
    let payload = if report.intact() {
        Payload::open_files(&found.files, m)?
    } else {
        let repaired = check(found, Some(&repair_dir))?;
        if !repaired.recoverable {
            return Err(BundleError::Refused(repaired.refusal()));
        }
        Payload::open_dir(&repair_dir, m)?
    };
    let index = payload.index(vault.identity())?;
    if index.bundle != m.bundle {
        return Err(BundleError::Refused(format!(
            "the encrypted index belongs to bundle {}, not {}: parts of two bundles were mixed",
            index.bundle, m.bundle
        )));
    }
    for o in &index.objects {
        if o.offset
            .checked_add(o.length)
            .is_none_or(|end| end > payload.len())
        {
            return Err(BundleError::Refused(
                "the index points outside the payload".into(),
            ));
        }
    }
    let actor = athar_vault::event::actor_id(found.verifier.verifying_key());
    let feed = parse_feed(&index, &actor)?;
    let (first, last) = (feed[0].event.seq, feed[feed.len() - 1].event.seq);
    check_feed_place(vault, registry, &actor, &trusted.name, &feed)?;

    let plan = match m.kind.as_str() {
        format::KIND_SOURCE => plan_source(&index, &feed, m)?,
        format::KIND_EXPORT => {
            crate::export::plan_export(vault, registry, &index, &feed, &found.verifier)?
        }
        other => return Err(BundleError::Format(format!("unknown bundle kind {other}"))),
    };

    // From here on the vault changes; on failure, undo.
    let mut undo = Undo::default();
    let stored = store_objects(vault, &payload, &index, opts, progress, &mut undo);
    let result = stored.and_then(|stored| {
        let (feed_key, committed) = feed::store(vault, &actor, first, &index.feed)?;
        if committed == Committed::New {
            undo.keys.push(feed_key.clone());
        }
        let feed_ref = FeedRef {
            key: feed_key,
            actor: actor.clone(),
            first,
            last,
            head: hex::encode(feed[feed.len() - 1].leaf),
        };
        let custodian = vault.config().custodian.clone();
        let mut drafts = Vec::with_capacity(index.objects.len() + 1);
        let mut seen = HashSet::new();
        let mut new = 0u64;
        let mut bytes = 0u64;
        for (i, o) in index.objects.iter().enumerate() {
            let held = match opts.held {
                Some(f) => f(&o.sha256),
                None => stored.was_present[i],
            } || !seen.insert(o.sha256.clone());
            if !held {
                new += 1;
            }
            bytes += o.size;
            let mut d = plan.ingestion[i].clone();
            d.insert("custodian".into(), json!(custodian));
            d.insert("bundle".into(), json!(m.bundle));
            d.insert("source".into(), json!(trusted.name));
            d.insert("media_type".into(), json!(stored.media_types[i]));
            d.insert("size".into(), json!(o.size));
            if held {
                d.insert("seen_again".into(), Value::Bool(true));
            }
            drafts.push(EventDraft {
                kind: kind::INGESTION.into(),
                objects: vec![o.sha256.clone()],
                details: d,
            });
        }
        let mut d = Map::new();
        d.insert("custodian".into(), json!(custodian));
        d.insert("bundle".into(), json!(m.bundle));
        d.insert("bundle_seq".into(), json!(m.seq));
        d.insert("kind".into(), json!(m.kind));
        d.insert("source".into(), json!(trusted.name));
        d.insert("signer".into(), json!(m.signer));
        d.insert("packed".into(), json!(m.created));
        d.insert(
            "parts".into(),
            json!(m.parts.iter().map(|p| p.name.clone()).collect::<Vec<_>>()),
        );
        d.insert("files".into(), json!(index.objects.len()));
        d.insert("bytes".into(), json!(bytes));
        d.insert("feed".into(), feed_ref.to_json());
        let repaired: Vec<String> = report.bad_parts().iter().map(|p| p.name.clone()).collect();
        if !repaired.is_empty() {
            d.insert("repaired_parts".into(), json!(repaired));
        }
        for (k, v) in &plan.transfer_details {
            d.insert(k.clone(), v.clone());
        }
        let mut objects: Vec<String> = index.objects.iter().map(|o| o.sha256.clone()).collect();
        objects.sort();
        objects.dedup();
        drafts.push(EventDraft {
            kind: kind::TRANSFER.into(),
            objects,
            details: d,
        });
        let events = vault.append(drafts)?;
        Ok(ImportSummary {
            bundle: m.bundle.clone(),
            kind: m.kind.clone(),
            source: trusted.name.clone(),
            signer: m.signer.clone(),
            bundle_seq: m.seq,
            files: index.objects.len() as u64,
            new,
            already_held: index.objects.len() as u64 - new,
            bytes,
            parts: m.parts.len(),
            repaired,
            checkpoint_size: plan.checkpoint_size,
            events,
        })
    });
    match result {
        Ok(summary) => {
            undo.keys.clear();
            Ok(ImportOutcome::Imported(summary))
        }
        Err(e) => {
            undo.run(vault);
            Err(e)
        }
    }
}

/// Parse the feed lines: each validly signed by the bundle's signer, numbered without gaps,
/// chained one to the next.
fn parse_feed(index: &Index, actor: &str) -> Result<Vec<SignedEvent>> {
    if index.feed.is_empty() {
        return Err(BundleError::Refused(
            "the bundle carries no custody events".into(),
        ));
    }
    let mut out: Vec<SignedEvent> = Vec::with_capacity(index.feed.len());
    for line in &index.feed {
        let ev = SignedEvent::parse(line).map_err(|e| {
            BundleError::Refused(format!("a custody event in the bundle is not valid: {e}"))
        })?;
        if ev.event.actor != actor {
            return Err(BundleError::Refused(format!(
                "custody event {} is signed by {}, not by the bundle's signer",
                ev.event.seq, ev.event.actor
            )));
        }
        if let Some(prev) = out.last() {
            if ev.event.seq != prev.event.seq + 1 || ev.event.prev != hex::encode(prev.leaf) {
                return Err(BundleError::Refused(format!(
                    "custody event {} does not follow event {}: the feed was altered",
                    ev.event.seq, prev.event.seq
                )));
            }
        }
        out.push(ev);
    }
    Ok(out)
}

/// The feed must continue the signer's feed as the vault knows it: no event numbers already
/// imported (a replay or a fork), and chained onto the previous segment when the vault has it.
fn check_feed_place(
    vault: &Vault,
    registry: &Registry,
    actor: &str,
    name: &str,
    feed: &[SignedEvent],
) -> Result<()> {
    let first = &feed[0].event;
    let last = feed[feed.len() - 1].event.seq;
    if let Some(prior) = registry.overlapping(actor, first.seq, last) {
        return Err(BundleError::Refused(format!(
            "events {}..{} of {name}'s feed overlap bundle {} imported on {}: a replayed or forked feed, refused",
            first.seq, last, prior.bundle, prior.time
        )));
    }
    if first.seq == 1 {
        if first.prev != hex::encode([0u8; 32]) {
            return Err(BundleError::Refused(
                "the source's first event claims a predecessor: altered feed".into(),
            ));
        }
    } else if let Some(head) = registry.head_after(actor, first.seq - 1) {
        if first.prev != head {
            return Err(BundleError::Refused(format!(
                "{name}'s event {} does not follow event {} already held: a forked or forged feed, refused",
                first.seq,
                first.seq - 1
            )));
        }
    }
    // A bundle arriving late, after its successor: the successor must chain onto it.
    let next = registry
        .imported
        .iter()
        .filter_map(|i| i.feed.as_ref())
        .find(|f| f.actor == actor && f.first == last + 1);
    if let Some(next) = next {
        let lines = athar_vault::feed::read(vault, &next.key)?;
        let follows = lines
            .first()
            .and_then(|l| SignedEvent::parse(l).ok())
            .is_some_and(|ev| ev.event.prev == hex::encode(feed[feed.len() - 1].leaf));
        if !follows {
            return Err(BundleError::Refused(format!(
                "{name}'s event {} already held does not follow this bundle's last event {last}: a forked or forged feed, refused",
                last + 1
            )));
        }
    }
    Ok(())
}

/// What the log records per object and for the transfer, by bundle kind.
pub(crate) struct Plan {
    /// Details for each object's ingestion event (custodian, sizes … are added later).
    pub ingestion: Vec<Map<String, Value>>,
    pub transfer_details: Map<String, Value>,
    pub checkpoint_size: Option<u64>,
}

/// A source bundle's feed is one "capture" event per object, in index order, then the
/// source's "transfer" event naming the bundle.
fn plan_source(index: &Index, feed: &[SignedEvent], m: &format::Manifest) -> Result<Plan> {
    let n = index.objects.len();
    if feed.len() != n + 1 {
        return Err(BundleError::Refused(format!(
            "the bundle holds {n} objects but {} custody events: altered",
            feed.len()
        )));
    }
    let mut ingestion = Vec::with_capacity(n);
    for (o, ev) in index.objects.iter().zip(feed) {
        let e = &ev.event;
        if e.kind != kind::CAPTURE
            || e.objects.len() != 1
            || e.objects[0] != o.sha256
            || e.detail_u64("size") != Some(o.size)
            || e.detail_str("bundle") != Some(m.bundle.as_str())
        {
            return Err(BundleError::Refused(format!(
                "custody event {} does not describe object {} of the bundle: altered",
                e.seq, o.sha256
            )));
        }
        let mut d = Map::new();
        for k in ["source_path", "source_path_hex", "mtime", "btime"] {
            if let Some(v) = e.details.get(k) {
                d.insert(k.into(), v.clone());
            }
        }
        d.insert("source_event".into(), json!(e.seq));
        ingestion.push(d);
    }
    let t = &feed[n].event;
    if t.kind != kind::TRANSFER || t.detail_str("bundle") != Some(m.bundle.as_str()) {
        return Err(BundleError::Refused(
            "the source's feed does not end with its transfer of this bundle: altered".into(),
        ));
    }
    Ok(Plan {
        ingestion,
        transfer_details: Map::new(),
        checkpoint_size: None,
    })
}

struct Stored {
    media_types: Vec<&'static str>,
    was_present: Vec<bool>,
}

/// Decrypt every object and store it in the vault, checking its SHA-256 and size against
/// the index. Several objects at once.
fn store_objects(
    vault: &Vault,
    payload: &Payload,
    index: &Index,
    opts: &ImportOptions<'_>,
    progress: &dyn Progress,
    undo: &mut Undo,
) -> Result<Stored> {
    let objects = vault.objects();
    let identity = vault.identity();
    let n = index.objects.len();
    progress.start(index.objects.iter().map(|o| o.size).sum());
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .clamp(1, n.max(1));
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<(&'static str, bool)>>> = Mutex::new(vec![None; n]);
    let added: Mutex<Vec<String>> = Mutex::new(Vec::new());
    let failure: Mutex<Option<BundleError>> = Mutex::new(None);
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                if failure.lock().expect("not poisoned").is_some() {
                    return;
                }
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= n {
                    return;
                }
                let o = &index.objects[i];
                let outcome = (|| -> Result<(&'static str, bool)> {
                    let claimed = athar_vault::parse_sha256(&o.sha256)?;
                    let was_present = objects.has(&claimed)?;
                    let reader = BufReader::with_capacity(256 << 10, payload.range(o.offset, o.length));
                    let decryptor = age::Decryptor::new(reader).map_err(|e| {
                        BundleError::Refused(format!("object {} is not an age file: {e}", o.sha256))
                    })?;
                    let mut plain = decryptor
                        .decrypt(std::iter::once(identity as &dyn age::Identity))
                        .map_err(|e| {
                            BundleError::Refused(format!("object {} cannot be decrypted: {e}", o.sha256))
                        })?;
                    let (sealed, committed) = objects.put(&mut plain as &mut dyn Read).map_err(|e| match e {
                        athar_vault::envelope::SealError::Read(e) => BundleError::Refused(format!(
                            "object {} cannot be decrypted: {e}",
                            o.sha256
                        )),
                        athar_vault::envelope::SealError::Write(e) => e.into(),
                    })?;
                    if committed == Committed::New {
                        added.lock().expect("not poisoned").push(objects.key(&sealed.sha256));
                    }
                    if sealed.sha256 != claimed || sealed.size != o.size {
                        return Err(BundleError::Refused(format!(
                            "object {} decrypts to different content (SHA-256 {}, {} bytes): the source's claim is false",
                            o.sha256,
                            hex::encode(sealed.sha256),
                            sealed.size
                        )));
                    }
                    progress.advance(o.size);
                    Ok((athar_vault::sniff::media_type(&sealed.head[..sealed.head_len]), was_present))
                })();
                match outcome {
                    Ok(r) => results.lock().expect("not poisoned")[i] = Some(r),
                    Err(e) => {
                        failure.lock().expect("not poisoned").get_or_insert(e);
                        return;
                    }
                }
            });
        }
    });
    undo.keys.extend(added.into_inner().expect("not poisoned"));
    if let Some(e) = failure.into_inner().expect("not poisoned") {
        return Err(e);
    }
    let results = results.into_inner().expect("not poisoned");
    Ok(Stored {
        media_types: results.iter().map(|r| r.expect("all done").0).collect(),
        was_present: results.iter().map(|r| r.expect("all done").1).collect(),
    })
}

/// Blobs this import added, removed again if it fails.
#[derive(Default)]
struct Undo {
    keys: Vec<String>,
}

impl Undo {
    fn run(&mut self, vault: &Vault) {
        // On a shared (S3) store another machine may meanwhile have logged an event naming
        // the same content-addressed object: leave orphans (ciphertext a retry reuses).
        if vault.store().is_shared() {
            self.keys.clear();
            return;
        }
        for key in self.keys.drain(..) {
            let _ = vault.store().remove(&key);
        }
        let _ = vault.store().sync();
    }
}

struct RemoveOnDrop(std::path::PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Import every bundle found in `dirs`, in order of signer and bundle number.
pub fn scan_dirs(dirs: &[&Path]) -> Result<(Vec<Found>, Vec<crate::scan::Problem>)> {
    let mut bundles = Vec::new();
    let mut problems = Vec::new();
    for d in dirs {
        let s = crate::scan::scan(d)?;
        for b in s.bundles {
            if !bundles
                .iter()
                .any(|x: &Found| x.manifest.bundle == b.manifest.bundle)
            {
                bundles.push(b);
            }
        }
        problems.extend(s.problems);
    }
    bundles.sort_by(|a, b| {
        (&a.manifest.signer, a.manifest.seq).cmp(&(&b.manifest.signer, b.manifest.seq))
    });
    Ok((bundles, problems))
}

/// A check report, for callers that want to show damage that import repaired.
pub fn damage(found: &Found) -> Result<CheckReport> {
    check(found, None)
}
