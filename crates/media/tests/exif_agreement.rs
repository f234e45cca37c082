//! The EXIF fields agree with `exiftool -j` (strings, as printed) and
//! `exiftool -j -n` (numbers) on the real-camera samples and on generated
//! photos.

mod common;

use std::path::PathBuf;

use athar_media::read_exif;
use serde_json::Value;

fn as_text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

fn check(files: &[PathBuf]) -> usize {
    let printed = common::exiftool_json(files, false);
    let numeric = common::exiftool_json(files, true);
    assert_eq!(printed.len(), files.len());
    let mut checked = 0;
    for ((path, p), n) in files.iter().zip(&printed).zip(&numeric) {
        let name = path.display();
        let bytes = std::fs::read(path).unwrap();
        let ours = read_exif(&bytes).unwrap_or_else(|e| panic!("{name}: {e}"));
        let Some(e) = ours else {
            for k in ["Make", "Model", "DateTimeOriginal", "Orientation"] {
                assert!(
                    p.get(k).is_none(),
                    "{name}: exiftool has {k}, we found no EXIF"
                );
            }
            continue;
        };
        let fields: [(&str, &Option<String>); 7] = [
            ("Make", &e.make),
            ("Model", &e.model),
            ("SerialNumber", &e.serial),
            ("DateTimeOriginal", &e.datetime_original),
            ("SubSecTimeOriginal", &e.subsec),
            ("OffsetTimeOriginal", &e.offset),
            ("Software", &e.software),
        ];
        for (tag, ours) in fields {
            assert_eq!(ours, &as_text(p.get(tag)), "{name}: {tag}");
        }
        assert_eq!(
            e.orientation.map(u64::from),
            n.get("Orientation").and_then(Value::as_u64),
            "{name}: Orientation"
        );
        let lat = n.get("GPSLatitude").and_then(Value::as_f64);
        let lon = n.get("GPSLongitude").and_then(Value::as_f64);
        match (&e.gps, lat, lon) {
            (Some(g), Some(la), Some(lo)) => {
                assert!((g.lat - la).abs() < 1e-6, "{name}: lat {} vs {la}", g.lat);
                assert!((g.lon - lo).abs() < 1e-6, "{name}: lon {} vs {lo}", g.lon);
            }
            (None, None, None) => {}
            other => panic!("{name}: GPS disagrees: {other:?}"),
        }
        let thumb_len = p.get("ThumbnailImage").and_then(Value::as_str).map(|s| {
            s.trim_start_matches("(Binary data ")
                .split(' ')
                .next()
                .unwrap()
                .parse::<usize>()
                .unwrap()
        });
        assert_eq!(
            e.thumbnail.as_ref().map(Vec::len),
            thumb_len,
            "{name}: thumbnail"
        );
        if let Some(t) = &e.thumbnail {
            assert!(
                t.starts_with(&[0xFF, 0xD8]),
                "{name}: thumbnail is not a JPEG"
            );
        }
        assert!(e.raw.get("IFD0").is_some(), "{name}: raw JSON has IFD0");
        checked += 1;
    }
    checked
}

#[test]
fn agrees_with_exiftool_on_real_camera_samples() {
    if !common::have_exiftool() {
        eprintln!("NOTE: exiftool not installed; EXIF agreement test skipped");
        return;
    }
    let files = common::sample_files();
    if files.is_empty() {
        eprintln!("NOTE: shared/samples/real-cameras not found; test skipped");
        return;
    }
    let n = check(&files);
    eprintln!(
        "EXIF agrees with exiftool on {n} of {} sample files",
        files.len()
    );
    assert_eq!(n, files.len());
}

#[test]
fn agrees_with_exiftool_on_generated_photos() {
    if !common::have_exiftool() {
        eprintln!("NOTE: exiftool not installed; EXIF agreement test skipped");
        return;
    }
    let dir = common::corpus(5, 11, 320, 240);
    let mut files = common::photos(dir.path());
    files.truncate(24);
    assert!(files.len() >= 20, "{}", files.len());
    let n = check(&files);
    // A few distractors have their EXIF stripped (for the authenticity analysis); `check`
    // confirms exiftool finds none there either.
    let stripped = common::ground_truth(dir.path())
        .iter()
        .filter(|r| r["exif_edit"] == "stripped")
        .filter(|r| files.iter().any(|f| f.ends_with(&r["path"])))
        .count();
    assert_eq!(n + stripped, files.len());
    eprintln!("EXIF agrees with exiftool on {n} generated photos ({stripped} without EXIF)");
}
