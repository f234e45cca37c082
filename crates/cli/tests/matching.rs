//! End to end: families' records (`athar record`), `athar match`, and the demo seed of
//! observations and records from the corpus's ground truth.

mod common;

use std::path::{Path, PathBuf};

use athar_catalog::matching::eval::demo_seed;
use athar_vault::{Access, SecretString, Vault};
use common::*;

fn json_out(out: &std::process::Output) -> serde_json::Value {
    assert_ok(out);
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", text(out)))
}

/// A small collection, ingested and analysed, with the demo's observations logged.
fn collection(tv: &TestVault) -> (PathBuf, Vec<athar_catalog::MissingPerson>) {
    let opts = athar_corpus::CorpusOptions {
        bodies: 8,
        seed: 5,
        width: 640,
        height: 480,
        threads: 2,
    };
    let (root, _, _) = tv.ingest_collection(&opts, &[]);

    let (observations, records) = demo_seed(&root.join("ground_truth.csv")).unwrap();
    let numbered: std::collections::BTreeSet<String> =
        std::fs::read_to_string(root.join("ground_truth.csv"))
            .unwrap()
            .lines()
            .skip(1)
            .filter_map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (!f[6].is_empty()).then(|| f[5].to_string())
            })
            .collect();
    assert_eq!(
        observations.len(),
        numbered.len(),
        "one observation per numbered body"
    );
    assert!(!records.is_empty());
    let mut vault = Vault::open(
        &tv.vault,
        &SecretString::from(PASSPHRASE.to_string()),
        Access::Write,
    )
    .unwrap();
    vault.append(observations).unwrap();
    (root, records)
}

