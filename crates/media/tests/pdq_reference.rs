//! PDQ against the reference implementation (Meta's C++ code through the
//! `pdqhash` Python bindings, 0.2.8), on synthetic images both sides
//! generate identically. Vectors made with:
//!
//! ```python
//! x = np.arange(w)[None, :]; y = np.arange(h)[:, None]
//! r = ((x // (7 + k)) * 31 + (y // (5 + k)) * 57 + (x * y) // (97 + k)) % 256
//! g = (x * 255 // w + (y // 11) * 23 * k) % 256
//! b = ((x + 2 * y) * (3 + k) // 4) % 256
//! pdqhash.compute(np.stack([r, g, b], axis=2).astype(np.uint8))
//! ```

use athar_media::pdq::{hash_hex, parse_hex, pdq_dihedral_from_luma, pdq_from_luma};
use athar_media::{pdq_distance, RgbImage};

fn pattern(w: u32, h: u32, k: u32) -> RgbImage {
    let mut img = RgbImage::new(w, h);
    for y in 0..h as u64 {
        for x in 0..w as u64 {
            let k = k as u64;
            let r = ((x / (7 + k)) * 31 + (y / (5 + k)) * 57 + (x * y) / (97 + k)) % 256;
            let g = (x * 255 / w as u64 + (y / 11) * 23 * k) % 256;
            let b = ((x + 2 * y) * (3 + k) / 4) % 256;
            img.put(x as u32, y as u32, [r as u8, g as u8, b as u8]);
        }
    }
    img
}

const VECTORS: [(u32, u32, u32, &str, u8); 5] = [
    (
        64,
        64,
        0,
        "23f4b62fa1a566311a4e4b58ccd97d1bf8c0527b45d6937cf7208e147982c5bc",
        100,
    ),
    (
        100,
        75,
        1,
        "96daeb169d9ce3d1dd297365d4d0b157ad0a2bd6126d4cb869a2e8483712cd54",
        100,
    ),
    (
        512,
        384,
        2,
        "8ad34ca2888b4ffeddd44ba989f449d9b9f4fca1faccd2a0a7c453a1a6c443a0",
        100,
    ),
    (
        1000,
        750,
        3,
        "46fee2a836fcf3a832f4f7a87520e269352ce2747730a268251cf27c353ce078",
        100,
    ),
    (
        333,
        500,
        4,
        "46bc6f1a7ab0d2a10a24822dd2bca3b2dabef7e0decee3a3d7093344da8c9780",
        100,
    ),
];

/// `pdqhash.compute_dihedral` of pattern(512, 384, 2), reference order.
const DIHEDRAL: [&str; 8] = [
    "8ad34ca2888b4ffeddd44ba989f449d9b9f4fca1faccd2a0a7c453a1a6c443a0",
    "a2aaa38a00a0f78bb3e0a7b5803ee077bedf647554d5e47f1520e555f0005abf",
    "df96e608ddd6e7544081a303dca1a3f3fca1f60aafd9f80ad291f80ad3d1aa0a",
    "f7ff012055f55521a2b5051fd56a4ad5abaa4edd01804ed540754ffda555f015",
    "8a83b35d8883b20101d4b65689d4f6a6a9f4a35efa8cad5f86c4ad5f8680bd5f",
    "df961177ddd618ab008114fcdc815c0cfca109f4af5907f5d29107f5d39115f5",
    "aafa5d7500ea08f4ffe0584a943f1f8dffff9baa56d59b8035201aaaf000a544",
    "f7fffade55f5a2dea2b5f2e0d56bb522abaa31220380b12a4075b000a5550faa",
];

#[test]
fn pdq_matches_reference_vectors() {
    for (w, h, k, want, q) in VECTORS {
        let img = pattern(w, h, k);
        let got = pdq_from_luma(&img.luma_f32(), w as usize, h as usize).unwrap();
        let want = parse_hex(want).unwrap();
        let d = pdq_distance(&got.hash, &want);
        // Float summation order may flip a coefficient sitting exactly at
        // the median; anything more is a bug.
        assert!(
            d <= 2,
            "{w}x{h}: {} vs {} ({d} bits)",
            got.hex(),
            hash_hex(&want)
        );
        assert_eq!(got.quality, q);
    }
}

#[test]
fn pdq_dihedral_matches_reference() {
    let img = pattern(512, 384, 2);
    let all = pdq_dihedral_from_luma(&img.luma_f32(), 512, 384).unwrap();
    for (got, want) in all.iter().zip(DIHEDRAL) {
        let want = parse_hex(want).unwrap();
        assert!(
            pdq_distance(&got.hash, &want) <= 2,
            "{} vs {}",
            got.hex(),
            hash_hex(&want)
        );
    }
}

#[test]
fn reduced_hash_plane_stays_near_the_reference() {
    // analyze() hashes a luma plane of at most 512 px (pdq::hash_luma).
    for (w, h, k, want, _) in VECTORS {
        let got = athar_media::pdq::pdq(&pattern(w, h, k)).unwrap();
        let d = pdq_distance(&got.hash, &parse_hex(want).unwrap());
        eprintln!("{w}x{h}: reduced-plane PDQ is {d} bits from the full-resolution reference");
        assert!(d <= 40, "{w}x{h}: {d}");
    }
}
