//! No user-facing string without a translation: every message id the code uses exists in all
//! four languages, and the four files define the same ids.

use std::collections::BTreeSet;

use athar_portal::i18n::{I18n, SOURCES};

/// Kebab-case literals in the code that are not message ids (audit actions, form values).
const NOT_MESSAGES: &[&str] = &[
    "view-unblurred",
    "record-submit",
    "record-edit",
    "record-withdraw",
    "not-them",
    "read-contact",
    "claim-confirm",
    "claim-reject",
    "admin-role",
    "admin-disable",
    "admin-enable",
    "admin-invite",
    "admin-settings",
    "current-password",
    "new-password",
    "no-referrer",
    "no-store",
    "utf-8",
    "multipart-form",
    "invite-role",
    "invite-link",
    "rt-multi",
];

fn ids_of(src: &str) -> BTreeSet<String> {
    src.lines()
        .filter(|l| !l.starts_with(' ') && !l.starts_with('#'))
        .filter_map(|l| l.split_once(" =").map(|(id, _)| id.trim().to_string()))
        .filter(|id| !id.is_empty())
        .collect()
}

/// Every "kebab-case-literal" in the portal's sources.
fn literals_in_code() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut out = BTreeSet::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
        for (i, chunk) in text.split('"').enumerate() {
            let is_id = i % 2 == 1
                && chunk.contains('-')
                && chunk.chars().next().is_some_and(|c| c.is_ascii_lowercase())
                && chunk
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                && !chunk.ends_with('-');
            if is_id {
                out.insert(chunk.to_string());
            }
        }
    }
    out
}

/// Ids the code builds with format!: statuses, roles, steps, claim states, reasons.
fn computed_ids() -> Vec<String> {
    let mut ids = Vec::new();
    for s in [
        "unidentified",
        "proposed",
        "candidate",
        "identified",
        "family-informed",
    ] {
        ids.push(format!("status-{s}"));
    }
    for r in athar_portal::Role::ALL {
        ids.push(format!("role-{}", r.as_str()));
    }
    for n in 1..=athar_portal::view::STEPS {
        for part in ["title", "warning", "button"] {
            ids.push(format!("step-{n}-{part}"));
        }
    }
    for s in ["open", "confirmed", "rejected", "informed"] {
        ids.push(format!("claim-status-{s}"));
    }
    for code in [
        "branch-match",
        "branch-differs",
        "documented-after-arrest",
        "documented-before-arrest",
        "sex-match",
        "sex-differs",
        "age-in-range",
        "age-near-range",
        "age-outside-range",
        "mark-match",
        "marks-differ",
        "number-match",
    ] {
        ids.push(format!("reason-{code}"));
    }
    ids
}

#[test]
fn the_four_languages_define_the_same_ids() {
    let en = ids_of(SOURCES[1].1);
    assert!(en.len() > 200, "{} ids", en.len());
    for (code, src) in SOURCES {
        let ids = ids_of(src);
        let missing: Vec<_> = en.difference(&ids).collect();
        let extra: Vec<_> = ids.difference(&en).collect();
        assert!(
            missing.is_empty() && extra.is_empty(),
            "{code}: missing {missing:?}, extra {extra:?}"
        );
    }
}

#[test]
fn every_id_the_code_uses_is_translated() {
    let i18n = I18n::new();
    let mut missing = Vec::new();
    for id in literals_in_code().into_iter().chain(computed_ids()) {
        if NOT_MESSAGES.contains(&id.as_str()) {
            continue;
        }
        if !i18n.has(&id) {
            missing.push(id);
        }
    }
    assert!(
        missing.is_empty(),
        "message ids without a translation in every language: {missing:?}"
    );
}

#[test]
fn reasons_from_the_matcher_are_translated() {
    use athar_catalog::matching::eval;
    let dir = tempfile::tempdir().unwrap();
    let key = [7u8; 32];
    let mut cat = athar_catalog::SqlCatalog::open_sqlite(&dir.path().join("c.db"), &key).unwrap();
    // Project the synthetic cases through a real vault log.
    let pass = athar_vault::SecretString::from("p".to_string());
    let mut vault = athar_vault::Vault::init(
        &dir.path().join("v"),
        &pass,
        &athar_vault::InitOptions {
            scrypt_log_n: 10,
            ..Default::default()
        },
    )
    .unwrap();
    let s = eval::synthetic(300, 3);
    vault.append(s.drafts.clone()).unwrap();
    athar_catalog::catch_up(&mut cat, &vault).unwrap();
    let i18n = I18n::new();
    let mut codes = BTreeSet::new();
    for (r, _) in s.records.iter().take(60) {
        for c in athar_catalog::matching::rank(&cat, r, 10).unwrap() {
            for reason in c.reasons {
                codes.insert(reason.detail.code.clone());
                let id = format!("reason-{}", reason.detail.code);
                assert!(i18n.has(&id), "{id} is not translated");
                // Every argument the matcher gives is used by the message (no "{$x}" left).
                let l = i18n.lang("en").unwrap();
                let args: Vec<(String, String)> = reason.detail.args.clone().into_iter().collect();
                let text = l.dynamic(&id, &args);
                assert!(!text.contains('{'), "{id}: {text}");
            }
        }
    }
    assert!(codes.len() >= 5, "only {codes:?} seen");
}
