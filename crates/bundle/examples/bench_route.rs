//! Pack / receive / import throughput against `tar | age` and `par2 create -r10`, on the same
//! files in the same run.
//!
//! ```text
//! cargo run --release -p athar-bundle --example bench_route -- [--mb 1024] [--files 300] [--no-par2] [--disk]
//! ```
//!
//! Files are random (photos do not compress either), written once and read through the page
//! cache by every contender. Everything lives on tmpfs (/dev/shm) unless `--disk` is given,
//! so fsync costs nothing and the figures compare the programs, not the disk. Needs `tar`, `age`, `age-keygen` and
//! `par2` on PATH; a missing tool's row is skipped.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use athar_bundle::import::{self, ImportOptions, ImportOutcome, Registry};
use athar_bundle::pack::{self, PackOptions};
use athar_bundle::profile::Profile;
use athar_vault::{InitOptions, SecretString, Vault};

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Median of `RUNS` wall times: the machine is shared and noisy.
const RUNS: usize = 5;

fn median(mut f: impl FnMut() -> Option<f64>) -> Option<f64> {
    let mut times: Vec<f64> = (0..RUNS).filter_map(|_| f()).collect();
    times.sort_by(f64::total_cmp);
    times.get(times.len() / 2).copied()
}

fn shell(script: &str) -> Option<f64> {
    let start = Instant::now();
    let out = Command::new("bash").arg("-c").arg(script).output().ok()?;
    if !out.status.success() {
        eprintln!(
            "skipped ({}): {}",
            script,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        return None;
    }
    Some(start.elapsed().as_secs_f64())
}

fn have(tool: &str) -> bool {
    Command::new("bash")
        .arg("-c")
        .arg(format!("command -v {tool}"))
        .output()
        .is_ok_and(|o| o.status.success())
}

fn du(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.file_type().is_file())
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

struct Row {
    what: String,
    secs: f64,
    out_bytes: u64,
}

fn main() {
    let mb = arg("--mb", 1024);
    let nfiles = arg("--files", 300).max(1);
    // Outputs (and inputs) on tmpfs when there is one: the comparison is then of the
    // software, not of a shared virtual disk's fsync latency. `--disk` keeps them in TMPDIR.
    let on_disk = std::env::args().any(|a| a == "--disk");
    let shm = Path::new("/dev/shm");
    let work = if !on_disk && shm.is_dir() {
        tempfile::tempdir_in(shm).expect("temp dir")
    } else {
        tempfile::tempdir().expect("temp dir")
    };
    let w = work.path();
    let data = w.join("photos");
    std::fs::create_dir_all(&data).unwrap();
    let total = mb << 20;
    let per = total / nfiles;
    let mut rng = rand::thread_rng();
    for i in 0..nfiles {
        let mut buf = vec![0u8; per as usize];
        rand::RngCore::fill_bytes(&mut rng, &mut buf);
        std::fs::write(data.join(format!("IMG_{i:05}.jpg")), &buf).unwrap();
    }
    let bytes = per * nfiles;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "{} files, {:.0} MiB in total, {} cores; working in {}",
        nfiles,
        bytes as f64 / (1 << 20) as f64,
        threads,
        w.display()
    );
    let warm = || {
        let _ = shell(&format!("cat {}/* > /dev/null", data.display()));
    };

    // Keys: an age identity for tar|age, a vault for athar.
    let pass = SecretString::from("bench passphrase".to_string());
    let vault_dir = w.join("vault");
    let mut vault = Vault::init(
        &vault_dir,
        &pass,
        &InitOptions {
            scrypt_log_n: 10,
            ..Default::default()
        },
    )
    .unwrap();
    let recipient = vault.config().recipient.clone();
    let mut rows: Vec<Row> = Vec::new();

    if have("tar") && have("age") && !std::env::args().any(|a| a == "--only-pack") {
        warm();
        let out = w.join("tar.age");
        for (what, sync) in [
            ("tar | age (encrypt, no parity)", ""),
            (
                "tar | age, then sync (durable, as pack is)",
                " && sync {out}",
            ),
        ] {
            let script = format!(
                "tar -C {} -cf - photos | age -r {recipient} > {{out}}{sync}",
                w.display()
            )
            .replace("{out}", &out.display().to_string());
            if let Some(secs) = median(|| {
                warm();
                shell(&script)
            }) {
                rows.push(Row {
                    what: what.into(),
                    secs,
                    out_bytes: std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0),
                });
            }
        }
        let id = w.join("id.txt");
        std::fs::write(
            &id,
            age::secrecy::ExposeSecret::expose_secret(&vault.identity().to_string()).as_bytes(),
        )
        .unwrap();
        let x = w.join("untar");
        std::fs::create_dir_all(&x).unwrap();
        if let Some(secs) = median(|| {
            let _ = std::fs::remove_dir_all(&x);
            std::fs::create_dir_all(&x).unwrap();
            shell(&format!(
                "age -d -i {} {} | tar -C {} -xf -",
                id.display(),
                out.display(),
                x.display()
            ))
        }) {
            rows.push(Row {
                what: "age -d | tar -x (decrypt + write, the import floor)".into(),
                secs,
                out_bytes: du(&x),
            });
        }
        let _ = std::fs::remove_dir_all(&x);
        let _ = std::fs::remove_file(&out);
    }
    let quick = std::env::args().any(|a| a == "--no-par2");
    if have("par2") && !quick {
        warm();
        let pdir = w.join("par2");
        std::fs::create_dir_all(&pdir).unwrap();
        if let Some(secs) = shell(&format!(
            "cd {} && par2 create -q -q -r10 -B {} {}/set.par2 *",
            data.display(),
            data.display(),
            pdir.display()
        )) {
            rows.push(Row {
                what: "par2 create -r10 (parity only, no encryption)".into(),
                secs,
                out_bytes: du(&pdir),
            });
        }
        let _ = std::fs::remove_dir_all(&pdir);
    }

    let profile_dir = w.join("profile");
    let mut profile =
        Profile::init(&profile_dir, std::slice::from_ref(&recipient), &pass, 10).unwrap();
    let key = profile.config.key.clone();
    for parity in [10u32, 0] {
        let out = w.join(format!("drive{parity}"));
        let mut parts = 0;
        let secs = median(|| {
            let _ = std::fs::remove_dir_all(&out);
            warm();
            let start = Instant::now();
            let s = pack::pack(
                &mut profile,
                &pass,
                std::slice::from_ref(&data),
                &out,
                &PackOptions {
                    parity_percent: parity,
                    ..Default::default()
                },
                &(),
            )
            .unwrap();
            parts = s.parts.len();
            Some(start.elapsed().as_secs_f64())
        })
        .unwrap();
        rows.push(Row {
            what: format!(
                "athar pack --parity {parity} (encrypt + sign + parity, fsync), {parts} parts"
            ),
            secs,
            out_bytes: du(&out),
        });
        if parity == 0 {
            let _ = std::fs::remove_dir_all(&out);
        }
    }
    if std::env::args().any(|a| a == "--only-pack") {
        for r in &rows {
            println!("{}: {:.2} s", r.what, r.secs);
        }
        return;
    }
    let drive = w.join("drive10");
    let store = w.join("courier");
    let start = Instant::now();
    let r = athar_bundle::receive::receive(
        &drive,
        &athar_bundle::receive::ReceiveOptions {
            store: Some(store.clone()),
            signers: vec![],
        },
    )
    .unwrap();
    assert!(r.all_ok());
    rows.push(Row {
        what: "athar receive --store (check every shard, copy)".into(),
        secs: start.elapsed().as_secs_f64(),
        out_bytes: du(&store),
    });
    // Receive of a drive with one part lost: the repair path.
    let damaged = w.join("damaged");
    std::fs::create_dir_all(&damaged).unwrap();
    let mut names: Vec<PathBuf> = std::fs::read_dir(&drive)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in &names[1..] {
        std::fs::hard_link(p, damaged.join(p.file_name().unwrap())).unwrap();
    }
    let store2 = w.join("courier2");
    let start = Instant::now();
    let r = athar_bundle::receive::receive(
        &damaged,
        &athar_bundle::receive::ReceiveOptions {
            store: Some(store2.clone()),
            signers: vec![],
        },
    )
    .unwrap();
    assert!(r.all_ok());
    rows.push(Row {
        what: "athar receive --store, one part lost (repair)".into(),
        secs: start.elapsed().as_secs_f64(),
        out_bytes: du(&store2),
    });
    let _ = std::fs::remove_dir_all(&store2);

    let draft = import::trust(&Registry::default(), &key, "bench")
        .unwrap()
        .unwrap();
    vault.append(vec![draft]).unwrap();
    let registry = Registry::from_vault(&vault).unwrap();
    let found = athar_bundle::scan::scan(&store.join(&r.bundles[0].report.bundle))
        .unwrap()
        .bundles
        .remove(0);
    let start = Instant::now();
    let outcome = import::import(
        &mut vault,
        &registry,
        &found,
        &ImportOptions::default(),
        &(),
    )
    .unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert!(matches!(outcome, ImportOutcome::Imported(_)));
    rows.push(Row {
        what: "athar import (verify, decrypt, re-encrypt into the vault, log)".into(),
        secs,
        out_bytes: du(&vault_dir.join("objects")),
    });

    println!();
    println!("| step | seconds | MB/s of photos | output |");
    println!("|---|---:|---:|---:|");
    for r in &rows {
        println!(
            "| {} | {:.2} | {:.0} | {:.0} MiB |",
            r.what,
            r.secs,
            bytes as f64 / 1e6 / r.secs,
            r.out_bytes as f64 / (1 << 20) as f64
        );
    }
    let find = |p: &str| rows.iter().find(|r| r.what.starts_with(p)).map(|r| r.secs);
    if let (Some(pack), Some(par2), Some(tar)) = (
        find("athar pack --parity 10"),
        find("par2"),
        find("tar | age"),
    ) {
        println!();
        println!(
            "pack with 10% parity: {:.1}x faster than par2 alone (goal >= 10x), {:.2}x the time of tar | age (goal <= 2x)",
            par2 / pack,
            pack / tar
        );
    }
    if let (Some(import), Some(floor)) = (find("athar import"), find("age -d")) {
        println!("import: {:.2}x the time of age -d | tar -x", import / floor);
    }
}
