//! `athar analyze` (and the analysis step of ingest): read every image original once —
//! EXIF, perceptual hashes, numbers from names or the card, derivatives — and record it as
//! signed events; then group photos into cases.
//!
//! Resumable: the catalogue lists originals with no "metadata extraction" event yet, so a
//! re-run picks up where an interrupted one stopped. Derivatives are stored before the events
//! that name them; an interrupted run leaves at most harmless unlogged objects, which the
//! re-run stores again under the same name (encoding is deterministic).

use std::collections::HashMap;
use std::io::Read;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Mutex};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{json, Map, Value};

use athar_catalog::grouping::{self, GroupingParams};
use athar_catalog::{Catalog, Pending, Photos, GROUPING, METADATA_EXTRACTION};
use athar_media::{AnalyzeOptions, NumberPatterns};
use athar_vault::{kind, Access, EventDraft, Objects, Reader};

use crate::session::Session;
use crate::{output, PassArgs};

/// Originals analysed per logged batch.
const BATCH: usize = 256;
/// Larger originals are not decoded (they stay objects without image analysis).
const MAX_ANALYSIS_BYTES: u64 = 512 << 20;

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    pub analysed: u64,
    pub derivatives: u64,
    /// Originals whose pixels could not be analysed, with the reason (they keep their EXIF).
    pub unreadable: Vec<Unreadable>,
    pub cases_numbered: u64,
    pub cases_proposed: u64,
    pub photos_grouped: u64,
}

#[derive(Debug, Serialize)]
pub struct Unreadable {
    pub sha256: String,
    pub source_path: Option<String>,
    pub reason: String,
}

/// Patterns file a vault may carry: used for every analysis of that vault.
pub const PATTERNS_FILE: &str = "patterns.toml";

pub fn run(
    root: &std::path::Path,
    patterns: Option<&std::path::Path>,
    json_out: bool,
    threads: Option<usize>,
    pass: &PassArgs,
) -> Result<ExitCode> {
    let mut session = Session::open(root, pass, Access::Write)?;
    let patterns = match patterns {
        Some(file) => load_patterns(file)?,
        None => vault_patterns(root)?,
    };
    let summary = analyze_with(&mut session, threads, &patterns, true)?;
    report(&summary, json_out);
    Ok(ExitCode::SUCCESS)
}

pub fn report(s: &Summary, json_out: bool) {
    if json_out {
        output::json(s);
        return;
    }
    println!(
        "analysed {} photos, {} derivatives",
        s.analysed, s.derivatives
    );
    println!(
        "grouped {} photos: {} cases by their numbers, {} proposed by similarity (for review)",
        s.photos_grouped, s.cases_numbered, s.cases_proposed
    );
    if !s.unreadable.is_empty() {
        println!(
            "{} could not be decoded (kept, with what could be read):",
            s.unreadable.len()
        );
        for u in &s.unreadable {
            println!(
                "  {} {}: {}",
                u.sha256,
                u.source_path.as_deref().unwrap_or(""),
                u.reason
            );
        }
    }
}

fn load_patterns(file: &std::path::Path) -> Result<NumberPatterns> {
    NumberPatterns::from_file(file).with_context(|| {
        format!(
            "reading the number patterns in {} (format: docs/formats/media.md)",
            file.display()
        )
    })
}

/// The vault's own patterns (`VAULT/patterns.toml`) if it has them, else the default ones.
pub fn vault_patterns(root: &std::path::Path) -> Result<NumberPatterns> {
    let file = root.join(PATTERNS_FILE);
    if file.exists() {
        load_patterns(&file)
    } else {
        Ok(NumberPatterns::default())
    }
}

/// Analyse with the vault's patterns (after ingest and import).
pub fn analyze(
    session: &mut Session,
    threads: Option<usize>,
    show_progress: bool,
) -> Result<Summary> {
    let patterns = vault_patterns(session.vault.root())?;
    analyze_with(session, threads, &patterns, show_progress)
}

