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
    let n = 20;
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
}
