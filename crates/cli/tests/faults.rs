//! Fault tests for the scale-out pair: the S3 server, then PostgreSQL, is killed in the middle
//! of an ingest and of an import. The command must stop with an error that says what to do,
//! and after the server is back, running it again finishes the job: `athar verify` passes and
//! every file is in the vault exactly once.
//!
//! They kill the servers every other test uses, so they run alone: scripts/test runs them
//! last, one at a time, with ATHAR_TEST_FAULTS=1. Without it they say so and pass.

mod common;
#[path = "route_util/mod.rs"]
mod route_util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use route_util::*;

fn enabled() -> Option<ScaleOut> {
    if std::env::var("ATHAR_TEST_FAULTS").as_deref() != Ok("1") {
        eprintln!("fault tests kill the shared servers; scripts/test runs them alone with ATHAR_TEST_FAULTS=1");
        return None;
    }
    services()
}

fn services_script(args: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/services");
    let out = Command::new(script).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "scripts/services {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[derive(Clone, Copy, Debug)]
enum Server {
    S3,
    Pg,
}

impl Server {
    fn kill(self) {
        services_script(&[
            "kill",
            match self {
                Server::S3 => "s3",
                Server::Pg => "pg",
            },
        ]);
    }
}

/// Files of noise, enough that a run takes a few seconds; path → SHA-256.
fn make_drive(root: &Path, seed: u64, count: u64) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    for i in 0..count {
        let dir = root.join(format!("2013/0{}/مصور", 1 + i % 4));
        std::fs::create_dir_all(&dir).unwrap();
        let bytes = noise(seed * 100_000 + i, 60_000 + (i as usize * 7919) % 90_000);
        let path = dir.join(format!("{seed}_{i:04}.jpg"));
        std::fs::write(&path, &bytes).unwrap();
        files.insert(path, sha256_hex(&bytes));
    }
    files
}

/// Run `sub` and kill `server` after `delay` (part-way through, as measured on an
/// uninterrupted run), then bring the server back. Returns the interrupted run's output.
fn interrupt(
    tv: &TestVault,
    sub: &str,
    paths: &[&Path],
    server: Server,
    delay: Duration,
) -> std::process::Output {
    let child = tv
        .command(sub, &[])
        .args(paths)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(delay);
    server.kill();
    let out = child.wait_with_output().unwrap();
    services_script(&[]);
    out
}

/// How long `run` takes, for placing a kill part-way through the same work.
fn timed(run: impl FnOnce() -> std::process::Output) -> Duration {
    let t0 = Instant::now();
    assert_ok(&run());
    t0.elapsed()
}

/// Where to kill: 40% of the way through, once startup is behind it.
fn part_way(full: Duration) -> Duration {
    eprintln!("uninterrupted run: {full:?}");
    full.mul_f64(0.4)
}

fn assert_complete(tv: &TestVault, files: &BTreeMap<PathBuf, String>, what: &str) {
    let (ok, report) = tv.verify();
    assert!(ok, "{what}: verify after the restart: {report}");
    let events = tv.log(&[]);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "{what}"
    );
    let mut stored = BTreeSet::new();
    for (path, sha) in files {
        let out = tv.run("cat", &[sha]);
        assert_ok(&out);
        assert_eq!(out.stdout, std::fs::read(path).unwrap(), "{what}: {sha}");
        stored.insert(sha.clone());
    }
    assert_eq!(stored.len(), files.len(), "{what}");
}

fn ingest_survives(server: Server) {
    let Some(pair) = enabled() else { return };
    let tv = TestVault::on(Some(pair.clone()));
    let work = tempfile::tempdir().unwrap();
    let drive = work.path().join("drive");
    let files = make_drive(&drive, 11, 400);

    let rehearsal = TestVault::on(Some(pair.clone()));
    let delay = part_way(timed(|| {
        rehearsal
            .command("ingest", &[])
            .arg(&drive)
            .output()
            .unwrap()
    }));
    let out = interrupt(&tv, "ingest", &[&drive], server, delay);
    eprintln!("{server:?} killed during ingest: {}", text(&out));
    assert!(
        !out.status.success(),
        "the ingest finished before {server:?} was killed; the test needs a longer run"
    );
    let msg = String::from_utf8_lossy(&out.stderr);
    assert!(
        msg.contains("run the same command again"),
        "the error says what to do: {msg}"
    );
    // Whatever the interrupted run logged is still there after the restart.
    let logged_before: Vec<serde_json::Value> = tv.log(&[]);
    let again = tv.command("ingest", &[]).arg(&drive).output().unwrap();
    assert_ok(&again);
    let after = tv.log(&[]);
    for ev in &logged_before {
        let seq = ev["seq"].as_u64().unwrap() as usize;
        assert_eq!(&after[seq - 1], ev, "event {seq} survived unchanged");
    }
    let ingested: Vec<&str> = after
        .iter()
        .filter(|e| e["type"] == "ingestion")
        .map(|e| e["objects"][0].as_str().unwrap())
        .collect();
    let unique: BTreeSet<&str> = ingested.iter().copied().collect();
    assert_eq!(ingested.len(), unique.len(), "no file ingested twice");
    assert_complete(&tv, &files, &format!("{server:?} during ingest"));
}

fn import_survives(server: Server) {
    let Some(pair) = enabled() else { return };
    let tv = TestVault::on(Some(pair.clone()));
    // A second vault the bundle is also packed for, to time an uninterrupted import.
    let rehearsal = TestVault::on(Some(pair.clone()));
    let work = tempfile::tempdir().unwrap();
    let src = source_init(
        work.path(),
        "documenter",
        &[recipient(&tv), recipient(&rehearsal)],
    );
    trust(&tv, &src.key, "documenter");
    trust(&rehearsal, &src.key, "documenter");
    let drive = work.path().join("drive");
    let files = make_drive(&drive, 12, 400);
    let bundle = work.path().join("bundle");
    assert_ok(&pack(&src, &[&drive], &bundle, &[]));

    let delay = part_way(timed(|| {
        rehearsal
            .command("import", &[])
            .arg(&bundle)
            .output()
            .unwrap()
    }));
    let out = interrupt(&tv, "import", &[&bundle], server, delay);
    eprintln!("{server:?} killed during import: {}", text(&out));
    assert!(
        !out.status.success(),
        "the import finished before {server:?} was killed; the test needs a longer run"
    );
    let again = tv.command("import", &[]).arg(&bundle).output().unwrap();
    assert_ok(&again);
    let transfers = tv
        .log(&[])
        .iter()
        .filter(|e| e["type"] == "transfer")
        .count();
    assert_eq!(transfers, 1, "one transfer event for the bundle");
    assert_complete(&tv, &files, &format!("{server:?} during import"));
}

#[test]
fn s3_killed_during_ingest() {
    ingest_survives(Server::S3);
}

#[test]
fn postgres_killed_during_ingest() {
    ingest_survives(Server::Pg);
}

#[test]
fn s3_killed_during_import() {
    import_survives(Server::S3);
}

#[test]
fn postgres_killed_during_import() {
    import_survives(Server::Pg);
}