pub fn analyze_with(
    session: &mut Session,
    threads: Option<usize>,
    patterns: &NumberPatterns,
    show_progress: bool,
) -> Result<Summary> {
    keep_freed_memory();
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let mut summary = Summary::default();
    let bar = if show_progress {
        let b = indicatif::ProgressBar::new_spinner();
        b.set_style(
            indicatif::ProgressStyle::with_template("{spinner} analysing {pos} photos {per_sec}")
                .expect("valid template"),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let reader = session.vault.reader();
    let objects = session.vault.objects();
    let abort = AtomicBool::new(false);
    let (work_tx, work_rx) = mpsc::channel::<(usize, Pending)>();
    let work_rx = Mutex::new(work_rx);
    std::thread::scope(|s| -> Result<()> {
        let (done_tx, done_rx) = mpsc::channel::<(usize, Result<Vec<EventDraft>>)>();
        for _ in 0..threads {
            let done_tx = done_tx.clone();
            let (work_rx, reader, objects, abort) = (&work_rx, &reader, &objects, &abort);
            s.spawn(move || loop {
                let job = work_rx.lock().expect("not poisoned").recv();
                let Ok((index, p)) = job else { break };
                if abort.load(Ordering::Relaxed) {
                    continue;
                }
                // A panic must come back as this photo's error: the main thread waits for
                // every index it handed out, and would otherwise wait for ever.
                let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    analyse_one(reader, objects, &p, patterns)
                }))
                .unwrap_or_else(|_| {
                    Err(anyhow::anyhow!(
                        "analysing object {} failed (internal error: please report it with this SHA-256); \
                         the photos analysed before it are logged and a re-run skips them",
                        p.sha256
                    ))
                });
                if done_tx.send((index, r)).is_err() {
                    break;
                }
            });
        }
        drop(done_tx);
        let r = pipeline(session, &work_tx, &done_rx, &mut summary, &bar);
        if r.is_err() {
            abort.store(true, Ordering::Relaxed);
        }
        drop(work_tx);
        r
    })?;
    bar.finish_and_clear();
    group(session, &mut summary)?;
    Ok(summary)
}

/// Every photo allocates and frees a few MB of buffers. glibc's default gives large blocks
/// back to the kernel on free, so each photo paid again in page faults (~500,000 over 2,000
/// photos, ~1 s of CPU). Keeping them for reuse costs nothing here: the process ends
/// after the analysis or goes on to other work of the same size.
fn keep_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes allocator thresholds; it is called before the workers start.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
    }
}

/// Feed the workers one batch ahead: while they analyse the next batch, this thread signs,
/// logs and catalogues the one they finished, so neither waits for the other.
fn pipeline(
    session: &mut Session,
    work: &mpsc::Sender<(usize, Pending)>,
    done: &mpsc::Receiver<(usize, Result<Vec<EventDraft>>)>,
    summary: &mut Summary,
    bar: &indicatif::ProgressBar,
) -> Result<()> {
    let mut next_index = 0usize;
    let mut results: HashMap<usize, Result<Vec<EventDraft>>> = HashMap::new();
    // The batch the workers are on: its first index and its photos.
    let mut queued: Option<(usize, Vec<Pending>)> = None;
    // The queued batch is not catalogued yet: page on past it, not from the start.
    let mut after = Pending::START;
    loop {
        let fresh = session.catalog.pending_analysis(&after, BATCH)?;
        if let Some(last) = fresh.last() {
            after = last.cursor();
        }
        let first = next_index;
        for p in &fresh {
            work.send((next_index, p.clone()))
                .context("the analysis threads stopped")?;
            next_index += 1;
        }
        if let Some((start, batch)) = queued.take() {
            while (start..start + batch.len()).any(|i| !results.contains_key(&i)) {
                let (i, r) = done.recv().context("the analysis threads stopped")?;
                results.insert(i, r);
                bar.inc(1);
            }
            let mut drafts = Vec::new();
            for (i, p) in (start..).zip(&batch) {
                let events = results.remove(&i).expect("received above")?;
                tally(summary, p, &events);
                drafts.extend(events);
            }
            // Logged in the catalogue's order, whatever order the threads finished in.
            let events = session
                .vault
                .append(drafts)
                .context("logging the analysis")?;
            session.catalog.apply(&events)?;
        }
        if fresh.is_empty() {
            return Ok(());
        }
        queued = Some((first, fresh));
    }
}

fn tally(summary: &mut Summary, p: &Pending, events: &[EventDraft]) {
    let meta = events.last().expect("a metadata event closes each photo");
    summary.analysed += 1;
    summary.derivatives += events.len() as u64 - 1;
    if let Some(reason) = meta.details.get("error").and_then(Value::as_str) {
        summary.unreadable.push(Unreadable {
            sha256: p.sha256.clone(),
            source_path: p.source_path.clone(),
            reason: reason.to_string(),
        });
    }
}

