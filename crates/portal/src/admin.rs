//! The admin's page: users and roles, invitations, and settings (the public statistics page,
//! the daily cap on unblurred views).

use maud::html;

use crate::page::{self, csrf_field};
use crate::routes::{Req, Resp};
use crate::store::{self, Audit, Role};
use crate::{auth, App, PortalError, Result};

fn note(app: &App, req: &Req<'_>, action: &str, detail: String) -> Result<()> {
    store::audit(
        &app.db.get(),
        Audit {
            user: req.user.as_ref(),
            action,
            case_id: None,
            record_id: None,
            detail,
        },
    )
}

fn render(app: &App, req: &mut Req<'_>, invite_link: Option<String>) -> Result<Resp> {
    let db = app.db.get();
    let users = store::users(&db)?;
    let invitations = store::invitations(&db)?;
    let stats_on = store::setting(&db, store::PUBLIC_STATS)?.as_deref() == Some("on");
    let cap = store::setting(&db, store::UNBLURRED_CAP)?.unwrap_or_default();
    drop(db);
    let csrf = req.csrf(app)?;
    let me = req.me()?.id.clone();
    let l = req.lang;
    let body = html! {
        h1 { (l.t("admin-title")) }
        @if let Some(n) = req.query("notice") { p.ok role="status" { (l.t(if n == "settings" { "notice-settings" } else { "notice-saved" })) } }
        @if let Some(link) = &invite_link {
            div.ok role="status" { p { (l.t("admin-invite-made")) } p { code #invite-link { (link) } } }
        }
        h2 { (l.t("admin-users")) }
        table {
            tr { th { (l.t("field-email")) } th { (l.t("field-your-name")) } th { (l.t("admin-role")) } th {} }
            @for u in &users {
                tr {
                    td { (u.email) @if u.disabled { " (" (l.t("admin-disabled")) ")" } }
                    td { (u.name) }
                    td {
                        form method="post" action={ "/admin/users/" (u.id) "/role" } {
                            (csrf_field(&csrf))
                            select name="role" aria-label=(l.t("admin-role")) {
                                @for r in [Role::Family, Role::Investigator, Role::Admin] {
                                    option value=(r.as_str()) selected[u.role == r] { (l.t(&format!("role-{}", r.as_str()))) }
                                }
                            }
                            button type="submit" disabled[u.id == me] { (l.t("admin-set-role")) }
                        }
                    }
                    td {
                        @if u.id != me {
                            form method="post" action={ "/admin/users/" (u.id) "/disable" } {
                                (csrf_field(&csrf))
                                input type="hidden" name="disabled" value=(if u.disabled { "no" } else { "yes" });
                                button type="submit" { (l.t(if u.disabled { "admin-enable" } else { "admin-disable" })) }
                            }
                        }
                    }
                }
            }
        }
        h2 { (l.t("admin-invitations")) }
        form method="post" action="/admin/invitations" {
            (csrf_field(&csrf))
            label for="invite-role" { (l.t("admin-role")) }
            select #invite-role name="role" {
                @for r in [Role::Investigator, Role::Admin, Role::Family] {
                    option value=(r.as_str()) { (l.t(&format!("role-{}", r.as_str()))) }
                }
            }
            button type="submit" { (l.t("admin-invite-button")) }
        }
        ul { @for (role, created, used) in &invitations {
            li { (l.t(&format!("role-{role}"))) " · " span.num { (created) } " · " (l.t(if *used { "admin-invite-used" } else { "admin-invite-open" })) }
        } }
        h2 { (l.t("admin-settings")) }
        form method="post" action="/admin/settings" {
            (csrf_field(&csrf))
            label { input type="checkbox" name="public_stats" value="on" checked[stats_on]; " " (l.t("admin-public-stats")) }
            label for="cap" { (l.t("admin-cap")) }
            input #cap name="cap" inputmode="numeric" value=(cap);
            p.note { (l.t("admin-cap-hint")) }
            button type="submit" { (l.t("admin-save-settings")) }
        }
    };
    page::ok(req, &l.t("admin-title"), body)
}

pub fn users(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    render(app, req, None)
}

pub fn set_role(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let id = req.param(0).to_string();
    if id == req.me()?.id {
        return Err(PortalError::BadRequest("admin-not-yourself"));
    }
    let role = Role::parse(req.field("role"))
        .filter(|r| *r != Role::Anonymous)
        .ok_or(PortalError::BadRequest("admin-bad-role"))?;
    if !store::set_role(&app.db.get(), &id, role)? {
        return Err(PortalError::NotFound);
    }
    note(app, req, "admin-role", format!("{id} {}", role.as_str()))?;
    Ok(Resp::redirect("/admin?notice=saved"))
}

pub fn disable(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let id = req.param(0).to_string();
    if id == req.me()?.id {
        return Err(PortalError::BadRequest("admin-not-yourself"));
    }
    let disabled = req.field("disabled") == "yes";
    if !store::set_disabled(&app.db.get(), &id, disabled)? {
        return Err(PortalError::NotFound);
    }
    note(
        app,
        req,
        if disabled {
            "admin-disable"
        } else {
            "admin-enable"
        },
        id,
    )?;
    Ok(Resp::redirect("/admin?notice=saved"))
}

/// A one-time invitation link; only its hash is stored, so it is shown once.
pub fn invite(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let role = Role::parse(req.field("role"))
        .filter(|r| *r != Role::Anonymous)
        .ok_or(PortalError::BadRequest("admin-bad-role"))?;
    let token = auth::random_hex(24);
    let me = req.me()?.id.clone();
    store::add_invitation(&app.db.get(), &auth::sha256_hex(&token), role, &me)?;
    note(app, req, "admin-invite", role.as_str().to_string())?;
    render(app, req, Some(format!("/invite/{token}")))
}

pub fn settings(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let cap = crate::i18n::ascii_digits(req.field("cap"))
        .trim()
        .to_string();
    if !cap.is_empty() && cap.parse::<u64>().is_err() {
        return Err(PortalError::BadRequest("admin-bad-cap"));
    }
    let stats = req.field("public_stats") == "on";
    let db = app.db.get();
    store::set_setting(
        &db,
        store::PUBLIC_STATS,
        Some(if stats { "on" } else { "off" }),
    )?;
    store::set_setting(
        &db,
        store::UNBLURRED_CAP,
        (!cap.is_empty()).then_some(cap.as_str()),
    )?;
    drop(db);
    note(
        app,
        req,
        "admin-settings",
        format!("public_stats={stats} cap={cap}"),
    )?;
    Ok(Resp::redirect("/admin?notice=settings"))
}

/// With no administrator yet, a one-time invitation path to create the first one.
pub fn first_admin_invitation(app: &App) -> Result<Option<String>> {
    let db = app.db.get();
    if store::any_admin(&db)? {
        return Ok(None);
    }
    let token = auth::random_hex(24);
    store::add_invitation(&db, &auth::sha256_hex(&token), Role::Admin, "athar serve")?;
    Ok(Some(format!("/invite/{token}")))
}

/// The demo's accounts: (role, e-mail, password). Not for real evidence.
pub const DEMO_ACCOUNTS: [(Role, &str, &str, &str); 3] = [
    (
        Role::Admin,
        "admin@demo.athar",
        "Demo admin",
        "demo admin passphrase",
    ),
    (
        Role::Investigator,
        "investigator@demo.athar",
        "Demo investigator",
        "demo investigator passphrase",
    ),
    (
        Role::Family,
        "family@demo.athar",
        "Demo family",
        "demo family passphrase",
    ),
];

/// Create the demo accounts that do not exist yet.
pub fn demo_accounts(app: &App) -> Result<()> {
    let db = app.db.get();
    for (role, email, name, password) in DEMO_ACCOUNTS {
        if store::user_by_email(&db, email)?.is_none() {
            store::add_user(&db, email, name, role, &auth::hash_password(password))?;
        }
    }
    Ok(())
}
