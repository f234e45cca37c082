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
    /// The PostgreSQL database holding this vault's catalogue, on the scale-out backend
    /// (dropped with the vault).
    pub database: Option<(ScaleOut, String)>,
}

/// The scale-out pair the suite's second pass runs on (`ATHAR_TEST_BACKEND=scale`, set by
/// scripts/test, which also starts the servers): S3 objects and a PostgreSQL catalogue.
#[derive(Clone)]
pub struct ScaleOut {
    /// `s3://BUCKET`; each vault takes a prefix of its own.
    pub s3: String,
    /// `postgres://USER@HOST:PORT/DB`; each vault takes a database of its own.
    pub pg: String,
}

/// The scale-out backend, when this run is on it.
pub fn scale_out() -> Option<ScaleOut> {
    if std::env::var("ATHAR_TEST_BACKEND").as_deref() != Ok("scale") {
        return None;
    }
    let var = |k: &str| {
        std::env::var(k).unwrap_or_else(|_| {
            panic!("ATHAR_TEST_BACKEND=scale needs {k}: run scripts/test, which starts the servers")
        })
    };
    Some(ScaleOut {
        s3: var("ATHAR_TEST_S3"),
        pg: var("ATHAR_TEST_PG"),
    })
}

/// The servers of scripts/services, whichever pass this is: for tests that are about the
/// scale-out pair itself. None (and a note on stderr) when they are not running.
pub fn services() -> Option<ScaleOut> {
    match (
        std::env::var("ATHAR_TEST_S3"),
        std::env::var("ATHAR_TEST_PG"),
    ) {
        (Ok(s3), Ok(pg)) => Some(ScaleOut { s3, pg }),
        _ => {
            eprintln!("ATHAR_TEST_S3 / ATHAR_TEST_PG are not set: run scripts/test, which starts S3 and PostgreSQL");
            None
        }
    }
}

/// A name no other test (or run) uses, for S3 prefixes and databases.
pub fn unique_name(what: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "{what}_{}_{}_{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

impl ScaleOut {
    /// A fresh, empty database on the test server; returns its URL.
    pub fn create_database(&self) -> (String, String) {
        let name = unique_name("t");
        let (base, _) = self.pg.rsplit_once('/').expect("postgres://…/DB");
        let admin = athar_sql::Db::connect_postgres(&self.pg, "public").unwrap();
        admin
            .batch(&format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("creating database {name}: {e}"));
        (format!("{base}/{name}"), name)
    }

    pub fn drop_database(&self, name: &str) {
        if let Ok(admin) = athar_sql::Db::connect_postgres(&self.pg, "public") {
            let _ = admin.batch(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        }
    }

    /// `athar init` arguments that put a new vault on this pair.
    pub fn init_args(&self) -> (Vec<String>, String) {
        let (url, name) = self.create_database();
        (
            vec![
                "--objects".into(),
                format!("{}/{}", self.s3.trim_end_matches('/'), unique_name("v")),
                "--catalog".into(),
                url,
            ],
            name,
        )
    }
}

impl Drop for TestVault {
    fn drop(&mut self) {
        if let Some((s, name)) = &self.database {
            s.drop_database(name);
        }
    }
}

/// Tests that look at the vault's files on disk (tampering with them, scanning them for
/// plaintext) are about the embedded backend; on the scale-out pass they say so and pass.
pub fn embedded_only(what: &str) -> bool {
    if scale_out().is_some() {
        eprintln!("{what}: about the embedded backend's files; the scale-out pass has its own tests (scale_out.rs)");
        return false;
    }
    true
}

impl TestVault {
    /// A fresh vault with a cheap passphrase KDF (tests open vaults many times).
    pub fn new() -> TestVault {
        TestVault::on(scale_out())
    }

    /// A fresh vault on the scale-out pair when `backend` is given, else embedded.
    pub fn on(backend: Option<ScaleOut>) -> TestVault {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("vault");
        let pass = dir.path().join("pass.txt");
        std::fs::write(&pass, format!("{PASSPHRASE}\n")).unwrap();
        let mut args: Vec<String> = ["--name", "test custodian", "--scrypt-log-n", "10"]
            .map(String::from)
            .to_vec();
        let mut database = None;
        if let Some(s) = backend {
            let (extra, name) = s.init_args();
            args.extend(extra);
            database = Some((s, name));
        }
        let tv = TestVault {
            dir,
            vault,
            pass,
            database,
        };
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        assert_ok(&tv.run("init", &args));
        tv
    }

    /// The same vault as seen from a second machine: a copy of its directory (configuration
    /// and keys), sharing its S3 objects and PostgreSQL catalogue.
    pub fn second_machine(&self) -> TestVault {
        let dir = tempfile::tempdir().unwrap();
        let vault = dir.path().join("vault");
        std::fs::create_dir_all(vault.join("keys")).unwrap();
        for f in ["vault.json", "keys/secrets.age"] {
            std::fs::copy(self.vault.join(f), vault.join(f)).unwrap();
        }
        let pass = dir.path().join("pass.txt");
        std::fs::copy(&self.pass, &pass).unwrap();
        TestVault {
            dir,
            vault,
            pass,
            database: None,
        }
    }

    /// `athar SUB VAULT extra...`, ready to run or spawn.
    pub fn command(&self, sub: &str, extra: &[&str]) -> Command {
        let mut cmd = athar_cmd();
        cmd.env("ATHAR_PASSPHRASE_FILE", &self.pass);
        for word in sub.split(' ') {
            cmd.arg(word);
        }
        cmd.arg(&self.vault).args(extra);
        cmd
    }

    /// `athar SUB VAULT extra...`, run to completion.
    pub fn run(&self, sub: &str, extra: &[&str]) -> Output {
        self.command(sub, extra).output().unwrap()
    }

    pub fn ingest(&self, paths: &[&Path], extra: &[&str]) -> Output {
        self.command("ingest", &[])
            .args(paths)
            .args(extra)
            .output()
            .unwrap()
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
