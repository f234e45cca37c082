//! Several `athar serve` processes behind a load balancer, on one portal database (PostgreSQL
//! when `ATHAR_TEST_PG` is set, else the vault's portal.db): whichever process a request
//! lands on, the user's session, CSRF token, claims, viewing grades, audit trail, unblurred
//! cap and failed sign-ins are the same.

mod common;

use std::sync::Arc;

use athar_portal::store::{self, Role};
use athar_portal::{auth, App};
use common::{Client, Portal};

/// The same browser (same cookie) talking to another server.
fn on(addr: std::net::SocketAddr, from: &Client) -> Client {
    let mut c = Client::new(addr);
    c.cookie = from.cookie.clone();
    c.lang = from.lang.clone();
    c
}

#[test]
fn a_session_and_its_csrf_token_work_on_every_server() {
    let portal = Portal::start(10);
    let engine = portal.app.db.get().engine();
    assert_eq!(
        engine == athar_sql::Engine::Postgres,
        std::env::var("ATHAR_TEST_PG").is_ok_and(|u| !u.is_empty()),
        "the portal's tables are on {engine:?}"
    );
    let (_b_app, b) = portal.another_server();
    let (mut on_a, _) = portal.signed_in(Role::Family, "f@test");
    let mut on_b = on(b, &on_a);
    let page = on_b.get("/records");
    assert_eq!(
        page.status, 200,
        "signed in on A, refused on B: {}",
        page.body
    );

    // A form fetched from A, posted to B.
    let token = on_a.get("/records/new").csrf().expect("a CSRF token");
    let mut fields = vec![("csrf", token.as_str())];
    fields.extend(common::record_form("سليم", "Salim", &[]));
    let id = common::record_id(&on_b.post_raw("/records/new", &fields));
    assert!(
        on_a.get("/records").body.contains(&id),
        "A lists the record made on B"
    );

    // Signing out on B ends the session on A too.
    let out = on_b.post("/records", "/signout", &[]);
    assert_eq!(out.status, 303, "{}", out.body);
    assert_eq!(
        on_a.get("/records").status,
        303,
        "the session outlived sign-out on B"
    );
}

#[test]
fn a_claim_made_on_one_server_is_reviewed_on_another() {
    let portal = Portal::start(20);
    let (b_app, b) = portal.another_server();
    let case = portal.some_case();
    let (mut fam, _) = portal.signed_in(Role::Family, "f@test");
    let id = common::record_id(&fam.post(
        "/records/new",
        "/records/new",
        &common::record_form("سليم", "Salim", &[("contact", "call 0999")]),
    ));
    // The viewing grade is reached on A and honoured on B.
    fam.post(
        &format!("/cases/{case}"),
        &format!("/cases/{case}/step"),
        &[("level", "1"), ("confirm", "yes")],
    );
    let mut fam_b = on(b, &fam);
    let r = fam_b.post(
        &format!("/cases/{case}"),
        &format!("/cases/{case}/claim"),
        &[("record", &id), ("kind", "recognise"), ("note", "his scar")],
    );
    assert_eq!(
        r.status, 303,
        "a claim on B after the step on A: {}",
        r.body
    );
    let claim = store::claims(&portal.app.db.get(), Some(&id))
        .unwrap()
        .pop()
        .expect("A sees the claim made on B");

    // An investigator signed in on A reviews it on B.
    let (inv, _) = portal.signed_in(Role::Investigator, "i@test");
    let mut inv_b = on(b, &inv);
    let path = format!("/review/claims/{}", claim.id);
    assert!(inv_b.get(&path).body.contains("call 0999"));
    assert_eq!(
        inv_b
            .post(&path, &format!("{path}/confirm"), &[("confirm", "yes")])
            .status,
        303
    );
    assert_eq!(
        store::claim(&portal.app.db.get(), &claim.id)
            .unwrap()
            .unwrap()
            .status,
        "confirmed",
        "A does not see B's review"
    );
    // Both servers' audit trails are one.
    let actions: Vec<String> = store::audit_trail(&b_app.db.get(), 100)
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .collect();
    for a in ["view-step-1", "claim"] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
}

#[test]
fn failed_sign_ins_on_all_servers_count_together() {
    let portal = Portal::start(10);
    let (_b_app, b) = portal.another_server();
    portal.user(Role::Family, "f@test");
    let mut on_a = portal.client();
    let mut on_b = Client::new(b);
    // Alternate servers: each sees fewer failures than the limit, together they reach it.
    for i in 0..auth::MAX_FAILURES_PER_ACCOUNT {
        let c = if i % 2 == 0 { &mut on_a } else { &mut on_b };
        assert_eq!(c.sign_in("f@test", "wrong password!!").status, 401);
    }
    for c in [&mut on_a, &mut on_b] {
        assert_eq!(
            c.sign_in("f@test", "a long test password").status,
            429,
            "the right password went through after {} failures spread over two servers",
            auth::MAX_FAILURES_PER_ACCOUNT
        );
    }
}

#[test]
fn a_burst_of_parallel_guesses_on_two_servers_gets_only_the_allowed_tries() {
    let portal = Portal::start(10);
    let (_b_app, b) = portal.another_server();
    portal.user(Role::Family, "f@test");
    let addrs = [portal.addr, b];
    // Tokens first (each client needs its pre-sign-in session), then all guesses at once.
    let clients: Vec<Client> = (0..12)
        .map(|i| {
            let mut c = Client::new(addrs[i % 2]);
            c.get("/signin");
            c
        })
        .collect();
    let go = Arc::new(std::sync::Barrier::new(clients.len()));
    let threads: Vec<_> = clients
        .into_iter()
        .map(|mut c| {
            let go = go.clone();
            std::thread::spawn(move || {
                let token = c.get("/signin").csrf().unwrap();
                go.wait();
                c.post_raw(
                    "/signin",
                    &[
                        ("csrf", token.as_str()),
                        ("email", "f@test"),
                        ("password", "wrong password!!"),
                    ],
                )
                .status
            })
        })
        .collect();
    let statuses: Vec<u16> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let tried = statuses.iter().filter(|&&s| s == 401).count();
    assert_eq!(
        tried,
        auth::MAX_FAILURES_PER_ACCOUNT as usize,
        "passwords checked in a burst of 12: {statuses:?}"
    );
    assert!(
        statuses.iter().all(|&s| s == 401 || s == 429),
        "{statuses:?}"
    );
}

#[test]
fn the_daily_unblurred_cap_holds_across_servers_under_concurrency() {
    let portal = Portal::start(10);
    let (b_app, _) = portal.another_server();
    let case = portal.some_case();
    let me = portal.user(Role::Investigator, "i@test");
    let cap = 5;
    // 2 servers x 4 threads x 3 views race for 5 allowed views.
    let apps: [Arc<App>; 2] = [portal.app.clone(), b_app];
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let app = apps[t % 2].clone();
            let (me, case) = (me.clone(), case.clone());
            std::thread::spawn(move || {
                let mut logged = 0;
                for _ in 0..3 {
                    let a = store::Audit {
                        user: Some(&me),
                        action: store::UNBLURRED_VIEW,
                        case_id: Some(&case),
                        record_id: None,
                        detail: String::new(),
                    };
                    if store::audit_unblurred(&app.db.get(), a, Some(cap)).unwrap() {
                        logged += 1;
                    }
                }
                logged
            })
        })
        .collect();
    let logged: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(logged, cap, "views allowed past the cap");
    assert_eq!(
        store::unblurred_today(&portal.app.db.get(), &me.id).unwrap(),
        cap
    );
}
