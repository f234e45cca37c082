//! The programs being compared. Each `ingest_*` / `verify_*` function times only the work
//! itself; setup (repository creation, removing old output) is done before the clock starts.

use std::fs::{self, File};
use std::io::{BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use anyhow::{bail, ensure, Context, Result};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::collection::Collection;
use crate::measure::{self, run_child, Measured};

/// At most this many paths per `sha256sum` process (keeps argv small).
const SHA256SUM_BATCH: usize = 500;
const PASSPHRASE: &str = "correct horse battery staple bench";
const RESTIC_PASSWORD: &str = PASSPHRASE;

/// Where the tools and their outputs live.
pub struct Env {
    pub athar: PathBuf,
    pub restic: PathBuf,
    /// Scratch space: repositories, vaults, floor output, logs.
    pub scratch: PathBuf,
    pub logs: PathBuf,
    /// This athar analyses images after ingesting unless given `--no-analyze`.
    pub analyzes: bool,
    passphrase_file: PathBuf,
    floor_identity: age::x25519::Identity,
}

impl Env {
    pub fn new(athar: PathBuf, restic: PathBuf, scratch: PathBuf) -> Result<Env> {
        let logs = scratch.join("logs");
        fs::create_dir_all(&logs)?;
        let passphrase_file = scratch.join("passphrase");
        fs::write(&passphrase_file, format!("{PASSPHRASE}\n"))?;
        let help = Command::new(&athar).args(["ingest", "--help"]).output()?;
        let analyzes = String::from_utf8_lossy(&help.stdout).contains("--no-analyze");
        Ok(Env {
            athar,
            restic,
            scratch,
            logs,
            analyzes,
            passphrase_file,
            floor_identity: age::x25519::Identity::generate(),
        })
    }

    pub fn athar_cmd(&self) -> Command {
        let mut c = Command::new(&self.athar);
        c.env("ATHAR_PASSPHRASE_FILE", &self.passphrase_file);
        c
    }

    fn restic(&self, repo: &Path) -> Command {
        let mut c = Command::new(&self.restic);
        c.env("RESTIC_PASSWORD", RESTIC_PASSWORD)
            .env("RESTIC_CACHE_DIR", self.scratch.join("restic-cache"))
            .arg("--repo")
            .arg(repo);
        c
    }

    pub fn vault(&self) -> PathBuf {
        self.scratch.join("athar-vault")
    }
    pub fn restic_repo(&self) -> PathBuf {
        self.scratch.join("restic-repo")
    }
    pub fn floor_dir(&self) -> PathBuf {
        self.scratch.join("floor-out")
    }

    /// Remove what a previous run wrote, so each run starts from nothing.
    pub fn clean(&self, path: &Path) -> Result<()> {
        if path.exists() {
            fs::remove_dir_all(path).with_context(|| format!("removing {}", path.display()))?;
        }
        Ok(())
    }
}

/// Flush dirty pages of earlier work so a contender does not pay for its predecessor's
/// writeback. Untimed.
pub fn settle() {
    // SAFETY: sync(2) takes no arguments and cannot fail.
    unsafe { libc::sync() };
}

// ---------------------------------------------------------------- ingest

/// `sha256sum` over every file, at most [`SHA256SUM_BATCH`] paths per process, one after
/// another (so one core).
pub fn sha256sum(env: &Env, c: &Collection) -> Result<Measured> {
    let mut total = Measured::default();
    let mut lines = 0;
    for (i, chunk) in c.files.chunks(SHA256SUM_BATCH).enumerate() {
        let (m, out) = run_child(
            Command::new("sha256sum").arg("--").args(chunk),
            &env.logs,
            &format!("sha256sum-{i}"),
        )?;
        total.time += m.time;
        total.cpu += m.cpu;
        total.max_rss_kib = total.max_rss_kib.max(m.max_rss_kib);
        lines += out.lines().count();
    }
    ensure!(
        lines == c.photos(),
        "sha256sum printed {lines} lines for {} files",
        c.photos()
    );
    Ok(total)
}

/// The floor: for each file, SHA-256 of its bytes, then age encryption (X25519 recipient) of
/// the same bytes into a file under `out`; no fsync. Returns the digests, in file order.
pub fn floor_ingest(
    env: &Env,
    c: &Collection,
    threads: usize,
) -> Result<(Measured, Vec<[u8; 32]>)> {
    let out = env.floor_dir();
    env.clean(&out)?;
    fs::create_dir_all(&out)?;
    let recipient = env.floor_identity.to_public();
    measure::time(|| {
        let digests = Mutex::new(vec![[0u8; 32]; c.files.len()]);
        parallel(c.files.len(), threads, |i| {
            let bytes =
                fs::read(&c.files[i]).with_context(|| format!("reading {:?}", c.files[i]))?;
            let digest: [u8; 32] = Sha256::digest(&bytes).into();
            let enc = age::Encryptor::with_recipients(std::iter::once(&recipient as _))?;
            let mut w = enc.wrap_output(File::create(object_path(&out, i))?)?;
            w.write_all(&bytes)?;
            w.finish()?;
            digests.lock().expect("not poisoned")[i] = digest;
            Ok(())
        })?;
        Ok(digests.into_inner().expect("not poisoned"))
    })
}

fn object_path(dir: &Path, i: usize) -> PathBuf {
    dir.join(format!("{i:06}.age"))
}

/// `restic init` (untimed), then `restic backup` of the folder into it (timed).
pub fn restic_backup(env: &Env, c: &Collection, tag: &str) -> Result<Measured> {
    let repo = env.restic_repo();
    env.clean(&repo)?;
    env.clean(&env.scratch.join("restic-cache"))?;
    run_child(env.restic(&repo).arg("init"), &env.logs, "restic-init")?;
    settle();
    let (m, _) = run_child(
        env.restic(&repo).arg("backup").arg(&c.dir),
        &env.logs,
        &format!("restic-backup-{tag}"),
    )?;
    Ok(m)
}

/// How to set up and run `athar ingest`.
#[derive(Debug, Clone, Copy)]
pub struct IngestOpts {
    /// scrypt work factor (log2 N) for `athar init`; `None` for the default.
    pub scrypt_log_n: Option<u8>,
    /// Let ingest analyse the images afterwards (its default), or pass `--no-analyze`.
    pub analyze: bool,
}

/// `athar init` (untimed), then `athar ingest VAULT DIR --json` (timed), checked to have
/// taken in every file.
pub fn athar_ingest(
    env: &Env,
    c: &Collection,
    vault: &Path,
    opts: IngestOpts,
    tag: &str,
) -> Result<Measured> {
    env.clean(vault)?;
    let mut init = env.athar_cmd();
    init.arg("init").arg(vault);
    if let Some(n) = opts.scrypt_log_n {
        init.arg(format!("--scrypt-log-n={n}"));
    }
    run_child(&mut init, &env.logs, "athar-init")?;
    ensure!(
        env.analyzes || !opts.analyze,
        "this athar does not analyse images"
    );
    let mut ingest = env.athar_cmd();
    ingest.arg("ingest").arg(vault).arg(&c.dir).arg("--json");
    if env.analyzes && !opts.analyze {
        ingest.arg("--no-analyze");
    }
    settle();
    let (m, out) = run_child(&mut ingest, &env.logs, &format!("athar-ingest-{tag}"))?;
    let v: Value = serde_json::from_str(&out).context("parsing athar ingest --json")?;
    let (files, new) = (v["files"].as_u64(), v["new"].as_u64());
    let empty = |x: &Value| x.as_array().is_some_and(|a| a.is_empty());
    ensure!(
        files == Some(c.photos() as u64) && empty(&v["rejected"]),
        "athar ingest took {files:?} files (new {new:?}) of {}: {out}",
        c.photos()
    );
    ensure!(
        !opts.analyze || v["analysis"]["analysed"].as_u64() == Some(c.photos() as u64),
        "athar ingest did not analyse every photo: {out}"
    );
    Ok(m)
}

// ---------------------------------------------------------------- verify

/// `athar verify VAULT --json`, checked to report no problems and to have read at least
/// every original (an analysed vault holds derivatives too).
pub fn athar_verify(env: &Env, c: &Collection, vault: &Path, tag: &str) -> Result<Measured> {
    let (m, out) = run_child(
        env.athar_cmd().arg("verify").arg(vault).arg("--json"),
        &env.logs,
        &format!("athar-verify-{tag}"),
    )?;
    let v: Value = serde_json::from_str(&out).context("parsing athar verify --json")?;
    let r = &v["report"];
    ensure!(
        r["problems"].as_array().is_some_and(|p| p.is_empty())
            && r["bytes_checked"].as_u64() >= Some(c.bytes),
        "athar verify did not check everything cleanly: {out}"
    );
    Ok(m)
}

/// Opening the vault alone (scrypt unlock of the keys, then the catalogue), the fixed cost
/// in every athar command: `athar log VAULT --limit 1`.
pub fn athar_open(env: &Env, vault: &Path, tag: &str) -> Result<Measured> {
    let (m, _) = run_child(
        env.athar_cmd().arg("log").arg(vault).args(["--limit", "1"]),
        &env.logs,
        &format!("athar-open-{tag}"),
    )?;
    Ok(m)
}

/// `restic check --read-data` on the repository the last backup wrote.
pub fn restic_check(env: &Env, tag: &str) -> Result<Measured> {
    let (m, _) = run_child(
        env.restic(&env.restic_repo())
            .arg("check")
            .arg("--read-data"),
        &env.logs,
        &format!("restic-check-{tag}"),
    )?;
    Ok(m)
}

/// The verify floor: age-decrypt every object the floor wrote and compare its SHA-256.
pub fn floor_verify(env: &Env, digests: &[[u8; 32]], threads: usize) -> Result<Measured> {
    let dir = env.floor_dir();
    let (m, ()) = measure::time(|| {
        parallel(digests.len(), threads, |i| {
            let path = object_path(&dir, i);
            let input = BufReader::with_capacity(256 * 1024, File::open(&path)?);
            let dec = age::Decryptor::new_buffered(input)?;
            let mut plain = dec.decrypt(std::iter::once(&env.floor_identity as _))?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = plain.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
            }
            let got: [u8; 32] = hasher.finalize().into();
            if got != digests[i] {
                bail!("{} does not decrypt to what was encrypted", path.display());
            }
            Ok(())
        })
    })?;
    Ok(m)
}

