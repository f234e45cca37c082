//! Time the stages of `analyze` on one file (development aid).
//! `cargo run --release -p athar-media --example stages -- FILE`
use std::time::Instant;

use athar_media::{decode_reduced, ops, pdq, phash};

fn time<T>(name: &str, n: u32, mut f: impl FnMut() -> T) -> T {
    if let Some(only) = std::env::args().nth(2) {
        if only != name {
            return f();
        }
    }
    let t = Instant::now();
    let mut r = f();
    for _ in 1..n {
        r = f();
    }
    println!(
        "{name:<28} {:>8.3} ms",
        t.elapsed().as_secs_f64() * 1e3 / n as f64
    );
    r
}

fn main() {
    let path = std::env::args().nth(1).expect("FILE");
    let bytes = std::fs::read(path).unwrap();
    let n: u32 = std::env::var("STAGES_N")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    if std::env::args().nth(2).as_deref() == Some("decoder") {
        return decoder_stages(&bytes);
    }
    time("exif", n, || athar_media::read_exif(&bytes).ok());
    time("decode full", 5, || {
        athar_media::decode_full(&bytes).unwrap()
    });
    time("decode >=800", n, || decode_reduced(&bytes, 800).unwrap());
    let d = time("decode >=320", n, || decode_reduced(&bytes, 320).unwrap());
    let w = &d.image;
    time("pdq", n, || pdq::pdq(w));
    time("phash", n, || phash::phash(w));
    println!(
        "{:?}",
        athar_media::decode::decode_jpeg_fast(&bytes, 4).map(|i| (i.width, i.height))
    );
    time("fast 1/4", n, || {
        athar_media::decode::decode_jpeg_fast(&bytes, 4).unwrap()
    });
    time("jpeg-decoder 1/4", n, || {
        let mut d = jpeg_decoder::Decoder::new(&bytes[..]);
        d.read_info().unwrap();
        d.scale(400, 400).unwrap();
        d.decode().unwrap()
    });
    time("fast 1/4 again", n, || {
        athar_media::decode::decode_jpeg_fast(&bytes, 4).unwrap()
    });
    time("fast 1/8", n, || {
        athar_media::decode::decode_jpeg_fast(&bytes, 8).unwrap()
    });
    time("decode >=160", n, || decode_reduced(&bytes, 160).unwrap());
    let th = time("resize to 320", n, || ops::resize(w, 320, 240));
    time("encode 320 q80", n, || ops::encode_jpeg(&th, 80).unwrap());
    let s = time("resize to 300", n, || ops::resize(w, 300, 225));
    let b = time("blur 300 s=3", n, || ops::gaussian_blur(&s, 3.0));
    let up = time("resize 300->640", n, || ops::resize(&b, 640, 480));
    time("encode 640 q75", n, || ops::encode_jpeg(&up, 75).unwrap());
    time("analyze (default)", n, || {
        athar_media::analyze(&bytes, &Default::default())
    });
    let o = athar_media::AnalyzeOptions {
        read_card: true,
        ..Default::default()
    };
    time("analyze (card)", n, || athar_media::analyze(&bytes, &o));
    let big = decode_reduced(&bytes, 800).unwrap().image;
    time("read_card 800", n, || athar_media::read_card(&big));
    let work = decode_reduced(&bytes, 400).unwrap().image;
    let hints = time("card_regions 400", n, || {
        athar_media::card::card_regions(&work)
    });
    println!("{hints:?}");
    time("decode >=800 colour", n, || {
        decode_reduced(&bytes, 800).unwrap()
    });
    time("decode >=800 grey in hints", n, || {
        athar_media::decode::decode_reduced_grey_in(&bytes, 800, &hints).unwrap()
    });
    time("may_show_card 400", n * 5, || {
        athar_media::card::may_show_card(&work)
    });
    let c = time("read_card_near 800", n * 5, || {
        athar_media::card::read_card_near(&big, &hints)
    });
    println!("{:?}", c.map(|c| (c.lines, c.corners)));
    println!(
        "{:?}",
        athar_media::read_card(&big).map(|c| (c.lines, c.corners))
    );
    hashes_and_derivatives(&bytes);
}

