//! Analyse every file under a folder and compare the time with
//! `exiftool -json -r` on the same folder.
//!
//! ```text
//! cargo run --release -p athar-media --example analyze_dir -- [DIR] [--threads N] [--repeat K]
//!     [--card] [--no-derivatives] [--no-hashes]
//! ```
//!
//! Without DIR, a synthetic collection of about 300 photos (42 bodies,
//! 1600x1200) is generated with athar-corpus into a temporary folder.
//! Full analysis = read file, sniff, EXIF, decode, PDQ, pHash, thumbnail,
//! two blurred previews (and the card reader with `--card`).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use support::walk;

use athar_media::{analyze, AnalyzeOptions};

/// (own user+system, waited-for children's user+system) CPU seconds, from
/// /proc/self/stat (Linux; zeros elsewhere). Clock ticks are 1/100 s.
fn cpu_times() -> (f64, f64) {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return (0.0, 0.0);
    };
    // Fields after the ")" that ends the command name; utime is field 14.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    let g = |i: usize| f.get(i - 3).copied().unwrap_or(0.0) / 100.0;
    (g(14) + g(15), g(16) + g(17))
}

struct Run {
    secs: f64,
    cpu: f64,
    ok: usize,
    errors: usize,
    cards: usize,
}

fn run(files: &[PathBuf], threads: usize, opts: &AnalyzeOptions) -> Run {
    let next = AtomicUsize::new(0);
    let errors = AtomicUsize::new(0);
    let cards = AtomicUsize::new(0);
    let first_err: Mutex<Option<String>> = Mutex::new(None);
    let c0 = cpu_times().0;
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..threads {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(p) = files.get(i) else { break };
                let Ok(bytes) = std::fs::read(p) else {
                    errors.fetch_add(1, Ordering::Relaxed);
                    continue;
                };
                let a = analyze(&bytes, opts);
                if let Some(e) = &a.error {
                    errors.fetch_add(1, Ordering::Relaxed);
                    first_err
                        .lock()
                        .unwrap()
                        .get_or_insert_with(|| format!("{}: {e}", p.display()));
                }
                if a.card.as_ref().is_some_and(|c| c.detainee.is_some()) {
                    cards.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    });
    let secs = t0.elapsed().as_secs_f64();
    let cpu = cpu_times().0 - c0;
    if let Some(e) = first_err.into_inner().unwrap() {
        eprintln!("first error: {e}");
    }
    let errors = errors.into_inner();
    Run {
        secs,
        cpu,
        ok: files.len() - errors,
        errors,
        cards: cards.into_inner(),
    }
}

fn on(b: bool) -> &'static str {
    if b {
        "on"
    } else {
        "off"
    }
}

/// Wall time and CPU time of `exiftool -json -r DIR`.
fn exiftool(dir: &Path) -> Option<(Duration, f64)> {
    let c0 = cpu_times().1;
    let t0 = Instant::now();
    let out = Command::new("exiftool")
        .args(["-json", "-r"])
        .arg(dir)
        .output()
        .ok()?;
    let d = t0.elapsed();
    let cpu = cpu_times().1 - c0;
    // exiftool exits 1 when some file had an error; it still read them.
    (out.status.success() || !out.stdout.is_empty()).then_some((d, cpu))
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir: Option<PathBuf> = None;
    let mut threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut opts = AnalyzeOptions::default();
    let mut repeat = 3;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--threads" => {
                threads = args
                    .next()
                    .and_then(|t| t.parse().ok())
                    .expect("--threads N")
            }
            "--repeat" => {
                repeat = args
                    .next()
                    .and_then(|t| t.parse().ok())
                    .expect("--repeat K")
            }
            "--card" => opts.read_card = true,
            "--no-derivatives" => opts.derivatives = false,
            "--no-hashes" => opts.hashes = false,
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let _tmp;
    let dir = match dir {
        Some(d) => d,
        None => {
            let t = tempfile::tempdir().expect("temp dir");
            let o = athar_corpus::CorpusOptions {
                bodies: 42,
                seed: 7,
                threads,
                ..Default::default()
            };
            eprintln!(
                "generating a synthetic collection in {} ...",
                t.path().display()
            );
            let s = athar_corpus::generate(t.path(), &o, &|_, _| {}).expect("generate");
            eprintln!("{} photos, {:.1} MB", s.photos, s.bytes as f64 / 1e6);
            let p = t.path().to_path_buf();
            _tmp = t;
            p
        }
    };
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    let bytes: u64 = files
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{}: {} files, {:.1} MB; {threads} threads; hashes {}, derivatives {}, card reader {}",
        dir.display(),
        files.len(),
        bytes as f64 / 1e6,
        on(opts.hashes),
        on(opts.derivatives),
        on(opts.read_card),
    );
    // Warm the page cache so that both tools read from memory.
    for f in &files {
        let _ = std::fs::read(f);
    }
    let mut best_ours = f64::MAX;
    let mut best_exif = f64::MAX;
    let (mut cpu_ours, mut cpu_exif) = (f64::MAX, f64::MAX);
    for round in 0..repeat.max(1) {
        let r = run(&files, threads, &opts);
        best_ours = best_ours.min(r.secs);
        cpu_ours = cpu_ours.min(r.cpu);
        print!(
            "round {}: athar-media {:.3} s (CPU {:.2} s) = {:.1} files/s ({} analysed, {} with errors{})",
            round + 1,
            r.secs,
            r.cpu,
            files.len() as f64 / r.secs,
            r.ok,
            r.errors,
            if opts.read_card {
                format!(", {} cards read", r.cards)
            } else {
                String::new()
            }
        );
        match exiftool(&dir) {
            Some((d, cpu)) => {
                best_exif = best_exif.min(d.as_secs_f64());
                cpu_exif = cpu_exif.min(cpu);
                println!(
                    "; exiftool -json -r {:.3} s (CPU {cpu:.2} s)",
                    d.as_secs_f64()
                );
            }
            None => println!("; exiftool not available"),
        }
    }
    if best_exif < f64::MAX {
        println!(
            "best wall: athar-media {best_ours:.3} s, exiftool {best_exif:.3} s, ratio {:.2} (below 1.0 = faster than exiftool)",
            best_ours / best_exif
        );
        if cpu_exif > 0.0 && cpu_ours < f64::MAX {
            let cores = threads.min(2) as f64;
            println!(
                "CPU: athar-media {cpu_ours:.2} s, exiftool {cpu_exif:.2} s; on {cores} idle cores the wall ratio would be about {:.2}",
                cpu_ours / cores / cpu_exif
            );
        }
    }
}
