//! `athar authenticity` on the synthetic collection, measured against its ground truth: sensor
//! attribution per camera, detection of EXIF swapped to another camera, clustering of photos
//! without EXIF; copies with altered EXIF, one picture in two cases, an editor's Software tag
//! and a date outside the range are found; the report renders in headless Chromium.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use serde_json::Value;

/// The JPEG without its APP1 (EXIF) segments: what an EXIF stripper leaves.
fn strip_exif(jpeg: &[u8]) -> Vec<u8> {
    let mut out = jpeg[..2].to_vec();
    let mut i = 2;
    while jpeg[i] == 0xFF && jpeg[i + 1] != 0xDA {
        let len = u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]) as usize;
        if jpeg[i + 1] != 0xE1 {
            out.extend_from_slice(&jpeg[i..i + 2 + len]);
        }
        i += 2 + len;
    }
    out.extend_from_slice(&jpeg[i..]);
    assert!(!out.windows(6).any(|w| w == b"Exif\0\0"));
    out
}

/// Replace every occurrence of `from` by `to` (same length): an in-place EXIF edit.
fn patch(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = bytes.to_vec();
    let mut n = 0;
    for i in 0..out.len() - from.len() {
        if &out[i..i + from.len()] == from.as_bytes() {
            out[i..i + from.len()].copy_from_slice(to.as_bytes());
            n += 1;
        }
    }
    assert!(n > 0, "{from:?} not found");
    out
}

fn serial(camera: &Value) -> Option<&str> {
    camera
        .as_str()
        .and_then(|c| c.rsplit_once(" #"))
        .map(|c| c.1)
}

fn chromium() -> String {
    let bin = std::env::var("CHROMIUM").unwrap_or_else(|_| "chromium".into());
    let found = Command::new(&bin).arg("--version").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "headless Chromium is needed to check that the report renders, and `{bin}` is not \
         installed: run scripts/test (it installs the Debian package `chromium`), or \
         `apt-get install chromium`, or set CHROMIUM to the browser's path"
    );
    bin
}

/// Render `page` in headless Chromium: (the DOM it built, a screenshot saved at `png`).
fn render(page: &Path, png: &Path) -> String {
    let bin = chromium();
    let url = format!("file://{}", page.display());
    let common = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--window-size=1280,1800",
    ];
    let dom = Command::new(&bin)
        .args(common)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .unwrap();
    assert!(dom.status.success(), "chromium --dump-dom: {}", text(&dom));
    let shot = Command::new(&bin)
        .args(common)
        .arg(format!("--screenshot={}", png.display()))
        .arg(&url)
        .output()
        .unwrap();
    assert!(
        shot.status.success(),
        "chromium --screenshot: {}",
        text(&shot)
    );
    let bytes = std::fs::read(png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "a PNG screenshot");
    assert!(
        bytes.len() > 20_000,
        "the screenshot shows a page, not a blank"
    );
    eprintln!("screenshot: {}", png.display());
    String::from_utf8(dom.stdout).unwrap()
}

