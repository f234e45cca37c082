//! Sessions, CSRF, the sign-in limit, password storage, sealed contacts, withdrawal, graded
//! viewing and the cap on unblurred views, through the real server.

mod common;

use athar_catalog::{Catalog, EventFilter, Records};
use athar_portal::auth;
use athar_portal::store::{self, Role};
use common::{record_form, record_id, Portal};

#[test]
fn session_cookies_are_strict_and_the_id_changes_at_sign_in() {
    let portal = Portal::start(10);
    portal.user(Role::Family, "f@test");
    let mut c = portal.client();
    let form = c.get("/signin");
    let before = c
        .cookie
        .clone()
        .expect("an anonymous session for the form's CSRF token");
    let cookie = &form.cookies[0];
    for attr in ["Secure", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attr), "{cookie} lacks {attr}");
    }
    let signed = c.post_raw(
        "/signin",
        &[
            ("csrf", &form.csrf().unwrap()),
            ("email", "f@test"),
            ("password", "a long test password"),
        ],
    );
    assert_eq!(signed.status, 303);
    let after = c.cookie.clone().unwrap();
    assert_ne!(before, after, "the session id must change at sign-in");
    assert!(
        signed.cookies[0].contains("SameSite=Strict") && signed.cookies[0].contains("HttpOnly")
    );
    assert_eq!(c.get("/records").status, 200);
    // The id known before sign-in opens nothing now.
    let mut old = portal.client();
    old.cookie = Some(before);
    let p = old.get("/records");
    assert_eq!(p.status, 303, "the pre-sign-in id still works");
    // Only a hash of the session id is stored.
    let stored: i64 = portal
        .app
        .db
        .get()
        .query_row(
            "SELECT count(*) FROM sessions WHERE id_hash = ?1",
            &[&after],
            |r| r.get(0),
        )
        .unwrap()
        .unwrap();
    assert_eq!(stored, 0, "the raw session id is in the database");
}

#[test]
fn a_post_without_the_right_csrf_token_changes_nothing() {
    let portal = Portal::start(10);
    let (mut c, me) = portal.signed_in(Role::Family, "f@test");
    let form = record_form("سليم", "Salim", &[]);
    let mut forged = form.clone();
    forged.push(("csrf", "0000"));
    assert_eq!(c.post_raw("/records/new", &forged).status, 403);
    assert_eq!(c.post_raw("/records/new", &form).status, 403);
    // Another session's valid token does not do either.
    let (mut other, _) = portal.signed_in(Role::Family, "g@test");
    let token = other.get("/records/new").csrf().unwrap();
    let mut stolen = form.clone();
    stolen.push(("csrf", &token));
    assert_eq!(c.post_raw("/records/new", &stolen).status, 403);
    assert!(portal
        .app
        .catalogs
        .get()
        .records_of(&me.id)
        .unwrap()
        .is_empty());
    // With its own token the same form works.
    record_id(&c.post("/records/new", "/records/new", &form));
}

#[test]
fn sign_in_is_rate_limited_and_passwords_are_argon2id() {
    let portal = Portal::start(10);
    portal.user(Role::Family, "f@test");
    let (_, hash) = store::user_by_email(&portal.app.db.get(), "f@test")
        .unwrap()
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "{hash}");
    let mut c = portal.client();
    for _ in 0..auth::MAX_FAILURES_PER_ACCOUNT {
        assert_eq!(c.sign_in("f@test", "wrong password!!").status, 401);
    }
    let blocked = c.sign_in("f@test", "a long test password");
    assert_eq!(
        blocked.status,
        429,
        "the right password went through after {} failures",
        auth::MAX_FAILURES_PER_ACCOUNT
    );
    // Another account from another client is not blocked by that.
    portal.user(Role::Family, "g@test");
    assert_eq!(
        portal
            .client()
            .sign_in("g@test", "a long test password")
            .status,
        303
    );
}

