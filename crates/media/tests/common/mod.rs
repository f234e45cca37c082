//! Shared helpers of the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// `shared/samples/real-cameras` beside the repository, if present.
pub fn samples_dir() -> Option<PathBuf> {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/samples/real-cameras");
    d.is_dir().then_some(d)
}

pub fn sample_files() -> Vec<PathBuf> {
    let Some(d) = samples_dir() else {
        return Vec::new();
    };
    let mut v: Vec<PathBuf> = std::fs::read_dir(d)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file())
        .collect();
    v.sort();
    v
}

pub fn have_exiftool() -> bool {
    Command::new("exiftool")
        .arg("-ver")
        .output()
        .is_ok_and(|o| o.status.success())
}

/// `exiftool -j [-n] FILES`, one JSON object per file, in order.
pub fn exiftool_json(files: &[PathBuf], numeric: bool) -> Vec<serde_json::Value> {
    let mut cmd = Command::new("exiftool");
    cmd.arg("-j");
    if numeric {
        cmd.arg("-n");
    }
    cmd.args(files);
    let out = cmd.output().expect("run exiftool");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("exiftool JSON");
    v.as_array().expect("array").clone()
}

/// Every file under `dir`, sorted.
pub fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Generate a small synthetic collection (athar-corpus) into a temp dir.
pub fn corpus(bodies: usize, seed: u64, width: u32, height: u32) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let opts = athar_corpus::CorpusOptions {
        bodies,
        seed,
        width,
        height,
        threads: 2,
    };
    athar_corpus::generate(dir.path(), &opts, &|_, _| {}).expect("generate corpus");
    dir
}

/// Photos of a generated corpus (not the ground-truth CSV).
pub fn photos(dir: &Path) -> Vec<PathBuf> {
    walk(dir)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("jpg")))
        .collect()
}

/// Ground truth rows of a generated corpus, as maps column -> value.
pub fn ground_truth(dir: &Path) -> Vec<std::collections::HashMap<String, String>> {
    let text = std::fs::read_to_string(dir.join(athar_corpus::GROUND_TRUTH)).unwrap();
    let mut lines = text.lines();
    let header: Vec<String> = split_csv(lines.next().unwrap());
    lines
        .filter(|l| !l.is_empty())
        .map(|l| header.iter().cloned().zip(split_csv(l)).collect())
        .collect()
}

fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}
