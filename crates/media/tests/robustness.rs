//! Damaged, truncated, odd and non-image input: a clear error, never a
//! panic, and EXIF still read where it is intact.

mod common;

use athar_media::{analyze, AnalyzeOptions, DerivativeKind};

fn sample(name: &str) -> Option<Vec<u8>> {
    let d = common::samples_dir()?;
    std::fs::read(d.join(name)).ok()
}

#[test]
fn corrupted_sample_gives_reason_and_exif() {
    let Some(bytes) = sample("corrupted.jpg") else {
        eprintln!("NOTE: samples not found; skipped");
        return;
    };
    let a = analyze(&bytes, &AnalyzeOptions::default());
    eprintln!("corrupted.jpg: {:?}", a.error);
    let err = a.error.as_deref().expect("decode error reported");
    assert!(err.starts_with("JPEG"), "{err}");
    assert_eq!(a.media_type, "image/jpeg");
    assert_eq!((a.width, a.height), (Some(3648), Some(2736)));
    let e = a.exif.expect("EXIF still read");
    assert_eq!(e.make.as_deref(), Some("OLYMPUS IMAGING CORP."));
    assert_eq!(e.serial.as_deref(), Some("F70501740"));
    assert!(a.pdq.is_none() && a.derivatives.is_empty());
}

#[test]
fn truncated_copies_never_panic() {
    let Some(bytes) = sample("DSCN0010.jpg") else {
        eprintln!("NOTE: samples not found; skipped");
        return;
    };
    let full = analyze(&bytes, &AnalyzeOptions::default());
    assert!(full.error.is_none(), "{:?}", full.error);
    let exif_end = 2 + 2 + u16::from_be_bytes([bytes[4], bytes[5]]) as usize;
    for frac in [0.0, 0.001, 0.01, 0.05, 0.2, 0.5, 0.8, 0.95, 0.999] {
        let n = (bytes.len() as f64 * frac) as usize;
        let a = analyze(&bytes[..n], &AnalyzeOptions::default());
        if n < bytes.len() - 2 {
            assert!(a.error.is_some(), "cut at {n}: no error reported");
        }
        if n > exif_end {
            let e = a.exif.as_ref().expect("EXIF before the cut is read");
            assert_eq!(e.model.as_deref(), Some("COOLPIX P6000"));
        }
        if frac == 0.5 {
            eprintln!("truncated at 50%: {:?}", a.error);
        }
    }
}

#[test]
fn damaged_bytes_never_panic() {
    let dir = common::corpus(1, 5, 320, 240);
    let photo = common::photos(dir.path()).remove(0);
    let bytes = std::fs::read(photo).unwrap();
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    for round in 0..60 {
        let mut b = bytes.clone();
        for _ in 0..(1 + round % 8) {
            let i = (next() % b.len() as u64) as usize;
            b[i] = next() as u8;
        }
        if round % 5 == 0 {
            let cut = (next() % b.len() as u64) as usize;
            b.truncate(cut);
        }
        let _ = analyze(&b, &AnalyzeOptions::default());
    }
}

#[test]
fn non_images_and_undecodable_images() {
    let a = analyze(b"hello, world", &AnalyzeOptions::default());
    assert_eq!(a.media_type, "application/octet-stream");
    assert!(a.error.unwrap().contains("not an image"));
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0";
    let a = analyze(heic, &AnalyzeOptions::default());
    assert_eq!(a.media_type, "image/heic");
    assert!(a.error.unwrap().contains("no decoder"));
    let a = analyze(&[], &AnalyzeOptions::default());
    assert!(a.error.is_some());
}

fn test_image() -> image::RgbImage {
    image::RgbImage::from_fn(300, 200, |x, y| {
        image::Rgb([(x % 256) as u8, (y * 2 % 256) as u8, ((x + y) % 256) as u8])
    })
}

#[test]
fn png_and_tiff_are_analysed() {
    for fmt in [image::ImageFormat::Png, image::ImageFormat::Tiff] {
        let mut buf = std::io::Cursor::new(Vec::new());
        test_image().write_to(&mut buf, fmt).unwrap();
        let a = analyze(buf.get_ref(), &AnalyzeOptions::default());
        assert!(a.error.is_none(), "{fmt:?}: {:?}", a.error);
        assert_eq!((a.width, a.height), (Some(300), Some(200)));
        assert!(a.pdq.is_some() && a.phash.is_some());
        let t = a.derivative(DerivativeKind::Thumbnail).unwrap();
        assert_eq!((t.width, t.height), (300, 200));
        // Truncated: an error, no panic.
        let cut = &buf.get_ref()[..buf.get_ref().len() / 2];
        let a = analyze(cut, &AnalyzeOptions::default());
        assert!(a.error.is_some(), "{fmt:?} truncated");
    }
}

#[test]
fn derivatives_are_jpegs_of_the_right_size() {
    let dir = common::corpus(1, 9, 1600, 1200);
    let photo = common::photos(dir.path()).remove(0);
    let bytes = std::fs::read(photo).unwrap();
    let a = analyze(&bytes, &AnalyzeOptions::default());
    assert!(a.error.is_none(), "{:?}", a.error);
    assert_eq!((a.width, a.height), (Some(1600), Some(1200)));
    for (kind, w, h) in [
        (DerivativeKind::Thumbnail, 320, 240),
        (DerivativeKind::BlurMedium, 160, 120),
        (DerivativeKind::BlurStrong, 80, 60),
    ] {
        let d = a.derivative(kind).unwrap();
        assert_eq!((d.width, d.height), (w, h), "{kind:?}");
        if kind != DerivativeKind::Thumbnail {
            assert_eq!((d.display_width, d.display_height), (320, 240), "{kind:?}");
        }
        let img = athar_media::decode_full(&d.bytes).unwrap();
        assert_eq!((img.width, img.height), (w, h));
        eprintln!("{kind:?}: {} bytes; {}", d.bytes.len(), d.transform);
    }
    let json = serde_json::to_value(&a).unwrap();
    assert!(json["pdq"]["hash"].as_str().unwrap().len() == 64);
    assert!(json["phash"].as_str().unwrap().len() == 16);
    // Larger previews on request (at most 640 px).
    let opts = AnalyzeOptions {
        preview_max: 640,
        ..Default::default()
    };
    let a = analyze(&bytes, &opts);
    let d = a.derivative(DerivativeKind::BlurStrong).unwrap();
    assert_eq!((d.display_width, d.display_height), (640, 480));
    assert_eq!((d.width, d.height), (80, 60));
}

#[test]
fn orientation_is_applied_to_derivatives_only() {
    // A 200x100 JPEG marked "rotate 90 CW" (orientation 6).
    let px: Vec<u8> = (0..200 * 100)
        .flat_map(|i| [(i % 200) as u8, 50, 50])
        .collect();
    let mut jpeg = Vec::new();
    let mut enc = jpeg_encoder::Encoder::new(&mut jpeg, 90);
    let mut exif =
        b"Exif\0\0II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0".to_vec();
    exif.truncate(6 + 8 + 2 + 12 + 4);
    enc.add_app_segment(1, exif).unwrap();
    enc.encode(&px, 200, 100, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    let a = analyze(&jpeg, &AnalyzeOptions::default());
    assert_eq!(a.exif.as_ref().unwrap().orientation, Some(6));
    assert_eq!((a.width, a.height), (Some(200), Some(100)));
    let t = a.derivative(DerivativeKind::Thumbnail).unwrap();
    assert_eq!((t.width, t.height), (100, 200));
    assert!(t.transform.contains("orientation 6"));
}
