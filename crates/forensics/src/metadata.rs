//! What the file says about itself: EXIF camera and dates, JPEG tables and frame size,
//! software, the embedded thumbnail; and the order of a camera's photos in time.

use athar_media::{ops, Exif, RgbImage};

use crate::jpeg_tables::{self, JpegTables};

/// Editors and tools whose name in EXIF `Software` means the file was re-saved after the
/// camera wrote it (lower case, matched as substrings).
pub const EDITORS: &[&str] = &[
    "photoshop",
    "lightroom",
    "gimp",
    "paint.net",
    "picasa",
    "acdsee",
    "affinity",
    "pixelmator",
    "snapseed",
    "photoscape",
    "irfanview",
    "xnview",
    "faststone",
    "capture one",
    "darktable",
    "rawtherapee",
    "luminar",
    "photo gallery",
    "imagemagick",
    "graphicsmagick",
    "paint shop",
    "corel",
    "instagram",
    "facebook",
    "whatsapp",
];

/// The camera a photo's EXIF names, as the report's key: `MAKE MODEL #SERIAL`.
pub fn camera_key(make: Option<&str>, model: Option<&str>, serial: Option<&str>) -> Option<String> {
    let (make, model) = (make?.trim(), model?.trim());
    Some(format!("{make} {model} #{}", serial.unwrap_or("?").trim()))
}

/// Camera model without the serial (JPEG tables are a property of the model's firmware).
pub fn model_of(key: &str) -> &str {
    key.rsplit_once(" #").map_or(key, |(m, _)| m)
}

/// What one file says, read from its bytes.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub camera: Option<String>,
    pub taken: Option<String>,
    pub software: Option<String>,
    pub tables: Option<JpegTables>,
    pub quality: Option<jpeg_tables::Quality>,
    /// EXIF PixelXDimension / PixelYDimension, when present.
    pub exif_size: Option<(u32, u32)>,
    pub thumbnail: Option<Vec<u8>>,
}

pub fn facts(bytes: &[u8], exif: Option<&Exif>) -> Facts {
    let tables = jpeg_tables::read(bytes);
    let quality = tables.as_ref().and_then(JpegTables::quality);
    let mut f = Facts {
        tables,
        quality,
        ..Facts::default()
    };
    if let Some(e) = exif {
        f.camera = camera_key(e.make.as_deref(), e.model.as_deref(), e.serial.as_deref());
        f.taken = e
            .datetime_original
            .as_deref()
            .and_then(athar_catalog::exif_time);
        f.software = e.software.clone();
        let dim = |k: &str| {
            e.raw
                .pointer(&format!("/ExifIFD/{k}"))
                .and_then(|v| v.as_u64())
        };
        if let (Some(w), Some(h)) = (dim("PixelXDimension"), dim("PixelYDimension")) {
            f.exif_size = Some((w as u32, h as u32));
        }
        f.thumbnail = e.thumbnail.clone();
    }
    f
}

/// The editor named in `software`, if it is one.
pub fn editor(software: &str) -> Option<&'static str> {
    let s = software.to_lowercase();
    EDITORS.iter().copied().find(|e| s.contains(e))
}

/// Mean absolute luma difference between an embedded thumbnail and the image scaled to the
/// thumbnail's size. Cameras pad thumbnails of another aspect ratio with black bars, so the
/// image is fitted inside the thumbnail and only the covered area compared. `None` when the
/// thumbnail does not decode.
pub fn thumbnail_diff(image: &RgbImage, thumb_bytes: &[u8]) -> Option<f64> {
    let thumb = athar_media::decode_full(thumb_bytes).ok()?;
    let (tw, th) = (thumb.width, thumb.height);
    if tw < 8 || th < 8 {
        return None;
    }
    let (fw, fh) = ops::fit(image.width, image.height, tw.max(th));
    let (fw, fh) = if fw > tw || fh > th {
        // Fit by the other side.
        let s = (tw as f64 / image.width as f64).min(th as f64 / image.height as f64);
        (
            ((image.width as f64 * s).round() as u32).max(1),
            ((image.height as f64 * s).round() as u32).max(1),
        )
    } else {
        (fw, fh)
    };
    let small = ops::resize(image, fw, fh);
    let (ox, oy) = ((tw - fw.min(tw)) / 2, (th - fh.min(th)) / 2);
    let (a, b) = (small.luma_f32(), thumb.luma_f32());
    let mut sum = 0f64;
    let mut n = 0usize;
    for y in 0..fh.min(th) as usize {
        for x in 0..fw.min(tw) as usize {
            let t = b[(y + oy as usize) * tw as usize + x + ox as usize];
            sum += (a[y * fw as usize + x] - t).abs() as f64;
            n += 1;
        }
    }
    (n > 0).then(|| sum / n as f64)
}

