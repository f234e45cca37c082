//! End to end: init, ingest, log, show, cat, checkpoint, prove, verify, catalogue rebuild.

mod common;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Instant;

use common::*;

/// A small "flash drive": nested folders, Arabic and non-UTF-8 names, an empty file, a
/// symlink loop and a pipe. Returns (root, regular files with their bytes).
fn drive(base: &Path) -> (PathBuf, Vec<(PathBuf, Vec<u8>)>) {
    let root = base.join("drive");
    let day = root.join("2012").join("07").join("15").join("مصور ٣");
    std::fs::create_dir_all(&day).unwrap();
    let mut files = Vec::new();
    let mut put = |path: PathBuf, bytes: Vec<u8>| {
        std::fs::write(&path, &bytes).unwrap();
        files.push((path, bytes));
    };
    let mut jpeg = vec![
        0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, b'J', b'F', b'I', b'F', 0,
    ];
    jpeg.extend(noise(1, 40_000));
    put(day.join("4512_215_1873-B_01.jpg"), jpeg);
    put(day.join("معتقل ٤٥١٢ - فرع ٢١٥.jpg"), noise(2, 30_000));
    put(
        day.join(OsStr::from_bytes(b"latin1-\xe9t\xe9.jpg")),
        noise(3, 20_000),
    );
    put(root.join("empty.jpg"), Vec::new());
    put(root.join("notes.txt"), b"day 15: 3 bodies\n".to_vec());
    std::os::unix::fs::symlink("..", day.join("loop")).unwrap();
    let fifo = root.join("pipe");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    (root, files)
}

#[test]
fn wrong_passphrase_fails_at_once_and_init_refuses_a_used_directory() {
    let tv = TestVault::new();
    let wrong = tv.dir.path().join("wrong.txt");
    std::fs::write(&wrong, "not the passphrase\n").unwrap();
    let started = Instant::now();
    let out = athar_cmd()
        .arg("log")
        .arg(&tv.vault)
        .arg("--passphrase-file")
        .arg(&wrong)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(text(&out).contains("wrong passphrase"), "{}", text(&out));
    assert!(started.elapsed().as_secs() < 10);

    let again = tv.run("init", &["--scrypt-log-n", "10"]);
    assert!(!again.status.success());
    assert!(text(&again).contains("not empty"), "{}", text(&again));

    let missing = athar_cmd()
        .arg("log")
        .arg(tv.dir.path())
        .env("ATHAR_PASSPHRASE_FILE", &tv.pass)
        .output()
        .unwrap();
    assert!(
        text(&missing).contains("not an athar vault"),
        "{}",
        text(&missing)
    );
}

