//! What a seized drive or courier's laptop gives away (nothing readable), and interop: each
//! object inside a bundle is a standard age file.

mod common;
mod route_util;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use sha2::{Digest, Sha256};

use common::*;
use route_util::*;

const EXIF_STRINGS: [&str; 5] = [
    "Canon EOS 5D Mark II",
    "SN-0451237-CAESAR",
    "2013:08:21 10:00:00",
    "Military Hospital 601",
    "Adobe Photoshop Lightroom",
];

/// A JPEG-like file with an EXIF segment holding the strings above and unique content.
fn photo(seed: u64) -> Vec<u8> {
    let mut b = vec![0xFF, 0xD8, 0xFF, 0xE1, 0x01, 0x00];
    b.extend_from_slice(b"Exif\0\0MM\0*");
    for s in EXIF_STRINGS {
        b.extend_from_slice(s.as_bytes());
        b.push(0);
    }
    b.extend(noise(seed, 20_000 + (seed as usize % 7) * 3000));
    b.extend_from_slice(&[0xFF, 0xD9]);
    b
}

fn collection(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let day = dir.join("2013-08-21 تشرين");
    std::fs::create_dir_all(&day).unwrap();
    let names: Vec<PathBuf> = vec![
        "SECRET-detainee-4512-branch-215.jpg".into(),
        "معتقل-سري-٤٥١٢.jpg".into(),
        PathBuf::from(OsStr::from_bytes(b"d\xe9tenu-CONFIDENTIAL-77.jpg")),
        "FORENSIC-REPORT-1873-B.jpg".into(),
    ];
    names
        .into_iter()
        .enumerate()
        .map(|(i, n)| {
            let bytes = photo(i as u64 + 11);
            let path = day.join(n);
            std::fs::write(&path, &bytes).unwrap();
            (path, bytes)
        })
        .collect()
}

/// Byte strings that must not appear anywhere on a seized drive or courier's disk.
fn needles(files: &[(PathBuf, Vec<u8>)]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for (path, bytes) in files {
        let name = path.file_name().unwrap().as_bytes().to_vec();
        out.push((format!("file name {}", path.display()), name.clone()));
        let stem = path.file_stem().unwrap().as_bytes().to_vec();
        out.push((format!("name stem {}", path.display()), stem));
        let digest = Sha256::digest(bytes);
        out.push(("SHA-256 (hex)".into(), hex::encode(digest).into_bytes()));
        out.push(("SHA-256 (raw)".into(), digest.to_vec()));
        // Windows of the original bytes past the shared EXIF header.
        for at in (200..bytes.len() - 32).step_by(997) {
            out.push((
                format!("bytes {at}.. of {}", path.display()),
                bytes[at..at + 24].to_vec(),
            ));
        }
    }
    for s in EXIF_STRINGS {
        out.push((format!("EXIF string {s:?}"), s.as_bytes().to_vec()));
    }
    out.push(("folder name".into(), "تشرين".as_bytes().to_vec()));
    out
}

fn scan_for(needles: &[(String, Vec<u8>)], dirs: &[&Path]) {
    let mut scanned = 0;
    for dir in dirs {
        for f in files_under(dir) {
            let hay = std::fs::read(&f).unwrap();
            scanned += hay.len();
            for (what, needle) in needles {
                assert!(
                    !hay.windows(needle.len()).any(|w| w == &needle[..]),
                    "{what} found in clear in {}",
                    f.display()
                );
            }
        }
    }
    assert!(scanned > 0, "scanned nothing");
}

