//! Time the derivatives (thumbnail and two blurred previews) of photos
//! alone, and optionally write them out to look at.
//!
//! ```text
//! cargo run --release -p athar-media --example derivatives -- DIR [--limit N] [--rounds R] [--write OUT]
//! ```
//!
//! Each photo under DIR (the first N, default 200, sorted by path) is
//! decoded once as `analyze` does (1/4-scale DCT decode, EXIF orientation);
//! then `derivatives` runs over all of them R times (default 15). Printed per
//! photo: the median and minimum wall time of the rounds, the CPU time over
//! all rounds, and each part (resize, halvings, blurs, JPEG encodes) timed
//! the same way on the same images.
//! With `--write OUT`, each photo's derivatives go to OUT as JPEG files.

mod support;

use std::path::PathBuf;
use std::time::Instant;
use support::{cpu_seconds, walk};

use athar_media::{decode_reduced, derivatives, ops, read_exif, AnalyzeOptions, RgbImage};

/// Per item, in µs: (median wall time of the `rounds`, minimum wall time,
/// CPU time over all rounds). On a shared machine the CPU time is the
/// steadier figure (it does not count time spent waiting for a core).
fn per_item(rounds: usize, items: usize, mut f: impl FnMut()) -> (f64, f64, f64) {
    let cpu0 = cpu_seconds();
    let mut ts: Vec<f64> = (0..rounds)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e6 / items as f64
        })
        .collect();
    let cpu = (cpu_seconds() - cpu0) * 1e6 / (rounds * items) as f64;
    ts.sort_by(f64::total_cmp);
    (ts[rounds / 2], ts[0], cpu)
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mut dir = None;
    let (mut limit, mut rounds, mut write) = (200usize, 15usize, None::<PathBuf>);
    while let Some(a) = args.next() {
        let mut num = |what: &str| -> usize {
            args.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| panic!("{what} needs a number"))
        };
        match a.as_str() {
            "--limit" => limit = num("--limit"),
            "--rounds" => rounds = num("--rounds").max(1),
            "--write" => write = args.next().map(PathBuf::from),
            _ => dir = Some(PathBuf::from(a)),
        }
    }
    let dir = dir.expect("usage: derivatives DIR [--limit N] [--rounds R] [--write OUT]");
    let mut files = Vec::new();
    walk(&dir, &mut files);
    files.sort();
    let opts = AnalyzeOptions::default();
    let photos: Vec<_> = files
        .iter()
        .filter_map(|p| {
            let bytes = std::fs::read(p).ok()?;
            let orientation = read_exif(&bytes)
                .ok()
                .flatten()
                .and_then(|e| e.orientation)
                .unwrap_or(1);
            let dec = decode_reduced(&bytes, opts.thumbnail_max).ok()?;
            Some((p, dec, orientation))
        })
        .take(limit)
        .collect();
    let n = photos.len();
    println!("{}: {n} photos decoded; {rounds} rounds", dir.display());
    if let Some(out) = &write {
        std::fs::create_dir_all(out).expect("create the output folder");
        for (i, (p, dec, o)) in photos.iter().enumerate() {
            let (ds, errs) = derivatives(dec, *o, &opts);
            assert!(errs.is_empty(), "{}: {errs:?}", p.display());
            for d in ds {
                let name = format!("{i:04}-{}.jpg", d.kind.as_str());
                std::fs::write(out.join(name), &d.bytes).expect("write");
            }
        }
        println!("wrote {} files to {}", 3 * n, out.display());
    }
    let line = |name: &str, (med, min, cpu): (f64, f64, f64)| {
        println!(
            "{name:<26} wall {med:>7.1} µs median {min:>7.1} µs min; CPU {cpu:>7.1} µs (per photo)"
        )
    };
    line(
        "derivatives (all three)",
        per_item(rounds, n, || {
            for (_, dec, o) in &photos {
                std::hint::black_box(derivatives(dec, *o, &opts));
            }
        }),
    );
    // The parts, on the same images, as `derivatives` runs them (default
    // options: 320 px thumbnail, previews halved to 160 and 80 px).
    let works: Vec<&RgbImage> = photos.iter().map(|(_, d, _)| &d.image).collect();
    let fit = |img: &RgbImage| ops::fit(img.width, img.height, opts.thumbnail_max);
    let thumbs: Vec<RgbImage> = works
        .iter()
        .map(|w| {
            let (tw, th) = fit(w);
            ops::resize(w, tw, th)
        })
        .collect();
    let halves: Vec<RgbImage> = thumbs.iter().map(ops::halve).collect();
    let quarters: Vec<RgbImage> = halves.iter().map(ops::halve).collect();
    let each =
        |imgs: &[RgbImage], f: &dyn Fn(&RgbImage)| per_item(rounds, n, || imgs.iter().for_each(f));
    line(
        "resize to thumbnail",
        per_item(rounds, n, || {
            for w in &works {
                let (tw, th) = fit(w);
                std::hint::black_box(ops::resize(w, tw, th));
            }
        }),
    );
    line(
        "encode thumbnail",
        each(&thumbs, &|t| {
            std::hint::black_box(ops::encode_jpeg(t, opts.thumbnail_quality).unwrap());
        }),
    );
    line(
        "halve twice",
        each(&thumbs, &|t| {
            std::hint::black_box(ops::halve(&ops::halve(t)));
        }),
    );
    // Sigma scales with the size: the same fraction of the smaller side.
    let s_med = |img: &RgbImage| opts.blur_medium * img.width.max(img.height) as f32;
    let s_str = |img: &RgbImage| opts.blur_strong * img.width.max(img.height) as f32;
    line(
        "blur medium (1/2)",
        each(&halves, &|h| {
            std::hint::black_box(ops::gaussian_blur(h, s_med(h)));
        }),
    );
    line(
        "blur strong (1/4)",
        each(&quarters, &|q| {
            std::hint::black_box(ops::gaussian_blur(q, s_str(q)));
        }),
    );
    line(
        "encode both previews",
        per_item(rounds, n, || {
            for (h, q) in halves.iter().zip(&quarters) {
                std::hint::black_box(ops::encode_jpeg(h, opts.preview_quality).unwrap());
                std::hint::black_box(ops::encode_jpeg(q, opts.preview_quality).unwrap());
            }
        }),
    );
}
