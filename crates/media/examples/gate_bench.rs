//! The card gate's cost and output over a generated collection (development aid).
//!
//! `cargo run --release -p athar-media --example gate_bench -- DIR [--all] [--n N] [--runs R] [--dump FILE] [--read [--read-dump FILE]]`
//!
//! By default only the photos whose names carry no numbers (those `athar analyze` runs the
//! gate on) are used. Decodes come first; then `card_regions` runs over them `R` times and
//! the median CPU ms per photo is printed. `--dump` writes each photo's regions, one line each.
//! `--read` also times `read_card_near` on the 800 px decode of the photos the gate passes
//! (`--read-dump FILE` writes what it read).
mod support;

use std::io::Write;
use std::time::Instant;
use support::cpu_seconds;

use athar_media::{card, decode_reduced};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = std::path::PathBuf::from(&args[0]);
    let all = args.iter().any(|a| a == "--all");
    let opt = |k: &str| {
        args.iter()
            .position(|a| a == k)
            .map(|i| args[i + 1].clone())
    };
    let n: usize = opt("--n").map_or(usize::MAX, |v| v.parse().unwrap());
    let runs: usize = opt("--runs").map_or(5, |v| v.parse().unwrap());
    let text = std::fs::read_to_string(dir.join("ground_truth.csv")).expect("ground_truth.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let names = header
        .iter()
        .position(|h| *h == "names_have_numbers")
        .unwrap();
    let paths: Vec<String> = lines
        .map(|l| l.split(',').collect::<Vec<_>>())
        .filter(|f| all || f[names] != "yes")
        .map(|f| f[0].to_string())
        .take(n)
        .collect();
    let imgs: Vec<_> = paths
        .iter()
        .map(|p| {
            let bytes = std::fs::read(dir.join("photos").join(p)).unwrap();
            decode_reduced(&bytes, card::MIN_WIDTH / 2).unwrap().image
        })
        .collect();
    if let Some(f) = opt("--dump") {
        let mut out = std::io::BufWriter::new(std::fs::File::create(f).unwrap());
        for (p, img) in paths.iter().zip(&imgs) {
            writeln!(out, "{p} {:?}", card::card_regions(img)).unwrap();
        }
    }
    // CPU time (this thread's user + system), not wall time: the machine may be shared.
    let mut ms = Vec::new();
    let mut k = 0;
    for _ in 0..runs {
        let t = cpu_seconds();
        for i in &imgs {
            k += card::card_regions(i).len();
        }
        ms.push((cpu_seconds() - t) * 1e3 / imgs.len() as f64);
    }
    ms.sort_by(f64::total_cmp);
    if args.iter().any(|a| a == "--read") {
        let mut read = Vec::new();
        let mut found = 0;
        let mut readings = Vec::new();
        for (p, img) in paths.iter().zip(&imgs) {
            let hints = card::card_regions(img);
            if hints.is_empty() {
                continue;
            }
            let bytes = std::fs::read(dir.join("photos").join(p)).unwrap();
            let big = decode_reduced(&bytes, card::MIN_WIDTH).unwrap().image;
            let t = Instant::now();
            let c = card::read_card_near(&big, &hints);
            read.push(t.elapsed().as_secs_f64() * 1e3);
            found += c.is_some() as usize;
            readings.push(format!("{p} {c:?}"));
        }
        if let Some(f) = opt("--read-dump") {
            std::fs::write(f, readings.join("\n")).unwrap();
        }
        read.sort_by(f64::total_cmp);
        println!(
            "read_card_near on {} photos the gate passed ({found} cards): median {:.3} ms, mean {:.3} ms",
            read.len(),
            read.get(read.len() / 2).copied().unwrap_or(0.0),
            read.iter().sum::<f64>() / read.len().max(1) as f64
        );
    }
    println!(
        "{} photos, {} regions per run, card_regions median {:.3} ms/photo (CPU) over {runs} runs",
        imgs.len(),
        k / runs.max(1),
        ms.get(ms.len() / 2).copied().unwrap_or(0.0)
    );
}
