//! No plaintext at rest: after ingesting the synthetic collection, no file in the vault holds
//! any original's bytes, file names, EXIF strings or content digests.

mod common;

use std::path::{Path, PathBuf};

use common::*;

fn all_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(all_files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    needle.len() <= hay.len() && hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn nothing_readable_in_the_vault() {
    if !embedded_only("nothing_readable_in_the_vault") {
        return;
    }
    let tv = TestVault::new();
    let collection = tv.dir.path().join("collection");
    let opts = athar_corpus::CorpusOptions {
        bodies: 4,
        seed: 7,
        width: 640,
        height: 480,
        ..Default::default()
    };
    athar_corpus::generate(&collection, &opts, &|_, _| {}).unwrap();
    let photos: Vec<PathBuf> = all_files(&collection)
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("jpg")))
        .collect();
    assert!(photos.len() >= 10);
    let day_folders: Vec<PathBuf> = std::fs::read_dir(&collection)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    let paths: Vec<&Path> = day_folders.iter().map(PathBuf::as_path).collect();
    assert_ok(&tv.ingest(&paths, &[]));
    assert_ok(&tv.run("checkpoint", &[]));
    assert!(tv.verify().0);

    // What an adversary holding the drive would search for.
    let mut needles: Vec<(String, Vec<u8>)> = Vec::new();
    for p in &photos {
        let bytes = std::fs::read(p).unwrap();
        let sha = sha256_hex(&bytes);
        needles.push((
            format!("digest of {}", p.display()),
            sha.as_bytes().to_vec(),
        ));
        needles.push((
            format!("raw digest of {}", p.display()),
            hex::decode(&sha).unwrap(),
        ));
        for at in [0, bytes.len() / 3, bytes.len() / 2, bytes.len() - 64] {
            needles.push((
                format!("bytes {at}.. of {}", p.display()),
                bytes[at..at + 48].to_vec(),
            ));
        }
        let name = p.file_stem().unwrap().to_string_lossy().to_string();
        if name.chars().count() >= 6 {
            needles.push((format!("file name {name}"), name.into_bytes()));
        }
        let folder = p
            .parent()
            .unwrap()
            .file_name()
            .unwrap()
            .to_string_lossy()
            .to_string();
        needles.push((format!("folder name {folder}"), folder.into_bytes()));
    }
    let gt = std::fs::read_to_string(collection.join("ground_truth.csv")).unwrap();
    let header: Vec<&str> = gt.lines().next().unwrap().split(',').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).unwrap();
    for line in gt.lines().skip(1).take(20) {
        let cells: Vec<&str> = line.split(',').collect();
        for c in ["camera_model", "camera_serial", "datetime_original"] {
            let v = cells[col(c)];
            if v.len() >= 6 {
                needles.push((format!("EXIF {c} {v}"), v.as_bytes().to_vec()));
            }
        }
    }
    // Shorter strings turn up in random ciphertext by chance.
    needles.retain(|(_, n)| n.len() >= 6);
    needles.sort();
    needles.dedup();

    let files = all_files(&tv.vault);
    assert!(files.iter().any(|f| f.ends_with("catalog.db")));
    for f in &files {
        let name = f
            .strip_prefix(&tv.vault)
            .unwrap()
            .to_string_lossy()
            .to_string();
        let data = std::fs::read(f).unwrap();
        for (what, needle) in &needles {
            assert!(!contains(&data, needle), "{name} contains the {what}");
            assert!(
                !contains(name.as_bytes(), needle),
                "the vault file name {name} contains the {what}"
            );
        }
        assert!(
            !contains(&data, b"SQLite format 3"),
            "{name} is an unencrypted SQLite file"
        );
    }
    assert_eq!(
        std::fs::read_dir(tv.vault.join("tmp")).unwrap().count(),
        0,
        "no temporary files left"
    );
}
