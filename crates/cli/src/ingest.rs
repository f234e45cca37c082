//! `athar ingest`: walk, hash and encrypt in parallel, log in durable batches.
//!
//! Threads: one walker (with its own catalogue connection, to skip files an earlier run
//! already recorded), N sealers (hash + age-encrypt into the store), and this thread, which
//! commits: after each batch the store is synced, the events are signed and logged, and the
//! catalogue is updated. Only then are the files counted as ingested.

use std::collections::HashSet;
use std::fs::File;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use serde_json::{json, Map, Value};

use athar_catalog::{Catalog, SqlCatalog};
use athar_vault::envelope::SealError;
use athar_vault::source::{io_reason, SourceFile};
use athar_vault::{kind, Access, EventDraft, Objects, VaultError};

use crate::session::{open_catalog, Session};
use crate::{output, PassArgs};

pub const BATCH_FILES: usize = 512;
const BATCH_INTERVAL: Duration = Duration::from_secs(2);

#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// Sealing threads (default: all cores).
    pub threads: Option<usize>,
    /// Files per logged batch.
    pub batch_files: usize,
    /// Analyse new images afterwards.
    pub analyze: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            threads: None,
            batch_files: BATCH_FILES,
            analyze: true,
        }
    }
}

#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// Files taken in: new plus already held.
    pub files: u64,
    pub bytes: u64,
    pub new: u64,
    pub already_held: u64,
    pub empty_files: u64,
    pub events: u64,
    pub rejected: Vec<Rejected>,
    /// What the analysis step after ingest found.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analysis: Option<crate::analyze::Summary>,
}

#[derive(Debug, Serialize)]
pub struct Rejected {
    pub path: String,
    pub reason: String,
}

enum Outcome {
    Sealed {
        file: SourceFile,
        sha256: [u8; 32],
        size: u64,
        media_type: &'static str,
    },
    /// Recorded by an earlier run at the same path, size and time: nothing to do.
    Recorded {
        size: u64,
    },
    Rejected(Rejected),
    /// The vault cannot take more (disk full, I/O error): stop after committing what's done.
    Fatal(VaultError),
}

pub fn run(
    root: &Path,
    paths: &[PathBuf],
    json_out: bool,
    opts: Options,
    pass: &PassArgs,
) -> Result<ExitCode> {
    let mut session = Session::open(root, pass, Access::Write)?;
    let mut summary = ingest(&mut session, paths, opts, true)?;
    if opts.analyze && summary.new > 0 {
        summary.analysis = Some(crate::analyze::analyze(
            &mut session,
            opts.threads,
            !json_out,
        )?);
    }
    report(root, &summary, json_out);
    Ok(if summary.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(3)
    })
}