#[test]
fn contacts_are_sealed_and_withdrawal_erases_the_record() {
    let portal = Portal::start(10);
    let (mut c, me) = portal.signed_in(Role::Family, "f@test");
    let contact = "Umm Salim, phone +963 11 555 0199";
    let form = record_form(
        "سليم",
        "Salim",
        &[
            ("contact", contact),
            ("marks", "scar over the right eyebrow"),
        ],
    );
    let id = record_id(&c.post("/records/new", "/records/new", &form));
    let sealed = portal
        .app
        .catalogs
        .get()
        .contact(&id)
        .unwrap()
        .expect("a sealed contact");
    assert!(
        sealed.0.starts_with(b"age-encryption.org/v1"),
        "not an age file"
    );
    assert!(!String::from_utf8_lossy(&sealed.0).contains("555 0199"));
    assert_eq!(
        athar_catalog::open_contact(portal.app.identity(), &sealed).unwrap(),
        contact
    );
    // The family's page says it is sealed and never shows it back.
    assert!(!c.get(&format!("/records/{id}")).body.contains("555 0199"));
    // No database file holds it in clear.
    for entry in std::fs::read_dir(portal.vault_dir()).unwrap() {
        let p = entry.unwrap().path();
        if p.is_file() {
            let bytes = std::fs::read(&p).unwrap();
            assert!(
                !bytes.windows(8).any(|w| w == b"555 0199"),
                "{} holds the contact in clear",
                p.display()
            );
            assert!(
                !bytes.windows(5).any(|w| w == b"Salim"),
                "{} holds the name in clear",
                p.display()
            );
        }
    }

    // The owner edits it: the change is saved, the sealed contact kept, an "edited" digest logged.
    let edited = c.post(
        &format!("/records/{id}/edit"),
        &format!("/records/{id}/edit"),
        &record_form(
            "سليم",
            "Saleem",
            &[("marks", "scar over the right eyebrow")],
        ),
    );
    assert_eq!(edited.status, 303, "{}", edited.body);
    let r = portal.app.catalogs.get().record(&id).unwrap().unwrap();
    assert_eq!(r.names_latin.given, "Saleem");
    assert!(
        portal.app.catalogs.get().contact(&id).unwrap().is_some(),
        "an edit without a contact dropped it"
    );
    let w = c.post(
        &format!("/records/{id}/edit"),
        &format!("/records/{id}/withdraw"),
        &[("confirm", "yes")],
    );
    assert_eq!(w.status, 303);
    let cat = portal.app.catalogs.get();
    assert!(cat.record(&id).unwrap().is_none());
    assert!(cat.contact(&id).unwrap().is_none());
    assert!(cat.records_of(&me.id).unwrap().is_empty());
    let events = cat
        .events(&EventFilter {
            kind: Some(athar_catalog::records::RECORD.into()),
            ..Default::default()
        })
        .unwrap();
    let changes: Vec<&str> = events
        .iter()
        .map(|e| e.details["change"].as_str().unwrap())
        .collect();
    assert_eq!(changes, ["submitted", "edited", "withdrawn"]);
    for e in &events {
        let text = e.details.to_string();
        assert!(
            !text.contains("Sal") && !text.contains("سليم") && !text.contains(&id),
            "the log holds more than a digest: {text}"
        );
        assert_eq!(e.details["digest"].as_str().unwrap().len(), 64);
    }
    // The audit trail keeps only the digest in place of the record's id.
    let rows = store::audit_trail(&portal.app.db.get(), 100).unwrap();
    assert!(rows
        .iter()
        .all(|a| a.record_id.as_deref() != Some(id.as_str())));
}

#[test]
fn graded_viewing_goes_step_by_step_and_is_audited() {
    let portal = Portal::start(30);
    let case = portal.some_case();
    let (mut f, me) = portal.signed_in(Role::Family, "f@test");
    let first = f.get(&format!("/cases/{case}"));
    assert_eq!(first.status, 200);
    assert!(!first.body.contains("<img"), "a photo on first display");
    assert!(
        !first.body.contains("class=\"facts\""),
        "facts before the first step"
    );
    // No image before its step, whatever the URL.
    for kind in ["label", "blur", "full"] {
        assert_eq!(
            f.get(&format!("/cases/{case}/photos/0/{kind}")).status,
            403,
            "{kind} before its step"
        );
    }
    let step = |f: &mut common::Client, level: &str, confirm: bool| {
        let mut fields = vec![("level", level)];
        if confirm {
            fields.push(("confirm", "yes"));
        }
        f.post(
            &format!("/cases/{case}"),
            &format!("/cases/{case}/step"),
            &fields,
        )
        .status
    };
    assert_eq!(step(&mut f, "2", true), 400, "skipped step 1");
    assert_eq!(step(&mut f, "1", false), 400, "no content-warning choice");
    assert_eq!(step(&mut f, "1", true), 303);
    let facts = f.get(&format!("/cases/{case}"));
    assert!(facts.body.contains("class=\"facts\""));
    assert!(!facts.body.contains("<img"));
    assert_eq!(step(&mut f, "2", true), 303);
    assert!(f
        .get(&format!("/cases/{case}"))
        .body
        .contains("/photos/0/label"));
    assert_eq!(step(&mut f, "3", true), 303);
    assert_eq!(step(&mut f, "4", true), 303);
    let actions: Vec<String> = store::audit_trail(&portal.app.db.get(), 100)
        .unwrap()
        .into_iter()
        .filter(|a| {
            a.user_id.as_deref() == Some(me.id.as_str())
                && a.case_id.as_deref() == Some(case.as_str())
        })
        .map(|a| a.action)
        .collect();
    for n in 1..=4 {
        assert!(
            actions.contains(&format!("view-step-{n}")),
            "step {n} not audited: {actions:?}"
        );
    }
}

