//! The flash-drive route end to end: pack at the source, receive by the courier, import at
//! the archive. Round trip, damage within and beyond the parity budget, forgeries.

mod common;
mod route_util;

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use common::*;
use route_util::*;

/// A trusted source packing for a fresh vault.
fn setup() -> (TestVault, Source) {
    let tv = TestVault::new();
    let src = source_init(tv.dir.path(), "source", &[recipient(&tv)]);
    trust(&tv, &src.key, "caesar");
    (tv, src)
}

/// (offset, length) of the shard area of a part file: after the 64-byte header, before the
/// manifest copy and the 16-byte trailer.
fn shard_area(part: &Path) -> (usize, usize) {
    let bytes = std::fs::read(part).unwrap();
    let n = bytes.len();
    let mlen = u64::from_le_bytes(bytes[n - 16..n - 8].try_into().unwrap()) as usize;
    (64, n - 16 - mlen - 64)
}

fn flip(part: &Path, at: usize) {
    let mut bytes = std::fs::read(part).unwrap();
    bytes[at] ^= 0x5a;
    std::fs::write(part, bytes).unwrap();
}

/// Flip one byte at a pseudo-random place in the shard area of `part`.
fn corrupt_shards(part: &Path, seed: u64) {
    let (off, len) = shard_area(part);
    let r = noise(seed, 8);
    let x = u64::from_le_bytes(r.try_into().unwrap()) as usize;
    flip(part, off + x % len);
}

fn assert_all_held(tv: &TestVault, files: &[(PathBuf, Vec<u8>)]) {
    let v = athar_vault::Vault::open(
        &tv.vault,
        &athar_vault::SecretString::from(PASSPHRASE.to_string()),
        athar_vault::Access::Read,
    )
    .unwrap();
    for (path, bytes) in files {
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut v.open_object(&sha256_hex(bytes)).unwrap(), &mut got)
            .unwrap();
        assert!(&got == bytes, "{} differs after the route", path.display());
    }
}

#[test]
fn round_trip_1000_files_with_arabic_and_non_utf8_names() {
    let (tv, src) = setup();
    let base = tv.dir.path();
    let photos = base.join("photos");
    let folders = [
        photos.join("2012").join("07").join("15"),
        photos.join("مستشفى ٦٠١ - المزة"),
        photos.join(OsStr::from_bytes(b"d\xe9p\xf4t-\xff")),
    ];
    for f in &folders {
        std::fs::create_dir_all(f).unwrap();
    }
    let mut files: Vec<(PathBuf, Vec<u8>)> = Vec::new();
    for i in 0..1000usize {
        let dir = &folders[i % 3];
        let name: PathBuf = match i % 4 {
            0 => format!("{i}_215_1873-B_01.jpg").into(),
            1 => format!("معتقل {i} - فرع ٢١٥.jpg").into(),
            2 => PathBuf::from(OsStr::from_bytes(
                &[b"r\xe9sum\xe9-".as_slice(), format!("{i}.jpg").as_bytes()].concat(),
            )),
            _ => format!("IMG_{i:04}.JPG").into(),
        };
        // The last file repeats the first one's content at another path.
        let bytes = if i == 999 {
            files[0].1.clone()
        } else {
            let mut b = vec![0xFF, 0xD8, 0xFF, 0xE1];
            b.extend(noise(i as u64 + 1, 100 + (i * 131) % 4000));
            b
        };
        let path = dir.join(name);
        std::fs::write(&path, &bytes).unwrap();
        files.push((path, bytes));
    }
    let drive = base.join("drive");
    let p = pack_json(&src, &[&photos], &drive, &[]);
    assert_eq!(p["files"], 1000, "{p}");
    assert_eq!(p["seq"], 1);
    assert!(p["parts"].as_array().unwrap().len() >= 11, "{p}");
    assert_eq!(parts(&drive).len(), p["parts"].as_array().unwrap().len());

    let store = base.join("courier");
    let (out, r) = receive_json(&drive, &["--store", store.to_str().unwrap()]);
    assert_ok(&out);
    assert_eq!(r["bundles"][0]["outcome"], "stored", "{r}");
    assert_eq!(r["bundles"][0]["report"]["shards_bad"], 0);

    let (out, v) = import_json(&tv, &[&store]);
    assert_ok(&out);
    let b = &v["bundles"][0];
    assert_eq!(b["outcome"], "imported", "{v}");
    assert_eq!(b["files"], 1000);
    assert_eq!(b["new"], 999);
    assert_eq!(b["already_held"], 1);
    assert_eq!(b["source"], "caesar");
    assert_all_held(&tv, &files);

    // Each file's original path (exact bytes) and size are in the log, from the source's feed.
    let events = tv.log(&["--type", "ingestion"]);
    assert_eq!(events.len(), 1000);
    for (path, bytes) in &files {
        let raw = path.as_os_str().as_bytes();
        let sha = sha256_hex(bytes);
        let found = events.iter().any(|e| {
            let d = &e["details"];
            let logged = match d["source_path_hex"].as_str() {
                Some(h) => hex::decode(h).unwrap(),
                None => d["source_path"].as_str().unwrap().as_bytes().to_vec(),
            };
            logged == raw && e["objects"][0] == sha.as_str() && d["size"] == bytes.len()
        });
        assert!(found, "no ingestion event for {}", path.display());
    }
    let transfer = tv.log(&["--type", "transfer"]);
    assert_eq!(transfer.len(), 1);
    let d = &transfer[0]["details"];
    assert_eq!(d["bundle"], p["bundle"]);
    assert_eq!(d["source"], "caesar");
    assert_eq!(d["parts"], p["parts"]);
    assert_eq!(d["feed"]["first"], 1);
    assert_eq!(d["feed"]["last"], 1001);

    // `show` finds an imported object with its original name.
    let show = tv.run("show", &[&sha256_hex(&files[1].1), "--json"]);
    assert_ok(&show);
    let s: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert!(s["sightings"][0]["source_path"]
        .as_str()
        .unwrap()
        .contains("معتقل 1 - فرع ٢١٥.jpg"));

    // verify re-checks the source's signed feed kept in the vault.
    let (ok, rep) = tv.verify();
    assert!(ok, "{rep}");
    assert_eq!(rep["report"]["feeds"], 1);

    // Importing again changes nothing.
    let before = snapshot(&tv.vault);
    let (out, v) = import_json(&tv, &[&store, &drive]);
    assert_ok(&out);
    assert_eq!(v["bundles"][0]["outcome"], "already_imported", "{v}");
    assert_eq!(v["bundles"].as_array().unwrap().len(), 1);
    assert_eq!(before, snapshot(&tv.vault));
}