#[test]
fn attribution_tampering_and_duplicates_on_the_generated_collection() {
    chromium(); // fail fast, with what to install, before a minute of work
    let tv = TestVault::new();
    let root = tv.dir.path().join("collection");
    // Seed 5 with 60 bodies: 460 photos, 6 with EXIF swapped, 10 stripped, all five cameras.
    let opts = athar_corpus::CorpusOptions {
        bodies: 60,
        seed: 5,
        width: 640,
        height: 480,
        ..Default::default()
    };
    athar_corpus::generate(&root, &opts, &|_, _| {}).unwrap();
    let truth = athar_corpus::ground_truth_rows(
        &std::fs::read_to_string(root.join("ground_truth.csv")).unwrap(),
    );
    let by_sha: HashMap<&str, &std::collections::BTreeMap<String, String>> =
        truth.iter().map(|r| (r["sha256"].as_str(), r)).collect();

    // Altered copies an examiner must find.
    let extra = root.join("2013/extra");
    let other_case = root.join("2013/معتقل 99991 - فرع 215");
    std::fs::create_dir_all(&extra).unwrap();
    std::fs::create_dir_all(&other_case).unwrap();
    let numbered = truth
        .iter()
        .find(|r| r["names_have_numbers"] == "yes" && r["exif_edit"].is_empty())
        .unwrap();
    let original = std::fs::read(root.join(&numbered["path"])).unwrap();
    // 1. The same picture, EXIF stripped, filed as another detainee's body.
    let stripped = strip_exif(&original);
    std::fs::write(other_case.join("99991_215_9999-13_01.jpg"), &stripped).unwrap();
    // 2. The same picture with DateTimeOriginal moved to 2009.
    let redated = patch(
        &original,
        &numbered["datetime_original"],
        "2009:01:02 03:04:05",
    );
    std::fs::write(extra.join("copy-redated.jpg"), &redated).unwrap();
    // 3. A FUJIFILM photo whose Software names an editor.
    let fuji = truth
        .iter()
        .find(|r| r["camera_make"] == "FUJIFILM" && r["exif_edit"].is_empty())
        .unwrap();
    let sw = athar_corpus::CAMERAS[3].software.unwrap();
    let edited = patch(
        &std::fs::read(root.join(&fuji["path"])).unwrap(),
        sw,
        &format!("{:<1$}", "Adobe Photoshop CS5 Windows", sw.len()),
    );
    std::fs::write(extra.join("edited.jpg"), &edited).unwrap();
    let (stripped_sha, redated_sha, edited_sha) = (
        sha256_hex(&stripped),
        sha256_hex(&redated),
        sha256_hex(&edited),
    );

    let years: Vec<PathBuf> = ["2011", "2012", "2013"]
        .iter()
        .map(|y| root.join(y))
        .filter(|p| p.exists())
        .collect();
    let paths: Vec<&Path> = years.iter().map(PathBuf::as_path).collect();
    assert_ok(&tv.ingest(&paths, &[]));

    let out_dir = tv.dir.path().join("report");
    let started = std::time::Instant::now();
    let out = tv.run(
        "authenticity",
        &["--all", "--json", "--out", out_dir.to_str().unwrap()],
    );
    assert_ok(&out);
    eprintln!(
        "authenticity --all on {} photos: {:.1} s",
        truth.len() + 3,
        started.elapsed().as_secs_f64()
    );
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    let on_disk: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(
        on_disk["summary"], report["summary"],
        "report.json is the printed report"
    );
    assert_eq!(report["format"], "athar-authenticity/1");
    assert_eq!(report["scope"]["photos"], truth.len() + 3);
    for p in ["crop", "pce_threshold", "first_day", "fingerprint_photos"] {
        assert!(!report["parameters"][p].is_null(), "parameter {p} reported");
    }
    let photos: HashMap<&str, &Value> = report["photos"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["sha256"].as_str().unwrap(), p))
        .collect();

    // Sensor attribution against the camera that really took each photo.
    let mut confusion: BTreeMap<(String, String), usize> = BTreeMap::new();
    let (mut right, mut tested) = (0, 0);
    let (mut swapped, mut swapped_caught) = (0, 0);
    let (mut honest, mut false_alarms) = (0, 0);
    for r in &truth {
        let p = photos[r["sha256"].as_str()];
        let got = serial(&p["sensor"]).unwrap_or("none").to_string();
        *confusion
            .entry((r["camera_serial"].clone(), got.clone()))
            .or_default() += 1;
        tested += 1;
        right += usize::from(got == r["camera_serial"]);
        match r["exif_edit"].as_str() {
            "swapped" => {
                swapped += 1;
                let caught = p["verdict"] == "mismatch" && got == r["camera_serial"];
                swapped_caught += usize::from(caught);
                let flags: Vec<&str> = p["flags"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(Value::as_str)
                    .collect();
                // Every camera model writes its own quality, so the tables give it away too.
                assert!(flags.contains(&"jpeg_tables"), "{}: {flags:?}", r["path"]);
            }
            "" => {
                honest += 1;
                false_alarms += usize::from(p["verdict"] == "mismatch");
            }
            _ => {}
        }
    }
    eprintln!("sensor attribution (true serial -> attributed): {confusion:?}");
    let accuracy = right as f64 / tested as f64;
    eprintln!(
        "attribution accuracy {right}/{tested} = {accuracy:.3}; swapped EXIF detected {swapped_caught}/{swapped}; \
         false mismatches {false_alarms}/{honest}"
    );
    assert!(swapped >= 3, "the collection has swapped EXIF to find");
    assert!(accuracy >= 0.98, "attribution accuracy {accuracy}");
    assert!(
        swapped_caught as f64 >= 0.9 * swapped as f64,
        "swapped EXIF detected {swapped_caught} of {swapped}"
    );
    assert!(
        false_alarms as f64 <= 0.01 * honest as f64,
        "{false_alarms} photos wrongly said not to match their camera"
    );

    // Photos without EXIF, clustered by sensor: purity against the true camera.
    let (mut members, mut majority) = (0, 0);
    for c in report["clusters"].as_array().unwrap() {
        let mut count: BTreeMap<&str, usize> = BTreeMap::new();
        for s in c["photos"].as_array().unwrap() {
            let s = s.as_str().unwrap();
            // The stripped copy (3 above) is not in the ground truth; it is the original's camera.
            let cam = by_sha
                .get(s)
                .map(|r| r["camera_serial"].as_str())
                .unwrap_or(numbered["camera_serial"].as_str());
            *count.entry(cam).or_default() += 1;
        }
        members += count.values().sum::<usize>();
        majority += count.values().max().unwrap();
    }
    let stripped_in_truth = truth
        .iter()
        .filter(|r| r["exif_edit"] == "stripped")
        .count();
    assert_eq!(
        members,
        stripped_in_truth + 1,
        "every photo without EXIF is clustered"
    );
    let purity = majority as f64 / members as f64;
    let clusters = report["clusters"].as_array().unwrap().len();
    let cameras_without_exif: std::collections::BTreeSet<&str> = truth
        .iter()
        .filter(|r| r["exif_edit"] == "stripped")
        .map(|r| r["camera_serial"].as_str())
        .chain([numbered["camera_serial"].as_str()])
        .collect();
    eprintln!(
        "EXIF-less clustering: {members} photos in {clusters} clusters (true cameras: {}), purity {purity:.3}",
        cameras_without_exif.len()
    );
    assert!(purity >= 0.95, "cluster purity {purity}");
    assert!(
        clusters <= cameras_without_exif.len() + 2,
        "clusters should gather photos of one sensor, not leave them alone"
    );

    // The altered copies.
    let kinds = |sha: &str| -> Vec<String> {
        report["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["photos"].as_array().unwrap().iter().any(|p| p == sha))
            .map(|f| f["kind"].as_str().unwrap().to_string())
            .collect()
    };
    let orig_sha = numbered["sha256"].as_str();
    let k = kinds(&stripped_sha);
    assert!(k.contains(&"duplicate_across_cases".into()), "{k:?}");
    assert!(k.contains(&"copy_different_exif".into()), "{k:?}");
    assert!(kinds(orig_sha).contains(&"duplicate_across_cases".into()));
    assert_eq!(
        photos[stripped_sha.as_str()]["sensor"]
            .as_str()
            .and_then(|c| c.rsplit_once(" #"))
            .map(|c| c.1),
        Some(numbered["camera_serial"].as_str()),
        "the stripped copy's sensor names the original's camera"
    );
    let k = kinds(&redated_sha);
    assert!(k.contains(&"date_out_of_range".into()), "{k:?}");
    assert!(k.contains(&"copy_different_exif".into()), "{k:?}");
    let k = kinds(&edited_sha);
    assert!(k.contains(&"software".into()), "{k:?}");
    let dup = report["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["kind"] == "same_body_two_cases")
        .expect("a same-body duplicate");
    assert_ne!(dup["cases"][0], dup["cases"][1]);
    // Honest photos carry no warnings beyond the sensor and copies.
    let warned = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "warning")
        .filter(|f| {
            f["photos"].as_array().unwrap().iter().all(|p| {
                by_sha
                    .get(p.as_str().unwrap())
                    .is_some_and(|r| r["exif_edit"].is_empty())
                    && p != orig_sha
                    && p != fuji["sha256"].as_str()
            })
        })
        .count();
    assert_eq!(warned, 0, "no warnings about untouched photos");

    // One case: the report covers its photos, with fingerprints from the whole collection.
    let case = photos[orig_sha]["case"].as_str().unwrap().to_string();
    let case_dir = tv.dir.path().join("case-report");
    let out = tv.run(
        "authenticity",
        &[
            "--case",
            &case,
            "--json",
            "--out",
            case_dir.to_str().unwrap(),
        ],
    );
    assert_ok(&out);
    let one: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The body's photos, and the redated copy whose card carries the same numbers.
    let expected = photos
        .values()
        .filter(|p| p["case"] == case.as_str())
        .count();
    assert!(
        expected
            > truth
                .iter()
                .filter(|r| r["body_id"] == numbered["body_id"])
                .count()
                - 1
    );
    assert_eq!(one["scope"]["photos"], expected);
    assert_eq!(one["summary"]["sensor_consistent"], expected);
    assert_eq!(
        one["photos"][0]["pce"].as_object().unwrap().len(),
        5,
        "tested against every camera's fingerprint"
    );
    assert!(one["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] == "duplicate_across_cases"));
    let out = tv.run("authenticity", &["--case", "215-0", "--out", "x"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("no case 215-0"), "{}", text(&out));

    // The pages render; the screenshots are kept for a person to look at.
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let dom = render(
        &out_dir.join("report.html"),
        &shots.join("authenticity-report.png"),
    );
    assert!(dom.contains("Authenticity analysis"));
    assert!(dom.contains("sensor does not match EXIF camera"));
    assert!(dom.contains(&stripped_sha[..12]));
    let dom = render(
        &out_dir.join("report.ar.html"),
        &shots.join("authenticity-report-ar.png"),
    );
    assert!(dom.contains("dir=\"rtl\"") && dom.contains("تحليل الأصالة"));
}
