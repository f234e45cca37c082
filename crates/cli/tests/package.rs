//! Evidence packages end to end: `athar package` writes a bag that the Library of Congress
//! `bagit.py` validates and `athar-verify` accepts; every kind of damage to a package is named
//! precisely by the verifier; split packages form a group; the index page renders in Chromium.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use athar_verify::{verify, Finding, Options};
use common::*;

/// One vault with a small generated collection and a package of its first case, shared by
/// the tests (each damages its own copy).
struct Fixture {
    tv: TestVault,
    case: String,
    package: PathBuf,
    /// A checkpoint signed before packaging, as if the archive had published it.
    published: PathBuf,
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let tv = TestVault::new();
        let opts = athar_corpus::CorpusOptions {
            bodies: 3,
            seed: 7,
            width: 480,
            height: 360,
            ..Default::default()
        };
        tv.ingest_collection(&opts, &[]);
        let out = tv.run("checkpoint", &[]);
        assert_ok(&out);
        let published = tv.dir.path().join("published-checkpoint.txt");
        std::fs::write(&published, &out.stdout).unwrap();
        let case = first_case(&tv);
        let package = tv.dir.path().join("package");
        let out = tv.run(
            "package",
            &[
                "--case",
                &case,
                "--out",
                package.to_str().unwrap(),
                "--derivatives",
            ],
        );
        assert_ok(&out);
        Fixture {
            tv,
            case,
            package,
            published,
        }
    })
}

/// Tests that write to the shared vault (package, verify) take turns: it has one writer.
fn writer() -> std::sync::MutexGuard<'static, ()> {
    static W: std::sync::Mutex<()> = std::sync::Mutex::new(());
    W.lock().unwrap_or_else(|e| e.into_inner())
}

fn first_case(tv: &TestVault) -> String {
    let out = tv.run("cases", &["--json"]);
    assert_ok(&out);
    let cases: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    cases[0]["id"].as_str().expect("a case").to_string()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), dest).unwrap();
        }
    }
}

/// A fresh copy of the package to damage.
fn copy_package(name: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join(name);
    copy_dir(&fixture().package, &p);
    (dir, p)
}

fn files_under(dir: &Path, sub: &str) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir.join(sub))
        .unwrap()
        .map(|e| format!("{sub}/{}", e.unwrap().file_name().to_string_lossy()))
        .filter(|p| !p.ends_with("/derivatives"))
        .collect();
    v.sort();
    v
}