#[test]
fn investigators_unblurred_views_are_counted_and_capped() {
    let portal = Portal::start(10);
    let case = portal.some_case();
    let (mut admin, _) = portal.signed_in(Role::Admin, "a@test");
    let (mut inv, me) = portal.signed_in(Role::Investigator, "i@test");
    assert_eq!(
        admin
            .post("/admin", "/admin/settings", &[("cap", "٢")])
            .status,
        303,
        "the cap in Arabic-Indic digits"
    );
    assert_eq!(
        store::setting(&portal.app.db.get(), store::UNBLURRED_CAP)
            .unwrap()
            .as_deref(),
        Some("2")
    );
    // Investigators may go straight to the last step.
    assert_eq!(
        inv.post(
            &format!("/cases/{case}"),
            &format!("/cases/{case}/step"),
            &[("level", "4"), ("confirm", "yes")]
        )
        .status,
        303
    );
    // The synthetic cases have no photos: count views as the image route does.
    for _ in 0..2 {
        store::audit(
            &portal.app.db.get(),
            store::Audit {
                user: Some(&me),
                action: store::UNBLURRED_VIEW,
                case_id: Some(&case),
                record_id: None,
                detail: String::new(),
            },
        )
        .unwrap();
    }
    assert_eq!(
        store::unblurred_today(&portal.app.db.get(), &me.id).unwrap(),
        2
    );
    assert_eq!(
        inv.get(&format!("/cases/{case}/photos/0/full")).status,
        429,
        "past the cap"
    );
    let page = inv.get("/review");
    assert!(page.body.contains('2'), "the count is shown");
    // The audit page shows the exposure per day.
    assert!(admin.get("/audit").body.contains("i@test"));
}

#[test]
fn the_search_index_answers_as_the_catalogue_does() {
    use athar_catalog::{CaseFilter, Photos};
    let portal = Portal::start(400);
    let all = portal
        .app
        .catalogs
        .get()
        .cases(&CaseFilter::default())
        .unwrap();
    let mut filters = vec![CaseFilter {
        branch: Some("215".into()),
        from: Some("2012-01-01".into()),
        to: Some("2012-06-30".into()),
        ..Default::default()
    }];
    for c in all.iter().step_by(37) {
        filters.push(CaseFilter {
            number: c.detainee.clone(),
            ..Default::default()
        });
        filters.push(CaseFilter {
            number: c.report.clone(),
            branch: c.branch.clone(),
            ..Default::default()
        });
        filters.push(CaseFilter {
            status: Some(c.status.clone()),
            to: c.first_taken.as_ref().map(|t| t[..10].to_string()),
            limit: Some(20),
            ..Default::default()
        });
        // Date windows (the index binary-searches them): one day, and from a day on.
        let day = c.first_taken.as_ref().map(|t| t[..10].to_string());
        filters.push(CaseFilter {
            from: day.clone(),
            to: day.clone(),
            ..Default::default()
        });
        filters.push(CaseFilter {
            from: day,
            limit: Some(30),
            ..Default::default()
        });
    }
    let mut hits = 0;
    for f in &filters {
        let want = portal.app.catalogs.get().cases(f).unwrap();
        assert_eq!(portal.app.search_cases(f).unwrap(), want, "{f:?}");
        hits += want.len();
    }
    assert!(hits > filters.len(), "the filters found almost nothing");
    // Through the page, with Arabic-Indic digits.
    let (mut f, _) = portal.signed_in(Role::Family, "f@test");
    let c = all.iter().find(|c| c.detainee.is_some()).unwrap();
    let d: String = c
        .detainee
        .clone()
        .unwrap()
        .chars()
        .map(|ch| char::from_u32(0x0660 + ch.to_digit(10).unwrap()).unwrap())
        .collect();
    let page = f.get(&format!(
        "/search?number={}",
        d.bytes().map(|b| format!("%{b:02X}")).collect::<String>()
    ));
    assert!(
        page.body.contains(&format!("/cases/{}", c.id)),
        "search by Arabic-Indic digits did not find {}",
        c.id
    );
}

#[test]
fn the_portal_holds_the_writer_lock_only_while_it_appends() {
    use athar_vault::{Access, SecretString, Vault};
    let portal = Portal::start(10);
    let pass = SecretString::from(common::PASS.to_string());
    // While the portal runs, another writer (ingest) can take the lock…
    let writer = Vault::open(&portal.vault_dir(), &pass, Access::Write)
        .expect("the portal holds the vault's lock");
    // …and the portal waits for it, then says the archive is busy, writing nothing.
    let opts = athar_portal::Options {
        lock_wait: std::time::Duration::from_millis(300),
        ..Default::default()
    };
    let app = athar_portal::App::open(&portal.vault_dir(), &pass, opts).unwrap();
    let case = portal.some_case();
    let before = writer.tail().size;
    match app.append(vec![athar_catalog::informed_event(&case)]) {
        Err(athar_portal::PortalError::Busy) => {}
        other => panic!("expected Busy, got {:?}", other.map(|v| v.len())),
    }
    drop(writer);
    let signed = app
        .append(vec![athar_catalog::informed_event(&case)])
        .unwrap();
    assert_eq!(
        signed[0].event.seq,
        before + 1,
        "appended after the other writer, no gap"
    );
    let again = Vault::open(&portal.vault_dir(), &pass, Access::Write)
        .expect("the lock is released after appending");
    assert_eq!(again.tail().size, before + 1);
}
