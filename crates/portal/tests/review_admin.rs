//! Investigators' edits become signed custody events; the admin's users, invitations and
//! settings work through the pages.

mod common;

use athar_catalog::{CaseObservations, Catalog, EventFilter, Photos};
use athar_portal::store::{self, Role};
use common::Portal;

fn events_of(portal: &Portal, kind: &str) -> Vec<athar_catalog::EventRow> {
    portal
        .app
        .catalogs
        .get()
        .events(&EventFilter {
            kind: Some(kind.into()),
            ..Default::default()
        })
        .unwrap()
}

#[test]
fn observation_edits_merges_and_splits_are_signed_events() {
    let portal = Portal::start(30);
    let (mut inv, _) = portal.signed_in(Role::Investigator, "i@test");
    let cases = portal
        .app
        .catalogs
        .get()
        .cases(&Default::default())
        .unwrap();
    let (a, b) = (cases[0].id.clone(), cases[1].id.clone());
    let page = format!("/review/cases/{a}");
    let before = events_of(&portal, "metadata modification").len();
    let r = inv.post(
        &page,
        &format!("/review/cases/{a}/observations"),
        &[
            ("sex", "male"),
            ("age_min", "٢٥"),
            ("age_max", "35"),
            ("marks", "scar on the left hand\ntattoo of a bird"),
            ("injuries", ""),
            ("notes", "checked twice"),
        ],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    let obs = portal.app.catalogs.get().observations(&a).unwrap().unwrap();
    assert_eq!((obs.age_min, obs.age_max), (Some(25), Some(35)));
    assert_eq!(obs.marks, ["scar on the left hand", "tattoo of a bird"]);
    assert_eq!(
        events_of(&portal, "metadata modification").len(),
        before + 1
    );
    assert!(inv.get(&page).body.contains("tattoo of a bird"));
    // A wrong age order changes nothing.
    let bad = inv.post(
        &page,
        &format!("/review/cases/{a}/observations"),
        &[("age_min", "40"), ("age_max", "30")],
    );
    assert_eq!(bad.status, 400);
    assert_eq!(
        events_of(&portal, "metadata modification").len(),
        before + 1
    );

    // Merge b into a: one "grouping" event; b is gone from the catalogue.
    let groupings = events_of(&portal, "grouping").len();
    let r = inv.post(&page, &format!("/review/cases/{a}/merge"), &[("from", &b)]);
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(events_of(&portal, "grouping").len(), groupings + 1);
    assert!(
        portal.app.catalogs.get().case(&b).unwrap().is_none(),
        "the merged case is still there"
    );
    assert_eq!(
        inv.post(
            &page,
            &format!("/review/cases/{a}/merge"),
            &[("from", "no-such-case")]
        )
        .status,
        400
    );
    // Split needs photos; the synthetic cases have none, so it is refused with a clear message.
    assert_eq!(
        inv.post(&page, &format!("/review/cases/{a}/split"), &[])
            .status,
        400
    );
    // Every change is in the audit trail.
    let actions: Vec<String> = store::audit_trail(&portal.app.db.get(), 50)
        .unwrap()
        .into_iter()
        .map(|a| a.action)
        .collect();
    assert!(
        actions.contains(&"observations".to_string()) && actions.contains(&"merge".to_string()),
        "{actions:?}"
    );
}

#[test]
fn a_claim_becomes_a_signed_identification_and_the_family_sees_it() {
    let portal = Portal::start(20);
    let case = portal.some_case();
    let (mut fam, _) = portal.signed_in(Role::Family, "f@test");
    let id = common::record_id(&fam.post(
        "/records/new",
        "/records/new",
        &common::record_form("سليم", "Salim", &[("contact", "call 0999")]),
    ));
    fam.post(
        &format!("/cases/{case}"),
        &format!("/cases/{case}/step"),
        &[("level", "1"), ("confirm", "yes")],
    );
    let r = fam.post(
        &format!("/cases/{case}"),
        &format!("/cases/{case}/claim"),
        &[("record", &id), ("kind", "recognise"), ("note", "his scar")],
    );
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(
        portal
            .app
            .catalogs
            .get()
            .case(&case)
            .unwrap()
            .unwrap()
            .status,
        "candidate"
    );
    let claim = store::claims(&portal.app.db.get(), Some(&id))
        .unwrap()
        .remove(0);

    let (mut inv, _) = portal.signed_in(Role::Investigator, "i@test");
    let page = inv.get(&format!("/review/claims/{}", claim.id));
    assert!(
        page.body.contains("call 0999"),
        "the investigator reads the sealed contact"
    );
    let path = format!("/review/claims/{}", claim.id);
    assert_eq!(
        inv.post(&path, &format!("{path}/confirm"), &[]).status,
        400,
        "confirmed without ticking"
    );
    assert_eq!(
        inv.post(&path, &format!("{path}/confirm"), &[("confirm", "yes")])
            .status,
        303
    );
    let ident = events_of(&portal, "identification");
    assert_eq!(ident.len(), 1);
    let record = athar_catalog::Records::record(&*portal.app.catalogs.get(), &id)
        .unwrap()
        .unwrap();
    assert_eq!(
        ident[0].details["record_digest"],
        athar_catalog::record_digest(&portal.app.record_key, &record)
    );
    assert_eq!(
        portal
            .app
            .catalogs
            .get()
            .case(&case)
            .unwrap()
            .unwrap()
            .status,
        "identified"
    );
    assert_eq!(
        inv.post(&path, &format!("{path}/informed"), &[]).status,
        303
    );
    assert_eq!(
        portal
            .app
            .catalogs
            .get()
            .case(&case)
            .unwrap()
            .unwrap()
            .status,
        "family informed"
    );
    fam.lang = Some("en".into());
    let seen = fam.get(&format!("/records/{id}"));
    assert!(
        seen.body.contains("<strong>family informed</strong>"),
        "the family does not see the outcome"
    );
}

#[test]
fn admins_invite_change_roles_and_publish_statistics() {
    let portal = Portal::start(20);
    let (mut admin, _) = portal.signed_in(Role::Admin, "a@test");
    // Statistics are off until the admin turns them on.
    let mut visitor = portal.client();
    assert_eq!(visitor.get("/stats").status, 404);
    assert_eq!(
        admin
            .post("/admin", "/admin/settings", &[("public_stats", "on")])
            .status,
        303
    );
    let stats = visitor.get("/stats");
    assert_eq!(stats.status, 200);
    assert!(stats.body.contains("<svg"), "no chart");
    assert_eq!(admin.post("/admin", "/admin/settings", &[]).status, 303);
    assert_eq!(visitor.get("/stats").status, 404);

    // An invitation link makes an investigator, once.
    let page = admin.post("/admin", "/admin/invitations", &[("role", "investigator")]);
    let link = page
        .body
        .split("id=\"invite-link\">")
        .nth(1)
        .and_then(|r| r.split('<').next())
        .expect("the link is shown")
        .to_string();
    let mut newcomer = portal.client();
    let form = [
        ("name", "New Investigator"),
        ("email", "new@test"),
        ("password", "a long password here"),
        ("password2", "a long password here"),
    ];
    let joined = newcomer.post(&link, &link, &form);
    assert_eq!(joined.status, 303, "{}", joined.body);
    assert_eq!(joined.location.as_deref(), Some("/review"));
    assert_eq!(newcomer.get("/review").status, 200);
    assert_eq!(
        portal.client().get(&link).status,
        404,
        "the link works twice"
    );

    // Roles change; disabling ends the user's sessions.
    let (mut fam, famu) = portal.signed_in(Role::Family, "f@test");
    assert_eq!(
        admin
            .post(
                "/admin",
                &format!("/admin/users/{}/role", famu.id),
                &[("role", "investigator")]
            )
            .status,
        303
    );
    assert_eq!(fam.get("/review").status, 200, "the new role applies");
    assert_eq!(
        admin
            .post(
                "/admin",
                &format!("/admin/users/{}/disable", famu.id),
                &[("disabled", "yes")]
            )
            .status,
        303
    );
    assert_eq!(
        fam.get("/review").status,
        303,
        "a disabled user is still signed in"
    );
    assert_eq!(
        portal
            .client()
            .sign_in("f@test", "a long test password")
            .status,
        401
    );
}
