//! Authorisation: every route × every role gets exactly the access the table promises, and
//! one family cannot reach another's record by changing an id.

mod common;

use athar_catalog::Records;
use athar_portal::store::{self, Role};
use athar_portal::{auth, Method, ROUTES};
use common::{record_form, record_id, Portal};

/// Who may use each route, written out here independently of the code's table, so that a
/// change to the table must be made twice: by mistake, never.
fn expected(method: Method, path: &str) -> &'static [Role] {
    use Role::*;
    match (method, path) {
        (Method::Get, "/" | "/lang/{code}" | "/stats") => &[Anonymous, Family, Investigator, Admin],
        (_, "/signin" | "/register" | "/invite/{token}") => &[Anonymous],
        (Method::Post, "/signout") => &[Family, Investigator, Admin],
        (_, p) if p.starts_with("/records") => &[Family],
        (Method::Get, "/search" | "/cases/{id}" | "/cases/{id}/photos/{n}/{kind}") => {
            &[Family, Investigator]
        }
        (Method::Post, "/cases/{id}/step") => &[Family, Investigator],
        (Method::Post, "/cases/{id}/claim") => &[Family],
        (_, p) if p.starts_with("/review") => &[Investigator],
        (Method::Get, "/audit") => &[Investigator, Admin],
        (_, p) if p.starts_with("/admin") => &[Admin],
        (m, p) => panic!("route {m:?} {p} is not in the test's list: add who may use it"),
    }
}

#[test]
fn every_route_allows_exactly_its_roles() {
    let portal = Portal::start(40);
    let case = portal.some_case();
    let family = portal.user(Role::Family, "family@test");
    let investigator = portal.user(Role::Investigator, "inv@test");
    let admin = portal.user(Role::Admin, "admin@test");
    let other = portal.user(Role::Family, "other@test");
    // A record of the family with a photo, and a claim on it.
    let mut record = athar_catalog::MissingPerson::new(&family.id);
    record.names_latin.given = "Test".into();
    record.consent = true;
    let photo = {
        let mut cat = portal.app.catalogs.get();
        cat.put_record(&record).unwrap();
        cat.add_photo(
            &record.id,
            b"\xff\xd8\xff\xe0 not really a jpeg",
            "image/jpeg",
        )
        .unwrap()
    };
    let claim = store::add_claim(
        &portal.app.db.get(),
        &record.id,
        &case,
        "recognise",
        &family.id,
        "",
    )
    .unwrap();
    // Viewers may see every step of the case, so that an image route answers 200/404, not 403.
    for u in [&family, &investigator, &admin] {
        store::set_viewing_level(&portal.app.db.get(), &u.id, &case, 4).unwrap();
    }
    let users = [
        (Role::Admin, Some(&admin)),
        (Role::Investigator, Some(&investigator)),
        (Role::Family, Some(&family)),
        (Role::Anonymous, None),
    ];
    let mut checked = 0;
    for route in ROUTES {
        let allowed = expected(route.method, route.path);
        assert_eq!(
            {
                let mut a = route.allow.to_vec();
                a.sort();
                a
            },
            {
                let mut e = allowed.to_vec();
                e.sort();
                e
            },
            "{:?} {}: the code's table and the expected roles differ",
            route.method,
            route.path
        );
        for (role, user) in users {
            // A fresh invitation per check: accepting one uses it up.
            let token = auth::random_hex(24);
            store::add_invitation(
                &portal.app.db.get(),
                &auth::sha256_hex(&token),
                Role::Investigator,
                &admin.id,
            )
            .unwrap();
            let photo_id = photo.to_string();
            let path = route
                .path
                .replace("{code}", "en")
                .replace("{token}", &token)
                .replace("{photo}", &photo_id)
                .replace("{n}", "0")
                .replace("{kind}", "blur");
            let path = if path.starts_with("/records/") {
                path.replace("{id}", &record.id)
            } else if path.starts_with("/review/claims/") {
                path.replace("{id}", &claim.id)
            } else if path.starts_with("/admin/users/") {
                path.replace("{id}", &other.id)
            } else {
                path.replace("{id}", &case)
            };
            let mut c = portal.session_for(user);
            let page = match route.method {
                Method::Get => c.get(&path),
                Method::Post => {
                    // The CSRF token of this session (the home page's sign-out form, or an
                    // anonymous session's sign-in form).
                    let token = c
                        .get(if user.is_some() { "/" } else { "/signin" })
                        .csrf()
                        .expect("a form");
                    c.post_raw(&path, &[("csrf", &token)])
                }
            };
            let denied = match role {
                Role::Anonymous => {
                    page.status == 303
                        && page
                            .location
                            .as_deref()
                            .is_some_and(|l| l.starts_with("/signin?next="))
                }
                _ => page.status == 403,
            };
            assert_eq!(
                !denied,
                allowed.contains(&role),
                "{:?} {path} as {}: status {} location {:?}",
                route.method,
                role.as_str(),
                page.status,
                page.location
            );
            checked += 1;
        }
    }
    assert_eq!(checked, ROUTES.len() * 4);
    assert!(
        ROUTES.len() >= 35,
        "the table lists {} routes",
        ROUTES.len()
    );
}

#[test]
fn a_family_cannot_reach_another_familys_record_by_its_id() {
    let portal = Portal::start(20);
    let (mut a, _) = portal.signed_in(Role::Family, "a@test");
    let (mut b, _) = portal.signed_in(Role::Family, "b@test");
    let form = record_form(
        "سليم",
        "Salim",
        &[
            ("contact", "phone +963 11 555 0101"),
            ("marks", "scar on the left hand"),
        ],
    );
    let id = record_id(&a.post("/records/new", "/records/new", &form));
    assert_eq!(a.get(&format!("/records/{id}")).status, 200);

    for path in [
        format!("/records/{id}"),
        format!("/records/{id}/edit"),
        format!("/records/{id}/photos/1"),
    ] {
        let p = b.get(&path);
        assert_eq!(p.status, 404, "B read {path}");
        assert!(
            !p.body.contains("Salim") && !p.body.contains("سليم"),
            "{path} leaked the name"
        );
    }
    let edit = b.post(
        "/records/new",
        &format!("/records/{id}/edit"),
        &record_form("x", "Changed", &[]),
    );
    assert_eq!(edit.status, 404);
    let withdraw = b.post(
        "/records/new",
        &format!("/records/{id}/withdraw"),
        &[("confirm", "yes")],
    );
    assert_eq!(withdraw.status, 404);
    let case = portal.some_case();
    b.post(
        &format!("/cases/{case}"),
        &format!("/cases/{case}/step"),
        &[("level", "1"), ("confirm", "yes")],
    );
    let claim = b.post(
        &format!("/cases/{case}"),
        &format!("/cases/{case}/claim"),
        &[("record", &id), ("kind", "recognise")],
    );
    assert_eq!(claim.status, 404, "B claimed with A's record");
    assert!(store::claims(&portal.app.db.get(), Some(&id))
        .unwrap()
        .is_empty());
    // A's record is as A left it; B's list does not show it.
    let r = portal.app.catalogs.get().record(&id).unwrap().unwrap();
    assert_eq!(r.names_latin.given, "Salim");
    assert!(!b.get("/records").body.contains(&id));
}