/// Ingest `paths` into an open session. Used by the command and by `demo`.
pub fn ingest(
    session: &mut Session,
    paths: &[PathBuf],
    opts: Options,
    show_progress: bool,
) -> Result<Summary> {
    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let objects = session.vault.objects();
    let checker = open_catalog(&session.vault)?;
    let stop = AtomicBool::new(false);
    let bar = crate::output::byte_bar(show_progress, "ingesting");
    let custodian = session.vault.config().custodian.clone();

    std::thread::scope(|s| -> Result<Summary> {
        let (work_tx, work_rx) = sync_channel::<SourceFile>(threads * 4);
        let (done_tx, done_rx) = sync_channel::<Outcome>(threads * 64);
        let work_rx = Arc::new(Mutex::new(work_rx));
        {
            let done_tx = done_tx.clone();
            let (stop, bar, objects) = (&stop, &bar, objects.clone());
            s.spawn(move || walk(paths, &checker, &objects, work_tx, done_tx, stop, bar));
        }
        for _ in 0..threads {
            let (work_rx, done_tx, objects, stop) =
                (work_rx.clone(), done_tx.clone(), objects.clone(), &stop);
            s.spawn(move || seal_files(&work_rx, &done_tx, &objects, stop));
        }
        drop(done_tx);
        let result = commit_loop(
            session,
            done_rx,
            &custodian,
            opts.batch_files.max(1),
            &stop,
            &bar,
        );
        if result.is_err() {
            stop.store(true, Ordering::Relaxed);
        }
        bar.finish_and_clear();
        result
    })
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn reject(path: &Path, reason: impl Into<String>) -> Outcome {
    Outcome::Rejected(Rejected {
        path: display(path),
        reason: reason.into(),
    })
}

fn walk(
    roots: &[PathBuf],
    checker: &SqlCatalog,
    objects: &Objects,
    work: SyncSender<SourceFile>,
    done: SyncSender<Outcome>,
    stop: &AtomicBool,
    bar: &indicatif::ProgressBar,
) {
    for root in roots {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.clone());
        if let Err(e) = std::fs::symlink_metadata(&root) {
            let _ = done.send(reject(&root, io_reason(&e, "cannot be read")));
            continue;
        }
        let walker = walkdir::WalkDir::new(&root)
            .follow_links(false)
            .sort_by_file_name();
        for entry in walker {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let outcome = match entry {
                Err(e) => {
                    let path = e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.clone());
                    let reason = e
                        .io_error()
                        .map(|io| io_reason(io, "cannot be read"))
                        .unwrap_or_else(|| e.to_string());
                    reject(&path, reason)
                }
                Ok(entry) => {
                    let ft = entry.file_type();
                    if ft.is_dir() {
                        continue;
                    }
                    let path = entry.into_path();
                    if ft.is_symlink() {
                        reject(&path, "symbolic link: not followed (ingest its target directly if it belongs in the vault)")
                    } else if !ft.is_file() {
                        reject(
                            &path,
                            "not a regular file (device, pipe or socket): skipped",
                        )
                    } else {
                        match std::fs::metadata(&path) {
                            Err(e) => reject(&path, io_reason(&e, "cannot be read")),
                            Ok(meta) => {
                                let file = SourceFile::new(path, &meta);
                                bar.inc_length(file.size);
                                match already_recorded(checker, objects, &file) {
                                    true => Outcome::Recorded { size: file.size },
                                    false => {
                                        if work.send(file).is_err() {
                                            return;
                                        }
                                        continue;
                                    }
                                }
                            }
                        }
                    }
                }
            };
            if done.send(outcome).is_err() {
                return;
            }
        }
    }
}

/// True if an earlier run logged this very file (same path, size and modification time)
/// and its object is in the store.
fn already_recorded(checker: &SqlCatalog, objects: &Objects, file: &SourceFile) -> bool {
    let Some(mtime) = &file.mtime else {
        return false;
    };
    let Ok(Some(sha)) = checker.recorded_file(file.path.as_os_str().as_bytes(), file.size, mtime)
    else {
        return false;
    };
    athar_vault::parse_sha256(&sha)
        .ok()
        .and_then(|d| objects.has(&d).ok())
        .unwrap_or(false)
}

fn seal_files(
    work: &Mutex<Receiver<SourceFile>>,
    done: &SyncSender<Outcome>,
    objects: &Objects,
    stop: &AtomicBool,
) {
    loop {
        let next = work.lock().expect("not poisoned").recv();
        let Ok(file) = next else { return };
        if stop.load(Ordering::Relaxed) {
            return;
        }
        let outcome = match File::open(&file.path) {
            Err(e) => reject(&file.path, io_reason(&e, "cannot be opened")),
            Ok(mut f) => match objects.put(&mut f) {
                Ok((sealed, _)) => Outcome::Sealed {
                    media_type: athar_vault::sniff::media_type(&sealed.head[..sealed.head_len]),
                    sha256: sealed.sha256,
                    size: sealed.size,
                    file,
                },
                Err(SealError::Read(e)) => reject(&file.path, io_reason(&e, "read failed")),
                Err(SealError::Write(e)) => Outcome::Fatal(e),
            },
        };
        if done.send(outcome).is_err() {
            return;
        }
    }
}