/// The events for one original: a "creation" per derivative, then its "metadata extraction".
fn analyse_one(
    reader: &Reader,
    objects: &Objects,
    p: &Pending,
    patterns: &NumberPatterns,
) -> Result<Vec<EventDraft>> {
    let labels = patterns.parse(p.source_path.as_deref().unwrap_or(""));
    let mut d = Map::new();
    d.insert(
        "tool".into(),
        json!(format!("athar-media {}", env!("CARGO_PKG_VERSION"))),
    );
    if let Some(path) = &p.source_path {
        d.insert("source_path".into(), json!(path));
    }
    d.insert("labels".into(), serde_json::to_value(&labels)?);
    if p.size > MAX_ANALYSIS_BYTES {
        d.insert(
            "error".into(),
            json!(format!(
                "not analysed: larger than {}",
                output::bytes(MAX_ANALYSIS_BYTES)
            )),
        );
        return Ok(vec![meta_event(&p.sha256, d)]);
    }
    let mut bytes = Vec::with_capacity(p.size as usize);
    reader
        .open(&p.sha256)?
        .read_to_end(&mut bytes)
        .with_context(|| format!("decrypting object {}", p.sha256))?;
    let a = athar_media::analyze(&bytes, &AnalyzeOptions::for_labels(&labels));
    drop(bytes);
    let mut events = Vec::new();
    let mut made = Map::new();
    for der in &a.derivatives {
        let (sealed, _) = objects
            .put(&mut der.bytes.as_slice())
            .map_err(|e| anyhow::anyhow!("storing a derivative of {}: {e:?}", p.sha256))?;
        let sha = hex::encode(sealed.sha256);
        made.insert(der.kind.as_str().into(), json!(sha));
        let mut cd = Map::new();
        cd.insert("original".into(), json!(p.sha256));
        cd.insert("derivative".into(), json!(der.kind.as_str()));
        cd.insert("transform".into(), json!(der.transform));
        cd.insert("media_type".into(), json!(der.media_type));
        cd.insert("size".into(), json!(der.bytes.len()));
        cd.insert("width".into(), json!(der.width));
        cd.insert("height".into(), json!(der.height));
        // Blurred previews are stored small and shown enlarged: no detail is lost by that.
        cd.insert("display_width".into(), json!(der.display_width));
        cd.insert("display_height".into(), json!(der.display_height));
        events.push(EventDraft {
            kind: kind::CREATION.into(),
            objects: vec![sha, p.sha256.clone()],
            details: cd,
        });
    }
    d.insert("width".into(), json!(a.width));
    d.insert("height".into(), json!(a.height));
    if let Some(exif) = &a.exif {
        let mut e = serde_json::to_value(exif)?;
        // The raw tags go in their own member, so the summary fields stay easy to read.
        if let Some(raw) = e.as_object_mut().and_then(|o| o.remove("raw")) {
            d.insert("exif_raw".into(), raw);
        }
        d.insert("exif".into(), e);
    }
    if let Some(err) = &a.exif_error {
        d.insert("exif_error".into(), json!(err));
    }
    if let Some(pdq) = &a.pdq {
        d.insert("pdq".into(), json!(pdq.hex()));
        d.insert("pdq_quality".into(), json!(pdq.quality));
    }
    if let Some(ph) = a.phash {
        d.insert("phash".into(), json!(format!("{ph:016x}")));
    }
    if let Some(card) = &a.card {
        d.insert("card".into(), serde_json::to_value(card)?);
    }
    if let Some(err) = &a.error {
        d.insert("error".into(), json!(err));
    }
    d.insert("derivatives".into(), Value::Object(made));
    events.push(meta_event(&p.sha256, d));
    Ok(events)
}

fn meta_event(sha: &str, details: Map<String, Value>) -> EventDraft {
    EventDraft {
        kind: METADATA_EXTRACTION.into(),
        objects: vec![sha.to_string()],
        details,
    }
}

/// Group photos not yet in a case; each decision is a signed "grouping" event.
fn group(session: &mut Session, summary: &mut Summary) -> Result<()> {
    let photos = session.catalog.photos()?;
    let groups = grouping::plan(&photos, &GroupingParams::default());
    let mut drafts = Vec::new();
    for g in groups {
        if g.status == "proposed" {
            summary.cases_proposed += 1;
        } else {
            summary.cases_numbered += 1;
        }
        summary.photos_grouped += g.photos.len() as u64;
        let mut d = Map::new();
        d.insert("case".into(), json!(g.case_id));
        d.insert("basis".into(), json!(g.basis));
        d.insert("status".into(), json!(g.status));
        for (k, v) in [
            ("detainee", &g.detainee),
            ("branch", &g.branch),
            ("report", &g.report),
            ("hospital", &g.hospital),
        ] {
            if let Some(v) = v {
                d.insert(k.into(), json!(v));
            }
        }
        d.insert("reason".into(), json!(g.reason));
        drafts.push(EventDraft {
            kind: GROUPING.into(),
            objects: g.photos,
            details: d,
        });
    }
    let events = session
        .vault
        .append(drafts)
        .context("logging the grouping")?;
    session.catalog.apply(&events)?;
    Ok(())
}