#[test]
fn nothing_in_clear_on_the_drive_the_courier_or_the_source() {
    let tv = TestVault::new();
    let base = tv.dir.path();
    let src = source_init(base, "source", &[recipient(&tv)]);
    trust(&tv, &src.key, "caesar");
    let files = collection(&base.join("camera"));
    let needles = needles(&files);

    // The source packs with its temp and home directories watched.
    let (tmp, home) = (base.join("src-tmp"), base.join("src-home"));
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    let drive = base.join("drive");
    let out = athar_cmd()
        .arg("pack")
        .arg(&src.profile)
        .arg(base.join("camera"))
        .arg("--out")
        .arg(&drive)
        .env("ATHAR_PASSPHRASE_FILE", &src.pass)
        .env("TMPDIR", &tmp)
        .env("HOME", &home)
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(files_under(&tmp).is_empty() && files_under(&home).is_empty());
    // Part names are random, not derived from anything packed.
    for p in parts(&drive) {
        let name = p.file_name().unwrap().to_str().unwrap();
        assert_eq!(name.len(), 12, "{name}");
        assert!(name.ends_with(".dat"));
    }

    // The courier, with a damaged drive (so repair runs too).
    let damaged = base.join("damaged");
    copy_dir(&drive, &damaged);
    std::fs::remove_file(&parts(&damaged)[0]).unwrap();
    let store = base.join("courier");
    let (ctmp, chome) = (base.join("courier-tmp"), base.join("courier-home"));
    std::fs::create_dir_all(&ctmp).unwrap();
    std::fs::create_dir_all(&chome).unwrap();
    let out = athar_cmd()
        .arg("receive")
        .arg(&damaged)
        .arg("--store")
        .arg(&store)
        .env("TMPDIR", &ctmp)
        .env("HOME", &chome)
        .output()
        .unwrap();
    assert_ok(&out);
    assert!(files_under(&ctmp).is_empty() && files_under(&chome).is_empty());

    // The scan finds what is there: the originals themselves fail it.
    let camera = base.join("camera");
    let silent = std::panic::catch_unwind(|| scan_for(&needles, &[&camera]));
    assert!(silent.is_err(), "the scan must find the originals in clear");
    scan_for(&needles, &[&drive, &store, &src.profile]);
    // The source profile holds only keys and counters.
    let mut names: Vec<String> = files_under(&src.profile)
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["key.age", "profile.json", "state.json"]);

    // And the archive gets everything back.
    let out = import(&tv, &[&store]);
    assert_ok(&out);
    for (_, bytes) in &files {
        assert_eq!(&read_object(&tv.vault, &sha256_hex(bytes)), bytes);
    }
}

#[test]
fn every_object_in_a_bundle_decrypts_with_the_age_tool() {
    if std::process::Command::new("age")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("age is not installed; skipping");
        return;
    }
    let tv = TestVault::new();
    let base = tv.dir.path();
    let src = source_init(base, "source", &[recipient(&tv)]);
    let files = collection(&base.join("camera"));
    let drive = base.join("drive");
    pack_json(&src, &[&base.join("camera")], &drive, &[]);

    let identity_line = identity_line(&tv.vault);
    let id_file = base.join("identity.txt");
    std::fs::write(&id_file, format!("{identity_line}\n")).unwrap();
    let identity = age::x25519::Identity::from_str(&identity_line).unwrap();

    let scan = athar_bundle::scan::scan(&drive).unwrap();
    assert_eq!(scan.bundles.len(), 1);
    let found = &scan.bundles[0];
    let payload =
        athar_bundle::payload::Payload::open_files(&found.files, &found.manifest).unwrap();
    let index = payload.index(&identity).unwrap();
    assert_eq!(index.objects.len(), files.len());
    for (i, o) in index.objects.iter().enumerate() {
        let mut envelope = vec![0u8; o.length as usize];
        payload.read_exact_at(o.offset, &mut envelope).unwrap();
        assert!(envelope.starts_with(b"age-encryption.org/v1\n"));
        let path = base.join(format!("object{i}.age"));
        std::fs::write(&path, &envelope).unwrap();
        let out = std::process::Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(&id_file)
            .arg(&path)
            .output()
            .unwrap();
        assert_ok(&out);
        assert_eq!(sha256_hex(&out.stdout), o.sha256);
        assert!(files.iter().any(|(_, b)| b == &out.stdout));
    }
    // Without the archive's key (the source's situation), nothing opens.
    let stranger = age::x25519::Identity::generate();
    assert!(payload.index(&stranger).is_err());
}
