//! Query latency of the PDQ index behind `athar similar`, at archive scale.
//!
//!     cargo run --release -p athar-catalog --example similar_speed -- [ENTRIES] [QUERIES]
//!
//! Real collections are clustered: many shots of similar scenes (same floor, same light)
//! whose hashes lie 60-120 bits apart, not uniformly at random. The synthetic index mimics
//! that: clusters of 25 hashes around random centres. Each query is a member of the index
//! with 10-70 bits flipped (an altered copy), searched as given and mirrored left-right (as
//! the command does; the mirrored hash is an unrelated one here).

use std::time::Instant;

use athar_catalog::similar::PdqIndex;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn hash(&mut self) -> [u8; 32] {
        let mut h = [0u8; 32];
        for c in h.chunks_mut(8) {
            c.copy_from_slice(&self.next().to_le_bytes());
        }
        h
    }
    fn flip(&mut self, h: &[u8; 32], bits: u32) -> [u8; 32] {
        let mut h = *h;
        for _ in 0..bits {
            let b = (self.next() % 256) as usize;
            h[b / 8] ^= 1 << (b % 8);
        }
        h
    }
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let entries = args.first().copied().unwrap_or(100_000);
    let queries = args.get(1).copied().unwrap_or(1000);
    let mut rng = Rng(0x5EED_1234_ABCD_0001);
    let mut all = Vec::with_capacity(entries);
    while all.len() < entries {
        let centre = rng.hash();
        for _ in 0..25.min(entries - all.len()) {
            let bits = 30 + (rng.next() % 30) as u32;
            let id = format!("{:08}", all.len());
            let h = rng.flip(&centre, bits);
            all.push((id, h));
        }
    }
    let started = Instant::now();
    let index = PdqIndex::new(all.clone());
    let build = started.elapsed();

    let mut times = Vec::with_capacity(queries);
    let mut found = 0;
    for _ in 0..queries {
        let target = (rng.next() % entries as u64) as usize;
        let bits = 10 + (rng.next() % 60) as u32;
        let mut variants = vec![rng.flip(&all[target].1, bits)];
        variants.push(rng.hash());
        let t = Instant::now();
        let hits = index.nearest(&variants, 20, 128);
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        found += hits.iter().take(5).any(|h| h.id == all[target].0) as usize;
    }
    times.sort_by(f64::total_cmp);
    let q = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    println!(
        "entries {entries}, queries {queries}, index built in {:.2} s",
        build.as_secs_f64()
    );
    println!(
        "query ms: median {:.2}, p90 {:.2}, p99 {:.2}, max {:.2}; target in top 5: {found}/{queries}",
        q(0.5),
        q(0.9),
        q(0.99),
        q(1.0)
    );
}
