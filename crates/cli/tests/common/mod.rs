//! Shared helpers for the end-to-end tests: they drive the real `athar` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

pub const PASSPHRASE: &str = "correct horse battery staple";

pub struct TestVault {
    pub dir: tempfile::TempDir,
    pub vault: PathBuf,
    pub pass: PathBuf,
}

impl TestVault {
    /// A fresh vault with a cheap passphrase KDF (tests open vaults many times).
    pub fn new() -> TestVault {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("vault");
        let pass = dir.path().join("pass.txt");
        std::fs::write(&pass, format!("{PASSPHRASE}\n")).unwrap();
        let tv = TestVault { dir, vault, pass };
        assert_ok(&tv.run(
            "init",
            &["--name", "test custodian", "--scrypt-log-n", "10"],
        ));
        tv
    }

    /// `athar SUB VAULT extra...`.
    pub fn run(&self, sub: &str, extra: &[&str]) -> Output {
        let mut cmd = athar_cmd();
        cmd.env("ATHAR_PASSPHRASE_FILE", &self.pass);
        for word in sub.split(' ') {
            cmd.arg(word);
        }
        cmd.arg(&self.vault).args(extra);
        cmd.output().unwrap()
    }

    pub fn ingest(&self, paths: &[&Path], extra: &[&str]) -> Output {
        let mut cmd = athar_cmd();
        cmd.env("ATHAR_PASSPHRASE_FILE", &self.pass);
        cmd.arg("ingest").arg(&self.vault).args(paths).args(extra);
        cmd.output().unwrap()
    }

    /// Generate a synthetic collection into `DIR/collection` and ingest its photo folders
    /// (not the ground truth beside them) with `flags`. Returns the collection's root, its
    /// ground-truth rows and the ingest's output.
    pub fn ingest_collection(
        &self,
        opts: &athar_corpus::CorpusOptions,
        flags: &[&str],
    ) -> (
        PathBuf,
        Vec<std::collections::BTreeMap<String, String>>,
        Output,
    ) {
        let root = self.dir.path().join("collection");
        athar_corpus::generate(&root, opts, &|_, _| {}).unwrap();
        let truth = athar_corpus::ground_truth_rows(
            &std::fs::read_to_string(root.join("ground_truth.csv")).unwrap(),
        );
        let years: Vec<PathBuf> = ["2011", "2012", "2013"]
            .iter()
            .map(|y| root.join(y))
            .filter(|p| p.exists())
            .collect();
        let paths: Vec<&Path> = years.iter().map(PathBuf::as_path).collect();
        let out = self.ingest(&paths, flags);
        assert_ok(&out);
        (root, truth, out)
    }

    pub fn ingest_json(&self, paths: &[&Path]) -> serde_json::Value {
        let out = self.ingest(paths, &["--json"]);
        serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("ingest --json: {e}\n{}", text(&out)))
    }

    pub fn verify(&self) -> (bool, serde_json::Value) {
        let out = self.run("verify", &["--json"]);
        let v: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("verify --json: {e}\n{}", text(&out)));
        (out.status.success(), v)
    }

    pub fn cat(&self, sha: &str) -> Vec<u8> {
        let out = self.run("cat", &[sha]);
        assert_ok(&out);
        out.stdout
    }

    /// The events of `athar log --json`.
    pub fn log(&self, extra: &[&str]) -> Vec<serde_json::Value> {
        let mut args = vec!["--json"];
        args.extend_from_slice(extra);
        let out = self.run("log", &args);
        assert_ok(&out);
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

pub fn athar_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_athar"));
    cmd.env_remove("ATHAR_PASSPHRASE_FILE");
    cmd
}

pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

pub fn assert_ok(out: &Output) {
    assert!(out.status.success(), "command failed: {}", text(out));
}

pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Pseudo-random bytes that differ per seed (no two test files share content by accident).
pub fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// The age identity line of a test vault, read through the library (as a custodian would
/// export it to use the stock `age` tool).
pub fn identity_line(vault: &Path) -> String {
    use athar_vault::SecretString;
    let v = athar_vault::Vault::open(
        vault,
        &SecretString::from(PASSPHRASE.to_string()),
        athar_vault::Access::Read,
    )
    .unwrap();
    age::secrecy::ExposeSecret::expose_secret(&v.identity().to_string()).to_string()
}