#[test]
fn records_match_withdraw_and_survive_rebuild() {
    let tv = TestVault::new();
    let (root, seeded) = collection(&tv);
    let cases = json_out(&tv.run("cases", &["--json"]));
    let cases = cases.as_array().unwrap();
    assert!(
        cases
            .iter()
            .filter(|c| !c["observations"].is_null())
            .count()
            >= 6,
        "observations are projected"
    );

    // The first seeded record is the first numbered body's family's.
    let want = seeded[0].clone();
    let mut input = serde_json::to_value(&want).unwrap();
    let obj = input.as_object_mut().unwrap();
    for k in ["id", "owner", "created", "updated"] {
        obj.remove(k);
    }
    // Arabic-Indic digits for the branch, as a family might type it.
    let branch = want.branch.clone().unwrap();
    let arabic: String = branch
        .chars()
        .map(|c| {
            c.to_digit(10)
                .map_or(c, |d| char::from_u32(0x0660 + d).unwrap())
        })
        .collect();
    obj.insert("branch".into(), serde_json::json!(arabic));
    obj.insert(
        "contact".into(),
        serde_json::json!("Umm Khaled, +963 944 000 111"),
    );
    let life_photo = walk_first_jpeg(&root);
    obj.insert("photos".into(), serde_json::json!([life_photo]));
    let file = tv.dir.path().join("record.json");
    std::fs::write(&file, serde_json::to_vec_pretty(&input).unwrap()).unwrap();
    let out = tv.run("record add", &["--json", file.to_str().unwrap()]);
    assert_ok(&out);
    let id = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert_eq!(id.len(), 32, "{}", text(&out));

    let listed = json_out(&tv.run("record list", &["--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
    // Found by its name in Arabic script (the search itself is tested in the catalogue).
    let arabic_given = want.names_ar.given.clone();
    let found = json_out(&tv.run("record list", &["--json", "--name", &arabic_given]));
    assert_eq!(found[0]["id"], id.as_str());
    let found = json_out(&tv.run("record list", &["--json", "--name", "Zzyzx"]));
    assert_eq!(found, serde_json::json!([]));
    assert_eq!(listed[0]["id"], id.as_str());
    assert_eq!(listed[0]["owner"], "cli");
    let dump = tv.run("catalog dump", &[]);
    assert_ok(&dump);
    assert!(
        !String::from_utf8_lossy(&dump.stdout).contains("944 000 111"),
        "the contact is sealed"
    );

    // The true case comes first, with its reasons.
    let expected = cases
        .iter()
        .find(|c| {
            c["branch"] == branch.as_str()
                && c["observations"]["marks"] == serde_json::json!(want.marks)
        })
        .map(|c| c["id"].as_str().unwrap().to_string())
        .expect("the body of the record is a case");
    let m = json_out(&tv.run("match", &[&id, "--json", "--limit", "5"]));
    let first = &m["candidates"][0];
    assert_eq!(first["case_id"], expected.as_str(), "{m:#}");
    let codes: Vec<&str> = first["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["detail"]["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"branch-match") && codes.contains(&"documented-after-arrest"),
        "{codes:?}"
    );
    if !want.marks.is_empty() {
        assert!(codes.contains(&"mark-match"), "{codes:?}");
    }
    let plain = tv.run("match", &[&id]);
    assert_ok(&plain);
    let plain = String::from_utf8_lossy(&plain.stdout);
    assert!(
        plain.contains(&expected) && plain.contains("as the family believes"),
        "{plain}"
    );

    // Rebuilding the catalogue keeps the record (it is not in the log) and everything else.
    let before = tv.run("catalog dump", &[]);
    assert_ok(&tv.run("catalog rebuild", &[]));
    let after = tv.run("catalog dump", &[]);
    assert_eq!(
        String::from_utf8_lossy(&before.stdout),
        String::from_utf8_lossy(&after.stdout)
    );
    assert_eq!(
        json_out(&tv.run("record list", &["--json"]))[0]["id"],
        id.as_str()
    );

    // Withdrawal erases it; the log keeps two digests and nothing else of it.
    assert_ok(&tv.run("record withdraw", &[&id]));
    assert_eq!(
        json_out(&tv.run("record list", &["--json"])),
        serde_json::json!([])
    );
    let events = tv.log(&["--type", "ante-mortem record"]);
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["details"]["change"], "submitted");
    assert_eq!(events[1]["details"]["change"], "withdrawn");
    let log_text = serde_json::to_string(&events).unwrap();
    assert!(!log_text.contains(&want.names_latin.given) && !log_text.contains(&id));
    let dump = String::from_utf8_lossy(&tv.run("catalog dump", &[]).stdout).to_string();
    assert!(
        !dump.contains(&id),
        "nothing of the withdrawn record is left"
    );
}

fn walk_first_jpeg(root: &Path) -> PathBuf {
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&d)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "jpg") {
                return p;
            }
        }
    }
    panic!("no JPEG in {}", root.display());
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let tv = TestVault::new();
    let file = tv.dir.path().join("bad.json");
    for (body, says) in [
        (
            r#"{"names_latin": {"given": "Khaled"}, "arrest_date": "last spring"}"#,
            "arrest_date",
        ),
        (
            r#"{"names_latin": {"given": "Khaled"}, "brnach": "215"}"#,
            "brnach",
        ),
        (r#"{"branch": "215"}"#, "name"),
        (
            r#"{"names_latin": {"given": "Khaled"}, "photos": ["missing.jpg"]}"#,
            "missing.jpg",
        ),
        ("not json", "not JSON"),
    ] {
        std::fs::write(&file, body).unwrap();
        let out = tv.run("record add", &["--json", file.to_str().unwrap()]);
        assert!(!out.status.success(), "{body} was accepted");
        assert!(text(&out).contains(says), "{body}: {}", text(&out));
    }
    assert_eq!(
        json_out(&tv.run("record list", &["--json"])),
        serde_json::json!([])
    );
    assert!(tv.log(&["--type", "ante-mortem record"]).is_empty());

    let out = tv.run("match", &["0123456789abcdef0123456789abcdef"]);
    assert!(!out.status.success());
    assert!(text(&out).contains("record list"), "{}", text(&out));
    let out = tv.run("record withdraw", &["0123456789abcdef0123456789abcdef"]);
    assert!(!out.status.success());
    assert!(
        text(&out).contains("no missing-person record"),
        "{}",
        text(&out)
    );
}