// ---------------------------------------------------------------- time

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// `YYYY-MM-DD` → days since the epoch.
pub fn parse_day(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let (y, m, d) = (
        s[0..4].parse::<i64>().ok()?,
        s[5..7].parse::<i64>().ok()?,
        s[8..10].parse::<i64>().ok()?,
    );
    ((1..=12).contains(&m) && (1..=31).contains(&d)).then(|| days_from_civil(y, m, d))
}

/// `YYYY-MM-DDTHH:MM:SS` (the catalogue's `taken`) plus optional sub-second digits →
/// seconds since the epoch of the camera's local clock.
pub fn seconds(taken: &str, subsec: Option<&str>) -> Option<f64> {
    if taken.len() < 19 {
        return None;
    }
    let day = parse_day(&taken[0..10])?;
    let hh: i64 = taken[11..13].parse().ok()?;
    let mm: i64 = taken[14..16].parse().ok()?;
    let ss: i64 = taken[17..19].parse().ok()?;
    let frac = subsec
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|s| format!("0.{s}").parse::<f64>().ok())
        .unwrap_or(0.0);
    Some((day * 86_400 + hh * 3600 + mm * 60 + ss) as f64 + frac)
}

/// One photo of a camera, for the order checks.
#[derive(Debug, Clone)]
pub struct Shot<'a> {
    pub sha256: &'a str,
    pub path: Option<&'a str>,
    pub taken: Option<&'a str>,
    pub t: Option<f64>,
}

/// A step between two consecutive files of one folder.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    pub earlier_file: String,
    pub later_file: String,
    /// Seconds from the first file's time to the second's (negative: backward).
    pub seconds: f64,
}

