//! `pack`: a source's files straight into an encrypted, signed bundle.
//!
//! Each file is read once: hashed and age-encrypted to the archive's recipients as it
//! passes (several files at a time, on all cores), and appended to the payload in walk
//! order, followed by random padding (Padmé) so that ciphertext lengths do not give away
//! exact file sizes. Nothing readable is written anywhere: no temporary files, no list of
//! names. The source's signed "capture" events and the index of the payload go, encrypted,
//! at its end.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, sync_channel};
use std::sync::{Arc, Mutex};

use age::secrecy::SecretString;
use rand::RngCore;
use serde::Serialize;
use serde_json::{json, Map, Value};

use athar_vault::envelope::{self, SealError};
use athar_vault::source::{io_reason, SourceFile};
use athar_vault::{kind, Event};

use crate::error::{io_at, BundleError, Result};
use crate::format::{self, Index, IndexObject};
use crate::layout::Layout;
use crate::profile::{FeedState, Profile};
use crate::writer::{BundleWriter, ManifestInfo};

/// FAT32 cannot hold a file of 4 GiB; stay a little under it.
pub const DEFAULT_PART_SIZE: u64 = (4 << 30) - (1 << 20);
pub const DEFAULT_PARITY: u32 = 10;
/// Files up to this size are encrypted in memory, several at once; larger ones stream.
const IN_MEMORY: u64 = 64 << 20;

pub struct PackOptions {
    pub part_size: u64,
    pub parity_percent: u32,
    pub threads: Option<usize>,
}

impl Default for PackOptions {
    fn default() -> Self {
        PackOptions {
            part_size: DEFAULT_PART_SIZE,
            parity_percent: DEFAULT_PARITY,
            threads: None,
        }
    }
}

/// Progress callbacks: total bytes to pack, then bytes as they are packed.
pub trait Progress: Sync {
    fn start(&self, _total: u64) {}
    fn advance(&self, _bytes: u64) {}
}
impl Progress for () {}

#[derive(Debug, Clone, Serialize)]
pub struct Skipped {
    pub path: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct PackSummary {
    pub bundle: String,
    pub seq: u64,
    pub files: u64,
    pub bytes: u64,
    pub parts: Vec<String>,
    pub part_size: u64,
    pub parity_percent: u32,
    /// Whole parts that may be lost and the bundle still recovered.
    pub parts_tolerated: u32,
    pub bundle_bytes: u64,
    pub skipped: Vec<Skipped>,
}

/// Walk the inputs: regular files only, symbolic links reported and not followed.
fn walk(paths: &[PathBuf], skipped: &mut Vec<Skipped>) -> Vec<SourceFile> {
    let mut files = Vec::new();
    for root in paths {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.clone());
        if let Err(e) = std::fs::symlink_metadata(&root) {
            skipped.push(Skipped {
                path: root.to_string_lossy().into_owned(),
                reason: io_reason(&e, "cannot be read"),
            });
            continue;
        }
        for entry in walkdir::WalkDir::new(&root)
            .follow_links(false)
            .sort_by_file_name()
        {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    let path = e.path().unwrap_or(&root).to_string_lossy().into_owned();
                    let reason = e
                        .io_error()
                        .map(|e| io_reason(e, "cannot be read"))
                        .unwrap_or_else(|| e.to_string());
                    skipped.push(Skipped { path, reason });
                    continue;
                }
            };
            let ft = entry.file_type();
            if ft.is_dir() {
                continue;
            }
            let path = entry.into_path();
            let reason = if ft.is_symlink() {
                "symbolic link: not followed".to_string()
            } else if !ft.is_file() {
                "not a regular file: skipped".to_string()
            } else {
                match std::fs::metadata(&path) {
                    Ok(meta) => {
                        files.push(SourceFile::new(path, &meta));
                        continue;
                    }
                    Err(e) => io_reason(&e, "cannot be read"),
                }
            };
            skipped.push(Skipped {
                path: path.to_string_lossy().into_owned(),
                reason,
            });
        }
    }
    files
}

/// An upper bound on a file's age ciphertext with its padding.
fn sealed_bound(size: u64, recipients: usize) -> u64 {
    let ct = size + 16 * (size / (64 << 10) + 1) + 16 + 100 + 200 * recipients as u64;
    format::padme(ct)
}

/// A file encrypted, or one to stream because it is large.
enum Done {
    Sealed {
        bytes: Vec<u8>,
        sealed: envelope::Sealed,
    },
    Stream,
    Failed(String),
}

fn capture_details(
    file: &SourceFile,
    sealed: &envelope::Sealed,
    bundle: &str,
) -> Map<String, Value> {
    let mut d = Map::new();
    d.insert("bundle".into(), json!(bundle));
    file.describe(&mut d);
    d.insert("size".into(), json!(sealed.size));
    d.insert(
        "media_type".into(),
        json!(athar_vault::sniff::media_type(
            &sealed.head[..sealed.head_len]
        )),
    );
    d
}

