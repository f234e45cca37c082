//! Pages anyone may see: home, language switch, public statistics, sign-in, registration and
//! invitations.

use maud::{html, PreEscaped};

use crate::page::{self, csrf_field};
use crate::routes::{Req, Resp};
use crate::store::{self, Audit, Role, User};
use crate::{auth, App, PortalError, Result};

pub fn home(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let l = req.lang;
    let stats_on = store::setting(&app.db.get(), store::PUBLIC_STATS)?.as_deref() == Some("on");
    let body = html! {
        h1 { (l.t("home-title")) }
        p { (l.t("home-intro")) }
        @match req.role() {
            Role::Anonymous => {
                p { a href="/register" { (l.t("home-register")) } " · " a href="/signin" { (l.t("nav-signin")) } }
            }
            Role::Family => { p { a href="/records" { (l.t("nav-records")) } " · " a href="/search" { (l.t("nav-search")) } } }
            Role::Investigator => { p { a href="/review" { (l.t("nav-review")) } " · " a href="/review/claims" { (l.t("nav-claims")) } } }
            Role::Admin => { p { a href="/admin" { (l.t("nav-admin")) } } }
        }
        @if stats_on { p { a href="/stats" { (l.t("stats-title")) } } }
    };
    page::ok(req, &l.t("home-title"), body)
}

pub fn language(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let code = req.param(0).to_string();
    if app.i18n.lang(&code).is_none() {
        return Err(PortalError::NotFound);
    }
    req.set_cookies.push(auth::lang_cookie(&code));
    Ok(Resp::redirect(page::safe_next(req.query("next"))))
}

/// The public statistics page, when the admin has turned it on.
pub fn stats(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    if store::setting(&app.db.get(), store::PUBLIC_STATS)?.as_deref() != Some("on") {
        return Err(PortalError::NotFound);
    }
    let s = athar_catalog::Photos::stats(&*app.catalogs.get())?;
    let l = req.lang;
    let chart =
        athar_report::chart::stacked_bars(&l.t("stats-chart-title"), &s.cases_by_month_and_branch);
    let body = html! {
        h1 { (l.t("stats-title")) }
        p { (l.ta("stats-summary", &[("cases", &s.cases.to_string()), ("photos", &s.photos.to_string())])) }
        h2 { (l.t("stats-by-branch")) }
        table { tr { th { (l.t("field-branch")) } th { (l.t("stats-cases")) } }
            @for (b, n) in &s.cases_by_branch { tr { td.num { (b) } td.num { (n) } } } }
        h2 { (l.t("stats-by-hospital")) }
        table { tr { th { (l.t("field-hospital")) } th { (l.t("stats-cases")) } }
            @for (h, n) in &s.cases_by_hospital { tr { td { (h) } td.num { (n) } } } }
        h2 { (l.t("stats-chart-title")) }
        div { (PreEscaped(chart)) }
    };
    page::ok(req, &l.t("stats-title"), body)
}

pub fn signin_form(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let csrf = req.csrf(app)?;
    let l = req.lang;
    let next = page::safe_next(req.query("next"));
    let body = html! {
        h1 { (l.t("signin-title")) }
        form method="post" action="/signin" {
            (csrf_field(&csrf))
            input type="hidden" name="next" value=(next);
            label for="email" { (l.t("field-email")) }
            input #email type="email" name="email" required autocomplete="username";
            label for="password" { (l.t("field-password")) }
            input #password type="password" name="password" required autocomplete="current-password";
            button type="submit" { (l.t("signin-button")) }
        }
        p { a href="/register" { (l.t("home-register")) } }
    };
    page::ok(req, &l.t("signin-title"), body)
}

/// Replace the session with a fresh one for `user`: a session id known before sign-in is
/// never valid after it.
fn start_session(app: &App, req: &mut Req<'_>, user: &User) -> Result<()> {
    let db = app.db.get();
    if let Some((hash, _)) = &req.session {
        store::delete_session(&db, hash)?;
    }
    let id = auth::random_hex(32);
    let hash = auth::sha256_hex(&id);
    let csrf = store::create_session(&db, &hash, Some(&user.id), auth::SESSION_TTL)?;
    req.session = Some((
        hash,
        store::SessionRow {
            user_id: Some(user.id.clone()),
            csrf,
        },
    ));
    req.set_cookies.push(auth::session_cookie(&id));
    req.user = Some(user.clone());
    store::audit(
        &db,
        Audit {
            user: Some(user),
            action: "signin",
            case_id: None,
            record_id: None,
            detail: String::new(),
        },
    )
}

fn landing(role: Role) -> &'static str {
    match role {
        Role::Family => "/records",
        Role::Investigator => "/review",
        Role::Admin => "/admin",
        Role::Anonymous => "/",
    }
}

