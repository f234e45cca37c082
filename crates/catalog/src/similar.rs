//! Finding an archive original from a copy circulating outside: a multi-index hash over
//! 256-bit PDQ hashes (Norouzi et al.). The hash is cut into 16 chunks of 16 bits; a hash
//! within distance d of the query agrees with it to within ⌊d/16⌋ bits in at least one chunk.
//! The search widens the per-chunk radius step by step and stops as soon as the best matches
//! found are provably the nearest, so a close copy costs a few hundred table look-ups instead
//! of a scan of the whole archive.

use std::collections::HashMap;

const CHUNKS: usize = 16;

pub struct PdqIndex {
    hashes: Vec<[u8; 32]>,
    ids: Vec<String>,
    /// Per chunk, entries sorted by that chunk's value: `starts[c][v]..starts[c][v + 1]`
    /// indexes `members[c]` (a compressed table: no hashing, no per-bucket allocation).
    starts: Vec<Vec<u32>>,
    members: Vec<Vec<u32>>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    pub id: String,
    pub distance: u32,
    /// Which of the query's variants matched (0 = as given; others mirrored or rotated).
    pub variant: usize,
}

fn chunk(h: &[u8; 32], i: usize) -> u16 {
    u16::from_be_bytes([h[2 * i], h[2 * i + 1]])
}

fn distance(a: &[u8; 32], b: &[u8; 32]) -> u32 {
    a.iter().zip(b).map(|(x, y)| (x ^ y).count_ones()).sum()
}

/// All 16-bit values at exactly `r` bits from `v`.
fn at_radius(v: u16, r: u32, out: &mut Vec<u16>) {
    out.clear();
    if r == 0 {
        out.push(v);
        return;
    }
    // Gosper's hack over 16-bit masks with r bits set.
    let mut mask: u32 = (1 << r) - 1;
    while mask < (1 << 16) {
        out.push(v ^ mask as u16);
        let c = mask & mask.wrapping_neg();
        let r2 = mask + c;
        mask = (((r2 ^ mask) >> 2) / c) | r2;
    }
}

/// Once the nearest match is proven and all entries within this per-chunk radius have been
/// seen (distance < 64), the runners-up found so far are returned rather than widening
/// further: near the tail the search would cost as much as a scan.
const SETTLE_RADIUS: u32 = 3;

impl PdqIndex {
    pub fn new(entries: Vec<(String, [u8; 32])>) -> PdqIndex {
        let (ids, hashes): (Vec<String>, Vec<[u8; 32]>) = entries.into_iter().unzip();
        let mut starts = Vec::with_capacity(CHUNKS);
        let mut members = Vec::with_capacity(CHUNKS);
        for c in 0..CHUNKS {
            let mut count = vec![0u32; (1 << 16) + 1];
            for h in &hashes {
                count[chunk(h, c) as usize + 1] += 1;
            }
            for v in 1..count.len() {
                count[v] += count[v - 1];
            }
            let mut fill = count.clone();
            let mut list = vec![0u32; hashes.len()];
            for (n, h) in hashes.iter().enumerate() {
                let v = chunk(h, c) as usize;
                list[fill[v] as usize] = n as u32;
                fill[v] += 1;
            }
            starts.push(count);
            members.push(list);
        }
        PdqIndex {
            hashes,
            ids,
            starts,
            members,
        }
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Up to `k` entries nearest to any of the query's variants, nearest first, none farther
    /// than `max_distance`. The first is always the true nearest; the others are exact too
    /// unless they lie beyond distance 63.
    pub fn nearest(&self, variants: &[[u8; 32]], k: usize, max_distance: u32) -> Vec<Hit> {
        let mut best: HashMap<u32, (u32, usize)> = HashMap::new();
        let mut seen = vec![false; self.len() * variants.len()];
        let mut buf = Vec::new();
        for radius in 0..=16u32 {
            for (vi, q) in variants.iter().enumerate() {
                for c in 0..CHUNKS {
                    at_radius(chunk(q, c), radius, &mut buf);
                    for &key in &buf {
                        let (a, b) = (
                            self.starts[c][key as usize],
                            self.starts[c][key as usize + 1],
                        );
                        for &n in &self.members[c][a as usize..b as usize] {
                            let slot = n as usize * variants.len() + vi;
                            if std::mem::replace(&mut seen[slot], true) {
                                continue;
                            }
                            let d = distance(q, &self.hashes[n as usize]);
                            if d <= max_distance {
                                let e = best.entry(n).or_insert((d, vi));
                                if d < e.0 {
                                    *e = (d, vi);
                                }
                            }
                        }
                    }
                }
            }
            // Everything within this distance has now been seen.
            let covered = (radius + 1) * CHUNKS as u32 - 1;
            let mut found: Vec<(u32, u32, usize)> =
                best.iter().map(|(n, (d, v))| (*d, *n, *v)).collect();
            found.sort_unstable();
            let exact = found.len() >= k && found[k - 1].0 <= covered;
            let settled = radius >= SETTLE_RADIUS && found.first().is_some_and(|f| f.0 <= covered);
            if exact || settled || covered >= max_distance {
                found.truncate(k);
                return found
                    .into_iter()
                    .map(|(d, n, v)| Hit {
                        id: self.ids[n as usize].clone(),
                        distance: d,
                        variant: v,
                    })
                    .collect();
            }
        }
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn random_hash(seed: &mut u64) -> [u8; 32] {
        let mut h = [0u8; 32];
        for b in h.iter_mut() {
            *seed ^= *seed << 13;
            *seed ^= *seed >> 7;
            *seed ^= *seed << 17;
            *b = (*seed >> 32) as u8;
        }
        h
    }

    #[test]
    fn radius_enumeration() {
        let mut out = Vec::new();
        at_radius(0, 2, &mut out);
        assert_eq!(out.len(), 120);
        assert!(out.iter().all(|v| v.count_ones() == 2));
    }

    #[test]
    fn same_answer_as_a_scan() {
        let mut seed = 0x1234_5678_9abc_def1u64;
        let entries: Vec<(String, [u8; 32])> = (0..5000)
            .map(|i| (format!("{i}"), random_hash(&mut seed)))
            .collect();
        let index = PdqIndex::new(entries.clone());
        for t in 0..20 {
            let mut q = entries[t * 97].1;
            for bit in 0..(t * 3) {
                q[bit % 32] ^= 1 << (bit % 8);
            }
            let other = random_hash(&mut seed);
            let hits = index.nearest(&[q, other], 3, 128);
            let mut scan: Vec<(u32, usize)> = entries
                .iter()
                .enumerate()
                .map(|(n, (_, h))| (distance(&q, h).min(distance(&other, h)), n))
                .filter(|(d, _)| *d <= 128)
                .collect();
            scan.sort();
            assert_eq!(hits[0].id, format!("{}", t * 97));
            assert_eq!(hits[0].distance, scan[0].0, "the nearest is exact");
            let exact: Vec<u32> = scan
                .iter()
                .take(3)
                .map(|s| s.0)
                .filter(|d| *d < 64)
                .collect();
            let got: Vec<u32> = hits
                .iter()
                .map(|h| h.distance)
                .filter(|d| *d < 64)
                .collect();
            assert_eq!(got, exact, "runners-up within 63 are exact");
        }
    }
}
