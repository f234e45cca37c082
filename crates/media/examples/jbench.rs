use std::time::Instant;
fn main() {
    let a: Vec<String> = std::env::args().collect();
    let bytes = std::fs::read(&a[1]).unwrap();
    let which = a[2].as_str();
    let n: u32 = std::env::var("N").ok().and_then(|v| v.parse().ok()).unwrap_or(200);
    let t = Instant::now();
    for _ in 0..n {
        match which {
            "fast4" => { athar_media::decode::decode_jpeg_fast(&bytes, 4).unwrap(); }
            "fast8" => { athar_media::decode::decode_jpeg_fast(&bytes, 8).unwrap(); }
            "analyze" => { athar_media::analyze(&bytes, &Default::default()); }
            _ => {
                let mut d = jpeg_decoder::Decoder::new(&bytes[..]);
                d.read_info().unwrap();
                d.scale(400, 400).unwrap();
                d.decode().unwrap();
            }
        }
    }
    println!("{which} {:.3} ms", t.elapsed().as_secs_f64() * 1e3 / n as f64);
}