/// File order against time: within each folder, files in name order (the camera's counter,
/// or the archive's numbered names) should have non-decreasing DateTimeOriginal. Returns
/// (pairs compared, backward steps, forward steps longer than `jump_seconds`).
pub fn order_steps(shots: &[Shot<'_>], jump_seconds: f64) -> (usize, Vec<Step>, Vec<Step>) {
    let mut by_folder: std::collections::BTreeMap<&str, Vec<(&str, &str, f64)>> =
        Default::default();
    for s in shots {
        if let (Some(p), Some(t)) = (s.path, s.t) {
            let (dir, name) = p.rsplit_once('/').unwrap_or(("", p));
            by_folder.entry(dir).or_default().push((name, s.sha256, t));
        }
    }
    let (mut pairs, mut back, mut jumps) = (0, Vec::new(), Vec::new());
    for files in by_folder.values_mut() {
        files.sort_by(|a, b| natural_cmp(a.0, b.0));
        for w in files.windows(2) {
            pairs += 1;
            let d = w[1].2 - w[0].2;
            let step = || Step {
                earlier_file: w[0].1.to_string(),
                later_file: w[1].1.to_string(),
                seconds: d,
            };
            if d < 0.0 {
                back.push(step());
            } else if d > jump_seconds {
                jumps.push(step());
            }
        }
    }
    (pairs, back, jumps)
}

/// Name order with digit runs compared as numbers (`IMG_9.JPG` before `IMG_10.JPG`).
pub fn natural_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    let (mut x, mut y) = (a.chars().peekable(), b.chars().peekable());
    loop {
        match (x.peek().copied(), y.peek().copied()) {
            (None, None) => return std::cmp::Ordering::Equal,
            (None, _) => return std::cmp::Ordering::Less,
            (_, None) => return std::cmp::Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let take = |it: &mut std::iter::Peekable<std::str::Chars<'_>>| {
                    let mut s = String::new();
                    while let Some(&c) = it.peek().filter(|c| c.is_ascii_digit()) {
                        s.push(c);
                        it.next();
                    }
                    s
                };
                let (p, q) = (take(&mut x), take(&mut y));
                let (pt, qt) = (p.trim_start_matches('0'), q.trim_start_matches('0'));
                let o = pt.len().cmp(&qt.len()).then(pt.cmp(qt));
                if o != std::cmp::Ordering::Equal {
                    return o;
                }
            }
            (Some(c), Some(d)) => {
                if c != d {
                    return c.cmp(&d);
                }
                x.next();
                y.next();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_and_days() {
        assert_eq!(parse_day("1970-01-02"), Some(1));
        assert_eq!(parse_day("2012-02-30x"), None);
        let a = seconds("2012-03-01T00:00:00", None).unwrap();
        let b = seconds("2012-02-28T23:59:59", Some("50")).unwrap();
        assert_eq!(a - b, 86_400.0 + 0.5);
    }

    #[test]
    fn natural_order() {
        let mut v = vec!["IMG_10.JPG", "IMG_9.JPG", "IMG_0100.JPG", "a"];
        v.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(v, ["IMG_9.JPG", "IMG_10.JPG", "IMG_0100.JPG", "a"]);
    }

    #[test]
    fn backward_steps_and_jumps_within_folders() {
        let shot = |sha, path, t| Shot {
            sha256: sha,
            path: Some(path),
            taken: None,
            t: Some(t),
        };
        let shots = [
            shot("a", "d/DSC_0001.JPG", 100.0),
            shot("b", "d/DSC_0002.JPG", 50.0),
            shot("c", "d/DSC_0003.JPG", 50.0 + 86_400.0),
            shot("x", "e/DSC_0001.JPG", 0.0),
        ];
        let (pairs, back, jumps) = order_steps(&shots, 12.0 * 3600.0);
        assert_eq!(pairs, 2);
        assert_eq!(
            (back[0].earlier_file.as_str(), back[0].seconds),
            ("a", -50.0)
        );
        assert_eq!(jumps.len(), 1);
        assert_eq!(jumps[0].later_file, "c");
    }

    #[test]
    fn a_thumbnail_of_another_picture_is_told_apart() {
        let picture = |phase: f32| {
            let mut img = RgbImage::new(640, 480);
            for y in 0..480 {
                for x in 0..640 {
                    let v =
                        128.0 + 100.0 * ((x as f32 / 50.0 + phase).sin() * (y as f32 / 70.0).cos());
                    img.put(x, y, [v as u8, v as u8, (255.0 - v) as u8]);
                }
            }
            img
        };
        let (img, other) = (picture(0.0), picture(2.0));
        let thumb = |i: &RgbImage| ops::encode_jpeg(&ops::resize(i, 160, 120), 85).unwrap();
        let same = thumbnail_diff(&img, &thumb(&img)).unwrap();
        let swapped = thumbnail_diff(&img, &thumb(&other)).unwrap();
        assert!(same < 4.0, "own thumbnail differs by {same}");
        assert!(
            swapped > 16.0,
            "another picture's thumbnail differs by only {swapped}"
        );
        // A 4:3 image in a 160x160 thumbnail with black bars is compared where it shows.
        let mut padded = RgbImage::new(160, 160);
        let small = ops::resize(&img, 160, 120);
        for y in 0..120 {
            for x in 0..160 {
                padded.put(x, y + 20, small.get(x, y));
            }
        }
        let bars = thumbnail_diff(&img, &ops::encode_jpeg(&padded, 85).unwrap()).unwrap();
        assert!(bars < 4.0, "letterboxed thumbnail differs by {bars}");
        assert_eq!(thumbnail_diff(&img, b"not a jpeg"), None);
    }

    #[test]
    fn editors_are_named() {
        assert_eq!(editor("Adobe Photoshop CS5 Windows"), Some("photoshop"));
        assert_eq!(editor("Digital Camera FinePix S5800 S800 Ver1.00"), None);
    }
}
