//! Tamper evidence: every kind of damage to objects, events and checkpoints is found by
//! `athar verify`, which names what is wrong and exits non-zero.

mod common;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use common::*;

/// A vault with three log segments of four ingestion events each, and a checkpoint.
fn vault_with_history() -> (TestVault, Vec<Vec<u8>>) {
    let tv = TestVault::new();
    let mut contents = Vec::new();
    for batch in 0..3u64 {
        let dir = tv.dir.path().join(format!("batch{batch}"));
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..4u64 {
            let bytes = noise(batch * 10 + i, 3000 + i as usize);
            std::fs::write(dir.join(format!("p{i}.jpg")), &bytes).unwrap();
            contents.push(bytes);
        }
        assert_ok(&tv.ingest(&[&dir], &[]));
    }
    assert_ok(&tv.run("checkpoint", &[]));
    (tv, contents)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
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

fn flip_byte(path: &Path, at_from_end: usize) {
    let mut bytes = std::fs::read(path).unwrap();
    let i = bytes.len() - at_from_end;
    bytes[i] ^= 0x40;
    std::fs::write(path, bytes).unwrap();
}

/// Problems reported by verify, as "subject: message" lines; asserts it failed.
fn problems(tv: &TestVault) -> Vec<String> {
    let (ok, v) = tv.verify();
    assert!(!ok, "verify should fail: {v}");
    assert_eq!(
        v["fixity_event_recorded"].as_bool(),
        Some(v["report"]["log_intact"].as_bool().unwrap())
    );
    v["report"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}: {}",
                p["subject"].as_str().unwrap(),
                p["message"].as_str().unwrap()
            )
        })
        .collect()
}

fn assert_found(problems: &[String], subject: &str, words: &str) {
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with(subject) && p.contains(words)),
        "expected a problem about {subject:?} mentioning {words:?}; got:\n{}",
        problems.join("\n")
    );
}

/// Decrypt a log segment, let `edit` change its lines, re-encrypt it to the vault's public
/// recipient: what an attacker without the signing key can do.
fn edit_segment(tv: &TestVault, index: usize, edit: impl FnOnce(&mut Vec<String>)) {
    let path = files_under(&tv.vault.join("log"))[index].clone();
    let identity = age::x25519::Identity::from_str(&identity_line(&tv.vault)).unwrap();
    let mut text = String::new();
    age::Decryptor::new(std::fs::File::open(&path).unwrap())
        .unwrap()
        .decrypt(std::iter::once(&identity as &dyn age::Identity))
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    edit(&mut lines);
    let recipient = identity.to_public();
    let mut out = Vec::new();
    let mut w = age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
        .unwrap()
        .wrap_output(&mut out)
        .unwrap();
    for l in &lines {
        writeln!(w, "{l}").unwrap();
    }
    w.finish().unwrap();
    std::fs::write(&path, out).unwrap();
}

#[test]
fn an_untouched_vault_verifies() {
    let (tv, contents) = vault_with_history();
    let (ok, v) = tv.verify();
    assert!(ok, "{v}");
    assert_eq!(v["report"]["events"], 12);
    assert_eq!(v["report"]["objects_checked"], contents.len());
    assert_eq!(v["report"]["checkpoints"], 1);
}

#[test]
fn flipped_byte_in_an_object() {
    if !embedded_only("flipped_byte_in_an_object") {
        return;
    }
    let (tv, _) = vault_with_history();
    let objects = files_under(&tv.vault.join("objects"));
    flip_byte(&objects[5], 100);
    let p = problems(&tv);
    assert_found(&p, "object ", "cannot be decrypted");
    assert_eq!(p.len(), 1, "{p:?}");
}

#[test]
fn deleted_and_swapped_objects() {
    if !embedded_only("deleted_and_swapped_objects") {
        return;
    }
    let (tv, contents) = vault_with_history();
    let objects = files_under(&tv.vault.join("objects"));
    std::fs::remove_file(&objects[0]).unwrap();
    // Put one object's file in another's place: decrypts fine, but to the wrong content.
    std::fs::copy(&objects[2], &objects[1]).unwrap();
    let p = problems(&tv);
    assert_found(&p, "object ", "missing");
    assert_found(&p, "object ", "content changed");
    let _ = contents;
}