pub fn signin(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let email = req.field("email").trim().to_lowercase();
    let password = req.field("password").to_string();
    // Counted before the password is checked, so parallel guesses cannot outrun the limit.
    if !auth::signin_attempt(&app.db.get(), &email, req.ip)? {
        return Ok(page::error(req, 429));
    }
    let found = store::user_by_email(&app.db.get(), &email)?;
    let ok = match &found {
        Some((u, hash)) => auth::check_password(&password, hash) && !u.disabled,
        None => {
            auth::check_password(&password, auth::dummy_hash());
            false
        }
    };
    if !ok {
        let l = req.lang;
        let csrf = req.csrf(app)?;
        let body = html! {
            h1 { (l.t("signin-title")) }
            p.err role="alert" { (l.t("signin-failed")) }
            form method="post" action="/signin" {
                (csrf_field(&csrf))
                label for="email" { (l.t("field-email")) }
                input #email type="email" name="email" value=(email) required;
                label for="password" { (l.t("field-password")) }
                input #password type="password" name="password" required;
                button type="submit" { (l.t("signin-button")) }
            }
        };
        return Ok(Resp::html(
            401,
            page::layout(req, &l.t("signin-title"), body),
        ));
    }
    let (user, _) = found.expect("checked above");
    auth::signin_succeeded(&app.db.get(), &email, req.ip)?;
    start_session(app, req, &user)?;
    let next = match req.field("next") {
        "" | "/" => landing(user.role).to_string(),
        n => page::safe_next(Some(n)),
    };
    Ok(Resp::redirect(next))
}

fn account_form(req: &Req<'_>, csrf: &str, action: &str, error: Option<&str>) -> maud::Markup {
    let l = req.lang;
    html! {
        @if let Some(e) = error { p.err role="alert" { (l.t(e)) } }
        form method="post" action=(action) {
            (csrf_field(csrf))
            label for="name" { (l.t("field-your-name")) }
            input #name type="text" name="name" required value=(req.field("name"));
            label for="email" { (l.t("field-email")) }
            input #email type="email" name="email" required value=(req.field("email")) autocomplete="username";
            label for="password" { (l.t("field-password")) }
            input #password type="password" name="password" required minlength=(auth::MIN_PASSWORD) autocomplete="new-password";
            p.note { (l.ta("password-hint", &[("n", &auth::MIN_PASSWORD.to_string())])) }
            label for="password2" { (l.t("field-password-again")) }
            input #password2 type="password" name="password2" required autocomplete="new-password";
            button type="submit" { (l.t("register-button")) }
        }
    }
}

pub fn register_form(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let csrf = req.csrf(app)?;
    let l = req.lang;
    let body = html! {
        h1 { (l.t("register-title")) }
        p { (l.t("register-intro")) }
        (account_form(req, &csrf, "/register", None))
    };
    page::ok(req, &l.t("register-title"), body)
}

/// Check the account form; the message id of the first problem.
fn check_account(req: &Req<'_>) -> std::result::Result<(), &'static str> {
    let email = req.field("email").trim();
    if req.field("name").trim().is_empty() {
        return Err("register-need-name");
    }
    if !email.contains('@') || email.len() > 254 {
        return Err("register-bad-email");
    }
    let p = req.field("password");
    if p.chars().count() < auth::MIN_PASSWORD {
        return Err("register-short-password");
    }
    if p != req.field("password2") {
        return Err("register-passwords-differ");
    }
    Ok(())
}

fn create_account(
    app: &App,
    req: &mut Req<'_>,
    role: Role,
    action: &str,
) -> Result<std::result::Result<User, Resp>> {
    let problem = check_account(req).err();
    let mut user = None;
    let problem = match problem {
        Some(p) => Some(p),
        None => {
            let hash = auth::hash_password(req.field("password"));
            match store::add_user(
                &app.db.get(),
                &req.field("email").trim().to_lowercase(),
                req.field("name").trim(),
                role,
                &hash,
            ) {
                Ok(u) => {
                    user = Some(u);
                    None
                }
                Err(PortalError::Taken) => Some("register-taken"),
                Err(e) => return Err(e),
            }
        }
    };
    if let Some(p) = problem {
        let csrf = req.csrf(app)?;
        let l = req.lang;
        let body =
            html! { h1 { (l.t("register-title")) } (account_form(req, &csrf, action, Some(p))) };
        return Ok(Err(Resp::html(
            400,
            page::layout(req, &l.t("register-title"), body),
        )));
    }
    Ok(Ok(user.expect("set when no problem")))
}

pub fn register(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    match create_account(app, req, Role::Family, "/register")? {
        Err(resp) => Ok(resp),
        Ok(user) => {
            start_session(app, req, &user)?;
            Ok(Resp::redirect("/records"))
        }
    }
}

pub fn invite_form(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let hash = auth::sha256_hex(req.param(0));
    let role = store::invitation(&app.db.get(), &hash)?.ok_or(PortalError::NotFound)?;
    let csrf = req.csrf(app)?;
    let l = req.lang;
    let action = format!("/invite/{}", req.param(0));
    let body = html! {
        h1 { (l.t("invite-title")) }
        p { (l.ta("invite-intro", &[("role", &l.t(&format!("role-{}", role.as_str())))])) }
        (account_form(req, &csrf, &action, None))
    };
    page::ok(req, &l.t("invite-title"), body)
}

pub fn accept_invite(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    let hash = auth::sha256_hex(req.param(0));
    let role = store::invitation(&app.db.get(), &hash)?.ok_or(PortalError::NotFound)?;
    let action = format!("/invite/{}", req.param(0));
    match create_account(app, req, role, &action)? {
        Err(resp) => Ok(resp),
        Ok(user) => {
            if !store::use_invitation(&app.db.get(), &hash, &user.id)? {
                return Err(PortalError::NotFound);
            }
            start_session(app, req, &user)?;
            Ok(Resp::redirect(landing(role)))
        }
    }
}

pub fn signout(app: &App, req: &mut Req<'_>) -> Result<Resp> {
    if let Some((hash, _)) = &req.session {
        store::delete_session(&app.db.get(), hash)?;
    }
    req.set_cookies.push(auth::clear_session_cookie());
    Ok(Resp::redirect("/"))
}
