//! Card-reading accuracy and cost on a generated collection (athar-corpus
//! layout, with `ground_truth.csv`).
//!
//! ```text
//! cargo run --release -p athar-media --example card_accuracy -- DIR [--no-timing | --timing-only]
//! ```
//!
//! Prints, single-threaded:
//! - accuracy with the gate (as `analyze` reads cards) and without it (the
//!   reader alone on the >= 800 px decode);
//! - the gate's pass rate by kind / scene / card, and its median cost;
//! - the reader's median cost per photo on the >= 800 px decode, by card;
//! - the cost of a full `analyze` (hashes, derivatives) with and without the
//!   card reader over the photos whose names carry no numbers (those that
//!   `athar analyze` reads cards for).
mod support;

use std::collections::BTreeMap;
use std::time::Instant;
use support::cpu_seconds;

use athar_media::{analyze, card, decode_reduced, AnalyzeOptions, CardNumbers};

struct Row {
    path: String,
    kind: String,
    scene: String,
    card: String,
    names: String,
    detainee: String,
    branch: String,
    report: String,
}

/// `ground_truth.csv` in DIR or beside it (DIR is then the photos folder).
fn rows(dir: &std::path::Path) -> Vec<Row> {
    let text = std::fs::read_to_string(dir.join("ground_truth.csv"))
        .or_else(|_| std::fs::read_to_string(dir.join("../ground_truth.csv")))
        .expect("ground_truth.csv in DIR or beside it");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    let c = [
        "path",
        "kind",
        "scene",
        "card",
        "names_have_numbers",
        "detainee",
        "branch",
        "report",
    ]
    .map(col);
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            // Paths hold no commas in generated collections.
            let f: Vec<&str> = l.split(',').collect();
            let g = |i: usize| f[c[i]].to_string();
            Row {
                path: g(0),
                kind: g(1),
                scene: g(2),
                card: g(3),
                names: g(4),
                detainee: g(5),
                branch: g(6),
                report: g(7),
            }
        })
        .collect()
}

fn median(v: &mut [f64]) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn exact(r: &Row, c: Option<&CardNumbers>) -> bool {
    let branch = (r.branch != "AFI").then_some(r.branch.as_str());
    c.is_some_and(|c| {
        c.detainee.as_deref() == Some(r.detainee.as_str())
            && c.branch.as_deref() == branch
            && c.report.as_deref() == Some(r.report.as_str())
    })
}

#[derive(Default)]
struct Tally {
    n: usize,
    ok: usize,
    card_only: usize,
    card_only_ok: usize,
    blank: usize,
    blank_ok: usize,
    other: usize,
    other_false: usize,
}

impl Tally {
    fn add(&mut self, r: &Row, c: Option<&CardNumbers>) -> bool {
        match r.card.as_str() {
            "numbers" => {
                let good = exact(r, c);
                self.n += 1;
                self.ok += good as usize;
                if r.names == "card_only" {
                    self.card_only += 1;
                    self.card_only_ok += good as usize;
                }
                good
            }
            "blank" => {
                self.blank += 1;
                self.blank_ok += c.is_some_and(|c| c.is_blank()) as usize;
                true
            }
            _ => {
                self.other += 1;
                self.other_false += c.is_some_and(|c| c.detainee.is_some()) as usize;
                true
            }
        }
    }

    fn print(&self, what: &str) {
        println!(
            "{what}: cards with numbers read exactly {}/{} ({:.1}%), of which card-only bodies {}/{}; \
             blank cards seen blank {}/{}; photos without a card giving numbers {}/{}",
            self.ok,
            self.n,
            100.0 * self.ok as f64 / self.n.max(1) as f64,
            self.card_only_ok,
            self.card_only,
            self.blank_ok,
            self.blank,
            self.other_false,
            self.other
        );
    }
}