fn first_data_file(pkg: &Path) -> String {
    let case_dir = std::fs::read_dir(pkg.join("data"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .file_name();
    files_under(pkg, &format!("data/{}", case_dir.to_string_lossy()))[0].clone()
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let text = std::fs::read_to_string(path).unwrap();
    let new = f(text.clone());
    assert_ne!(text, new, "the edit of {} changed nothing", path.display());
    std::fs::write(path, new).unwrap();
}

/// Verify and demand a failure naming `part` and `file` (a substring of the file named).
fn expect_failure(pkg: &Path, opts: &Options, part: &str, file: &str) -> Vec<Finding> {
    let report = verify(pkg, opts);
    assert!(!report.ok(), "damage to {file} went unnoticed");
    assert!(
        report
            .findings
            .iter()
            .any(|f| f.part == part && f.file.contains(file)),
        "expected a [{part}] finding about {file}, got {:#?}",
        report.findings
    );
    report.findings
}

#[test]
fn a_fresh_package_verifies_and_says_so_in_both_languages() {
    let f = fixture();
    let report = verify(&f.package, &Options::default());
    assert!(report.ok(), "{:#?}", report.findings);
    let s = &report.summary;
    assert!(s.originals >= 1);
    assert_eq!(
        s.derivatives,
        s.originals * 3,
        "thumbnail and two blurred previews each"
    );
    // Every event about an original: at least ingestion, analysis, grouping, this export.
    assert!(s.events >= 4, "{s:?}");

    // The binary: exit 0, a verdict in English and Arabic.
    let out = Command::new(verifier_binary())
        .arg(&f.package)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("VERDICT: the package is intact and authentic"),
        "{said}"
    );
    assert!(said.contains("الحكم: الحزمة سليمة وأصلية"), "{said}");
}

#[test]
fn the_package_holds_the_originals_and_their_signed_history() {
    let _w = writer();
    let f = fixture();
    let pkg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(f.package.join("athar/package.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(pkg["cases"][0]["id"], f.case.as_str());
    // Every event line once, in log order; each item's history picked out by event_seqs.
    let events: Vec<serde_json::Value> =
        std::fs::read_to_string(f.package.join("athar/events.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let seqs: Vec<u64> = events.iter().map(|e| e["seq"].as_u64().unwrap()).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    for item in pkg["items"].as_array().unwrap() {
        let sha = item["sha256"].as_str().unwrap();
        let bytes = std::fs::read(f.package.join(item["path"].as_str().unwrap())).unwrap();
        assert_eq!(sha256_hex(&bytes), sha);
        assert_eq!(
            f.tv.cat(sha),
            bytes,
            "the bag holds the vault's original bytes"
        );
        let types: Vec<String> = item["event_seqs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                let e = &events[seqs.binary_search(&s.as_u64().unwrap()).unwrap()];
                assert!(e["objects"].as_array().unwrap().iter().any(|o| o == sha));
                e["type"].to_string()
            })
            .collect();
        if item["role"] == "original" {
            assert!(types.contains(&"\"ingestion\"".to_string()), "{types:?}");
            assert!(
                types.contains(&"\"metadata extraction\"".to_string()),
                "{types:?}"
            );
        } else {
            assert!(types.contains(&"\"creation\"".to_string()), "{types:?}");
        }
        assert!(
            types.contains(&"\"dissemination\"".to_string()),
            "the export itself is in the custody history: {types:?}"
        );
    }
    // The export was logged in the vault too.
    let log = f.tv.log(&["--type", "dissemination"]);
    assert!(
        log.iter()
            .any(|e| e["details"]["package"] == pkg["package"]),
        "{log:?}"
    );
    let info = std::fs::read_to_string(f.package.join("bag-info.txt")).unwrap();
    for label in [
        "Source-Organization: test custodian",
        "Bagging-Date: ",
        "Payload-Oxum: ",
        "External-Identifier: athar-",
    ] {
        assert!(
            info.contains(label),
            "bag-info.txt lacks {label:?}:\n{info}"
        );
    }
    // Nothing decrypted is left beside the package (it was built in a sibling and renamed).
    for e in std::fs::read_dir(f.package.parent().unwrap()).unwrap() {
        let name = e.unwrap().file_name().to_string_lossy().into_owned();
        assert!(!name.contains(".partial-"), "left behind: {name}");
    }
    // The vault is unharmed by the export.
    let (ok, report) = f.tv.verify();
    assert!(ok, "{report}");
}

#[test]
fn the_library_of_congress_validator_accepts_the_bag() {
    let out = Command::new(bagit_py())
        .arg("--validate")
        .arg(&fixture().package)
        .output()
        .unwrap();
    assert!(out.status.success(), "bagit.py: {}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is valid"));
}

#[test]
fn a_changed_data_file_is_named() {
    let (_d, pkg) = copy_package("p");
    let file = first_data_file(&pkg);
    let mut bytes = std::fs::read(pkg.join(&file)).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 1;
    std::fs::write(pkg.join(&file), bytes).unwrap();
    let findings = expect_failure(&pkg, &Options::default(), "data file", &file);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    // The verdict says which file, in the binary's words too.
    let out = Command::new(verifier_binary()).arg(&pkg).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains("FAILS") && said.contains(&file), "{said}");
    assert!(said.contains("فشل التحقق"), "{said}");
}

#[test]
fn a_changed_manifest_is_named() {
    let (_d, pkg) = copy_package("p");
    edit(&pkg.join("manifest-sha256.txt"), |t| {
        let first = t.chars().next().unwrap();
        let other = if first == '0' { '1' } else { '0' };
        format!("{other}{}", &t[1..])
    });
    expect_failure(&pkg, &Options::default(), "tag file", "manifest-sha256.txt");
}

#[test]
fn manifests_forged_consistently_break_the_signature() {
    // A forger swaps a file and rewrites both manifests to match; only the key can sign.
    let (_d, pkg) = copy_package("p");
    let file = first_data_file(&pkg);
    let old = sha256_hex(&std::fs::read(pkg.join(&file)).unwrap());
    std::fs::write(pkg.join(&file), b"not the photo").unwrap();
    let new = sha256_hex(b"not the photo");
    edit(&pkg.join("manifest-sha256.txt"), |t| {
        t.replacen(&format!("{old}  "), &format!("{new}  "), 1)
    });
    let manifest_sha = sha256_hex(&std::fs::read(pkg.join("manifest-sha256.txt")).unwrap());
    edit(&pkg.join("tagmanifest-sha256.txt"), |t| {
        t.lines()
            .map(|l| {
                if l.ends_with(" manifest-sha256.txt") {
                    format!("{manifest_sha}  manifest-sha256.txt\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect()
    });
    expect_failure(
        &pkg,
        &Options::default(),
        "signature",
        "tagmanifest-sha256.txt.sig",
    );
    expect_failure(&pkg, &Options::default(), "data file", &file);
}

#[test]
fn changed_bag_info_is_named() {
    let (_d, pkg) = copy_package("p");
    edit(&pkg.join("bag-info.txt"), |t| {
        t.replace("Payload-Oxum: ", "Payload-Oxum: 1")
    });
    expect_failure(&pkg, &Options::default(), "bag-info", "bag-info.txt");
    expect_failure(&pkg, &Options::default(), "tag file", "bag-info.txt");
}

#[test]
fn a_changed_event_line_is_named() {
    let (_d, pkg) = copy_package("p");
    let events = "athar/events.jsonl";
    edit(&pkg.join(events), |t| {
        t.replacen("\"seq\":", "\"seq\": ", 1)
    });
    let findings = expect_failure(
        &pkg,
        &Options::default(),
        "event",
        "athar/events.jsonl line 1",
    );
    assert!(
        findings.iter().all(|f| f.file.contains(events)),
        "only that file is blamed: {findings:#?}"
    );

    // A line dropped from an item's history is noticed too.
    let (_d, pkg) = copy_package("q");
    edit(&pkg.join(events), |t| {
        t.lines().skip(1).map(|l| format!("{l}\n")).collect()
    });
    let findings = expect_failure(&pkg, &Options::default(), "event", events);
    assert!(
        findings
            .iter()
            .any(|f| f.problem.contains("the package index lists")),
        "{findings:#?}"
    );
}

#[test]
fn a_changed_proof_is_named() {
    let (_d, pkg) = copy_package("p");
    let proof = files_under(&pkg, "athar/proofs")[0].clone();
    edit(&pkg.join(&proof), |t| {
        let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
        // The first hash line (after header and index): replace it with another valid hash.
        lines[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".into();
        lines.join("\n") + "\n"
    });
    expect_failure(&pkg, &Options::default(), "proof", &proof);
}

#[test]
fn a_changed_checkpoint_is_named() {
    let (_d, pkg) = copy_package("p");
    edit(&pkg.join("athar/checkpoint.txt"), |t| {
        let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
        lines[1] = (lines[1].parse::<u64>().unwrap() + 1).to_string();
        lines.join("\n") + "\n"
    });
    expect_failure(
        &pkg,
        &Options::default(),
        "checkpoint",
        "athar/checkpoint.txt",
    );
}

#[test]
fn a_replaced_public_key_is_named() {
    let (_d, pkg) = copy_package("p");
    let other = TestVault::new();
    let vkey = other_vkey(&other);
    edit(&pkg.join("athar/keys.json"), |t| {
        let mut v: serde_json::Value = serde_json::from_str(&t).unwrap();
        v["log_key"] = vkey.clone().into();
        serde_json::to_string_pretty(&v).unwrap()
    });
    let findings = expect_failure(&pkg, &Options::default(), "public key", "athar/keys.json");
    assert!(
        findings.iter().any(|f| f.part == "signature"),
        "{findings:#?}"
    );

    // Pinning the archive's real key against an intact package that claims another.
    let (_d2, intact) = copy_package("q");
    let opts = Options {
        key: Some(vkey),
        ..Default::default()
    };
    expect_failure(&intact, &opts, "public key", "athar/keys.json");
}

#[test]
fn a_changed_signature_is_named() {
    let (_d, pkg) = copy_package("p");
    edit(&pkg.join("tagmanifest-sha256.txt.sig"), |t| {
        let mut lines: Vec<String> = t.lines().map(str::to_string).collect();
        let sig = &lines[2];
        lines[2] = format!(
            "{}{}",
            if sig.starts_with('A') { "B" } else { "A" },
            &sig[1..]
        );
        lines.join("\n") + "\n"
    });
    expect_failure(
        &pkg,
        &Options::default(),
        "signature",
        "tagmanifest-sha256.txt.sig",
    );
}

#[test]
fn missing_and_extra_files_are_named() {
    let (_d, pkg) = copy_package("p");
    let file = first_data_file(&pkg);
    std::fs::remove_file(pkg.join(&file)).unwrap();
    expect_failure(&pkg, &Options::default(), "missing file", &file);

    let (_d, pkg) = copy_package("q");
    std::fs::write(pkg.join("data/planted.jpg"), b"planted").unwrap();
    let findings = expect_failure(&pkg, &Options::default(), "extra file", "data/planted.jpg");
    assert!(
        findings.iter().any(|f| f.part == "bag-info"),
        "Payload-Oxum too: {findings:#?}"
    );

    let (_d, pkg) = copy_package("r");
    std::fs::remove_file(pkg.join("tagmanifest-sha256.txt.sig")).unwrap();
    expect_failure(
        &pkg,
        &Options::default(),
        "missing file",
        "tagmanifest-sha256.txt.sig",
    );
}

#[test]
fn a_published_checkpoint_is_checked_for_consistency() {
    let f = fixture();
    // Published before the package was made: the package carries the consistency proof.
    let opts = Options {
        published_checkpoint: Some(f.published.clone()),
        ..Default::default()
    };
    let report = verify(&f.package, &opts);
    assert!(report.ok(), "{:#?}", report.findings);
    assert!(report.summary.published_size.is_some());
    let out = Command::new(verifier_binary())
        .arg(&f.package)
        .arg("--checkpoint")
        .arg(&f.published)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("the log has only grown"));

    // The package's own checkpoint, given as the published one: same size, same root.
    let opts = Options {
        published_checkpoint: Some(f.package.join("athar/checkpoint.txt")),
        ..Default::default()
    };
    assert!(verify(&f.package, &opts).ok());
}

#[test]
fn a_checkpoint_from_another_log_is_named() {
    let f = fixture();
    let other = TestVault::new();
    std::fs::write(other.dir.path().join("x"), b"x").unwrap();
    assert_ok(&other.ingest(&[&other.dir.path().join("x")], &["--no-analyze"]));
    let out = other.run("checkpoint", &[]);
    assert_ok(&out);
    let foreign = other.dir.path().join("foreign-checkpoint.txt");
    std::fs::write(&foreign, &out.stdout).unwrap();
    let opts = Options {
        published_checkpoint: Some(foreign),
        ..Default::default()
    };
    let findings = expect_failure(
        &f.package,
        &opts,
        "published checkpoint",
        "foreign-checkpoint.txt",
    );
    assert!(
        findings[0].problem.contains("not from this package's log"),
        "{findings:#?}"
    );
}

#[test]
fn the_verifier_says_what_it_needs_for_checkpoints_it_cannot_link() {
    let f = fixture();
    // A checkpoint at a size the archive never published: the package has no proof from it.
    let passphrase = athar_vault::SecretString::from(PASSPHRASE.to_string());
    let vault =
        athar_vault::Vault::open(&f.tv.vault, &passphrase, athar_vault::Access::Read).unwrap();
    let leaves = vault.leaves().unwrap();
    let signer = athar_tlog::Signer::new(
        &vault.config().origin,
        vault.secrets().signing_key().clone(),
    )
    .unwrap();
    let cp = athar_tlog::Checkpoint::new(&vault.config().origin, 2, athar_tlog::root(&leaves[..2]));
    let note = athar_tlog::sign_checkpoint(&cp, &signer).unwrap();
    let unpublished = f.tv.dir.path().join("size-2-checkpoint.txt");
    std::fs::write(&unpublished, note).unwrap();
    let opts = Options {
        published_checkpoint: Some(unpublished),
        ..Default::default()
    };
    let findings = expect_failure(
        &f.package,
        &opts,
        "published checkpoint",
        "size-2-checkpoint.txt",
    );
    assert!(
        findings[0]
            .problem
            .contains("athar prove VAULT --consistency"),
        "{findings:#?}"
    );

    // A checkpoint newer than the package: the verifier asks for the proof forward.
    let cp = athar_tlog::Checkpoint::new(
        &vault.config().origin,
        leaves.len() as u64 + 1,
        athar_tlog::leaf_hash(b"later"),
    );
    let newer = f.tv.dir.path().join("newer-checkpoint.txt");
    std::fs::write(&newer, athar_tlog::sign_checkpoint(&cp, &signer).unwrap()).unwrap();
    let opts = Options {
        published_checkpoint: Some(newer),
        ..Default::default()
    };
    let findings = expect_failure(
        &f.package,
        &opts,
        "published checkpoint",
        "newer-checkpoint.txt",
    );
    assert!(findings[0].problem.contains("newer"), "{findings:#?}");
}

#[test]
fn a_split_package_is_a_group_of_valid_bags() {
    let _w = writer();
    let f = fixture();
    let out_dir = tempfile::tempdir().unwrap();
    let out = out_dir.path().join("split");
    // Room for one photo and a half per bag, so no two of the case's photos share a bag.
    let pkg: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(f.package.join("athar/package.json")).unwrap(),
    )
    .unwrap();
    let largest = pkg["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["role"] == "original")
        .map(|i| i["size"].as_u64().unwrap())
        .max()
        .unwrap();
    let limit = largest * 3 / 2;
    let o = f.tv.run(
        "package",
        &[
            "--case",
            &f.case,
            "--out",
            out.to_str().unwrap(),
            "--split-size",
            &limit.to_string(),
            "--json",
        ],
    );
    assert_ok(&o);
    let summary: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let bags = summary["bags"].as_array().unwrap();
    assert!(bags.len() >= 2, "{limit}-byte bags: {summary}");
    let mut group = None;
    let mut originals = 0;
    for (i, bag) in bags.iter().enumerate() {
        let dir = PathBuf::from(bag["path"].as_str().unwrap());
        assert!(dir.starts_with(&out));
        let info = std::fs::read_to_string(dir.join("bag-info.txt")).unwrap();
        assert!(
            info.contains(&format!("Bag-Count: {} of {}", i + 1, bags.len())),
            "{info}"
        );
        let id = info
            .lines()
            .find_map(|l| l.strip_prefix("Bag-Group-Identifier: "))
            .expect("Bag-Group-Identifier")
            .to_string();
        assert_eq!(group.get_or_insert(id.clone()), &id);
        assert!(bag["payload_bytes"].as_u64().unwrap() <= limit);
        let report = verify(&dir, &Options::default());
        assert!(report.ok(), "bag {}: {:#?}", i + 1, report.findings);
        originals += report.summary.originals;
        let v = Command::new(bagit_py())
            .arg("--validate")
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            v.status.success(),
            "bagit.py on bag {}: {}",
            i + 1,
            text(&v)
        );
    }
    let case: serde_json::Value =
        serde_json::from_slice(&f.tv.run("case", &[&f.case, "--json"]).stdout).unwrap();
    assert_eq!(originals, case["photos"].as_array().unwrap().len());

    // Too small for any one photo: a clear refusal, nothing written.
    let tiny = out_dir.path().join("tiny");
    let o = f.tv.run(
        "package",
        &[
            "--case",
            &f.case,
            "--out",
            tiny.to_str().unwrap(),
            "--split-size",
            "1k",
        ],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("more than --split-size"), "{}", text(&o));
    assert!(!tiny.exists());
}

#[test]
fn bad_requests_get_clear_errors_and_change_nothing() {
    let _w = writer();
    let f = fixture();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("p");
    let o = f.tv.run(
        "package",
        &["--case", "no-such-case", "--out", out.to_str().unwrap()],
    );
    assert!(!o.status.success());
    assert!(
        text(&o).contains("no case \"no-such-case\""),
        "{}",
        text(&o)
    );
    assert!(!out.exists());
    let o = f.tv.run(
        "package",
        &["--case", &f.case, "--out", f.package.to_str().unwrap()],
    );
    assert!(!o.status.success());
    assert!(text(&o).contains("not empty"), "{}", text(&o));
}

#[test]
fn the_index_page_renders_in_chromium() {
    let f = fixture();
    let shot = screenshot(&f.package.join("index.html"), "package-index.png");
    let page = std::fs::read_to_string(f.package.join("index.html")).unwrap();
    assert!(page.contains("Evidence package") && page.contains("حزمة أدلة"));
    assert!(page.contains(&f.case));
    assert!(!page.contains("<img"), "the index shows no photograph");
    assert!(
        page.contains("athar/authenticity.html"),
        "the index links the report"
    );
    eprintln!("screenshot: {}", shot.display());
}

#[test]
fn the_authenticity_report_is_in_the_package_and_renders() {
    let f = fixture();
    let report: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(f.package.join("athar/authenticity.json")).unwrap(),
    )
    .unwrap();
    let text = report.to_string();
    assert!(
        text.contains(&f.case),
        "the report covers the packaged case"
    );
    for (page, name) in [
        ("athar/authenticity.html", "package-authenticity-en.png"),
        ("athar/authenticity.ar.html", "package-authenticity-ar.png"),
    ] {
        let shot = screenshot(&f.package.join(page), name);
        eprintln!("screenshot: {}", shot.display());
    }
    // The report is covered by the signed tag manifest like every other tag file.
    let (_d, pkg) = copy_package("p");
    edit(&pkg.join("athar/authenticity.json"), |t| {
        t.replacen('{', "{ ", 1)
    });
    expect_failure(
        &pkg,
        &Options::default(),
        "tag file",
        "athar/authenticity.json",
    );
}

/// Headless Chromium screenshot into the target directory; fails clearly without Chromium.
fn screenshot(page: &Path, name: &str) -> PathBuf {
    let chromium = ["chromium", "chromium-browser", "google-chrome"]
        .into_iter()
        .find(|c| Command::new(c).arg("--version").output().is_ok())
        .expect("Chromium is not installed: run scripts/test (it installs the Debian package `chromium`)");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join(name);
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--window-size=1280,1400")
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    let png = std::fs::read(&shot).unwrap_or_else(|_| panic!("no screenshot: {}", text(&out)));
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    assert!(
        png.len() > 20_000,
        "a nearly empty page: {} bytes",
        png.len()
    );
    shot
}

fn other_vkey(tv: &TestVault) -> String {
    let out = tv.run("keys", &["--json"]);
    assert_ok(&out);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["signing_key"]
        .as_str()
        .or_else(|| v["verifier_key"].as_str())
        .unwrap_or_else(|| panic!("no signing key in {v}"))
        .to_string()
}

/// The `athar-verify` binary, built beside `athar` by `cargo test --workspace`.
fn verifier_binary() -> PathBuf {
    let p = Path::new(env!("CARGO_BIN_EXE_athar")).with_file_name("athar-verify");
    assert!(
        p.exists(),
        "{} is not built: run `cargo build -p athar-verify` (scripts/test builds every binary first)",
        p.display()
    );
    p
}

/// `bagit.py` from PyPI, as scripts/test installs it (target/bagit-venv), or on PATH.
fn bagit_py() -> PathBuf {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/bagit-venv/bin/bagit.py");
    if venv.exists() {
        return venv;
    }
    if Command::new("bagit.py").arg("--version").output().is_ok() {
        return "bagit.py".into();
    }
    panic!(
        "the Library of Congress validator bagit.py is not installed: run scripts/test \
         (it runs `python3 -m venv target/bagit-venv && target/bagit-venv/bin/pip install bagit`)"
    );
}

#[test]
fn the_demo_packages_a_case_and_verifies_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = athar_cmd()
        .args(["demo", "--no-serve", "--bodies", "3", "--dir"])
        .arg(dir.path().join("demo"))
        .output()
        .unwrap();
    assert_ok(&out);
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(
        said.contains("7. an evidence package for one case"),
        "{said}"
    );
    assert!(
        said.contains("VERDICT: the package is intact and authentic"),
        "{said}"
    );
    assert!(said.contains("the log has only grown"), "{said}");
    let pkg = dir.path().join("demo/package");
    assert!(verify(&pkg, &Options::default()).ok());
    assert!(pkg.join("athar/authenticity.html").exists());
}