fn commit_loop(
    session: &mut Session,
    done: Receiver<Outcome>,
    custodian: &str,
    batch_files: usize,
    stop: &AtomicBool,
    bar: &indicatif::ProgressBar,
) -> Result<Summary> {
    let mut summary = Summary::default();
    let mut batch: Vec<Outcome> = Vec::new();
    let mut last = Instant::now();
    let mut fatal = None;
    loop {
        let closed = match done.recv_timeout(BATCH_INTERVAL) {
            Ok(Outcome::Fatal(e)) => {
                stop.store(true, Ordering::Relaxed);
                fatal.get_or_insert(e);
                false
            }
            Ok(o) => {
                batch.push(o);
                false
            }
            Err(RecvTimeoutError::Timeout) => false,
            Err(RecvTimeoutError::Disconnected) => true,
        };
        if closed || batch.len() >= batch_files || last.elapsed() >= BATCH_INTERVAL {
            commit(
                session,
                std::mem::take(&mut batch),
                custodian,
                &mut summary,
                bar,
            )?;
            last = Instant::now();
        }
        if closed {
            break;
        }
    }
    if let Some(e) = fatal {
        return Err(anyhow::Error::new(e).context(format!(
            "ingest stopped; {} files were ingested and are safe, run the same command again to finish",
            summary.files
        )));
    }
    Ok(summary)
}

fn commit(
    session: &mut Session,
    batch: Vec<Outcome>,
    custodian: &str,
    summary: &mut Summary,
    bar: &indicatif::ProgressBar,
) -> Result<()> {
    let mut drafts = Vec::new();
    let mut fresh_in_batch = HashSet::new();
    let mut counted = Summary::default();
    for outcome in batch {
        match outcome {
            Outcome::Sealed {
                file,
                sha256,
                size,
                media_type,
            } => {
                let sha = hex::encode(sha256);
                let held =
                    session.catalog.object(&sha)?.is_some() || !fresh_in_batch.insert(sha.clone());
                if held {
                    counted.already_held += 1;
                } else {
                    counted.new += 1;
                }
                if size == 0 {
                    counted.empty_files += 1;
                }
                counted.files += 1;
                counted.bytes += size;
                drafts.push(ingestion_event(
                    &file, sha, size, media_type, custodian, held,
                ));
            }
            Outcome::Recorded { size } => {
                counted.files += 1;
                counted.already_held += 1;
                counted.bytes += size;
            }
            Outcome::Rejected(r) => counted.rejected.push(r),
            Outcome::Fatal(_) => unreachable!("handled by the loop"),
        }
    }
    let events = session
        .vault
        .append(drafts)
        .context("logging the batch; run the same command again to finish")?;
    session.catalog.apply(&events)?;
    // Counted only now that the batch is durable: nothing reported is ever lost.
    summary.files += counted.files;
    summary.bytes += counted.bytes;
    summary.new += counted.new;
    summary.already_held += counted.already_held;
    summary.empty_files += counted.empty_files;
    summary.events += events.len() as u64;
    summary.rejected.extend(counted.rejected);
    bar.set_position(summary.bytes);
    bar.set_message(format!("{} files", summary.files));
    Ok(())
}

fn ingestion_event(
    file: &SourceFile,
    sha: String,
    size: u64,
    media_type: &str,
    custodian: &str,
    held: bool,
) -> EventDraft {
    let mut d = Map::new();
    d.insert("custodian".into(), json!(custodian));
    file.describe(&mut d);
    d.insert("size".into(), json!(size));
    d.insert("media_type".into(), json!(media_type));
    if held {
        d.insert("seen_again".into(), Value::Bool(true));
    }
    EventDraft {
        kind: kind::INGESTION.into(),
        objects: vec![sha],
        details: d,
    }
}

fn report(root: &Path, s: &Summary, json_out: bool) {
    if json_out {
        output::json(s);
        return;
    }
    println!("ingested into {}", root.display());
    println!("  files         {}", s.files);
    println!("  bytes         {}", output::bytes(s.bytes));
    println!("  new           {}", s.new);
    println!("  already held  {}", s.already_held);
    if s.empty_files > 0 {
        println!(
            "  empty files   {} (stored; a zero-byte file may be a failed copy)",
            s.empty_files
        );
    }
    println!("  rejected      {}", s.rejected.len());
    for r in &s.rejected {
        println!("    {}: {}", r.path, r.reason);
    }
    if let Some(a) = &s.analysis {
        crate::analyze::report(a, false);
    }
}
