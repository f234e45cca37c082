//! Image analysis on the synthetic collection, measured against its ground truth:
//! numbered photos land in the right case, unnumbered look-alikes are proposed, distractors
//! stay alone, and `athar similar` finds the originals of altered copies.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use athar_media::{ops, RgbImage};
use common::*;

struct Collection {
    tv: TestVault,
    root: PathBuf,
    truth: Vec<BTreeMap<String, String>>,
    /// Photo sha256 → case id, from `athar cases` / `athar case`.
    assigned: HashMap<String, String>,
}

fn analysed_collection(bodies: usize) -> Collection {
    let tv = TestVault::new();
    let opts = athar_corpus::CorpusOptions {
        bodies,
        seed: 11,
        ..Default::default()
    };
    let (root, truth, out) = tv.ingest_collection(&opts, &["--json"]);
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        summary["analysis"]["analysed"],
        truth.len(),
        "every photo analysed during ingest"
    );
    assert_eq!(
        summary["analysis"]["derivatives"],
        3 * truth.len(),
        "thumbnail and two blurred previews each"
    );

    let cases: Vec<serde_json::Value> =
        serde_json::from_slice(&tv.run("cases", &["--json"]).stdout).unwrap();
    let mut assigned = HashMap::new();
    for c in &cases {
        let id = c["id"].as_str().unwrap();
        let one: serde_json::Value =
            serde_json::from_slice(&tv.run("case", &[id, "--json"]).stdout).unwrap();
        for p in one["photos"].as_array().unwrap() {
            assigned.insert(p["sha256"].as_str().unwrap().to_string(), id.to_string());
        }
    }
    Collection {
        tv,
        root,
        truth,
        assigned,
    }
}

