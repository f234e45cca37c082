//! A real portal on a loopback port, over a fresh vault with a synthetic catalogue, and a
//! small HTTP client that keeps its session cookie like a browser.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use athar_catalog::matching::eval;
use athar_portal::store::{self, Role, User};
use athar_portal::{auth, App, Options};
use athar_vault::{InitOptions, SecretString, Vault};

pub const PASS: &str = "a test passphrase";

pub struct Portal {
    pub dir: tempfile::TempDir,
    pub app: Arc<App>,
    pub addr: SocketAddr,
    pub synthetic: eval::Synthetic,
    pub options: Options,
}

impl Drop for Portal {
    /// A test's PostgreSQL schema goes with it.
    fn drop(&mut self) {
        if let Some(url) = &self.options.database {
            if let Ok(db) = athar_sql::Db::connect_postgres(url, &self.options.database_schema) {
                let _ = db.batch(&format!(
                    "DROP SCHEMA IF EXISTS {} CASCADE",
                    self.options.database_schema
                ));
            }
        }
    }
}

/// The portal's database for one test: a fresh PostgreSQL schema when `ATHAR_TEST_PG` is set
/// (scripts/test sets it), otherwise `VAULT/portal.db`.
pub fn options() -> Options {
    let mut o = Options::default();
    match std::env::var("ATHAR_TEST_PG") {
        Ok(url) if !url.is_empty() => {
            static NEXT: AtomicUsize = AtomicUsize::new(0);
            o.database_schema = format!(
                "t_portal_{}_{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::SeqCst)
            );
            o.database = Some(url);
        }
        _ => {
            static SAID: std::sync::Once = std::sync::Once::new();
            SAID.call_once(|| {
                eprintln!(
                    "ATHAR_TEST_PG is not set: the portal's tables were tested on SQLite only, not on PostgreSQL"
                )
            });
        }
    }
    o
}

/// Serve `app` on a loopback port from its own runtime thread.
pub fn serve(app: Arc<App>) -> SocketAddr {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            tx.send(l.local_addr().unwrap()).unwrap();
            athar_portal::serve(app, l).await.unwrap();
        });
    });
    rx.recv().unwrap()
}

impl Portal {
    /// A vault holding `cases` synthetic cases (numbers, dates, branch, observations).
    pub fn start(cases: usize) -> Portal {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("vault");
        let passphrase = SecretString::from(PASS.to_string());
        let mut vault = Vault::init(
            &root,
            &passphrase,
            &InitOptions {
                scrypt_log_n: 10,
                ..Default::default()
            },
        )
        .unwrap();
        let synthetic = eval::synthetic(cases, 7);
        vault.append(synthetic.drafts.clone()).unwrap();
        drop(vault);
        let options = options();
        let app = Arc::new(App::open(&root, &passphrase, options.clone()).unwrap());
        let addr = serve(app.clone());
        Portal {
            dir,
            app,
            addr,
            synthetic,
            options,
        }
    }

    /// Another `athar serve` process on the same vault and portal database (as behind a load
    /// balancer): a second `App` with its own connections, caches and port.
    pub fn another_server(&self) -> (Arc<App>, SocketAddr) {
        let passphrase = SecretString::from(PASS.to_string());
        let app =
            Arc::new(App::open(&self.vault_dir(), &passphrase, self.options.clone()).unwrap());
        let addr = serve(app.clone());
        (app, addr)
    }

    pub fn on_postgres(&self) -> bool {
        self.options.database.is_some()
    }

    pub fn vault_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("vault")
    }

    pub fn client(&self) -> Client {
        Client::new(self.addr)
    }

    /// A user of `role` (a cheap password hash would hide nothing here: use the real one).
    pub fn user(&self, role: Role, email: &str) -> User {
        store::add_user(
            &self.app.db.get(),
            email,
            email,
            role,
            &auth::hash_password("a long test password"),
        )
        .unwrap()
    }

    /// A client signed in as a new user of `role` (through the sign-in form).
    pub fn signed_in(&self, role: Role, email: &str) -> (Client, User) {
        let u = self.user(role, email);
        let mut c = self.client();
        let r = c.sign_in(email, "a long test password");
        assert_eq!(r.status, 303, "sign-in as {email}: {}", r.body);
        (c, u)
    }

    /// A client with a session for `user`, made directly (for the many route checks).
    pub fn session_for(&self, user: Option<&User>) -> Client {
        let id = auth::random_hex(32);
        store::create_session(
            &self.app.db.get(),
            &auth::sha256_hex(&id),
            user.map(|u| u.id.as_str()),
            3600,
        )
        .unwrap();
        let mut c = self.client();
        c.cookie = Some(id);
        c
    }

    /// Id of some case in the catalogue.
    pub fn some_case(&self) -> String {
        use athar_catalog::Photos;
        self.app.catalogs.get().cases(&Default::default()).unwrap()[0]
            .id
            .clone()
    }
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub cookies: Vec<String>,
    pub body: String,
    pub content_type: String,
}