fn main() {
    let mut dir = None;
    let mut timing = true;
    let mut accuracy = true;
    for a in std::env::args().skip(1) {
        match a.as_str() {
            "--no-timing" => timing = false,
            "--timing-only" => accuracy = false,
            _ => dir = Some(std::path::PathBuf::from(a)),
        }
    }
    let dir = dir.expect("DIR");
    let rows = rows(&dir);
    // Paths are relative to the photos folder.
    let dir = if dir.join("photos").is_dir() {
        dir.join("photos")
    } else {
        dir
    };
    let card_opts = AnalyzeOptions {
        read_card: true,
        derivatives: false,
        hashes: false,
        ..Default::default()
    };
    let (mut gated, mut alone) = (Tally::default(), Tally::default());
    // (kind/scene/card) -> (photos, passed the gate)
    let mut pass: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut gate_ms = Vec::new();
    let mut read_ms: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    let mut near_ms: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in rows.iter().filter(|_| accuracy) {
        let bytes = std::fs::read(dir.join(&r.path)).unwrap();
        let with_gate = analyze(&bytes, &card_opts).card;
        let good = gated.add(r, with_gate.as_ref());
        // The gate on the work image `analyze` gives it.
        let work = decode_reduced(&bytes, card::MIN_WIDTH / 2).unwrap().image;
        let t = Instant::now();
        let passed = card::may_show_card(&work);
        gate_ms.push(t.elapsed().as_secs_f64() * 1e3);
        let key = format!("{}/{}/{}", r.kind, r.scene, r.card);
        let e = pass.entry(key).or_default();
        e.0 += 1;
        e.1 += passed as usize;
        // The reader alone on the larger decode.
        let big = decode_reduced(&bytes, card::MIN_WIDTH).unwrap().image;
        let t = Instant::now();
        let direct = card::read_card(&big);
        let class = match r.card.as_str() {
            "numbers" | "blank" => "card",
            _ => "no card",
        };
        read_ms
            .entry(class)
            .or_default()
            .push(t.elapsed().as_secs_f64() * 1e3);
        alone.add(r, direct.as_ref());
        // The reader around the gate's regions, as `analyze` runs it.
        let hints = card::card_regions(&work);
        if !hints.is_empty() {
            let t = Instant::now();
            std::hint::black_box(card::read_card_near(&big, &hints));
            near_ms
                .entry(class)
                .or_default()
                .push(t.elapsed().as_secs_f64() * 1e3);
        }
        if !good {
            println!(
                "miss: {} -> {:?} (reader alone: {:?})",
                r.path,
                with_gate.map(|c| c.lines),
                direct.map(|c| c.lines)
            );
        }
    }
    if accuracy {
        gated.print("with the gate");
        alone.print("reader alone");
        println!(
            "gate pass rate by kind/scene/card (median {:.3} ms per photo):",
            median(&mut gate_ms)
        );
        for (k, (n, p)) in &pass {
            println!(
                "  {k:<32} {p:>5}/{n:<5} {:>5.1}%",
                100.0 * *p as f64 / *n as f64
            );
        }
        for (k, v) in &mut read_ms {
            let total: f64 = v.iter().sum();
            println!(
                "read_card on the >= {} px decode, {k}: median {:.2} ms, mean {:.2} ms ({} photos)",
                card::MIN_WIDTH,
                median(v),
                total / v.len() as f64,
                v.len()
            );
        }
        for (k, v) in &mut near_ms {
            let total: f64 = v.iter().sum();
            println!(
                "read_card_near (gate's regions) on the >= {} px decode, {k} photos the gate passed: median {:.2} ms, mean {:.2} ms ({} photos)",
                card::MIN_WIDTH,
                median(v),
                total / v.len() as f64,
                v.len()
            );
        }
    }
    if !timing {
        return;
    }
    // Full analysis of the photos that `athar analyze` reads cards for.
    let unnamed: Vec<Vec<u8>> = rows
        .iter()
        .filter(|r| r.names != "yes")
        .map(|r| std::fs::read(dir.join(&r.path)).unwrap())
        .collect();
    let full = AnalyzeOptions::default();
    let full_card = AnalyzeOptions {
        read_card: true,
        ..Default::default()
    };
    // CPU time, not wall time: the machine may be shared.
    let per = |o: &AnalyzeOptions| {
        let c = cpu_seconds();
        for b in &unnamed {
            std::hint::black_box(analyze(b, o));
        }
        (cpu_seconds() - c) * 1e3 / unnamed.len() as f64
    };
    let (mut plain, mut with) = (Vec::new(), Vec::new());
    for _ in 0..3 {
        plain.push(per(&full));
        with.push(per(&full_card));
    }
    let (p, w) = (median(&mut plain), median(&mut with));
    println!(
        "analyze on the {} photos with no numbers in their names: {p:.2} ms/photo without the card reader, \
         {w:.2} ms/photo with it (card path {:.2} ms/photo; CPU time, medians of 3 runs)",
        unnamed.len(),
        w - p
    );
}
