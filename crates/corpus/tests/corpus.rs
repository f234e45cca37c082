//! Integration tests of the synthetic corpus generator.

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use athar_corpus::{
    generate, plan, render_jpeg, CorpusError, CorpusOptions, NameNumbers, PhotoKind, Scene,
    Timestamp, BRANCHES, GROUND_TRUTH, GROUND_TRUTH_COLUMNS,
};
use sha2::{Digest, Sha256};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("athar-corpus-{}-{name}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    d
}

fn small(bodies: usize, seed: u64, threads: usize) -> CorpusOptions {
    CorpusOptions {
        bodies,
        seed,
        width: 320,
        height: 240,
        threads,
    }
}

fn walk(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn rec(root: &Path, dir: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                rec(root, &p, out);
            } else {
                out.insert(p.strip_prefix(root).unwrap().into(), fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    rec(root, root, &mut out);
    out
}

/// Minimal RFC 4180 reader.
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

fn ground_truth(dir: &Path) -> Vec<HashMap<String, String>> {
    let text = fs::read_to_string(dir.join(GROUND_TRUTH)).unwrap();
    let rows = parse_csv(&text);
    assert_eq!(rows[0], GROUND_TRUTH_COLUMNS.to_vec());
    rows[1..]
        .iter()
        .map(|r| {
            assert_eq!(r.len(), GROUND_TRUTH_COLUMNS.len());
            rows[0].iter().cloned().zip(r.iter().cloned()).collect()
        })
        .collect()
}

#[test]
fn byte_identical_and_independent_of_threads() {
    let (a, b, c) = (tmp("det-a"), tmp("det-b"), tmp("det-c"));
    let calls = std::sync::atomic::AtomicUsize::new(0);
    let sa = generate(&a, &small(4, 7, 1), &|_, _| {
        calls.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    })
    .unwrap();
    let sb = generate(&b, &small(4, 7, 3), &|_, _| {}).unwrap();
    let sc = generate(&c, &small(4, 8, 2), &|_, _| {}).unwrap();
    let (fa, fb, fc) = (walk(&a), walk(&b), walk(&c));
    assert_eq!(sa.photos, fa.len() - 1);
    assert_eq!(calls.into_inner(), sa.photos + 1);
    assert_eq!(sa.bytes, sb.bytes);
    assert_eq!(fa.len(), fb.len());
    for ((pa, da), (pb, db)) in fa.iter().zip(&fb) {
        assert_eq!(pa, pb);
        assert!(da == db, "{} differs", pa.display());
    }
    assert_ne!(fa, fc, "another seed gives another corpus");
    assert_ne!(sa.bytes, sc.bytes);

    // Ground truth describes the files.
    let gt = ground_truth(&a);
    assert_eq!(gt.len(), sa.photos);
    assert_eq!(
        gt.iter().filter(|r| r["kind"] == "body").count(),
        sa.body_photos
    );
    for r in &gt {
        let data = &fa[&PathBuf::from(&r["path"])];
        assert_eq!(r["bytes"], data.len().to_string());
        let sha: String = Sha256::digest(data)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(r["sha256"], sha);
        if r["exif_edit"] == "stripped" {
            assert_eq!(
                &data[..4],
                &[0xFF, 0xD8, 0xFF, 0xE0],
                "SOI then JFIF, no Exif"
            );
            assert!(!data.windows(6).any(|w| w == b"Exif\0\0"));
        } else {
            assert_eq!(&data[..4], &[0xFF, 0xD8, 0xFF, 0xE1], "SOI then Exif APP1");
        }
        assert_eq!(&data[data.len() - 2..], &[0xFF, 0xD9]);
    }
    for d in [a, b, c] {
        fs::remove_dir_all(d).unwrap();
    }
}

#[test]
fn refuses_non_empty_dir() {
    let d = tmp("nonempty");
    fs::create_dir_all(&d).unwrap();
    fs::write(d.join("x"), b"x").unwrap();
    let e = generate(&d, &small(1, 1, 1), &|_, _| {}).unwrap_err();
    assert!(matches!(e, CorpusError::NotEmpty(_)), "{e}");
    assert!(e.to_string().contains("not empty"));
    assert_eq!(walk(&d).len(), 1);
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn plan_statistics() {
    let opts = CorpusOptions {
        bodies: 3000,
        seed: 42,
        ..Default::default()
    };
    let p = plan(&opts);
    assert_eq!(p, plan(&opts), "plan is deterministic");
    let n = p.len() as f64;
    let bodies: Vec<_> = p.iter().filter(|x| x.kind == PhotoKind::Body).collect();
    let distractors = p.len() - bodies.len();
    let share = distractors as f64 / n;
    assert!((0.43..0.47).contains(&share), "distractor share {share}");

    // Shots per body.
    let mut per_body: BTreeMap<usize, Vec<&athar_corpus::PhotoPlan>> = BTreeMap::new();
    for b in &bodies {
        per_body.entry(b.body_index.unwrap()).or_default().push(b);
    }
    assert_eq!(per_body.len(), 3000);
    assert!(per_body.values().all(|v| (3..=6).contains(&v.len())));
    let mean = bodies.len() as f64 / 3000.0;
    assert!((3.8..4.3).contains(&mean), "mean shots {mean}");
    for v in per_body.values() {
        let shots: Vec<u32> = v.iter().map(|x| x.shot.unwrap()).collect();
        assert_eq!(shots, (1..=v.len() as u32).collect::<Vec<_>>());
        assert!(v.windows(2).all(|w| w[0].time < w[1].time));
        assert!(v.iter().all(|x| x.body_id == v[0].body_id
            && x.detainee == v[0].detainee
            && x.camera == v[0].camera));
    }

    // Branch mix over numbered bodies.
    let firsts: Vec<_> = per_body.values().map(|v| v[0]).collect();
    let numbered: Vec<_> = firsts.iter().filter(|b| b.branch.is_some()).collect();
    for (code, pct) in BRANCHES {
        let got = numbered
            .iter()
            .filter(|b| b.branch.as_deref() == Some(code))
            .count() as f64
            / numbered.len() as f64
            * 100.0;
        let tol = 2.5f64.max(pct as f64 * 0.2);
        assert!(
            (got - pct as f64).abs() < tol,
            "branch {code}: {got:.1}% vs {pct}%"
        );
    }
    let mode = |m: NameNumbers| {
        firsts
            .iter()
            .filter(|b| b.names_have_numbers == Some(m))
            .count() as f64
            / 30.0
    };
    assert!((mode(NameNumbers::Yes) - 85.0).abs() < 3.0);
    assert!((mode(NameNumbers::CardOnly) - 10.0).abs() < 2.0);
    assert!((mode(NameNumbers::None) - 5.0).abs() < 1.5);
    for b in &firsts {
        let none = b.names_have_numbers == Some(NameNumbers::None);
        assert_eq!(b.detainee.is_none(), none);
        assert_eq!(b.card_lines().is_some_and(|l| !l[0].is_empty()), !none);
        if b.names_have_numbers == Some(NameNumbers::Yes) {
            let ascii = athar_corpus::to_arabic_indic(b.detainee.as_ref().unwrap());
            let d = b.detainee.as_ref().unwrap();
            assert!(
                b.path.contains(d.as_str()) || b.path.contains(&ascii),
                "{}",
                b.path
            );
        } else {
            let folder = b.path.rsplit('/').nth(1).unwrap();
            assert!(folder.starts_with("جثة"), "{}", b.path);
            assert!(
                !folder.chars().any(|c| c.is_numeric()),
                "digits in {folder}"
            );
            let file = b.path.rsplit('/').next().unwrap();
            let cam = b.camera();
            assert!(file.starts_with(cam.file_prefix) && file.ends_with(".JPG"));
        }
    }
    let hosp601 = firsts.iter().filter(|b| b.hospital == "601").count() as f64 / 3000.0;
    assert!((0.75..0.95).contains(&hosp601), "601 share {hosp601}");
    // Detainee numbers are unique per branch.
    let mut seen = std::collections::HashSet::new();
    for b in &numbered {
        assert!(seen.insert((b.branch.clone(), b.detainee.clone())));
    }

    // Dates and ordering.
    let lo = Timestamp {
        year: 2011,
        month: 5,
        day: 1,
        hour: 0,
        minute: 0,
        second: 0,
        subsec: 0,
    };
    let hi = Timestamp {
        year: 2013,
        month: 8,
        day: 31,
        hour: 23,
        minute: 59,
        second: 59,
        subsec: 99,
    };
    assert!(p.iter().all(|x| x.time >= lo && x.time <= hi));
    assert!(p.iter().any(|x| x.time.year == 2011) && p.iter().any(|x| x.time.year == 2013));
    let mut paths = std::collections::HashSet::new();
    let mut folders: BTreeMap<&str, Vec<(&str, Timestamp)>> = BTreeMap::new();
    for x in &p {
        assert!(paths.insert(&x.path), "duplicate {}", x.path);
        let (dir, file) = x.path.rsplit_once('/').unwrap();
        let date = format!("{:04}/{:02}/{:02}/", x.time.year, x.time.month, x.time.day);
        assert!(x.path.starts_with(&date), "{}", x.path);
        folders.entry(dir).or_default().push((file, x.time));
    }
    for (dir, mut files) in folders {
        files.sort();
        assert!(
            files.windows(2).all(|w| w[0].1 < w[1].1),
            "file order does not follow time in {dir}"
        );
    }
    // Photographers mostly use one camera.
    for ph in athar_corpus::PHOTOGRAPHERS {
        let mine: Vec<_> = p.iter().filter(|x| x.photographer == ph.name).collect();
        let usual = mine.iter().filter(|x| x.camera == ph.camera).count() as f64;
        assert!(usual / mine.len() as f64 > 0.8, "{}", ph.name);
    }
    // Every distractor scene occurs.
    for s in Scene::DISTRACTORS {
        assert!(p.iter().any(|x| x.scene == s));
    }
    // Some names use Arabic-Indic digits.
    assert!(p.iter().any(|x| x.path.contains('٤')));
}

#[test]
fn default_size_photos_are_in_size_range() {
    let opts = CorpusOptions {
        bodies: 12,
        ..Default::default()
    };
    let p = plan(&opts);
    let mut sample: Vec<_> = Scene::DISTRACTORS
        .iter()
        .filter_map(|s| p.iter().find(|x| x.scene == *s))
        .collect();
    sample.extend(
        p.iter()
            .filter(|x| x.kind == PhotoKind::Body)
            .step_by(9)
            .take(3),
    );
    for x in sample {
        let jpeg = render_jpeg(&opts, x).unwrap();
        eprintln!("{:?} {} bytes", x.scene, jpeg.len());
        assert!(
            (250_000..1_100_000).contains(&jpeg.len()),
            "{}: {} bytes",
            x.path,
            jpeg.len()
        );
    }
}

/// Tiny JSON reader for exiftool's flat `-j` output: array of objects whose
/// values are strings or numbers; values are returned as their text.
fn parse_exiftool_json(s: &str) -> Vec<HashMap<String, String>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let mut cur: Option<HashMap<String, String>> = None;
    let mut key: Option<String> = None;
    let read_string = |i: &mut usize| -> String {
        let mut v = Vec::new();
        *i += 1;
        while b[*i] != b'"' {
            if b[*i] == b'\\' {
                *i += 1;
                match b[*i] {
                    b'n' => v.push(b'\n'),
                    b't' => v.push(b'\t'),
                    b'u' => {
                        let hex = std::str::from_utf8(&b[*i + 1..*i + 5]).unwrap();
                        let c = char::from_u32(u32::from_str_radix(hex, 16).unwrap()).unwrap();
                        v.extend_from_slice(c.to_string().as_bytes());
                        *i += 4;
                    }
                    c => v.push(c),
                }
            } else {
                v.push(b[*i]);
            }
            *i += 1;
        }
        *i += 1;
        String::from_utf8(v).unwrap()
    };
    while i < b.len() {
        match b[i] {
            b'{' => {
                cur = Some(HashMap::new());
                i += 1;
            }
            b'}' => {
                out.push(cur.take().unwrap());
                i += 1;
            }
            b'"' => {
                let s = read_string(&mut i);
                match key.take() {
                    None => key = Some(s),
                    Some(k) => {
                        cur.as_mut().unwrap().insert(k, s);
                    }
                }
            }
            b'-' | b'0'..=b'9' if key.is_some() => {
                let st = i;
                while i < b.len() && !matches!(b[i], b',' | b'}' | b'\n' | b' ') {
                    i += 1;
                }
                let v = std::str::from_utf8(&b[st..i]).unwrap().to_string();
                cur.as_mut().unwrap().insert(key.take().unwrap(), v);
            }
            _ => i += 1,
        }
    }
    out
}

#[test]
fn exif_matches_ground_truth_via_exiftool() {
    let exiftool = ["/usr/bin/exiftool", "/usr/local/bin/exiftool"]
        .into_iter()
        .find(|p| Path::new(p).exists());
    let Some(exiftool) = exiftool else {
        eprintln!("NOTE: exiftool not installed; skipping the Exif round-trip test");
        return;
    };
    let d = tmp("exif");
    generate(&d, &small(6, 3, 2), &|_, _| {}).unwrap();
    let out = Command::new(exiftool)
        .args([
            "-j",
            "-r",
            "-ext",
            "jpg",
            "-charset",
            "filename=utf8",
            "-Make",
            "-Model",
            "-SerialNumber",
            "-DateTimeOriginal",
            "-SubSecTimeOriginal",
            "-OffsetTimeOriginal",
            "-Orientation#",
            "-Software",
        ])
        .arg(&d)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json = parse_exiftool_json(&String::from_utf8(out.stdout).unwrap());
    let gt = ground_truth(&d);
    assert_eq!(json.len(), gt.len());
    let prefix = format!("{}/", d.display());
    let by_path: HashMap<&str, &HashMap<String, String>> = json
        .iter()
        .map(|o| (o["SourceFile"].strip_prefix(&prefix).unwrap(), o))
        .collect();
    for r in &gt {
        let o = by_path[r["path"].as_str()];
        if r["exif_edit"] == "stripped" {
            assert!(o.get("Make").is_none() && o.get("DateTimeOriginal").is_none());
            continue;
        }
        // The EXIF names the camera in `exif_camera_serial`; it differs from the camera that
        // took the photo only when the EXIF was swapped.
        let named = athar_corpus::CAMERAS
            .iter()
            .find(|c| c.serial == r["exif_camera_serial"])
            .unwrap();
        assert_eq!(
            r["exif_edit"] == "swapped",
            named.serial != r["camera_serial"]
        );
        assert_eq!(o["Make"], named.make);
        assert_eq!(o["Model"], named.model);
        assert_eq!(o["SerialNumber"], named.serial);
        assert_eq!(o["DateTimeOriginal"], r["datetime_original"]);
        assert_eq!(
            o["SubSecTimeOriginal"], r["subsec_time_original"],
            "{}",
            r["path"]
        );
        assert_eq!(o["OffsetTimeOriginal"], r["offset_time_original"]);
        assert_eq!(o["Orientation"], "1");
        assert_eq!(
            o.get("Software").map_or("", |s| s.as_str()),
            named.software.unwrap_or("")
        );
    }
    fs::remove_dir_all(&d).unwrap();
}

#[test]
fn a_few_distractors_have_swapped_or_stripped_exif() {
    let opts = small(400, 5, 1);
    let photos = plan(&opts);
    let (mut swapped, mut stripped, mut distractors) = (0, 0, 0);
    for p in &photos {
        let edit = athar_corpus::exif_edit(opts.seed, p);
        if p.kind == PhotoKind::Body {
            assert_eq!(edit, None, "body photos keep their camera's EXIF");
            continue;
        }
        distractors += 1;
        match edit {
            Some(athar_corpus::ExifEdit::Swapped(c)) => {
                assert_ne!(c, p.camera, "swapped to another camera");
                swapped += 1;
            }
            Some(athar_corpus::ExifEdit::Stripped) => stripped += 1,
            None => {}
        }
    }
    let share = |n: usize| n as f64 * 100.0 / distractors as f64;
    eprintln!("{distractors} distractors: {swapped} swapped, {stripped} stripped");
    for (n, want) in [
        (swapped, athar_corpus::SWAPPED_PERCENT),
        (stripped, athar_corpus::STRIPPED_PERCENT),
    ] {
        assert!((share(n) - want).abs() < 1.5, "{n} of {distractors}");
    }
    // The edits do not move the plan: same seed, same photos.
    assert_eq!(photos, plan(&opts));
}
