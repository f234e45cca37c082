//! The scale-out pair itself: one vault on S3 and PostgreSQL shared by two machines, and the
//! catalogue rebuilt into PostgreSQL. These run on every pass, against the servers that
//! scripts/test starts (scripts/services).

mod common;
#[path = "route_util/mod.rs"]
mod route_util;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use common::*;
use route_util::*;

/// `count` files of noise under `root`, named in Arabic and Latin; returns path → SHA-256.
fn make_drive(root: &Path, seed: u64, count: u64) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    let dir = root.join(format!("2012/06/مصور {seed}"));
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..count {
        let bytes = noise(seed * 100_000 + i, 10_000 + (i as usize * 997) % 30_000);
        let path = dir.join(format!("{seed}_{i:03}.jpg"));
        std::fs::write(&path, &bytes).unwrap();
        files.insert(path, sha256_hex(&bytes));
    }
    files
}

fn spawn(tv: &TestVault, args: &[&str], paths: &[&Path]) -> std::process::Child {
    tv.command(args[0], &args[1..])
        .args(paths)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The log, checked to be one unbroken run of sequence numbers with no event twice.
fn checked_log(tv: &TestVault) -> Vec<serde_json::Value> {
    let events = tv.log(&[]);
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    let want: Vec<u64> = (1..=events.len() as u64).collect();
    assert_eq!(
        seqs, want,
        "sequence numbers run 1..n without gaps or repeats"
    );
    events
}

/// Objects named by events of `kind`, counted.
fn objects_of(events: &[serde_json::Value], kind: &str) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for e in events.iter().filter(|e| e["type"] == kind) {
        let sha = e["objects"][0].as_str().unwrap().to_string();
        *out.entry(sha).or_default() += 1;
    }
    out
}

#[test]
fn two_machines_ingest_into_one_vault_at_once() {
    let Some(pair) = services() else { return };
    let a = TestVault::on(Some(pair));
    let b = a.second_machine();
    let drives = tempfile::tempdir().unwrap();
    let one = make_drive(&drives.path().join("one"), 1, 60);
    let two = make_drive(&drives.path().join("two"), 2, 60);

    let p1 = spawn(&a, &["ingest", "--json"], &[&drives.path().join("one")]);
    let p2 = spawn(&b, &["ingest", "--json"], &[&drives.path().join("two")]);
    for child in [p1, p2] {
        assert_ok(&child.wait_with_output().unwrap());
    }

    for machine in [&a, &b] {
        let events = checked_log(machine);
        let ingested = objects_of(&events, "ingestion");
        let want: BTreeSet<&String> = one.values().chain(two.values()).collect();
        assert_eq!(ingested.keys().collect::<BTreeSet<_>>(), want);
        assert!(
            ingested.values().all(|n| *n == 1),
            "each file ingested once"
        );
        let (ok, report) = machine.verify();
        assert!(ok, "{report}");
    }
    // Each machine reads what the other stored.
    let (p, sha) = one.iter().next().unwrap();
    assert_eq!(b.cat(sha), std::fs::read(p).unwrap());
    let (p, sha) = two.iter().next().unwrap();
    assert_eq!(a.cat(sha), std::fs::read(p).unwrap());
}

#[test]
fn two_machines_import_bundles_at_once() {
    let Some(pair) = services() else { return };
    let a = TestVault::on(Some(pair));
    let b = a.second_machine();
    let work = tempfile::tempdir().unwrap();
    let src = source_init(work.path(), "documenter", &[recipient(&a)]);
    trust(&a, &src.key, "documenter");
    let one = make_drive(&work.path().join("one"), 3, 50);
    let two = make_drive(&work.path().join("two"), 4, 50);
    let (b1, b2) = (work.path().join("bundle1"), work.path().join("bundle2"));
    assert_ok(&pack(&src, &[&work.path().join("one")], &b1, &[]));
    assert_ok(&pack(&src, &[&work.path().join("two")], &b2, &[]));

    let p1 = spawn(&a, &["import"], &[&b1]);
    let p2 = spawn(&b, &["import"], &[&b2]);
    for child in [p1, p2] {
        assert_ok(&child.wait_with_output().unwrap());
    }

    let events = checked_log(&a);
    let transfers = events.iter().filter(|e| e["type"] == "transfer").count();
    assert_eq!(transfers, 2, "one transfer event per bundle");
    let want: BTreeSet<&String> = one.values().chain(two.values()).collect();
    let mut stored = BTreeSet::new();
    for sha in &want {
        let out = a.run("cat", &[sha]);
        assert_ok(&out);
        assert_eq!(&sha256_hex(&out.stdout), *sha);
        stored.insert(*sha);
    }
    assert_eq!(stored, want);
    let (ok, report) = b.verify();
    assert!(ok, "{report}");

    // Importing both again, from both machines at once, changes nothing (verify logged its
    // fixity check, so count from here).
    let before = checked_log(&a).len();
    let p1 = spawn(&a, &["import"], &[&b2]);
    let p2 = spawn(&b, &["import"], &[&b1]);
    for child in [p1, p2] {
        assert_ok(&child.wait_with_output().unwrap());
    }
    assert_eq!(
        checked_log(&a).len(),
        before,
        "a repeated import adds nothing"
    );
}