/// Run `job(0..n)` on `threads` threads, each taking the next index; first error wins.
fn parallel(n: usize, threads: usize, job: impl Fn(usize) -> Result<()> + Sync) -> Result<()> {
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads.max(1))
            .map(|_| {
                s.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= n {
                        return Ok(());
                    }
                    if let Err(e) = job(i) {
                        next.store(n, Ordering::Relaxed);
                        return Err(e);
                    }
                })
            })
            .collect();
        // The scope joins any worker left when an error returns early.
        workers
            .into_iter()
            .try_for_each(|w| w.join().expect("worker panicked"))
    })
}

// ---------------------------------------------------------------- facts

/// First line of `PROGRAM ARGS` on stdout, or a note that it failed.
pub fn version(program: &Path, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.lines().next().map(str::to_owned))
        .unwrap_or_else(|| format!("{} (version unknown)", program.display()))
}

// ---------------------------------------------------------------- analysis (issue 4)

/// `athar analyze VAULT --json` on a vault that holds the collection unanalysed; checked to
/// have analysed every photo.
pub fn athar_analyze(env: &Env, c: &Collection, vault: &Path, tag: &str) -> Result<Measured> {
    settle();
    let (m, out) = run_child(
        env.athar_cmd().arg("analyze").arg(vault).arg("--json"),
        &env.logs,
        &format!("athar-analyze-{tag}"),
    )?;
    let v: Value = serde_json::from_str(&out).context("parsing athar analyze --json")?;
    ensure!(
        v["analysed"].as_u64() == Some(c.photos() as u64),
        "athar analyze did not analyse every photo: {out}"
    );
    Ok(m)
}

/// `exiftool -json -r DIR`, metadata only, output discarded.
pub fn exiftool(env: &Env, c: &Collection, tag: &str) -> Result<Measured> {
    settle();
    let (m, out) = run_child(
        Command::new("exiftool").args(["-json", "-r"]).arg(&c.dir),
        &env.logs,
        &format!("exiftool-{tag}"),
    )?;
    ensure!(out.len() > c.photos() * 100, "exiftool printed too little");
    Ok(m)
}
