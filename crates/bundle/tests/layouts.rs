//! The shard layout and repair across many shapes: payload sizes, parity budgets, part
//! sizes. Each bundle loses as many whole parts as its budget allows (plus a damaged byte
//! where room is left) and must come back byte for byte; one more lost part must be
//! reported as beyond repair.

use std::io::Write;

use athar_bundle::check::check;
use athar_bundle::layout::Layout;
use athar_bundle::payload::Payload;
use athar_bundle::scan::scan;
use athar_bundle::writer::{BundleWriter, ManifestInfo};
use athar_tlog::Signer;

fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn write_bundle(dir: &std::path::Path, payload: &[u8], parity: u32, part_size: u64) -> Layout {
    let layout = Layout::plan(payload.len() as u64 + 24, parity, part_size).unwrap();
    let mut w = BundleWriter::create(dir, layout).unwrap();
    w.write_all(payload).unwrap();
    let signer = Signer::from_seed("athar.source/test", &[9; 32]).unwrap();
    let sealed = w
        .finish(
            0,
            0,
            ManifestInfo {
                kind: "source",
                seq: 1,
                signer: &signer,
            },
            Some(part_size),
        )
        .unwrap()
        .publish()
        .unwrap();
    assert!(sealed.manifest.part_size <= part_size);
    layout
}

fn parts(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn every_shape_survives_its_budget_and_no_more() {
    let mut case = 0u64;
    for &parity in &[0u32, 5, 10, 30, 100] {
        for &size in &[1usize, 100, 64_003, 700_000, 3_000_001] {
            for &part_size in &[64u64 << 10, 4 << 30] {
                case += 1;
                let tmp = tempfile::tempdir().unwrap();
                let dir = tmp.path().join("drive");
                let payload = noise(case, size);
                let layout = write_bundle(&dir, &payload, parity, part_size);
                let all = parts(&dir);
                assert_eq!(all.len(), layout.parts as usize);
                let lose = layout.parts_tolerated() as usize;
                if parity >= 10 {
                    assert!(lose >= 1, "{parity}% {size} B: {layout:?}");
                }
                // Lose whole parts (spread out), then damage a byte elsewhere if a row has room.
                let victims: Vec<usize> = (0..lose).map(|i| (i * 7 + 1) % all.len()).collect();
                let mut victims = victims;
                victims.sort();
                victims.dedup();
                for &v in &victims {
                    std::fs::remove_file(&all[v]).unwrap();
                }
                let spare = layout.parity as usize - victims.len() * layout.cpp() as usize;
                if spare > 0 {
                    let other = (0..all.len()).find(|i| !victims.contains(i)).unwrap();
                    let mut bytes = std::fs::read(&all[other]).unwrap();
                    bytes[64] ^= 1;
                    std::fs::write(&all[other], bytes).unwrap();
                }
                let found = scan(&dir).unwrap();
                assert_eq!(found.bundles.len(), 1, "{:?}", found.problems);
                let b = &found.bundles[0];
                let out = tmp.path().join("repaired");
                let report = check(b, Some(&out)).unwrap();
                assert!(
                    report.recoverable,
                    "{parity}% {size} B {part_size}: {}",
                    report.refusal()
                );
                let p = Payload::open_dir(&out, &b.manifest).unwrap();
                let mut back = vec![0u8; size];
                p.read_exact_at(0, &mut back).unwrap();
                assert!(back == payload, "{parity}% {size} B: payload differs");

                // One more lost part is beyond repair, and says which.
                if parity > 0 {
                    let extra = (0..all.len()).find(|i| !victims.contains(i)).unwrap();
                    std::fs::remove_file(&all[extra]).unwrap();
                    let found = scan(&dir).unwrap();
                    if let Some(b) = found.bundles.first() {
                        let report = check(b, None).unwrap();
                        assert!(!report.recoverable, "{parity}% {size} B: {layout:?}");
                        let name = all[extra].file_name().unwrap().to_str().unwrap();
                        assert!(report.refusal().contains(name));
                    }
                }
            }
        }
    }
}
