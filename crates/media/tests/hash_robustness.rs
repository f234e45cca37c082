//! Perceptual hashes on generated photos: distances between a photo and
//! its resized, re-encoded (quality 60), cropped (10%), captioned and
//! mirrored copies, against distances to unrelated photos.

mod common;

use athar_media::ops::{crop, encode_jpeg, mirror, resize};
use athar_media::{
    analyze, decode_full, pdq_dihedral, pdq_distance, pdq_min_distance, phash_distance,
    AnalyzeOptions, RgbImage,
};

/// A black bar over the bottom eighth with blocky white "text".
fn caption(img: &RgbImage) -> RgbImage {
    let mut out = img.clone();
    let bar = img.height / 8;
    let y0 = img.height - bar;
    for y in y0..img.height {
        for x in 0..img.width {
            out.put(x, y, [0, 0, 0]);
        }
    }
    let cell = (bar / 6).max(2);
    let mut seed = 12345u32;
    let mut x = cell * 2;
    while x + 4 * cell < img.width - cell * 2 {
        // A 3x5-cell "letter" with random blocks.
        for cy in 0..5 {
            for cx in 0..3 {
                seed = seed.wrapping_mul(1_103_515_245).wrapping_add(12_345);
                if (seed >> 16) & 1 == 1 {
                    for yy in 0..cell {
                        for xx in 0..cell {
                            out.put(
                                x + cx * cell + xx,
                                y0 + cell / 2 + cy * cell + yy,
                                [255, 255, 255],
                            );
                        }
                    }
                }
            }
        }
        x += 4 * cell;
    }
    out
}

struct Stats {
    name: &'static str,
    pdq: Vec<u32>,
    phash: Vec<u32>,
}

impl Stats {
    fn line(&self) -> String {
        let mean = |v: &[u32]| v.iter().sum::<u32>() as f64 / v.len().max(1) as f64;
        format!(
            "{:<10} PDQ max {:>3} mean {:>5.1} | pHash max {:>2} mean {:>4.1}",
            self.name,
            self.pdq.iter().max().unwrap(),
            mean(&self.pdq),
            self.phash.iter().max().unwrap(),
            mean(&self.phash)
        )
    }
}

#[test]
fn hashes_survive_edits_and_separate_unrelated_photos() {
    let dir = common::corpus(8, 17, 1600, 1200);
    let truth = common::ground_truth(dir.path());
    let opts = AnalyzeOptions {
        derivatives: false,
        ..Default::default()
    };
    // Hash every photo once.
    let mut all = Vec::new();
    for row in &truth {
        let bytes = std::fs::read(dir.path().join(&row["path"])).unwrap();
        let a = analyze(&bytes, &opts);
        let group = if row["body_id"].is_empty() {
            row["path"].clone()
        } else {
            row["body_id"].clone()
        };
        all.push((group, a.pdq.unwrap(), a.phash.unwrap(), bytes));
    }
    let mut stats: Vec<Stats> = [
        "resized",
        "jpeg q60",
        "crop 10%",
        "captioned",
        "mirrored",
        "unrelated",
        "full decode",
    ]
    .into_iter()
    .map(|name| Stats {
        name,
        pdq: Vec::new(),
        phash: Vec::new(),
    })
    .collect();
    let hash = |img: &RgbImage, q: u8| {
        let a = analyze(&encode_jpeg(img, q).unwrap(), &opts);
        (a.pdq.unwrap(), a.phash.unwrap())
    };
    for (i, (group, pdq, ph, bytes)) in all.iter().enumerate().step_by(5) {
        let img = decode_full(bytes).unwrap();
        // analyze() hashes a reduced decode; the full decode must agree.
        let full = athar_media::pdq::pdq(&img).unwrap();
        stats[6].pdq.push(pdq_distance(&pdq.hash, &full.hash));
        stats[6]
            .phash
            .push(phash_distance(*ph, athar_media::phash(&img)));
        let variants = [
            resize(&img, img.width / 2, img.height / 2),
            img.clone(),
            crop(
                &img,
                img.width / 20,
                img.height / 20,
                img.width * 9 / 10,
                img.height * 9 / 10,
            ),
            caption(&img),
        ];
        for (k, v) in variants.iter().enumerate() {
            let (p2, h2) = hash(v, if k == 1 { 60 } else { 90 });
            stats[k].pdq.push(pdq_distance(&pdq.hash, &p2.hash));
            stats[k].phash.push(phash_distance(*ph, h2));
        }
        // Mirrored: compare against the original's eight dihedral hashes.
        let m = mirror(&img);
        let (pm, hm) = hash(&m, 90);
        let dih = pdq_dihedral(&img).unwrap();
        stats[4].pdq.push(pdq_min_distance(&pm.hash, &dih));
        stats[4].phash.push(phash_distance(*ph, hm));
        for (j, (g2, p2, h2, _)) in all.iter().enumerate() {
            if j != i && g2 != group {
                stats[5].pdq.push(pdq_distance(&pdq.hash, &p2.hash));
                stats[5].phash.push(phash_distance(*ph, *h2));
            }
        }
    }
    for s in &stats {
        eprintln!("{}", s.line());
    }
    let unrelated_min_pdq = *stats[5].pdq.iter().min().unwrap();
    let unrelated_min_ph = *stats[5].phash.iter().min().unwrap();
    eprintln!("unrelated: PDQ min {unrelated_min_pdq}, pHash min {unrelated_min_ph}");
    let mean = |v: &[u32]| v.iter().sum::<u32>() as f64 / v.len() as f64;
    let (unrel_pdq, unrel_ph) = (mean(&stats[5].pdq), mean(&stats[5].phash));
    // Resizing, re-encoding and mirroring (with the dihedral hashes): within
    // PDQ's usual match threshold of 31 and nearer than any unrelated photo.
    for k in [0, 1, 4, 6] {
        let max = *stats[k].pdq.iter().max().unwrap();
        assert!(max <= 31 && max < unrelated_min_pdq, "{}", stats[k].line());
    }
    for k in [0, 1] {
        assert!(
            *stats[k].phash.iter().max().unwrap() <= 6,
            "{}",
            stats[k].line()
        );
    }
    // Cropping and captions change the global frequency content (a known
    // limit of both hashes): nearer than unrelated photos on average, not
    // always below a match threshold.
    for k in [2, 3] {
        assert!(
            mean(&stats[k].pdq) < 0.75 * unrel_pdq,
            "{}",
            stats[k].line()
        );
        assert!(
            mean(&stats[k].phash) < 0.6 * unrel_ph,
            "{}",
            stats[k].line()
        );
    }
}