#[test]
fn flipped_byte_in_a_log_segment() {
    if !embedded_only("flipped_byte_in_a_log_segment") {
        return;
    }
    let (tv, _) = vault_with_history();
    let segs = files_under(&tv.vault.join("log"));
    flip_byte(&segs[1], 20);
    let p = problems(&tv);
    assert_found(&p, "log/000000000005", "events 5..8 are unreadable");
}

#[test]
fn altered_event_content() {
    if !embedded_only("altered_event_content") {
        return;
    }
    let (tv, _) = vault_with_history();
    edit_segment(&tv, 1, |lines| {
        lines[2] = lines[2].replacen("\"size\":", "\"size\":1", 1);
    });
    let p = problems(&tv);
    assert_found(&p, "event 7", "signature does not match");
    assert_found(&p, "checkpoints/000000000012", "root hash does not match");
}

#[test]
fn deleted_event() {
    if !embedded_only("deleted_event") {
        return;
    }
    let (tv, _) = vault_with_history();
    edit_segment(&tv, 1, |lines| {
        lines.remove(1);
    });
    let p = problems(&tv);
    assert_found(&p, "event 7", "missing");
    assert_found(&p, "event 7", "chain broken");
    assert_found(&p, "checkpoints/000000000012", "events were deleted");
}

#[test]
fn duplicated_event() {
    if !embedded_only("duplicated_event") {
        return;
    }
    let (tv, _) = vault_with_history();
    edit_segment(&tv, 0, |lines| {
        let dup = lines[2].clone();
        lines.insert(3, dup);
    });
    let p = problems(&tv);
    assert_found(&p, "event 3", "duplicated or reordered");
}

#[test]
fn reordered_events() {
    if !embedded_only("reordered_events") {
        return;
    }
    let (tv, _) = vault_with_history();
    edit_segment(&tv, 2, |lines| lines.swap(0, 1));
    let p = problems(&tv);
    assert_found(&p, "event 10", "missing");
    assert_found(&p, "event 9", "duplicated or reordered");
    assert_found(&p, "checkpoints/000000000012", "root hash does not match");
}

#[test]
fn deleted_segment() {
    if !embedded_only("deleted_segment") {
        return;
    }
    let (tv, _) = vault_with_history();
    let segs = files_under(&tv.vault.join("log"));
    std::fs::remove_file(&segs[1]).unwrap();
    let p = problems(&tv);
    assert_found(&p, "log/000000000009", "events 5..8 are missing");
}

#[test]
fn event_forged_with_another_key() {
    if !embedded_only("event_forged_with_another_key") {
        return;
    }
    let (tv, _) = vault_with_history();
    edit_segment(&tv, 2, |lines| {
        use ed25519_dalek::Signer;
        let forger = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
        let mut ev = athar_vault::SignedEvent::parse(&lines[3]).unwrap().event;
        ev.actor = athar_vault::event::actor_id(&forger.verifying_key());
        lines[3] = ev.sign(|m| forger.sign(m).to_bytes()).line;
    });
    let p = problems(&tv);
    assert_found(&p, "event 12", "not this vault's custodian");
}

#[test]
fn flipped_byte_in_a_checkpoint() {
    if !embedded_only("flipped_byte_in_a_checkpoint") {
        return;
    }
    let (tv, _) = vault_with_history();
    let cp = files_under(&tv.vault.join("checkpoints"))[0].clone();
    let note = std::fs::read_to_string(&cp).unwrap();
    // Change the tree size line: the signature no longer matches.
    std::fs::write(&cp, note.replacen("\n12\n", "\n11\n", 1)).unwrap();
    let p = problems(&tv);
    assert_found(
        &p,
        "checkpoints/000000000012",
        "signature or format invalid",
    );
    flip_byte(&cp, 10);
    let p = problems(&tv);
    assert_found(&p, "checkpoints/000000000012", "invalid");
}
