//! Generate a corpus and report timing and sizes.
//!
//! `cargo run --release -p athar-corpus --example gen -- DIR [BODIES] [SEED] [THREADS]`
use std::time::Instant;

use athar_corpus::{generate, CorpusOptions};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let dir = args
        .get(1)
        .expect("usage: gen DIR [BODIES] [SEED] [THREADS]");
    let mut opts = CorpusOptions::default();
    if let Some(b) = args.get(2) {
        opts.bodies = b.parse().expect("bodies");
    }
    if let Some(s) = args.get(3) {
        opts.seed = s.parse().expect("seed");
    }
    if let Some(t) = args.get(4) {
        opts.threads = t.parse().expect("threads");
    }
    let t0 = Instant::now();
    let s = generate(dir.as_ref(), &opts, &|done, total| {
        if done % 200 == 0 || done == total {
            eprintln!("{done}/{total}");
        }
    })
    .expect("generate");
    let secs = t0.elapsed().as_secs_f64();
    println!(
        "{} photos ({} body, {} distractor, {} bodies) in {:.2} s = {:.1} photos/s with {} threads; {:.1} MB total, {:.0} KB/photo",
        s.photos,
        s.body_photos,
        s.distractors,
        s.bodies,
        secs,
        s.photos as f64 / secs,
        opts.threads,
        s.bytes as f64 / 1e6,
        s.bytes as f64 / s.photos.max(1) as f64 / 1e3
    );
}
