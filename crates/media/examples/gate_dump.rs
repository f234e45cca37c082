//! The card gate alone over a generated collection: pass rates by kind/scene/card and its
//! cost (development aid; `card_accuracy` gives the full picture).
//!
//! `cargo run --release -p athar-media --example gate_dump -- PHOTOS_DIR [--read]`
use std::collections::BTreeMap;
use std::time::Instant;

use athar_media::{card, decode_reduced};

fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("PHOTOS_DIR"));
    let text = std::fs::read_to_string(dir.join("../ground_truth.csv")).expect("ground_truth.csv");
    let mut lines = text.lines();
    lines.next();
    let mut pass: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut ms = Vec::new();
    let mut read_ms = Vec::new();
    let read = std::env::args().any(|a| a == "--read");
    for l in lines {
        let f: Vec<&str> = l.split(',').collect();
        let bytes = std::fs::read(dir.join(f[0])).unwrap();
        let work = decode_reduced(&bytes, card::MIN_WIDTH / 2).unwrap().image;
        let t = Instant::now();
        let regions = card::card_regions(&work);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
        let e = pass
            .entry(format!("{}/{}/{}", f[3], f[4], f[11]))
            .or_default();
        e.0 += 1;
        e.1 += !regions.is_empty() as usize;
        if read && !regions.is_empty() {
            let big = decode_reduced(&bytes, card::MIN_WIDTH).unwrap().image;
            let t = Instant::now();
            std::hint::black_box(card::read_card_near(&big, &regions));
            read_ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
    }
    for (k, (n, p)) in &pass {
        println!("  {k:<32} {p:>5}/{n:<5}");
    }
    if !read_ms.is_empty() {
        let mean = read_ms.iter().sum::<f64>() / read_ms.len() as f64;
        read_ms.sort_by(f64::total_cmp);
        println!(
            "read_card_near on {} photos: mean {mean:.3} ms, median {:.3} ms",
            read_ms.len(),
            read_ms[read_ms.len() / 2]
        );
    }
    let mean = ms.iter().sum::<f64>() / ms.len() as f64;
    ms.sort_by(f64::total_cmp);
    println!(
        "card_regions: mean {mean:.3} ms, median {:.3} ms, 90th percentile {:.3} ms",
        ms[ms.len() / 2],
        ms[ms.len() * 9 / 10]
    );
}
