//! The HTTP side: axum receives a request, reads its body (a form or a multipart upload),
//! and hands it to [`routes::dispatch`] on a blocking thread (SQLite and decryption block).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, DefaultBodyLimit, FromRequest, Multipart, Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::Response;
use axum::Router;

use crate::routes::{self, Method, Req, Resp, Upload};
use crate::{auth, store, App};

/// Largest request accepted: a record form with a few phone photos.
pub const MAX_BODY: usize = 16 * 1024 * 1024;

/// Serve until the listener fails or the future is dropped.
pub async fn serve(app: Arc<App>, listener: tokio::net::TcpListener) -> std::io::Result<()> {
    let router = Router::new()
        .fallback(handle)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(app);
    axum::serve(
        listener,
        router.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .await
}

struct Incoming {
    method: Method,
    path: String,
    query: Vec<(String, String)>,
    form: Vec<(String, String)>,
    files: Vec<Upload>,
    headers: HeaderMap,
    ip: std::net::IpAddr,
}

async fn handle(
    State(app): State<Arc<App>>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let method = match request.method().as_str() {
        "GET" | "HEAD" => Method::Get,
        "POST" => Method::Post,
        _ => return plain(StatusCode::METHOD_NOT_ALLOWED),
    };
    let path = request.uri().path().to_string();
    let query = request
        .uri()
        .query()
        .and_then(|q| serde_urlencoded::from_str(q).ok())
        .unwrap_or_default();
    let headers = request.headers().clone();
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    let mut form = Vec::new();
    let mut files = Vec::new();
    if method == Method::Post {
        if content_type.starts_with("multipart/form-data") {
            let Ok(mut mp) = Multipart::from_request(request, &()).await else {
                return plain(StatusCode::BAD_REQUEST);
            };
            loop {
                match mp.next_field().await {
                    Ok(Some(field)) => {
                        let name = field.name().unwrap_or("").to_string();
                        let is_file = field.file_name().is_some();
                        let ct = field.content_type().unwrap_or("").to_string();
                        let Ok(data) = field.bytes().await else {
                            return plain(StatusCode::PAYLOAD_TOO_LARGE);
                        };
                        if is_file {
                            if !data.is_empty() {
                                files.push(Upload {
                                    field: name,
                                    content_type: ct,
                                    bytes: data.to_vec(),
                                });
                            }
                        } else {
                            form.push((name, String::from_utf8_lossy(&data).into_owned()));
                        }
                    }
                    Ok(None) => break,
                    Err(_) => return plain(StatusCode::BAD_REQUEST),
                }
            }
        } else {
            let Ok(body) = Bytes::from_request(request, &()).await else {
                return plain(StatusCode::PAYLOAD_TOO_LARGE);
            };
            form = serde_urlencoded::from_bytes(&body).unwrap_or_default();
        }
    }
    let incoming = Incoming {
        method,
        path,
        query,
        form,
        files,
        headers,
        ip: addr.ip(),
    };
    let app2 = app.clone();
    match tokio::task::spawn_blocking(move || respond(&app2, incoming)).await {
        Ok(r) => r,
        Err(_) => plain(StatusCode::INTERNAL_SERVER_ERROR),
    }
}

fn plain(status: StatusCode) -> Response {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

fn respond(app: &App, inc: Incoming) -> Response {
    let cookie_header = inc
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join("; ");
    let accept = inc
        .headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok());
    let lang = app
        .i18n
        .negotiate(auth::cookie(&cookie_header, auth::LANG_COOKIE), accept);
    let (session, user) = resolve_session(app, &cookie_header).unwrap_or_default();
    let mut req = Req {
        method: inc.method,
        path: inc.path,
        params: Vec::new(),
        query: inc.query,
        form: inc.form,
        files: inc.files,
        user,
        session,
        lang,
        ip: inc.ip,
        set_cookies: Vec::new(),
    };
    let resp = routes::dispatch(app, &mut req);
    to_response(resp, &req.set_cookies)
}

type Resolved = (Option<(String, store::SessionRow)>, Option<store::User>);

fn resolve_session(app: &App, cookies: &str) -> crate::Result<Resolved> {
    let Some(id) = auth::cookie(cookies, auth::SESSION_COOKIE).filter(|id| id.len() == 64) else {
        return Ok((None, None));
    };
    let hash = auth::sha256_hex(id);
    let db = app.db.get();
    let Some(row) = store::session(&db, &hash)? else {
        return Ok((None, None));
    };
    let user = match &row.user_id {
        Some(uid) => store::user(&db, uid)?.filter(|u| !u.disabled),
        None => None,
    };
    Ok((Some((hash, row)), user))
}

fn to_response(resp: Resp, cookies: &[String]) -> Response {
    let mut r = Response::new(Body::from(resp.body));
    *r.status_mut() = StatusCode::from_u16(resp.status).unwrap_or(StatusCode::OK);
    let h = r.headers_mut();
    let set = |h: &mut HeaderMap, k: header::HeaderName, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.append(k, v);
        }
    };
    set(h, header::CONTENT_TYPE, resp.content_type);
    if let Some(loc) = &resp.location {
        set(h, header::LOCATION, loc);
    }
    for c in cookies {
        set(h, header::SET_COOKIE, c);
    }
    // No scripts at all; images only from here; forms only to here; never framed.
    set(
        h,
        header::CONTENT_SECURITY_POLICY,
        "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    );
    set(h, header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(h, header::REFERRER_POLICY, "no-referrer");
    // Nothing here belongs in a shared or on-disk cache: pages name the missing and the dead.
    set(h, header::CACHE_CONTROL, "no-store");
    r
}