#[test]
fn damage_within_the_parity_budget_is_repaired() {
    let (tv, src) = setup();
    let base = tv.dir.path();
    let files = small_files(&base.join("photos"), 60, 1);
    let drive = base.join("drive");
    let p = pack_json(&src, &[&base.join("photos")], &drive, &[]);
    assert_eq!(p["parity_percent"], 10);
    assert_eq!(p["parts_tolerated"], 1);
    let pristine = base.join("pristine");
    copy_dir(&drive, &pristine);

    // A: one whole part lost.
    let drive_a = base.join("drive_a");
    copy_dir(&drive, &drive_a);
    let lost = parts(&drive_a)[3].clone();
    std::fs::remove_file(&lost).unwrap();
    let store = base.join("courier");
    let (out, r) = receive_json(&drive_a, &["--store", store.to_str().unwrap()]);
    assert_ok(&out);
    let rb = &r["bundles"][0];
    assert_eq!(rb["outcome"], "stored", "{r}");
    let lost_name = lost.file_name().unwrap().to_str().unwrap();
    let st = rb["report"]["parts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == lost_name)
        .unwrap();
    assert_eq!(st["state"], "missing");
    // The courier's copy is the pristine bundle, byte for byte.
    let stored = PathBuf::from(rb["stored_at"].as_str().unwrap());
    for part in parts(&pristine) {
        let name = part.file_name().unwrap();
        assert_eq!(
            std::fs::read(&part).unwrap(),
            std::fs::read(stored.join(name)).unwrap(),
            "{name:?} not restored exactly"
        );
    }

    // B: random bytes damaged in three parts' shards, and one part's manifest copy.
    let drive_b = base.join("drive_b");
    copy_dir(&drive, &drive_b);
    let bparts = parts(&drive_b);
    for (i, part) in bparts.iter().take(3).enumerate() {
        corrupt_shards(part, 100 + i as u64);
    }
    let victim = &bparts[5];
    let len = std::fs::metadata(victim).unwrap().len() as usize;
    flip(victim, len - 40); // inside its manifest copy
    let check = receive(&drive_b, &["--check"]);
    assert_ok(&check);
    // Import straight from the damaged drive: the importer repairs it itself.
    let (out, v) = import_json(&tv, &[&drive_b]);
    assert_ok(&out);
    assert_eq!(v["bundles"][0]["outcome"], "imported", "{v}");
    assert_eq!(
        v["bundles"][0]["repaired"].as_array().unwrap().len(),
        3,
        "{v}"
    );
    assert_all_held(&tv, &files);
    let transfer = tv.log(&["--type", "transfer"]);
    assert_eq!(
        transfer[0]["details"]["repaired_parts"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    // The courier's (repaired) copy of the same bundle is recognised.
    let (out, v) = import_json(&tv, &[&store]);
    assert_ok(&out);
    assert_eq!(v["bundles"][0]["outcome"], "already_imported");

    // C: 30 % parity: a whole part lost and bytes damaged elsewhere, all at once.
    let more = small_files(&base.join("more"), 40, 2);
    let drive_c = base.join("drive_c");
    let pc = pack_json(&src, &[&base.join("more")], &drive_c, &["--parity", "30"]);
    assert_eq!(pc["seq"], 2);
    let cparts = parts(&drive_c);
    std::fs::remove_file(&cparts[0]).unwrap();
    corrupt_shards(&cparts[1], 7);
    corrupt_shards(&cparts[2], 8);
    let store_c = base.join("courier_c");
    let (out, r) = receive_json(&drive_c, &["--store", store_c.to_str().unwrap()]);
    assert_ok(&out);
    assert_eq!(r["bundles"][0]["outcome"], "stored", "{r}");
    let (out, v) = import_json(&tv, &[&store_c]);
    assert_ok(&out);
    assert_eq!(v["bundles"][0]["outcome"], "imported", "{v}");
    assert_all_held(&tv, &more);
    let (ok, rep) = tv.verify();
    assert!(ok, "{rep}");
    assert_eq!(rep["report"]["feeds"], 2);
}

#[test]
fn damage_beyond_the_budget_is_refused_with_the_parts_named() {
    let (tv, src) = setup();
    let base = tv.dir.path();
    small_files(&base.join("photos"), 30, 3);
    let drive = base.join("drive");
    pack_json(&src, &[&base.join("photos")], &drive, &[]);
    let all = parts(&drive);
    let before = snapshot(&tv.vault);

    // Two whole parts lost: twice the budget.
    let drive_a = base.join("drive_a");
    copy_dir(&drive, &drive_a);
    let gone: Vec<String> = [1, 6]
        .iter()
        .map(|&i| {
            let p = &parts(&drive_a)[i];
            std::fs::remove_file(p).unwrap();
            p.file_name().unwrap().to_str().unwrap().to_string()
        })
        .collect();
    let store = base.join("courier");
    let (out, r) = receive_json(&drive_a, &["--store", store.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let reason = r["bundles"][0]["reason"].as_str().unwrap();
    assert_eq!(r["bundles"][0]["outcome"], "refused");
    for name in &gone {
        assert!(reason.contains(name), "{reason}");
    }
    assert!(reason.contains("missing parts"), "{reason}");
    assert!(files_under(&store).is_empty(), "nothing is stored");
    let human = receive(&drive_a, &["--check"]);
    assert_eq!(human.status.code(), Some(2));
    assert!(stderr(&human).contains(&gone[0]), "{}", text(&human));

    let out = import(&tv, &[&drive_a]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("beyond repair"), "{}", text(&out));
    assert!(stderr(&out).contains(&gone[1]), "{}", text(&out));
    assert_eq!(
        before,
        snapshot(&tv.vault),
        "a refused import changes nothing"
    );

    // Scattered damage in every part: each row loses more shards than it has parity.
    let drive_b = base.join("drive_b");
    copy_dir(&drive, &drive_b);
    for (i, p) in parts(&drive_b).iter().enumerate() {
        corrupt_shards(p, 50 + i as u64);
    }
    let (out, r) = receive_json(&drive_b, &["--check"]);
    assert_eq!(out.status.code(), Some(2));
    let reason = r["bundles"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("damaged parts"), "{reason}");
    for p in &all {
        assert!(reason.contains(p.file_name().unwrap().to_str().unwrap()));
    }
    let out = import(&tv, &[&drive_b]);
    assert!(!out.status.success());
    assert_eq!(before, snapshot(&tv.vault));
}

/// Replace the first occurrence of `from` by `to` (same length) in every part.
fn edit_manifests(drive: &Path, from: &[u8], to: &[u8]) {
    assert_eq!(from.len(), to.len());
    for p in parts(drive) {
        let mut bytes = std::fs::read(&p).unwrap();
        let (off, len) = shard_area(&p);
        let start = off + len;
        let at = bytes[start..]
            .windows(from.len())
            .position(|w| w == from)
            .expect("manifest field")
            + start;
        bytes[at..at + to.len()].copy_from_slice(to);
        std::fs::write(&p, bytes).unwrap();
    }
}

#[test]
fn forgeries_are_refused_with_their_reason() {
    let (tv, src) = setup();
    let base = tv.dir.path();
    small_files(&base.join("a"), 20, 4);
    small_files(&base.join("b"), 400, 5);
    small_files(&base.join("c"), 400, 6);
    let before = snapshot(&tv.vault);

    // 1. A tampered manifest (every copy): the signature no longer matches.
    let drive = base.join("tampered");
    pack_json(&src, &[&base.join("a")], &drive, &[]);
    edit_manifests(&drive, b"\"seq\":1,", b"\"seq\":7,");
    let (out, r) = receive_json(&drive, &["--check"]);
    assert_eq!(out.status.code(), Some(2));
    let msg = r["problems"][0]["message"].as_str().unwrap();
    assert!(msg.contains("altered or forged"), "{msg}");
    let out = import(&tv, &[&drive]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("altered or forged"), "{}", text(&out));
    assert_eq!(before, snapshot(&tv.vault));

    // 2. A part swapped in from another bundle (no parity to hide it).
    let (drive_b, drive_c) = (base.join("swap_b"), base.join("swap_c"));
    let pb = pack_json(
        &src,
        &[&base.join("b")],
        &drive_b,
        &["--parity", "0", "--part-size", "64k"],
    );
    pack_json(
        &src,
        &[&base.join("c")],
        &drive_c,
        &["--parity", "0", "--part-size", "64k"],
    );
    let (bparts, cparts) = (parts(&drive_b), parts(&drive_c));
    assert!(bparts.len() >= 3, "{pb}");
    let swapped = bparts[2].file_name().unwrap().to_str().unwrap().to_string();
    std::fs::copy(&cparts[2], &bparts[2]).unwrap();
    let (out, r) = receive_json(&drive_b, &["--check"]);
    assert_eq!(out.status.code(), Some(2));
    let b = r["bundles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["report"]["bundle"] == pb["bundle"])
        .unwrap();
    assert_eq!(b["outcome"], "refused");
    assert!(b["reason"].as_str().unwrap().contains(&swapped), "{b}");
    let note = b["report"]["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["part"] == swapped.as_str())
        .unwrap_or_else(|| panic!("no note on {swapped}: {b}"));
    assert!(
        note["message"].as_str().unwrap().contains("another bundle"),
        "{note}"
    );
    let out = import(&tv, &[&drive_b]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains(&swapped), "{}", text(&out));
    assert_eq!(before, snapshot(&tv.vault));

    // 3. An unknown signer: a source the vault never trusted.
    let stranger = source_init(base, "stranger", &[recipient(&tv)]);
    let drive_s = base.join("stranger_drive");
    pack_json(&stranger, &[&base.join("a")], &drive_s, &[]);
    let out = import(&tv, &[&drive_s]);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("does not trust"), "{}", text(&out));
    assert!(stderr(&out).contains(&stranger.key), "{}", text(&out));
    assert_eq!(before, snapshot(&tv.vault));
    // The courier can insist on a known source, too.
    let (out, r) = receive_json(&drive_s, &["--check", "--source", &src.key]);
    assert_eq!(out.status.code(), Some(2));
    assert!(r["bundles"][0]["reason"]
        .as_str()
        .unwrap()
        .contains("not one of the expected sources"));

    // 4. A replayed bundle: the profile restored from a backup packs a second "bundle 1".
    let backup = base.join("profile-backup");
    copy_dir(&src.profile, &backup);
    let first = base.join("first");
    let p1 = pack_json(&src, &[&base.join("a")], &first, &[]);
    std::fs::remove_dir_all(&src.profile).unwrap();
    copy_dir(&backup, &src.profile);
    let replay = base.join("replay");
    let p2 = pack_json(&src, &[&base.join("a")], &replay, &[]);
    assert_eq!(p1["seq"], p2["seq"]);
    assert_ne!(p1["bundle"], p2["bundle"]);
    let (out, v) = import_json(&tv, &[&first]);
    assert_ok(&out);
    assert_eq!(v["bundles"][0]["outcome"], "imported");
    let after_first = snapshot(&tv.vault);
    let (out, v) = import_json(&tv, &[&replay]);
    assert!(!out.status.success());
    let reason = v["bundles"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("replayed or forked"), "{reason}");
    assert_eq!(after_first, snapshot(&tv.vault));
    // The same old bundle delivered again: already imported, nothing changes.
    let (out, v) = import_json(&tv, &[&first]);
    assert_ok(&out);
    assert_eq!(v["bundles"][0]["outcome"], "already_imported");
    assert_eq!(after_first, snapshot(&tv.vault));

    // 5. A bundle packed for another archive cannot be imported here.
    let other = TestVault::new();
    let elsewhere = source_init(base, "elsewhere", &[recipient(&other)]);
    trust(&tv, &elsewhere.key, "elsewhere");
    let trusted = snapshot(&tv.vault);
    let drive_e = base.join("elsewhere_drive");
    pack_json(&elsewhere, &[&base.join("a")], &drive_e, &[]);
    let out = import(&tv, &[&drive_e]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("not encrypted to this vault"),
        "{}",
        text(&out)
    );
    assert_eq!(trusted, snapshot(&tv.vault));

    let (ok, rep) = tv.verify();
    assert!(ok, "{rep}");
}

#[test]
fn an_interrupted_import_resumes_and_trust_is_logged() {
    let (tv, src) = setup();
    let base = tv.dir.path();
    let files = small_files(&base.join("photos"), 25, 7);
    let drive = base.join("drive");
    pack_json(&src, &[&base.join("photos")], &drive, &[]);
    // A crash after some objects were stored, before the log segment: they are in the
    // store, unlogged.
    {
        let v = athar_vault::Vault::open(
            &tv.vault,
            &athar_vault::SecretString::from(PASSPHRASE.to_string()),
            athar_vault::Access::Write,
        )
        .unwrap();
        for (path, _) in files.iter().take(10) {
            let mut f = std::fs::File::open(path).unwrap();
            v.objects().put(&mut f).unwrap();
        }
    }
    let (out, v) = import_json(&tv, &[&drive]);
    assert_ok(&out);
    assert_eq!(v["bundles"][0]["outcome"], "imported");
    assert_eq!(
        v["bundles"][0]["new"], 25,
        "objects left by the crash count as new"
    );
    assert_all_held(&tv, &files);
    let (ok, rep) = tv.verify();
    assert!(ok, "{rep}");
    assert!(
        rep["report"]["warnings"].as_array().unwrap().is_empty(),
        "{rep}"
    );

    // Trust is a signed event; trusting again changes nothing; a name is not reused.
    let trust_events = tv.log(&["--type", "trust"]);
    assert_eq!(trust_events.len(), 1);
    assert_eq!(trust_events[0]["details"]["name"], "caesar");
    let again = tv.run("source trust", &[&src.key, "--name", "caesar"]);
    assert_ok(&again);
    assert!(String::from_utf8_lossy(&again.stdout).contains("already trusted"));
    let other = source_init(base, "other", &[recipient(&tv)]);
    let clash = tv.run("source trust", &[&other.key, "--name", "caesar"]);
    assert!(!clash.status.success());
    assert!(
        stderr(&clash).contains("already belongs"),
        "{}",
        text(&clash)
    );
    let bad = tv.run("source trust", &["not-a-key", "--name", "x"]);
    assert!(!bad.status.success());
    assert!(stderr(&bad).contains("not a signing key"), "{}", text(&bad));
}

#[test]
fn bundles_may_arrive_out_of_order() {
    let (tv, src) = setup();
    let base = tv.dir.path();
    let a = small_files(&base.join("day1"), 6, 41);
    let b = small_files(&base.join("day2"), 6, 42);
    let p1 = pack_json(&src, &[&base.join("day1")], &base.join("drive1"), &[]);
    let p2 = pack_json(&src, &[&base.join("day2")], &base.join("drive2"), &[]);
    assert_eq!((p1["seq"].as_u64(), p2["seq"].as_u64()), (Some(1), Some(2)));
    // The second day's drive arrives first; the first day's a week later.
    let (out, v) = import_json(&tv, &[&base.join("drive2")]);
    assert_ok(&out);
    assert_eq!(v["bundles"][0]["outcome"], "imported", "{v}");
    let (out, v) = import_json(&tv, &[&base.join("drive1")]);
    assert_ok(&out);
    assert_eq!(v["bundles"][0]["outcome"], "imported", "{v}");
    assert_all_held(&tv, &a);
    assert_all_held(&tv, &b);
    let (ok, rep) = tv.verify();
    assert!(ok, "{rep}");
    assert_eq!(rep["report"]["feeds"], 2);
}