/// Pack `paths` into a new bundle in `out`. The profile's feed state advances only once
/// every part is complete on the drive.
pub fn pack(
    profile: &mut Profile,
    passphrase: &SecretString,
    paths: &[PathBuf],
    out: &Path,
    opts: &PackOptions,
    progress: &dyn Progress,
) -> Result<PackSummary> {
    let key = profile.unlock(passphrase)?;
    let recipients = profile.recipients()?;
    let mut skipped = Vec::new();
    let files = walk(paths, &mut skipped);
    if files.is_empty() {
        return Err(BundleError::NothingToPack(if skipped.is_empty() {
            "no files under the given paths".into()
        } else {
            format!(
                "no readable regular files ({} skipped, e.g. {}: {})",
                skipped.len(),
                skipped[0].path,
                skipped[0].reason
            )
        }));
    }
    let total: u64 = files.iter().map(|f| f.size).sum();
    let n = recipients.len();
    let estimate: u64 = files.iter().map(|f| sealed_bound(f.size, n)).sum::<u64>()
        + sealed_bound(
            files.len() as u64 * 1024
                + files
                    .iter()
                    .map(|f| f.path.as_os_str().len() as u64 * 8)
                    .sum::<u64>()
                + 4096,
            n,
        )
        + format::PAYLOAD_TRAILER_LEN;
    let layout = Layout::plan(
        estimate + estimate / 100 + (1 << 20),
        opts.parity_percent,
        opts.part_size,
    )
    .map_err(BundleError::BadOption)?;
    progress.start(total);

    let mut writer = BundleWriter::create(out, layout)?;
    let bundle = writer.id_hex();
    let actor = key.actor();
    let state = profile.state.clone();
    let seq = state.bundles + 1;
    let mut feed: Vec<String> = Vec::with_capacity(files.len() + 1);
    let mut objects: Vec<IndexObject> = Vec::with_capacity(files.len());
    let mut events = state.events;
    let mut head = state.head_hash();
    let mut sign_event = |kind: &str, objs: Vec<String>, details: Map<String, Value>| {
        events += 1;
        let ev = Event {
            v: 1,
            seq: events,
            time: athar_vault::now_rfc3339(),
            actor: actor.clone(),
            kind: kind.into(),
            objects: objs,
            details,
            prev: hex::encode(head),
        }
        .sign(|m| key.sign(m));
        head = ev.leaf;
        feed.push(ev.line);
    };
    let recipient_refs: Vec<&dyn age::Recipient> = recipients
        .iter()
        .map(|r| r as &dyn age::Recipient)
        .collect();
    let mut rng = rand::thread_rng();
    let mut pad = vec![0u8; 64 << 10];
    let mut bytes_packed = 0u64;

    let threads = opts
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    let window = threads * 3;
    let jobs: Arc<Mutex<std::sync::mpsc::Receiver<usize>>>;
    let (job_tx, job_rx) = sync_channel::<usize>(window);
    jobs = Arc::new(Mutex::new(job_rx));
    let (done_tx, done_rx) = channel::<(usize, Done)>();

    let result: Result<()> = std::thread::scope(|s| {
        for _ in 0..threads {
            let (jobs, done_tx, files, recipients) =
                (jobs.clone(), done_tx.clone(), &files, &recipients);
            s.spawn(move || loop {
                let next = jobs.lock().expect("not poisoned").recv();
                let Ok(i) = next else { return };
                let file = &files[i];
                let done = if file.size > IN_MEMORY {
                    Done::Stream
                } else {
                    let refs: Vec<&dyn age::Recipient> = recipients
                        .iter()
                        .map(|r| r as &dyn age::Recipient)
                        .collect();
                    match File::open(&file.path) {
                        Err(e) => Done::Failed(io_reason(&e, "cannot be read")),
                        Ok(mut f) => {
                            let mut bytes =
                                Vec::with_capacity(sealed_bound(file.size, refs.len()) as usize);
                            match envelope::seal(&mut f, &mut bytes, &refs) {
                                Ok(sealed) => Done::Sealed { bytes, sealed },
                                Err(SealError::Read(e)) => {
                                    Done::Failed(io_reason(&e, "cannot be read"))
                                }
                                Err(SealError::Write(e)) => Done::Failed(e.to_string()),
                            }
                        }
                    }
                };
                if done_tx.send((i, done)).is_err() {
                    return;
                }
            });
        }
        drop(done_tx);
        let mut next_job = 0usize;
        let mut pending: BTreeMap<usize, Done> = BTreeMap::new();
        let outcome = (|| -> Result<()> {
            for i in 0..files.len() {
                while next_job < files.len() && next_job < i + window {
                    job_tx.send(next_job).expect("workers alive");
                    next_job += 1;
                }
                let done = loop {
                    if let Some(d) = pending.remove(&i) {
                        break d;
                    }
                    let (j, d) = done_rx.recv().expect("workers alive");
                    pending.insert(j, d);
                };
                let file = &files[i];
                let offset = writer.position();
                let sealed = match done {
                    Done::Sealed { bytes, sealed } => {
                        writer.write_all(&bytes).map_err(io_at(out))?;
                        sealed
                    }
                    Done::Stream => {
                        let mut f = match File::open(&file.path) {
                            Ok(f) => f,
                            Err(e) => {
                                skipped.push(Skipped {
                                    path: file.path.to_string_lossy().into_owned(),
                                    reason: io_reason(&e, "cannot be read"),
                                });
                                continue;
                            }
                        };
                        match envelope::seal(&mut f, &mut writer, &recipient_refs) {
                            Ok(s) => s,
                            Err(SealError::Read(e)) => {
                                return Err(BundleError::SourceChanged {
                                    path: file.path.clone(),
                                    reason: io_reason(&e, "cannot be read"),
                                })
                            }
                            Err(SealError::Write(e)) => return Err(e.into()),
                        }
                    }
                    Done::Failed(reason) => {
                        skipped.push(Skipped {
                            path: file.path.to_string_lossy().into_owned(),
                            reason,
                        });
                        continue;
                    }
                };
                let length = writer.position() - offset;
                let mut padding = format::padme(length) - length;
                while padding > 0 {
                    let n = padding.min(pad.len() as u64) as usize;
                    rng.fill_bytes(&mut pad[..n]);
                    writer.write_all(&pad[..n]).map_err(io_at(out))?;
                    padding -= n as u64;
                }
                let sha = hex::encode(sealed.sha256);
                sign_event(
                    kind::CAPTURE,
                    vec![sha.clone()],
                    capture_details(file, &sealed, &bundle),
                );
                objects.push(IndexObject {
                    offset,
                    length,
                    sha256: sha,
                    size: sealed.size,
                });
                bytes_packed += sealed.size;
                progress.advance(file.size);
            }
            Ok(())
        })();
        drop(job_tx);
        outcome
    });
    result?;
    if objects.is_empty() {
        return Err(BundleError::NothingToPack(format!(
            "every file was skipped (e.g. {}: {})",
            skipped[0].path, skipped[0].reason
        )));
    }

    // The source's own record of the hand-over: which objects left, in which bundle, to whom.
    let mut d = Map::new();
    d.insert("bundle".into(), json!(bundle));
    d.insert("bundle_seq".into(), json!(seq));
    d.insert("files".into(), json!(objects.len()));
    d.insert("bytes".into(), json!(bytes_packed));
    d.insert("to".into(), json!(profile.config.recipients));
    let shas = objects.iter().map(|o| o.sha256.clone()).collect();
    sign_event(kind::TRANSFER, shas, d);

    let index = Index {
        format: format::INDEX_FORMAT.into(),
        version: format::VERSION,
        bundle: bundle.clone(),
        objects,
        feed,
        checkpoint: None,
        consistency: None,
    };
    let index_json = serde_json::to_vec(&index).expect("index serialises");
    let index_offset = writer.position();
    envelope::seal(&mut &index_json[..], &mut writer, &recipient_refs).map_err(|e| match e {
        SealError::Read(e) => BundleError::Encrypt(e.to_string()),
        SealError::Write(e) => e.into(),
    })?;
    let index_len = writer.position() - index_offset;
    let parts = writer.names().to_vec();
    let sealed = writer.finish(
        index_offset,
        index_len,
        ManifestInfo {
            kind: format::KIND_SOURCE,
            seq,
            signer: &key.signer,
        },
        Some(opts.part_size),
    )?;
    // The feed advances before the parts take their names: a crash in between costs a
    // bundle number (a gap the archive tolerates), never a reused one.
    profile.save_state(FeedState {
        bundles: seq,
        events,
        head: hex::encode(head),
    })?;
    let sealed = sealed.publish()?;
    let m = &sealed.manifest;
    Ok(PackSummary {
        bundle,
        seq,
        files: index.objects.len() as u64,
        bytes: bytes_packed,
        parts,
        part_size: m.part_size,
        parity_percent: opts.parity_percent,
        parts_tolerated: m.layout().parts_tolerated(),
        bundle_bytes: m.part_size * m.parts.len() as u64,
        skipped,
    })
}

/// Read exactly `buf.len()` bytes at `offset`, or fewer at end of file.
pub(crate) fn read_at(file: &File, offset: u64, buf: &mut [u8]) -> io::Result<usize> {
    use std::os::unix::fs::FileExt;
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}