/// Median of `n` timed runs of `f`, in ms.
fn median_ms<T>(n: usize, mut f: impl FnMut() -> T) -> f64 {
    let mut ts: Vec<f64> = (0..n)
        .map(|_| {
            let t = Instant::now();
            std::hint::black_box(f());
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    ts.sort_by(f64::total_cmp);
    ts[n / 2]
}

/// The decoder alone (second argument `decoder`): minimum and median of 300
/// runs per size, the sizes interleaved so that load from other processes
/// hits them alike. The minimum is the steadier figure on a busy machine.
fn decoder_stages(bytes: &[u8]) {
    use athar_media::decode::decode_jpeg_fast;
    let n = 300;
    let names = ["fast 1/4", "fast 1/8", "fast 1/2"];
    let mut ts = vec![Vec::with_capacity(n); names.len()];
    for _ in 0..n {
        for (i, t) in ts.iter_mut().enumerate() {
            let start = Instant::now();
            match i {
                0 => drop(std::hint::black_box(decode_jpeg_fast(bytes, 4))),
                1 => drop(std::hint::black_box(decode_jpeg_fast(bytes, 8))),
                _ => drop(std::hint::black_box(decode_jpeg_fast(bytes, 2))),
            }
            t.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    for (name, mut t) in names.iter().zip(ts) {
        t.sort_by(f64::total_cmp);
        println!(
            "{name:<28} {:>8.3} ms (min) {:>8.3} ms (median)",
            t[0],
            t[n / 2]
        );
    }
}

/// The hashes and derivatives of `analyze`, stage by stage (medians of 200
/// runs), then their whole cost inside `analyze` (with minus without).
fn hashes_and_derivatives(bytes: &[u8]) {
    use athar_media::AnalyzeOptions;
    let n = 200;
    let w = decode_reduced(bytes, 320).unwrap().image;
    let line = |name: &str, ms: f64| println!("{name:<28} {ms:>8.3} ms (median)");
    line("luma_f32", median_ms(n, || w.luma_f32()));
    let (luma, lw, lh) = pdq::hash_luma(&w);
    line("hash_luma", median_ms(n, || pdq::hash_luma(&w)));
    line(
        "pdq_from_luma",
        median_ms(n, || pdq::pdq_from_luma(&luma, lw, lh)),
    );
    line(
        "phash_from_luma",
        median_ms(n, || phash::phash_from_luma(&luma, lw, lh)),
    );
    let (tw, th) = ops::fit(w.width, w.height, 320);
    let thumb = ops::resize(&w, tw, th);
    line(
        "resize to thumbnail",
        median_ms(n, || ops::resize(&w, tw, th)),
    );
    line(
        "encode thumbnail q80",
        median_ms(n, || ops::encode_jpeg(&thumb, 80)),
    );
    let half = ops::halve(&thumb);
    line("halve thumbnail", median_ms(n, || ops::halve(&thumb)));
    let blurred = ops::gaussian_blur(&half, 1.6);
    line(
        "blur 1/2 thumbnail s=1.6",
        median_ms(n, || ops::gaussian_blur(&half, 1.6)),
    );
    line(
        "encode 1/2 q75",
        median_ms(n, || ops::encode_jpeg(&blurred, 75)),
    );
    let quarter = ops::halve(&half);
    let blurred = ops::gaussian_blur(&quarter, 2.4);
    line(
        "blur 1/4 thumbnail s=2.4",
        median_ms(n, || ops::gaussian_blur(&quarter, 2.4)),
    );
    line(
        "encode 1/4 q75",
        median_ms(n, || ops::encode_jpeg(&blurred, 75)),
    );
    // Whole costs inside `analyze`, runs interleaved so that load from
    // other processes hits both sides alike: hashes are the default minus
    // derivatives only, derivatives the default minus hashes only (each
    // pair decodes at the same size).
    let only_derivs = AnalyzeOptions {
        hashes: false,
        ..Default::default()
    };
    let only_hashes = AnalyzeOptions {
        derivatives: false,
        ..Default::default()
    };
    let all = AnalyzeOptions::default();
    let mut ts = [vec![], vec![], vec![]];
    for _ in 0..n {
        for (t, o) in ts.iter_mut().zip([&all, &only_derivs, &only_hashes]) {
            let start = Instant::now();
            std::hint::black_box(athar_media::analyze(bytes, o));
            t.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    let [all, d, h] = ts.map(|mut t| {
        t.sort_by(f64::total_cmp);
        t[n / 2]
    });
    line("analyze (default)", all);
    line("  hashes in it", all - d);
    line("  derivatives in it", all - h);
    line("  both", (all - d) + (all - h));
}
