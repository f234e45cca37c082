//! The bag itself (RFC 8493): `bagit.txt`, the payload and tag manifests, `bag-info.txt` and
//! its Payload-Oxum, and that the files on disk are exactly those the manifests list.

use std::collections::BTreeMap;
use std::path::Path;

use crate::crypto::{hex, sha256};
use crate::Findings;

pub const MANIFEST: &str = "manifest-sha256.txt";
pub const TAG_MANIFEST: &str = "tagmanifest-sha256.txt";
pub const SIGNATURE: &str = "tagmanifest-sha256.txt.sig";

/// What the manifests say, once their listed hashes have been checked.
pub struct Bag {
    /// Payload path → SHA-256 (hex), from `manifest-sha256.txt`.
    pub payload: BTreeMap<String, String>,
    pub info: Vec<(String, String)>,
}

pub fn check(dir: &Path, f: &mut Findings) -> Bag {
    match read_text(dir, "bagit.txt") {
        Some(t)
            if t.lines().next() == Some("BagIt-Version: 1.0")
                && t.lines().nth(1) == Some("Tag-File-Character-Encoding: UTF-8") => {}
        Some(_) => f.add(
            "bagit.txt",
            "bagit.txt",
            "is not a BagIt 1.0 declaration in UTF-8",
        ),
        None => f.add("missing file", "bagit.txt", "is missing: this is not a bag"),
    }
    let on_disk = list_files(dir);
    let payload = manifest(dir, MANIFEST, "manifest", f);
    let tags = manifest(dir, TAG_MANIFEST, "tag manifest", f);

    for (path, listed) in payload.iter().chain(tags.iter()) {
        let part = if path.starts_with("data/") {
            "data file"
        } else {
            "tag file"
        };
        match std::fs::read(dir.join(path)) {
            Ok(bytes) if hex(&sha256(&bytes)) == *listed => {}
            Ok(_) => f.add(
                part,
                path,
                "has changed: its SHA-256 is not the one the manifest lists",
            ),
            Err(_) => f.add("missing file", path, "is listed in a manifest but missing"),
        }
    }
    for path in &on_disk {
        let listed = if path.starts_with("data/") {
            payload.contains_key(path)
        } else {
            tags.contains_key(path) || path == TAG_MANIFEST || path == SIGNATURE
        };
        if !listed {
            f.add("extra file", path, "is in the bag but in no manifest");
        }
    }
    for path in payload.keys() {
        if !path.starts_with("data/") {
            f.add(
                "manifest",
                MANIFEST,
                &format!("lists {path}, which is outside data/"),
            );
        }
    }
    for required in [MANIFEST, "bagit.txt", "bag-info.txt"] {
        if on_disk.iter().any(|p| p == required) && !tags.contains_key(required) {
            f.add(
                "tag manifest",
                TAG_MANIFEST,
                &format!("does not cover {required}"),
            );
        }
    }

    let info = bag_info(dir, f);
    check_oxum(dir, &info, &on_disk, f);
    Bag { payload, info }
}

/// `<sha256> <path>` lines; paths percent-encode only CR, LF and `%` (RFC 8493 §2.1.3).
fn manifest(dir: &Path, name: &str, part: &str, f: &mut Findings) -> BTreeMap<String, String> {
    let mut entries = BTreeMap::new();
    let Some(text) = read_text(dir, name) else {
        f.add("missing file", name, "is missing");
        return entries;
    };
    for (n, line) in text.lines().enumerate() {
        let Some((sha, path)) = line.split_once(char::is_whitespace) else {
            f.add(
                part,
                name,
                &format!("line {} is not `<sha256> <path>`", n + 1),
            );
            continue;
        };
        let path = path
            .trim_start()
            .replace("%0D", "\r")
            .replace("%0A", "\n")
            .replace("%25", "%");
        if sha.len() != 64 || path.split('/').any(|c| c == ".." || c.is_empty()) {
            f.add(
                part,
                name,
                &format!("line {} is malformed or leaves the bag", n + 1),
            );
            continue;
        }
        entries.insert(path, sha.to_ascii_lowercase());
    }
    entries
}

fn bag_info(dir: &Path, f: &mut Findings) -> Vec<(String, String)> {
    let Some(text) = read_text(dir, "bag-info.txt") else {
        f.add("missing file", "bag-info.txt", "is missing");
        return Vec::new();
    };
    let mut info: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = info.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((label, value)) = line.split_once(':') {
            info.push((label.trim().to_string(), value.trim().to_string()));
        } else {
            f.add(
                "bag-info",
                "bag-info.txt",
                &format!("line {line:?} is not `Label: value`"),
            );
        }
    }
    if let Some(count) = value(&info, "Bag-Count") {
        let ok = count
            .split_once(" of ")
            .and_then(|(n, t)| Some((n.parse::<u64>().ok()?, t.parse::<u64>().ok()?)))
            .is_some_and(|(n, t)| n >= 1 && n <= t);
        if !ok {
            f.add(
                "bag-info",
                "bag-info.txt",
                &format!("Bag-Count {count:?} is not \"n of N\""),
            );
        }
    }
    info
}

fn check_oxum(dir: &Path, info: &[(String, String)], on_disk: &[String], f: &mut Findings) {
    let Some(oxum) = value(info, "Payload-Oxum") else {
        f.add("bag-info", "bag-info.txt", "has no Payload-Oxum");
        return;
    };
    let (mut bytes, mut files) = (0u64, 0u64);
    for p in on_disk.iter().filter(|p| p.starts_with("data/")) {
        bytes += std::fs::metadata(dir.join(p)).map(|m| m.len()).unwrap_or(0);
        files += 1;
    }
    if oxum != format!("{bytes}.{files}") {
        f.add(
            "bag-info",
            "bag-info.txt",
            &format!("Payload-Oxum says {oxum} (bytes.files) but data/ holds {bytes}.{files}"),
        );
    }
}

pub fn value<'a>(info: &'a [(String, String)], label: &str) -> Option<&'a str> {
    info.iter()
        .find(|(l, _)| l.eq_ignore_ascii_case(label))
        .map(|(_, v)| v.as_str())
}

pub fn read_text(dir: &Path, rel: &str) -> Option<String> {
    std::fs::read(dir.join(rel))
        .ok()
        .map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Every regular file under `dir`, as `/`-separated relative paths (links are not followed).
fn list_files(dir: &Path) -> Vec<String> {
    fn walk(root: &Path, rel: &str, out: &mut Vec<String>) {
        let Ok(entries) = std::fs::read_dir(root.join(rel)) else {
            return;
        };
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            match e.file_type() {
                Ok(t) if t.is_dir() => walk(root, &path, out),
                _ => out.push(path),
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, "", &mut out);
    out.sort();
    out
}
