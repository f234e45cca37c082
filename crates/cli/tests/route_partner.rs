//! A second copy at a partner archive: `export` from one vault, `import` into another,
//! checked against the last checkpoint the partner holds from the sender.

mod common;
mod route_util;

use std::path::Path;

use common::*;
use route_util::*;

fn export(tv: &TestVault, to: &str, since: Option<&Path>, out: &Path) -> std::process::Output {
    let mut args = vec!["--to", to, "--out", out.to_str().unwrap(), "--json"];
    if let Some(s) = since {
        args.push("--since");
        args.push(s.to_str().unwrap());
    }
    tv.run("export", &args)
}

fn export_json(tv: &TestVault, to: &str, since: Option<&Path>, out: &Path) -> serde_json::Value {
    let o = export(tv, to, since, out);
    assert_ok(&o);
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn partner_copy_with_consistency_proofs() {
    let sender = TestVault::new();
    let partner = TestVault::new();
    let base = sender.dir.path();
    let to = recipient(&partner);
    trust(&partner, &signing_key(&sender), "sender archive");

    let first = small_files(&base.join("day1"), 15, 21);
    assert_ok(&sender.ingest(&[&base.join("day1")], &[]));
    let e1 = export_json(&sender, &to, None, &base.join("export1"));
    assert_eq!(e1["from_size"], 0);
    assert_eq!(e1["files"], 15);
    let cp1 = base.join("cp1.txt");
    std::fs::write(&cp1, e1["checkpoint"].as_str().unwrap()).unwrap();

    let (out, v) = import_json(&partner, &[&base.join("export1")]);
    assert_ok(&out);
    let b = &v["bundles"][0];
    assert_eq!(b["outcome"], "imported", "{v}");
    assert_eq!(b["kind"], "export");
    assert_eq!(b["checkpoint_size"], e1["to_size"]);
    for (_, bytes) in &first {
        assert_eq!(&read_object(&partner.vault, &sha256_hex(bytes)), bytes);
    }

    // More evidence at the sender; the next export carries only what is new, with a
    // consistency proof from the checkpoint the partner holds.
    let second = small_files(&base.join("day2"), 10, 22);
    assert_ok(&sender.ingest(&[&base.join("day2")], &[]));
    let e2 = export_json(&sender, &to, Some(&cp1), &base.join("export2"));
    assert_eq!(e2["from_size"], e1["to_size"]);
    assert_eq!(e2["files"], 10);
    let cp2 = base.join("cp2.txt");
    std::fs::write(&cp2, e2["checkpoint"].as_str().unwrap()).unwrap();

    // A partner that never got the first export cannot check the second: refused.
    let fresh = TestVault::new();
    trust(&fresh, &signing_key(&sender), "sender archive");
    let before = snapshot(&fresh.vault);
    export_json(
        &sender,
        &recipient(&fresh),
        Some(&cp1),
        &base.join("export2-fresh"),
    );
    let out = import(&fresh, &[&base.join("export2-fresh")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("earlier exports first"),
        "{}",
        text(&out)
    );
    assert_eq!(before, snapshot(&fresh.vault));

    let (out, v) = import_json(&partner, &[&base.join("export2")]);
    assert_ok(&out);
    assert_eq!(v["bundles"][0]["outcome"], "imported", "{v}");
    assert_eq!(v["bundles"][0]["checkpoint_size"], e2["to_size"]);
    for (_, bytes) in &second {
        assert_eq!(&read_object(&partner.vault, &sha256_hex(bytes)), bytes);
    }
    // The partner's catalogue shows the sender's original paths.
    let show = partner.run("show", &[&sha256_hex(&second[0].1), "--json"]);
    assert_ok(&show);
    let s: serde_json::Value = serde_json::from_slice(&show.stdout).unwrap();
    assert!(s["sightings"][0]["source_path"]
        .as_str()
        .unwrap()
        .ends_with("photo_0000.jpg"));

    // An export overlapping what the partner holds (sent again from the old checkpoint).
    small_files(&base.join("day3"), 3, 23);
    assert_ok(&sender.ingest(&[&base.join("day3")], &[]));
    let held = snapshot(&partner.vault);
    export_json(&sender, &to, Some(&cp1), &base.join("export3"));
    let out = import(&partner, &[&base.join("export3")]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("replayed or forked"),
        "{}",
        text(&out)
    );
    assert_eq!(held, snapshot(&partner.vault));
    // The right one goes in.
    export_json(&sender, &to, Some(&cp2), &base.join("export4"));
    let (out, v) = import_json(&partner, &[&base.join("export4")]);
    assert_ok(&out);
    assert_eq!(v["bundles"][0]["outcome"], "imported", "{v}");

    // Nothing new: no empty export.
    let cp = sender.run("checkpoint", &[]);
    assert_ok(&cp);
    let cp_now = base.join("cp-now.txt");
    std::fs::write(&cp_now, &cp.stdout).unwrap();
    let empty = export(&sender, &to, Some(&cp_now), &base.join("export5"));
    assert!(!empty.status.success());
    assert!(stderr(&empty).contains("nothing"), "{}", text(&empty));

    let (ok, rep) = partner.verify();
    assert!(ok, "{rep}");
    assert_eq!(rep["report"]["feeds"], 3);
}

#[test]
fn verify_checks_the_kept_feeds() {
    let tv = TestVault::new();
    let base = tv.dir.path();
    let src = source_init(base, "source", &[recipient(&tv)]);
    trust(&tv, &src.key, "caesar");
    small_files(&base.join("a"), 5, 31);
    small_files(&base.join("b"), 5, 32);
    for (dir, drive) in [("a", "d1"), ("b", "d2")] {
        pack_json(&src, &[&base.join(dir)], &base.join(drive), &[]);
        assert_ok(&import(&tv, &[&base.join(drive)]));
    }
    let (ok, rep) = tv.verify();
    assert!(ok, "{rep}");
    assert_eq!(rep["report"]["feeds"], 2);
    if !embedded_only("verify_checks_the_kept_feeds: tampering with feed files") {
        return;
    }
    // Swap the two stored feed segments' contents: each is still validly signed, but
    // neither is what the log recorded.
    let feeds = files_under(&tv.vault.join("feeds"));
    assert_eq!(feeds.len(), 2);
    let (a, b) = (
        std::fs::read(&feeds[0]).unwrap(),
        std::fs::read(&feeds[1]).unwrap(),
    );
    std::fs::write(&feeds[0], &b).unwrap();
    std::fs::write(&feeds[1], &a).unwrap();
    let (ok, rep) = tv.verify();
    assert!(!ok, "{rep}");
    let problems = rep["report"]["problems"].to_string();
    assert!(problems.contains("feed"), "{problems}");
    // A feed segment deleted.
    std::fs::remove_file(&feeds[0]).unwrap();
    let (ok, rep) = tv.verify();
    assert!(!ok);
    assert!(
        rep["report"]["problems"]
            .to_string()
            .contains("cannot be read"),
        "{rep}"
    );
}