#[test]
fn the_catalogue_rebuilds_into_postgresql_from_s3() {
    let Some(pair) = services() else { return };
    let tv = TestVault::on(Some(pair));
    let drives = tempfile::tempdir().unwrap();
    make_drive(drives.path(), 5, 30);
    assert_ok(&tv.ingest(&[drives.path()], &[]));
    let dump = |tv: &TestVault| {
        let out = tv.run("catalog dump", &[]);
        assert_ok(&out);
        out.stdout
    };
    let before = dump(&tv);
    assert!(!before.is_empty());
    let out = tv.run("catalog rebuild", &[]);
    assert_ok(&out);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("30 objects"),
        "{}",
        text(&out)
    );
    assert_eq!(dump(&tv), before, "the rebuilt catalogue holds the same");
    let (ok, report) = tv.verify();
    assert!(ok, "{report}");
}

/// An `athar serve` process; killed when dropped.
struct Server {
    child: std::process::Child,
    site: String,
    first_line: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Start `athar serve` on a free port; returns once it listens.
fn serve(tv: &TestVault) -> Server {
    use std::io::BufRead;
    let mut child = tv
        .command("serve", &["--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut reader = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut lines = String::new();
    let mut line = String::new();
    // "No administrator yet. Create the first one at: …" may come first.
    loop {
        line.clear();
        assert!(
            reader.read_line(&mut line).unwrap() > 0,
            "athar serve stopped: {lines}"
        );
        lines.push_str(&line);
        if line.starts_with("athar portal on http://") {
            break;
        }
    }
    let site = line
        .trim_start_matches("athar portal on ")
        .split_whitespace()
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    Server {
        child,
        site,
        first_line: lines,
    }
}

#[test]
fn several_portal_processes_share_one_postgresql() {
    let Some(pair) = services() else { return };
    let tv = TestVault::on(Some(pair));
    let one = serve(&tv);
    let two = serve(&tv);
    // The first administrator's invitation is made by whichever process starts first and is
    // stored in PostgreSQL: the other process honours the same link.
    let link = [&one.first_line, &two.first_line]
        .iter()
        .find_map(|l| l.split("Create the first one at: ").nth(1))
        .and_then(|rest| rest.lines().next())
        .map(|link| link.trim().to_string())
        .expect("a first-administrator invitation");
    let path = link.splitn(4, '/').nth(3).expect("http://host/path");
    for server in [&one, &two] {
        let resp = ureq::get(format!("{}/{path}", server.site)).call().unwrap();
        assert_eq!(resp.status(), 200, "{} honours the invitation", server.site);
        let page = resp.into_body().read_to_string().unwrap();
        assert!(page.contains("password"), "a registration form: {page}");
    }
    // Both serve the same public search page.
    for server in [&one, &two] {
        let resp = ureq::get(format!("{}/", server.site)).call().unwrap();
        assert_eq!(resp.status(), 200);
    }
}

/// Peak resident memory of a running process, sampled until it exits.
fn peak_rss_mib(child: &mut std::process::Child) -> u64 {
    let mut peak = 0;
    while child.try_wait().unwrap().is_none() {
        if let Ok(status) = std::fs::read_to_string(format!("/proc/{}/status", child.id())) {
            if let Some(kb) = status
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            {
                peak = peak.max(kb / 1024);
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    peak
}

#[test]
fn a_large_file_streams_to_s3_without_being_held_in_memory() {
    let Some(pair) = services() else { return };
    let tv = TestVault::on(Some(pair));
    let drive = tempfile::tempdir().unwrap();
    // 600 MiB, sparse: costs no disk here, but every byte is hashed, encrypted and sent.
    let big = drive.path().join("video.bin");
    std::fs::File::create(&big)
        .unwrap()
        .set_len(600 << 20)
        .unwrap();
    let mut child = spawn(
        &tv,
        &["ingest", "--json", "--threads", "1"],
        &[drive.path()],
    );
    let peak = peak_rss_mib(&mut child);
    let out = child.wait_with_output().unwrap();
    assert_ok(&out);
    assert!(peak < 300, "ingest of a 600 MiB file peaked at {peak} MiB");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["new"], 1, "{v}");
    let (ok, report) = tv.verify();
    assert!(ok, "{report}");
}
