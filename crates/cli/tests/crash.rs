//! Crash safety: SIGKILL an ingest at many points across its run. After every kill the vault
//! verifies, everything the log ever recorded is still there and decrypts to the original
//! bytes, and running the same command again finishes the job.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::*;

const KILLS: usize = 60;

/// Files of a day's drive, by path, with their SHA-256.
fn make_drive(root: &Path) -> BTreeMap<PathBuf, String> {
    let mut files = BTreeMap::new();
    for folder in 0..4u64 {
        let dir = root.join(format!("2012/06/{:02}/مصور {folder}", folder + 1));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..50u64 {
            let bytes = noise(folder * 1000 + i, 20_000 + (i as usize * 997) % 40_000);
            let path = dir.join(format!("{folder}_{i:03}.jpg"));
            std::fs::write(&path, &bytes).unwrap();
            files.insert(path, sha256_hex(&bytes));
        }
    }
    files
}

fn ingest_cmd(tv: &TestVault, src: &Path) -> std::process::Command {
    let mut cmd = athar_cmd();
    cmd.env("ATHAR_PASSPHRASE_FILE", &tv.pass)
        .arg("ingest")
        .arg(&tv.vault)
        .arg(src)
        .args(["--json", "--batch-files", "6"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

/// (sha256, source path) of every ingestion event in the log.
fn logged(tv: &TestVault) -> BTreeSet<(String, String)> {
    tv.log(&["--type", "ingestion"])
        .iter()
        .map(|e| {
            (
                e["objects"][0].as_str().unwrap().to_string(),
                e["details"]["source_path"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

struct Rng(u64);
impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n.max(1)
    }
}

#[test]
fn sigkill_at_many_points_loses_nothing_and_a_rerun_finishes() {
    if !embedded_only("sigkill_at_many_points_loses_nothing_and_a_rerun_finishes") {
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let src = work.path().join("drive");
    let files = make_drive(&src);
    let by_path: BTreeMap<String, String> = files
        .iter()
        .map(|(p, s)| (p.to_string_lossy().into_owned(), s.clone()))
        .collect();

    // How long an uninterrupted run takes, to spread the kills over it.
    let probe = TestVault::new();
    let started = Instant::now();
    let status = ingest_cmd(&probe, &src).status().unwrap();
    assert!(status.success(), "{status:?}");
    let full_run = started.elapsed();
    let seed = (std::process::id() as u64).wrapping_mul(0x2545_F491_4F6C_DD1D) | 1;
    eprintln!("uninterrupted ingest: {full_run:?}; kill schedule seed {seed}");
    let mut rng = Rng(seed);

    let mut tv = TestVault::new();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let (mut kills, mut completed_runs, mut vaults) = (0, 0, 1);
    while kills < KILLS {
        let mut child = ingest_cmd(&tv, &src).spawn().unwrap();
        let delay = Duration::from_micros(rng.below(full_run.as_micros() as u64 + 1));
        std::thread::sleep(delay);
        let finished = child.try_wait().unwrap().is_some();
        if !finished {
            child.kill().unwrap();
            kills += 1;
        }
        let status = child.wait().unwrap();

        // The vault verifies after every kill (leftover unlogged objects are only warnings).
        let (ok, report) = tv.verify();
        assert!(ok, "after kill {kills} at {delay:?}: {report}");

        // Nothing logged before is lost, and every logged event tells the truth.
        let now = logged(&tv);
        assert!(
            seen.is_subset(&now),
            "after kill {kills}: events disappeared"
        );
        for (sha, path) in &now {
            assert_eq!(
                by_path.get(path),
                Some(sha),
                "event for {path} names the wrong content"
            );
        }
        seen = now;
        // Spot-check that logged objects decrypt to the original bytes.
        if let Some((sha, path)) = seen.iter().nth(rng.below(seen.len() as u64 + 1) as usize) {
            assert_eq!(tv.cat(sha), std::fs::read(path).unwrap());
        }

        if finished {
            assert!(status.success());
            completed_runs += 1;
            assert_eq!(seen.len(), files.len(), "a completed run holds every file");
            // Start over so that later kills land in fresh, unfinished work again.
            tv = TestVault::new();
            seen.clear();
            vaults += 1;
        }
    }
    eprintln!("{kills} kills over {vaults} vaults, {completed_runs} runs completed between them");

    // The same command, run again, finishes the job.
    assert!(ingest_cmd(&tv, &src).status().unwrap().success());
    let all = logged(&tv);
    assert_eq!(
        all.len(),
        files.len(),
        "every file is ingested exactly once"
    );
    for (path, sha) in &files {
        assert!(all.contains(&(sha.clone(), path.to_string_lossy().into_owned())));
    }
    let (ok, report) = tv.verify();
    assert!(ok, "{report}");
    assert_eq!(report["report"]["objects_checked"], files.len());
}