#[test]
fn ingest_then_read_back_every_file() {
    let tv = TestVault::new();
    let (root, files) = drive(tv.dir.path());
    let out = tv.ingest(&[&root], &["--json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "rejections give status 3: {}",
        text(&out)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["files"], files.len());
    assert_eq!(s["new"], files.len());
    assert_eq!(s["already_held"], 0);
    assert_eq!(s["empty_files"], 1);
    let total: usize = files.iter().map(|(_, b)| b.len()).sum();
    assert_eq!(s["bytes"], total);
    let rejected = s["rejected"].as_array().unwrap();
    let reason_for = |name: &str| {
        rejected
            .iter()
            .find(|r| r["path"].as_str().unwrap().ends_with(name))
            .map(|r| r["reason"].as_str().unwrap().to_string())
            .unwrap_or_else(|| panic!("{name} not rejected: {rejected:?}"))
    };
    assert!(reason_for("loop").contains("symbolic link"));
    assert!(reason_for("pipe").contains("not a regular file"));
    assert_eq!(rejected.len(), 2);

    for (path, bytes) in &files {
        let sha = sha256_hex(bytes);
        assert_eq!(&tv.cat(&sha), bytes, "{}", path.display());
        let show = tv.run("show", &[&sha, "--json"]);
        assert_ok(&show);
        let v: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
        assert_eq!(v["object"]["size"], bytes.len());
        let seen = v["sightings"][0]["source_path"].as_str().unwrap();
        assert!(
            seen.ends_with(&*path.file_name().unwrap().to_string_lossy()),
            "{seen}"
        );
    }
    // The non-UTF-8 name is kept byte for byte.
    let latin = tv
        .log(&["--type", "ingestion"])
        .into_iter()
        .find(|e| e["details"].get("source_path_hex").is_some())
        .expect("an event with the raw path bytes");
    let raw = hex::decode(latin["details"]["source_path_hex"].as_str().unwrap()).unwrap();
    assert!(raw.ends_with(b"latin1-\xe9t\xe9.jpg"));
    // Content sniffing, not names.
    let jpeg = &files[0].1;
    let show: serde_json::Value =
        serde_json::from_slice(&tv.run("show", &[&sha256_hex(jpeg), "--json"]).stdout).unwrap();
    assert_eq!(show["object"]["media_type"], "image/jpeg");
    let txt: serde_json::Value = serde_json::from_slice(
        &tv.run("show", &[&sha256_hex(b"day 15: 3 bodies\n"), "--json"])
            .stdout,
    )
    .unwrap();
    assert_eq!(txt["object"]["media_type"], "text/plain");

    let unknown = tv.run("show", &[&"0".repeat(64)]);
    assert!(
        !unknown.status.success() && text(&unknown).contains("no object"),
        "{}",
        text(&unknown)
    );
    let bad = tv.run("cat", &["xyz"]);
    assert!(
        !bad.status.success() && text(&bad).contains("not a SHA-256"),
        "{}",
        text(&bad)
    );
}

#[test]
fn ingest_is_idempotent_and_copies_are_recorded_once_each() {
    let tv = TestVault::new();
    let src = tv.dir.path().join("day");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..20 {
        std::fs::write(src.join(format!("IMG_{i:04}.jpg")), noise(i, 5_000)).unwrap();
    }
    let first = tv.ingest_json(&[&src]);
    assert_eq!(
        (first["new"].as_u64(), first["events"].as_u64()),
        (Some(20), Some(20))
    );
    let events_before = tv.log(&[]).len();

    let again = tv.ingest_json(&[&src]);
    assert_eq!(again["new"], 0);
    assert_eq!(again["already_held"], 20);
    assert_eq!(again["events"], 0, "a re-run records nothing new");
    assert_eq!(tv.log(&[]).len(), events_before);

    let copy = tv.dir.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::copy(src.join("IMG_0003.jpg"), copy.join("other name.jpg")).unwrap();
    let seen = tv.ingest_json(&[&copy]);
    assert_eq!(
        (
            seen["new"].as_u64(),
            seen["already_held"].as_u64(),
            seen["events"].as_u64()
        ),
        (Some(0), Some(1), Some(1))
    );
    let sha = sha256_hex(&noise(3, 5_000));
    let history = tv.log(&["--object", &sha]);
    assert_eq!(
        history.len(),
        2,
        "first ingestion and the sighting at the new path"
    );
    assert_eq!(history[1]["details"]["seen_again"], true);
    assert!(history[1]["details"]["source_path"]
        .as_str()
        .unwrap()
        .ends_with("other name.jpg"));
    // On the embedded backend, count the stored blobs themselves.
    if scale_out().is_none() {
        assert_eq!(
            std::fs::read_dir(tv.vault.join("objects"))
                .unwrap()
                .map(|d| std::fs::read_dir(d.unwrap().path()).unwrap().count())
                .sum::<usize>(),
            20,
            "stored once"
        );
    }
}

#[test]
fn log_filters_by_object_type_and_time() {
    let tv = TestVault::new();
    let src = tv.dir.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a"), noise(10, 100)).unwrap();
    std::fs::write(src.join("b"), noise(11, 100)).unwrap();
    tv.ingest_json(&[&src]);
    assert!(tv.verify().0);
    assert_eq!(tv.log(&[]).len(), 3);
    assert_eq!(tv.log(&["--type", "ingestion"]).len(), 2);
    let fixity = tv.log(&["--type", "fixity check"]);
    assert_eq!(fixity.len(), 1);
    assert_eq!(fixity[0]["details"]["outcome"], "pass");
    assert_eq!(tv.log(&["--object", &sha256_hex(&noise(11, 100))]).len(), 1);
    assert_eq!(
        tv.log(&["--since", "2000-01-01", "--until", "2999-12-31"])
            .len(),
        3
    );
    assert_eq!(tv.log(&["--until", "2000-01-01"]).len(), 0);
    let bad = tv.run("log", &["--since", "yesterday"]);
    assert!(
        !bad.status.success() && text(&bad).contains("YYYY-MM-DD"),
        "{}",
        text(&bad)
    );
}

#[test]
fn catalogue_rebuilt_from_the_log_equals_the_one_ingest_kept() {
    let tv = TestVault::new();
    let (root, _) = drive(tv.dir.path());
    tv.ingest(&[&root], &[]);
    let copy = tv.dir.path().join("copy");
    std::fs::create_dir_all(&copy).unwrap();
    std::fs::write(copy.join("x.bin"), noise(2, 30_000)).unwrap();
    tv.ingest(&[&copy], &[]);
    assert!(tv.verify().0);
    let kept = tv.run("catalog dump", &[]);
    assert_ok(&kept);
    assert!(kept.stdout.len() > 1000);

    assert_ok(&tv.run("catalog rebuild", &[]));
    let rebuilt = tv.run("catalog dump", &[]);
    assert_eq!(
        String::from_utf8_lossy(&kept.stdout),
        String::from_utf8_lossy(&rebuilt.stdout)
    );

    // A lost catalogue is recreated from the log on the next open.
    for f in ["catalog.db", "catalog.db-wal", "catalog.db-shm"] {
        let _ = std::fs::remove_file(tv.vault.join(f));
    }
    let fresh = tv.run("catalog dump", &[]);
    assert_eq!(
        String::from_utf8_lossy(&kept.stdout),
        String::from_utf8_lossy(&fresh.stdout)
    );
}

#[test]
fn a_second_writer_gets_a_clear_busy_message() {
    let tv = TestVault::new();
    let lock = std::fs::File::options()
        .write(true)
        .open(tv.vault.join("lock"))
        .unwrap();
    lock.try_lock().unwrap();
    let src = tv.dir.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("a"), b"a").unwrap();
    let out = tv.ingest(&[&src], &[]);
    assert!(!out.status.success());
    assert!(text(&out).contains("vault is busy"), "{}", text(&out));
    drop(lock);
    assert_ok(&tv.ingest(&[&src], &[]));
}

