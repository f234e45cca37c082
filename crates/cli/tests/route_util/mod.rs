//! Helpers for the flash-drive route tests: source profiles, pack, receive, import.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use crate::common::*;

pub struct Source {
    pub profile: PathBuf,
    pub key: String,
    pub pass: PathBuf,
}

/// The vault's age recipient, as `athar keys --json` prints it.
pub fn recipient(tv: &TestVault) -> String {
    let out = tv.run("keys", &["--json"]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["recipient"].as_str().unwrap().to_string()
}

/// The vault's signing key (verifier key string).
pub fn signing_key(tv: &TestVault) -> String {
    let out = tv.run("keys", &["--json"]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["signing_key"].as_str().unwrap().to_string()
}

/// A source profile packing for `to`, created with `athar source init`.
pub fn source_init(base: &Path, name: &str, to: &[String]) -> Source {
    let profile = base.join(name);
    let pass = base.join(format!("{name}.pass"));
    std::fs::write(&pass, "source passphrase 1234\n").unwrap();
    let mut cmd = athar_cmd();
    cmd.args(["source", "init"]).arg(&profile);
    for r in to {
        cmd.args(["--to", r]);
    }
    cmd.args(["--scrypt-log-n", "10"])
        .env("ATHAR_PASSPHRASE_FILE", &pass);
    let out = cmd.output().unwrap();
    assert_ok(&out);
    let stdout = String::from_utf8(out.stdout).unwrap();
    let key = stdout
        .lines()
        .find_map(|l| l.trim().strip_prefix("source key"))
        .unwrap()
        .trim()
        .to_string();
    Source { profile, key, pass }
}

pub fn trust(tv: &TestVault, key: &str, name: &str) {
    assert_ok(&tv.run("source trust", &[key, "--name", name]));
}

pub fn pack(src: &Source, paths: &[&Path], out: &Path, extra: &[&str]) -> Output {
    let mut cmd = athar_cmd();
    cmd.arg("pack")
        .arg(&src.profile)
        .args(paths)
        .arg("--out")
        .arg(out);
    cmd.args(extra).env("ATHAR_PASSPHRASE_FILE", &src.pass);
    cmd.output().unwrap()
}

pub fn pack_json(src: &Source, paths: &[&Path], out: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let out = pack(src, paths, out, &args);
    assert_ok(&out);
    serde_json::from_slice(&out.stdout).unwrap()
}

pub fn receive(drive: &Path, extra: &[&str]) -> Output {
    athar_cmd()
        .arg("receive")
        .arg(drive)
        .args(extra)
        .output()
        .unwrap()
}

pub fn receive_json(drive: &Path, extra: &[&str]) -> (Output, serde_json::Value) {
    let mut args = vec!["--json"];
    args.extend_from_slice(extra);
    let out = receive(drive, &args);
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("receive --json: {e}\n{}", text(&out)));
    (out, v)
}

pub fn import(tv: &TestVault, dirs: &[&Path]) -> Output {
    let mut cmd = athar_cmd();
    cmd.env("ATHAR_PASSPHRASE_FILE", &tv.pass);
    cmd.arg("import").arg(&tv.vault).args(dirs);
    cmd.output().unwrap()
}

pub fn import_json(tv: &TestVault, dirs: &[&Path]) -> (Output, serde_json::Value) {
    let mut cmd = athar_cmd();
    cmd.env("ATHAR_PASSPHRASE_FILE", &tv.pass);
    cmd.arg("import").arg(&tv.vault).args(dirs).arg("--json");
    let out = cmd.output().unwrap();
    let v = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("import --json: {e}\n{}", text(&out)));
    (out, v)
}

/// The part files in a directory (not recursive), sorted by name.
pub fn parts(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "dat"))
        .collect();
    v.sort();
    v
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    if !dir.exists() {
        return out;
    }
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// The vault's durable content (objects, log, feeds, checkpoints), to compare before/after.
pub fn snapshot(vault: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut m = BTreeMap::new();
    for sub in [
        "objects",
        "log",
        "feeds",
        "checkpoints",
        "vault.json",
        "keys",
    ] {
        let p = vault.join(sub);
        let files = if p.is_file() {
            vec![p]
        } else {
            files_under(&p)
        };
        for f in files {
            let rel = f
                .strip_prefix(vault)
                .unwrap()
                .to_string_lossy()
                .into_owned();
            m.insert(rel, std::fs::read(&f).unwrap());
        }
    }
    m
}

/// Copy a directory tree (e.g. a drive or a profile).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let p = e.unwrap().path();
        let target = to.join(p.file_name().unwrap());
        if p.is_dir() {
            copy_dir(&p, &target);
        } else {
            std::fs::copy(&p, &target).unwrap();
        }
    }
}

/// Open the vault through the library and read an object's bytes.
pub fn read_object(vault: &Path, sha: &str) -> Vec<u8> {
    use std::io::Read;
    let v = athar_vault::Vault::open(
        vault,
        &athar_vault::SecretString::from(PASSPHRASE.to_string()),
        athar_vault::Access::Read,
    )
    .unwrap();
    let mut buf = Vec::new();
    v.open_object(sha).unwrap().read_to_end(&mut buf).unwrap();
    buf
}

/// Write `n` small files with distinct content into `dir`; returns (path, bytes).
pub fn small_files(dir: &Path, n: usize, seed: u64) -> Vec<(PathBuf, Vec<u8>)> {
    std::fs::create_dir_all(dir).unwrap();
    (0..n)
        .map(|i| {
            let bytes = noise(seed * 100_000 + i as u64, 500 + (i * 37) % 3000);
            let p = dir.join(format!("photo_{i:04}.jpg"));
            std::fs::write(&p, &bytes).unwrap();
            (p, bytes)
        })
        .collect()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
