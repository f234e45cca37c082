//! Every route, who may use it, and the dispatcher that enforces it. This table is the only
//! list of routes: the server serves nothing else, and the authorisation test walks it, so a
//! new route cannot be forgotten in either.

use std::net::IpAddr;

use crate::i18n::L;
use crate::store::{self, Role, SessionRow, User};
use crate::{admin, auth, family, page, public, review, view, App, PortalError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

pub type Handler = fn(&App, &mut Req<'_>) -> Result<Resp>;

pub struct Route {
    pub method: Method,
    /// Segments in braces (`{id}`) are parameters.
    pub path: &'static str,
    pub allow: &'static [Role],
    pub handler: Handler,
}

use Method::{Get, Post};
use Role::{Admin, Anonymous, Family, Investigator};

const EVERYONE: &[Role] = &[Anonymous, Family, Investigator, Admin];
const SIGNED_IN: &[Role] = &[Family, Investigator, Admin];
const FAMILY: &[Role] = &[Family];
const VIEWERS: &[Role] = &[Family, Investigator];
const INVESTIGATOR: &[Role] = &[Investigator];
const OVERSIGHT: &[Role] = &[Investigator, Admin];
const ADMIN: &[Role] = &[Admin];
const ANONYMOUS: &[Role] = &[Anonymous];

macro_rules! r {
    ($m:expr, $p:literal, $a:expr, $h:path) => {
        Route {
            method: $m,
            path: $p,
            allow: $a,
            handler: $h,
        }
    };
}

pub const ROUTES: &[Route] = &[
    r!(Get, "/", EVERYONE, public::home),
    r!(Get, "/lang/{code}", EVERYONE, public::language),
    r!(Get, "/stats", EVERYONE, public::stats),
    r!(Get, "/signin", ANONYMOUS, public::signin_form),
    r!(Post, "/signin", ANONYMOUS, public::signin),
    r!(Get, "/register", ANONYMOUS, public::register_form),
    r!(Post, "/register", ANONYMOUS, public::register),
    r!(Get, "/invite/{token}", ANONYMOUS, public::invite_form),
    r!(Post, "/invite/{token}", ANONYMOUS, public::accept_invite),
    r!(Post, "/signout", SIGNED_IN, public::signout),
    // Families: their records, search, candidates.
    r!(Get, "/records", FAMILY, family::list),
    r!(Get, "/records/new", FAMILY, family::new_form),
    r!(Post, "/records/new", FAMILY, family::create),
    r!(Get, "/records/{id}", FAMILY, family::show),
    r!(Get, "/records/{id}/edit", FAMILY, family::edit_form),
    r!(Post, "/records/{id}/edit", FAMILY, family::edit),
    r!(Post, "/records/{id}/withdraw", FAMILY, family::withdraw),
    r!(Get, "/records/{id}/photos/{photo}", FAMILY, family::photo),
    r!(Get, "/search", VIEWERS, family::search),
    // Graded viewing of a case, and claims.
    r!(Get, "/cases/{id}", VIEWERS, view::case),
    r!(Post, "/cases/{id}/step", VIEWERS, view::step),
    r!(Get, "/cases/{id}/photos/{n}/{kind}", VIEWERS, view::image),
    r!(Post, "/cases/{id}/claim", FAMILY, view::claim),
    // Investigators.
    r!(Get, "/review", INVESTIGATOR, review::cases),
    r!(Get, "/review/cases/{id}", INVESTIGATOR, review::case),
    r!(
        Post,
        "/review/cases/{id}/observations",
        INVESTIGATOR,
        review::observations
    ),
    r!(
        Post,
        "/review/cases/{id}/merge",
        INVESTIGATOR,
        review::merge
    ),
    r!(
        Post,
        "/review/cases/{id}/split",
        INVESTIGATOR,
        review::split
    ),
    r!(Get, "/review/claims", INVESTIGATOR, review::claims),
    r!(Get, "/review/claims/{id}", INVESTIGATOR, review::claim),
    r!(
        Post,
        "/review/claims/{id}/confirm",
        INVESTIGATOR,
        review::confirm
    ),
    r!(
        Post,
        "/review/claims/{id}/reject",
        INVESTIGATOR,
        review::reject
    ),
    r!(
        Post,
        "/review/claims/{id}/informed",
        INVESTIGATOR,
        review::informed
    ),
    r!(Get, "/audit", OVERSIGHT, review::audit_page),
    // Admin.
    r!(Get, "/admin", ADMIN, admin::users),
    r!(Post, "/admin/users/{id}/role", ADMIN, admin::set_role),
    r!(Post, "/admin/users/{id}/disable", ADMIN, admin::disable),
    r!(Post, "/admin/invitations", ADMIN, admin::invite),
    r!(Post, "/admin/settings", ADMIN, admin::settings),
];

/// A file from a multipart form.
pub struct Upload {
    pub field: String,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

/// A request as the handlers see it.
pub struct Req<'a> {
    pub method: Method,
    pub path: String,
    pub params: Vec<String>,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub files: Vec<Upload>,
    pub user: Option<User>,
    /// (SHA-256 of the session id, the row).
    pub session: Option<(String, SessionRow)>,
    pub lang: L<'a>,
    pub ip: IpAddr,
    pub set_cookies: Vec<String>,
}

impl<'a> Req<'a> {
    pub fn param(&self, i: usize) -> &str {
        self.params.get(i).map(String::as_str).unwrap_or("")
    }

    pub fn query(&self, k: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    pub fn field(&self, k: &str) -> &str {
        self.form
            .iter()
            .find(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    }

    pub fn fields(&self, k: &str) -> Vec<&str> {
        self.form
            .iter()
            .filter(|(n, _)| n == k)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    pub fn role(&self) -> Role {
        self.user
            .as_ref()
            .map(|u| u.role)
            .unwrap_or(Role::Anonymous)
    }

    /// The signed-in user (routes for signed-in roles only run with one).
    pub fn me(&self) -> Result<&User> {
        self.user.as_ref().ok_or(PortalError::NotFound)
    }

    /// The CSRF token for forms on this page, starting an anonymous session if there is none.
    pub fn csrf(&mut self, app: &App) -> Result<String> {
        if let Some((_, s)) = &self.session {
            return Ok(s.csrf.clone());
        }
        let id = auth::random_hex(32);
        let hash = auth::sha256_hex(&id);
        let csrf = store::create_session(&app.db.get(), &hash, None, auth::SESSION_TTL)?;
        self.session = Some((
            hash,
            SessionRow {
                user_id: None,
                csrf: csrf.clone(),
            },
        ));
        self.set_cookies.push(auth::session_cookie(&id));
        Ok(csrf)
    }
}

pub struct Resp {
    pub status: u16,
    pub content_type: &'static str,
    pub location: Option<String>,
    pub body: Vec<u8>,
}

impl Resp {
    pub fn html(status: u16, body: String) -> Resp {
        Resp {
            status,
            content_type: "text/html; charset=utf-8",
            location: None,
            body: body.into_bytes(),
        }
    }

    /// 303 See Other: after a POST, the browser GETs the next page.
    pub fn redirect(to: impl Into<String>) -> Resp {
        Resp {
            status: 303,
            content_type: "text/plain; charset=utf-8",
            location: Some(to.into()),
            body: Vec::new(),
        }
    }

    pub fn bytes(content_type: &'static str, body: Vec<u8>) -> Resp {
        Resp {
            status: 200,
            content_type,
            location: None,
            body,
        }
    }
}

/// Match a path against a route pattern, returning its parameters.
pub fn matches(pattern: &str, path: &str) -> Option<Vec<String>> {
    let want: Vec<&str> = pattern.trim_matches('/').split('/').collect();
    let have: Vec<&str> = path.trim_matches('/').split('/').collect();
    if want.len() != have.len() {
        return None;
    }
    let mut params = Vec::new();
    for (w, h) in want.iter().zip(&have) {
        if w.starts_with('{') {
            if h.is_empty() {
                return None;
            }
            params.push(h.to_string());
        } else if w != h {
            return None;
        }
    }
    Some(params)
}

/// Resolve the session and language, find the route, check the role and (for POST) the CSRF
/// token, then run the handler. Errors become pages in the user's language.
pub fn dispatch(app: &App, req: &mut Req<'_>) -> Resp {
    let found = ROUTES.iter().find_map(|r| {
        (r.method == req.method)
            .then(|| matches(r.path, &req.path).map(|p| (r, p)))
            .flatten()
    });
    let Some((route, params)) = found else {
        let other = ROUTES.iter().any(|r| matches(r.path, &req.path).is_some());
        return page::error(req, if other { 405 } else { 404 });
    };
    req.params = params;
    if !route.allow.contains(&req.role()) {
        if req.user.is_none() {
            return Resp::redirect(format!("/signin?next={}", page::url_encode(&req.path)));
        }
        return page::error(req, 403);
    }
    if req.method == Method::Post {
        let ok = req
            .session
            .as_ref()
            .is_some_and(|(_, s)| auth::same_secret(&s.csrf, req.field("csrf")));
        if !ok {
            return page::error(req, 419);
        }
    }
    match (route.handler)(app, req) {
        Ok(resp) => resp,
        Err(e) => page::failure(req, e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_bind_parameters() {
        assert_eq!(
            matches("/records/{id}", "/records/ab"),
            Some(vec!["ab".into()])
        );
        assert_eq!(matches("/records/{id}", "/records/"), None);
        assert_eq!(matches("/records/{id}", "/records/a/b"), None);
        assert_eq!(matches("/", "/"), Some(vec![]));
    }

    #[test]
    fn every_route_is_unique() {
        for (i, a) in ROUTES.iter().enumerate() {
            for b in &ROUTES[i + 1..] {
                assert!(
                    !(a.method == b.method && a.path == b.path),
                    "{} listed twice",
                    a.path
                );
            }
        }
    }
}