#[test]
fn objects_decrypt_with_the_stock_age_tool() {
    if !embedded_only("objects_decrypt_with_the_stock_age_tool: reads the blob files") {
        return;
    }
    let tv = TestVault::new();
    let src = tv.dir.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    let original = noise(42, 300_000);
    std::fs::write(src.join("photo.jpg"), &original).unwrap();
    tv.ingest(&[&src], &[]);
    let id = tv.dir.path().join("identity.txt");
    std::fs::write(&id, format!("{}\n", identity_line(&tv.vault))).unwrap();
    let objects: Vec<PathBuf> = walk_files(&tv.vault.join("objects"));
    assert_eq!(objects.len(), 1);
    let name = objects[0]
        .file_name()
        .unwrap()
        .to_string_lossy()
        .to_string();
    assert_ne!(
        name,
        sha256_hex(&original),
        "object names are keyed, not the bare digest"
    );
    let out = std::process::Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(&id)
        .arg(&objects[0])
        .output()
        .expect("the `age` tool is installed by scripts/test (Debian package age)");
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(out.stdout, original);
}

pub fn walk_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

#[test]
fn checkpoints_and_proofs_verify_independently() {
    let tv = TestVault::new();
    let src = tv.dir.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..5 {
        std::fs::write(src.join(format!("f{i}")), noise(100 + i, 1000)).unwrap();
    }
    tv.ingest(&[&src], &[]);
    let cp1 = tv.run("checkpoint", &[]);
    assert_ok(&cp1);
    let note1 = String::from_utf8(cp1.stdout).unwrap();
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(tv.vault.join("vault.json")).unwrap()).unwrap();
    let verifier =
        athar_tlog::Verifier::from_vkey(config["verifier_key"].as_str().unwrap()).unwrap();
    let cp = athar_tlog::open_checkpoint(&note1, &verifier).unwrap();
    assert_eq!(cp.size, 5);
    assert_eq!(
        note1.lines().next().unwrap(),
        config["origin"].as_str().unwrap()
    );

    let old = tv.dir.path().join("old.note");
    std::fs::write(&old, &note1).unwrap();
    let more = tv.dir.path().join("more");
    std::fs::create_dir_all(&more).unwrap();
    for i in 0..4 {
        std::fs::write(more.join(format!("g{i}")), noise(200 + i, 1000)).unwrap();
    }
    tv.ingest(&[&more], &[]);

    // Inclusion of an object ingested after the last checkpoint: a new one is signed.
    let sha = sha256_hex(&noise(202, 1000));
    let proof = tv.run("prove", &[&sha]);
    assert_ok(&proof);
    let proof = String::from_utf8(proof.stdout).unwrap();
    assert!(proof.starts_with("c2sp.org/tlog-proof@v1\n"), "{proof}");
    let parsed = athar_tlog::InclusionProofText::parse(&proof).unwrap();
    let line = String::from_utf8(parsed.extra.clone().unwrap()).unwrap();
    assert!(
        line.contains(&sha),
        "the proven leaf is the object's ingestion event"
    );
    let checked =
        athar_tlog::verify_proof_text(&proof, athar_tlog::Leaf::Data(line.as_bytes()), &verifier)
            .unwrap();
    assert_eq!(checked.size, 9);

    let consistency = tv.run("prove", &["--consistency", old.to_str().unwrap()]);
    assert_ok(&consistency);
    let text_c = String::from_utf8(consistency.stdout).unwrap();
    let new_cp = athar_tlog::verify_consistency_text(&text_c, &cp, &verifier).unwrap();
    assert_eq!((cp.size, new_cp.size), (5, 9));

    // A checkpoint from somewhere else is refused.
    let stranger = tv.dir.path().join("stranger.note");
    std::fs::write(&stranger, note1.replace("athar.vault", "other.vault")).unwrap();
    let refused = tv.run("prove", &["--consistency", stranger.to_str().unwrap()]);
    assert!(!refused.status.success(), "{}", text(&refused));
}

#[test]
fn verify_sample_checks_a_share_and_is_recorded() {
    let tv = TestVault::new();
    let src = tv.dir.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..10 {
        std::fs::write(src.join(format!("f{i}")), noise(300 + i, 2000)).unwrap();
    }
    tv.ingest(&[&src], &[]);
    let out = tv.run("verify", &["--sample", "30", "--json"]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["report"]["objects_total"], 10);
    assert_eq!(v["report"]["objects_checked"], 3);
    assert_eq!(v["fixity_event_recorded"], true);
    let ev = tv.log(&["--type", "fixity check"]);
    assert_eq!(ev[0]["details"]["sample_percent"], 30.0);
    let bad = tv.run("verify", &["--sample", "0"]);
    assert!(!bad.status.success() && text(&bad).contains("percentage"));
}
