//! The layout every page shares: language and direction, navigation by role, the language
//! switch, and a few kilobytes of inline CSS (no other requests, no scripts).

use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::routes::{Req, Resp};
use crate::store::Role;
use crate::PortalError;

const CSS: &str = "body{font:16px/1.5 system-ui,'Noto Sans Arabic','Noto Sans',sans-serif;margin:0;color:#1b1b1b;background:#fafaf7}\
header{background:#24323f;color:#fff;padding:.5em 1em;display:flex;flex-wrap:wrap;gap:.5em 1.2em;align-items:center}\
header a{color:#fff}header form{display:inline;margin:0}header button{background:none;border:1px solid #fff;color:#fff}\
main{max-width:52em;margin:0 auto;padding:1em}h1{font-size:1.4em}h2{font-size:1.15em;margin-top:1.5em}\
label{display:block;margin:.6em 0 .2em;font-weight:600}input,select,textarea{font:inherit;padding:.35em;width:100%;box-sizing:border-box}\
input[type=checkbox],input[type=radio]{width:auto}button{font:inherit;padding:.45em 1em;margin-top:.8em;cursor:pointer}\
fieldset{border:1px solid #ccc;margin:1em 0}table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #ddd;padding:.3em;text-align:start;vertical-align:top}\
.warn{background:#fff4e5;border:1px solid #e0a040;padding:.8em;margin:1em 0}.note{color:#555}.err{background:#fde8e8;border:1px solid #d55;padding:.6em}\
.ok{background:#e8f6e8;border:1px solid #5a5;padding:.6em}.langs a{margin-inline-end:.5em}.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(14em,1fr));gap:.8em}\
img{max-width:100%;height:auto}.num{font-variant-numeric:tabular-nums}";

/// A whole page.
pub fn layout(req: &mut Req<'_>, title: &str, body: Markup) -> String {
    let l = req.lang;
    let csrf = req
        .session
        .as_ref()
        .map(|(_, s)| s.csrf.clone())
        .unwrap_or_default();
    let here = url_encode(&req.path);
    let role = req.role();
    html! {
        (DOCTYPE)
        html lang=(l.code()) dir=(l.dir()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                title { (title) " · " (l.t("app-name")) }
                style { (PreEscaped(CSS)) }
            }
            body {
                header {
                    a href="/" { strong { (l.t("app-name")) } }
                    @match role {
                        Role::Family => {
                            a href="/records" { (l.t("nav-records")) }
                            a href="/search" { (l.t("nav-search")) }
                        }
                        Role::Investigator => {
                            a href="/review" { (l.t("nav-review")) }
                            a href="/review/claims" { (l.t("nav-claims")) }
                            a href="/search" { (l.t("nav-search")) }
                            a href="/audit" { (l.t("nav-audit")) }
                        }
                        Role::Admin => {
                            a href="/admin" { (l.t("nav-admin")) }
                            a href="/audit" { (l.t("nav-audit")) }
                        }
                        Role::Anonymous => {
                            a href="/signin" { (l.t("nav-signin")) }
                            a href="/register" { (l.t("nav-register")) }
                        }
                    }
                    span.langs {
                        @for (code, name) in [("ar", "language-ar"), ("en", "language-en"), ("fr", "language-fr"), ("de", "language-de")] {
                            @if code != l.code() {
                                a href={ "/lang/" (code) "?next=" (here) } lang=(code) hreflang=(code) { (l.t(name)) }
                            }
                        }
                    }
                    @if let Some(u) = &req.user {
                        form method="post" action="/signout" {
                            input type="hidden" name="csrf" value=(csrf);
                            span { (u.name) " " }
                            button type="submit" { (l.t("nav-signout")) }
                        }
                    }
                }
                main { (body) }
            }
        }
    }
    .into_string()
}

pub fn ok(req: &mut Req<'_>, title: &str, body: Markup) -> crate::Result<Resp> {
    Ok(Resp::html(200, layout(req, title, body)))
}

/// The hidden CSRF field every form carries.
pub fn csrf_field(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

pub fn error(req: &mut Req<'_>, status: u16) -> Resp {
    let l = req.lang;
    let (title, hint) = match status {
        403 => (l.t("error-forbidden"), l.t("error-forbidden-hint")),
        404 => (l.t("error-not-found"), l.t("error-not-found-hint")),
        405 => (l.t("error-method"), l.t("error-not-found-hint")),
        419 => (l.t("error-csrf"), l.t("error-csrf-hint")),
        429 => (l.t("error-too-many"), l.t("error-too-many-hint")),
        503 => (l.t("error-busy"), l.t("error-busy-hint")),
        _ => (l.t("error-internal"), l.t("error-internal-hint")),
    };
    // 419 is not standard: browsers and tools see 403.
    let code = if status == 419 { 403 } else { status };
    let body = html! { h1 { (title) } p.err { (hint) } p { a href="/" { (l.t("back-home")) } } };
    Resp::html(code, layout(req, &title, body))
}

/// An error from a handler: user mistakes get their message, the rest a generic page (the
/// detail goes to the server's log, never to the browser).
pub fn failure(req: &mut Req<'_>, e: PortalError) -> Resp {
    match e {
        PortalError::NotFound => error(req, 404),
        PortalError::Busy => error(req, 503),
        PortalError::BadRequest(id) => {
            let l = req.lang;
            let title = l.t("error-bad-request");
            let body =
                html! { h1 { (title) } p.err { (l.t(id)) } p { (l.t("error-bad-request-hint")) } };
            Resp::html(400, layout(req, &title, body))
        }
        other => {
            eprintln!("portal: {} {}: {other}", req.path, req.role().as_str());
            error(req, 500)
        }
    }
}

pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A `next=` target: only a local path, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.to_string(),
        _ => "/".to_string(),
    }
}

/// Short form of a long hex id for display.
pub fn short(id: &str) -> &str {
    &id[..id.len().min(12)]
}