#[test]
fn cases_similar_and_stats_on_the_synthetic_collection() {
    let c = analysed_collection(36);
    let body = |r: &BTreeMap<String, String>| r["kind"] == "body";

    // Numbered photos: right if their case holds exactly their body's photos.
    let mut by_body: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut by_case: HashMap<&str, Vec<&str>> = HashMap::new();
    for r in c.truth.iter().filter(|r| body(r)) {
        by_body
            .entry(r["body_id"].as_str())
            .or_default()
            .push(r["sha256"].as_str());
    }
    for (sha, case) in &c.assigned {
        by_case.entry(case.as_str()).or_default().push(sha.as_str());
    }
    let numbered: Vec<_> = c
        .truth
        .iter()
        .filter(|r| body(r) && !r["detainee"].is_empty())
        .collect();
    let right = numbered
        .iter()
        .filter(|r| {
            let Some(case) = c.assigned.get(&r["sha256"]) else {
                return false;
            };
            let mut got = by_case[case.as_str()].clone();
            let mut want = by_body[r["body_id"].as_str()].clone();
            got.sort();
            want.sort();
            got == want
        })
        .count();
    let accuracy = right as f64 / numbered.len() as f64;
    eprintln!(
        "numbered photos in the right case: {right}/{} = {:.2}%",
        numbered.len(),
        100.0 * accuracy
    );
    assert!(
        accuracy >= 0.99,
        "at least 99% of numbered photos in the right case"
    );

    // Distractors stay out of cases.
    let distractors: Vec<_> = c.truth.iter().filter(|r| !body(r)).collect();
    let grouped = distractors
        .iter()
        .filter(|r| c.assigned.contains_key(&r["sha256"]))
        .count();
    eprintln!("distractors grouped: {grouped}/{}", distractors.len());
    assert!(
        grouped * 50 <= distractors.len(),
        "distractors stay ungrouped (at most 2%)"
    );

    // Unnumbered bodies: pairwise precision and recall of the proposals.
    let pool: Vec<_> = c
        .truth
        .iter()
        .filter(|r| r["detainee"].is_empty())
        .collect();
    let (mut tp, mut fp, mut fn_) = (0, 0, 0);
    for (i, a) in pool.iter().enumerate() {
        for b in &pool[i + 1..] {
            let truly = body(a) && body(b) && a["body_id"] == b["body_id"];
            let said = matches!((c.assigned.get(&a["sha256"]), c.assigned.get(&b["sha256"])), (Some(x), Some(y)) if x == y);
            match (truly, said) {
                (true, true) => tp += 1,
                (false, true) => fp += 1,
                (true, false) => fn_ += 1,
                _ => {}
            }
        }
    }
    let precision = if tp + fp > 0 {
        tp as f64 / (tp + fp) as f64
    } else {
        1.0
    };
    let recall = if tp + fn_ > 0 {
        tp as f64 / (tp + fn_) as f64
    } else {
        1.0
    };
    eprintln!("unnumbered pairs: precision {precision:.2}, recall {recall:.2} (tp {tp}, fp {fp}, fn {fn_})");
    assert!(precision >= 0.8, "proposals are mostly right");

    // `athar similar`: five kinds of altered copies of a sample of photos.
    let sample: Vec<_> = c
        .truth
        .iter()
        .step_by(c.truth.len() / 12)
        .take(12)
        .collect();
    let work = c.tv.dir.path().join("copies");
    std::fs::create_dir_all(&work).unwrap();
    let mut queries: Vec<(PathBuf, String, &str)> = Vec::new();
    for (n, r) in sample.iter().enumerate() {
        let img =
            athar_media::decode_full(&std::fs::read(c.root.join(&r["path"])).unwrap()).unwrap();
        for (kind, bytes) in altered(&img) {
            let p = work.join(format!("{n}-{kind}.jpg"));
            std::fs::write(&p, bytes).unwrap();
            queries.push((p, r["sha256"].clone(), kind));
        }
    }
    let mut args: Vec<&str> = queries.iter().map(|q| q.0.to_str().unwrap()).collect();
    args.push("--json");
    let out = c.tv.run("similar", &args);
    assert_ok(&out);
    let answers: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).unwrap();
    let mut found: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for ((_, original, kind), a) in queries.iter().zip(&answers) {
        let ms = a["matches"].as_array().unwrap();
        let rank = ms.iter().position(|m| m["sha256"] == original.as_str());
        if rank.is_none_or(|r| r >= 5) {
            eprintln!("{kind}: original at rank {rank:?} of {}", ms.len());
        }
        let hit = rank.is_some_and(|r| r < 5);
        let e = found.entry(kind).or_default();
        e.0 += hit as usize;
        e.1 += 1;
    }
    eprintln!("similar top-5 recall by alteration: {found:?}");
    let total: usize = found.values().map(|v| v.0).sum();
    assert!(
        total as f64 >= 0.99 * queries.len() as f64,
        "top-5 recall at least 99%: {found:?}"
    );

    // Statistics: CSV, JSON and the chart.
    let out_dir = c.tv.dir.path().join("stats");
    let stats =
        c.tv.run("stats", &["--json", "--out", out_dir.to_str().unwrap()]);
    assert_ok(&stats);
    let s: serde_json::Value = serde_json::from_slice(&stats.stdout).unwrap();
    let numbered_bodies = by_body
        .keys()
        .filter(|b| {
            c.truth
                .iter()
                .any(|r| r["body_id"] == **b && !r["detainee"].is_empty())
        })
        .count();
    assert_eq!(s["cases"], numbered_bodies);
    assert_eq!(s["photos"], c.truth.len());
    let svg = std::fs::read_to_string(out_dir.join("cases-per-month.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("215"));
    let csv = std::fs::read_to_string(out_dir.join("cases-by-branch.csv")).unwrap();
    assert!(csv.starts_with("branch,cases\n215,"), "{csv}");

    // Filters, with Arabic-Indic digits.
    let one = numbered[0];
    let arabic: String = one["detainee"]
        .chars()
        .map(|d| char::from_u32(0x0660 + d.to_digit(10).unwrap()).unwrap())
        .collect();
    let hits: Vec<serde_json::Value> =
        serde_json::from_slice(&c.tv.run("cases", &["--number", &arabic, "--json"]).stdout)
            .unwrap();
    assert!(
        hits.iter()
            .any(|h| h["detainee"] == one["detainee"].as_str()),
        "{arabic}: {hits:?}"
    );
    let b215: Vec<serde_json::Value> =
        serde_json::from_slice(&c.tv.run("cases", &["--branch", "215", "--json"]).stdout).unwrap();
    assert!(!b215.is_empty() && b215.iter().all(|h| h["branch"] == "215"));

    // Everything is a rebuildable projection of the log.
    let kept = String::from_utf8(c.tv.run("catalog dump", &[]).stdout).unwrap();
    assert_ok(&c.tv.run("catalog rebuild", &[]));
    let rebuilt = String::from_utf8(c.tv.run("catalog dump", &[]).stdout).unwrap();
    let differs: Vec<(&str, &str)> = kept
        .lines()
        .zip(rebuilt.lines())
        .filter(|(a, b)| a != b)
        .take(3)
        .collect();
    assert!(
        differs.is_empty() && kept.len() == rebuilt.len(),
        "rebuilt catalogue differs: {differs:#?}"
    );
    assert!(c.tv.verify().0);
}

/// The five kinds of copy that circulate: resized, re-encoded at quality 60, cropped 10%,
/// captioned with a logo, mirrored.
fn altered(img: &RgbImage) -> Vec<(&'static str, Vec<u8>)> {
    let (w, h) = (img.width, img.height);
    let mut captioned = img.clone();
    for y in h * 86 / 100..h {
        for x in 0..w {
            let on = (x / 14 + y / 9) % 5 == 0 && y > h * 89 / 100 && y < h * 97 / 100;
            captioned.put(x, y, if on { [255, 255, 255] } else { [10, 10, 10] });
        }
    }
    for y in 20..110 {
        for x in 20..110 {
            captioned.put(x, y, [200, 30, 30]);
        }
    }
    vec![
        (
            "resized",
            ops::encode_jpeg(&ops::resize(img, w / 3, h / 3), 85).unwrap(),
        ),
        ("quality60", ops::encode_jpeg(img, 60).unwrap()),
        (
            "cropped",
            ops::encode_jpeg(&ops::crop(img, w / 20, h / 20, w - w / 10, h - h / 10), 85).unwrap(),
        ),
        ("captioned", ops::encode_jpeg(&captioned, 85).unwrap()),
        ("mirrored", ops::encode_jpeg(&ops::mirror(img), 85).unwrap()),
    ]
}

#[test]
fn a_vault_patterns_file_says_which_hospital() {
    let tv = TestVault::new();
    let opts = athar_corpus::CorpusOptions {
        bodies: 8,
        seed: 5,
        width: 480,
        height: 360,
        ..Default::default()
    };
    let (_, truth, _) = tv.ingest_collection(&opts, &["--no-analyze"]);
    // The archive team knows where each photographer worked: the default patterns plus that.
    let patterns = format!(
        "{}\n{}",
        include_str!("../../media/src/default_patterns.toml"),
        r#"
[[pattern]]
name = "photographer at Tishreen"
scope = "path"
regex = '/P4/'
set = { hospital = "Tishreen" }

[[pattern]]
name = "photographers at 601"
scope = "path"
regex = '/P[123]/'
set = { hospital = "601" }
"#
    );
    std::fs::write(tv.vault.join("patterns.toml"), patterns).unwrap();
    assert_ok(&tv.run("analyze", &["--json"]));
    let cases: Vec<serde_json::Value> =
        serde_json::from_slice(&tv.run("cases", &["--json"]).stdout).unwrap();
    let numbered: Vec<&serde_json::Value> =
        cases.iter().filter(|c| c["basis"] == "numbers").collect();
    assert!(!numbered.is_empty());
    for c in &numbered {
        let want = truth
            .iter()
            .find(|r| r["detainee"] == c["detainee"].as_str().unwrap_or("?"))
            .map(|r| r["hospital"].clone())
            .unwrap();
        assert_eq!(c["hospital"].as_str(), Some(want.as_str()), "{c}");
    }
    let at601: Vec<serde_json::Value> =
        serde_json::from_slice(&tv.run("cases", &["--hospital", "601", "--json"]).stdout).unwrap();
    assert!(!at601.is_empty() && at601.iter().all(|c| c["hospital"] == "601"));
    let bad = tv.run("analyze", &["--patterns", "/nonexistent.toml"]);
    assert!(
        !bad.status.success() && text(&bad).contains("number patterns"),
        "{}",
        text(&bad)
    );
}