impl Page {
    /// The CSRF token of the first form on the page.
    pub fn csrf(&self) -> Option<String> {
        let at = self.body.find("name=\"csrf\" value=\"")?;
        let rest = &self.body[at + 19..];
        Some(rest[..rest.find('"')?].to_string())
    }
}

pub struct Client {
    base: String,
    agent: ureq::Agent,
    pub cookie: Option<String>,
    pub lang: Option<String>,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .max_redirects_will_error(false)
            .build()
            .into();
        Client {
            base: format!("http://{addr}"),
            agent,
            cookie: None,
            lang: None,
        }
    }

    fn cookie_header(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.cookie {
            parts.push(format!("{}={c}", auth::SESSION_COOKIE));
        }
        if let Some(l) = &self.lang {
            parts.push(format!("{}={l}", auth::LANG_COOKIE));
        }
        parts.join("; ")
    }

    fn finish(&mut self, r: ureq::http::Response<ureq::Body>) -> Page {
        let status = r.status().as_u16();
        let header = |n: &str| {
            r.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(String::from)
        };
        let location = header("location");
        let content_type = header("content-type").unwrap_or_default();
        let cookies: Vec<String> = r
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(String::from))
            .collect();
        for c in &cookies {
            if let Some(v) = c.strip_prefix(&format!("{}=", auth::SESSION_COOKIE)) {
                let v = v.split(';').next().unwrap_or("");
                self.cookie = (!v.is_empty()).then(|| v.to_string());
            }
        }
        let mut body = r.into_body();
        let bytes = body
            .with_config()
            .limit(50_000_000)
            .read_to_vec()
            .unwrap_or_default();
        Page {
            status,
            location,
            cookies,
            body: String::from_utf8_lossy(&bytes).into_owned(),
            content_type,
        }
    }

    pub fn get(&mut self, path: &str) -> Page {
        let r = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .call()
            .unwrap();
        self.finish(r)
    }

    pub fn get_bytes(&mut self, path: &str) -> (u16, Vec<u8>) {
        let r = self
            .agent
            .get(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .call()
            .unwrap();
        let status = r.status().as_u16();
        let bytes = r
            .into_body()
            .with_config()
            .limit(50_000_000)
            .read_to_vec()
            .unwrap();
        (status, bytes)
    }

    /// POST a form exactly as given (no CSRF token added).
    pub fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let r = self
            .agent
            .post(format!("{}{path}", self.base))
            .header("Cookie", self.cookie_header())
            .send_form(fields.iter().copied())
            .unwrap();
        self.finish(r)
    }

    /// POST a form with this session's CSRF token, read from `form_page` (a GET first).
    pub fn post(&mut self, form_page: &str, path: &str, fields: &[(&str, &str)]) -> Page {
        let token = self
            .get(form_page)
            .csrf()
            .unwrap_or_else(|| panic!("no form with a CSRF token on {form_page}"));
        let mut all: Vec<(&str, &str)> = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all)
    }

    pub fn sign_in(&mut self, email: &str, password: &str) -> Page {
        self.post(
            "/signin",
            "/signin",
            &[("email", email), ("password", password)],
        )
    }
}

/// A family record form, as a family fills it.
pub fn record_form<'a>(
    given_ar: &'a str,
    given_latin: &'a str,
    extra: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut f = vec![
        ("ar_given", given_ar),
        ("ar_father", "أحمد"),
        ("latin_given", given_latin),
        ("latin_father", "Ahmad"),
        ("sex", "male"),
        ("consent", "yes"),
    ];
    f.extend_from_slice(extra);
    f
}

/// The id of the record a POST to /records/new redirected to.
pub fn record_id(p: &Page) -> String {
    assert_eq!(p.status, 303, "record not created: {}", p.body);
    p.location
        .as_deref()
        .and_then(|l| l.strip_prefix("/records/"))
        .unwrap()
        .to_string()
}
