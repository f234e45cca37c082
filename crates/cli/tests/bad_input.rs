//! Bad input gets a clear message and never a panic, and leaves nothing half-done:
//! unreadable files, files that vanish mid-walk, multi-GB files (streamed, flat memory),
//! and a full disk. (Zero-byte files, Arabic and non-UTF-8 names, symlink loops and a second
//! writer are in vault_cli.rs.)

mod common;

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn rejected_reason(summary: &serde_json::Value, name: &str) -> String {
    summary["rejected"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with(name))
        .map(|r| r["reason"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("{name} not rejected: {summary}"))
}

#[test]
fn unreadable_file_is_rejected_with_its_reason() {
    use std::os::unix::fs::PermissionsExt;
    let tv = TestVault::new();
    let src = tv.dir.path().join("in");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("fine.jpg"), noise(1, 1000)).unwrap();
    std::fs::write(src.join("locked.jpg"), noise(2, 1000)).unwrap();
    std::fs::set_permissions(
        src.join("locked.jpg"),
        std::fs::Permissions::from_mode(0o000),
    )
    .unwrap();
    let mut cmd = if unsafe { libc::geteuid() } == 0 {
        // root reads everything; drop the capabilities that let it, as a normal user is.
        let mut c = Command::new("setpriv");
        c.arg("--bounding-set=-dac_override,-dac_read_search")
            .arg(env!("CARGO_BIN_EXE_athar"));
        c
    } else {
        athar_cmd()
    };
    let out = cmd
        .env("ATHAR_PASSPHRASE_FILE", &tv.pass)
        .arg("ingest")
        .arg(&tv.vault)
        .arg(&src)
        .arg("--json")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["new"], 1);
    assert!(
        rejected_reason(&s, "locked.jpg").contains("permission denied"),
        "{s}"
    );
    assert!(tv.verify().0);
}

/// Peak resident memory of a finished child, in MiB, and its exit status.
fn wait_rss(child: &std::process::Child) -> (f64, i32) {
    let mut status = 0;
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert_eq!(pid, child.id() as i32);
    (usage.ru_maxrss as f64 / 1024.0, status)
}

#[test]
#[allow(clippy::zombie_processes)] // reaped by wait4 in wait_rss, to read its peak memory
fn multi_gb_file_is_streamed_and_files_vanishing_mid_walk_are_reported() {
    // It watches the vault's tmp/ to know when sealing starts; scale_out.rs streams a large
    // file to S3.
    if !embedded_only("multi_gb_file_is_streamed") {
        return;
    }
    let tv = TestVault::new();
    let src = tv.dir.path().join("drive");
    std::fs::create_dir_all(&src).unwrap();
    // 3 GiB, sparse: costs no disk, but every byte is read, hashed and encrypted.
    let big = std::fs::File::create(src.join("a_big.bin")).unwrap();
    big.set_len(3 << 30).unwrap();
    drop(big);
    for i in 1..=3 {
        std::fs::write(src.join(format!("b{i}.jpg")), noise(i, 2000)).unwrap();
    }
    let mut child = athar_cmd()
        .env("ATHAR_PASSPHRASE_FILE", &tv.pass)
        .arg("ingest")
        .arg(&tv.vault)
        .arg(&src)
        .args(["--json", "--threads", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the big file is being sealed, the walk has listed the small ones: remove them.
    let started = Instant::now();
    while std::fs::read_dir(tv.vault.join("tmp"))
        .map(|d| d.count())
        .unwrap_or(0)
        == 0
    {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "ingest never started sealing"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    for i in 1..=3 {
        std::fs::remove_file(src.join(format!("b{i}.jpg"))).unwrap();
    }
    let mut stdout = Vec::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    let (rss_mib, status) = wait_rss(&child);
    let code = std::process::ExitStatus::from_raw(status).code();
    assert_eq!(code, Some(3), "{}", String::from_utf8_lossy(&stdout));
    let s: serde_json::Value = serde_json::from_slice(&stdout).unwrap();
    assert_eq!(s["new"], 1);
    assert_eq!(s["bytes"], 3u64 << 30);
    for i in 1..=3 {
        assert!(
            rejected_reason(&s, &format!("b{i}.jpg")).contains("vanished"),
            "{s}"
        );
    }
    eprintln!("peak RSS while ingesting 3 GiB: {rss_mib:.1} MiB");
    assert!(
        rss_mib < 150.0,
        "memory must not grow with file size: {rss_mib:.1} MiB"
    );
    let (ok, v) = tv.verify();
    assert!(ok, "{v}");
    assert_eq!(v["report"]["bytes_checked"], 3u64 << 30);
}

#[test]
fn full_disk_stops_cleanly_and_the_same_command_finishes_after_space_is_freed() {
    if Command::new("unshare").arg("--version").output().is_err() {
        panic!("unshare (util-linux) is needed for the full-disk test");
    }
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("drive");
    std::fs::create_dir_all(&src).unwrap();
    for i in 0..24u64 {
        std::fs::write(src.join(format!("IMG_{i:04}.jpg")), noise(500 + i, 250_000)).unwrap();
    }
    let pass = work.path().join("pass");
    std::fs::write(&pass, format!("{PASSPHRASE}\n")).unwrap();
    let small = work.path().join("small");
    std::fs::create_dir_all(&small).unwrap();
    let out_dir = work.path().join("out");
    std::fs::create_dir_all(&out_dir).unwrap();
    // A private mount namespace with a 2 MiB tmpfs for the vault: ingest fills it.
    let script = format!(
        r#"set -u
mount -t tmpfs -o size=2m tmpfs {small}
{athar} init {small}/vault --scrypt-log-n 10 > /dev/null || exit 90
{athar} ingest {small}/vault {src} --json --batch-files 2 > {out}/first.json 2> {out}/first.err
echo $? > {out}/first.code
mount -o remount,size=64m {small}
{athar} ingest {small}/vault {src} --json > {out}/second.json 2> {out}/second.err
echo $? > {out}/second.code
{athar} verify {small}/vault --json > {out}/verify.json 2>&1
echo $? > {out}/verify.code
"#,
        small = small.display(),
        athar = env!("CARGO_BIN_EXE_athar"),
        src = src.display(),
        out = out_dir.display(),
    );
    let status = Command::new("unshare")
        .args(["--user", "--map-root-user", "--mount", "sh", "-c", &script])
        .env("ATHAR_PASSPHRASE_FILE", &pass)
        .status()
        .unwrap();
    assert!(status.success(), "namespace script failed: {status:?}");
    let read = |name: &str| std::fs::read_to_string(out_dir.join(name)).unwrap();
    assert_ne!(read("first.code").trim(), "0", "the first run cannot fit");
    let err = read("first.err");
    assert!(
        err.contains("disk is full") && err.contains("run the same command again"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(read("second.code").trim(), "0", "{}", read("second.err"));
    let second: serde_json::Value = serde_json::from_str(&read("second.json")).unwrap();
    assert_eq!(second["files"], 24);
    assert_eq!(read("verify.code").trim(), "0", "{}", read("verify.json"));
}
