//! Blobs in an S3-compatible bucket (SeaweedFS, Garage, Ceph, MinIO, AWS), under a prefix.
//!
//! Requests are presigned with SigV4 by `rusty-s3` and sent with `ureq`, both synchronous,
//! like the rest of the vault. The store keeps [`BlobStore`]'s promises:
//! - **never overwrite**: `commit` is a `PUT` with `If-None-Match: *`; 412 (or 409, a
//!   concurrent conditional write) means the name is taken. A retried PUT whose first try
//!   may have landed also gets 412, so the blob is read back: equal bytes are ours (`New`).
//!   Ciphertext is randomised by age, so another writer's blob never compares equal.
//! - **durability**: an acknowledged PUT is durable, so `sync` has nothing to do.
//! - **retries**: connection errors, 5xx and 429 are retried with backoff for a bounded
//!   time, then reported as "unreachable; run the same command again".
//!
//! Pending blobs are ciphertext, buffered in memory until commit; one blob may be at most
//! 5 GiB, the limit of a single PUT.
//!
//! Credentials never come from the command line or the URL: `AWS_ACCESS_KEY_ID`,
//! `AWS_SECRET_ACCESS_KEY` (and `AWS_SESSION_TOKEN`), or the shared credentials file
//! (`AWS_SHARED_CREDENTIALS_FILE`, default `~/.aws/credentials`, profile `AWS_PROFILE`).
//! The endpoint is `AWS_ENDPOINT_URL_S3` or `AWS_ENDPOINT_URL` (path-style addressing), else
//! AWS itself for `AWS_REGION` (default `us-east-1`, virtual-host addressing).

use std::io::{self, Read, Seek, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::error::{Result, VaultError};
use crate::store::{BlobStore, Committed, PendingBlob};

/// The largest blob one `PUT` may carry.
pub const MAX_BLOB: u64 = 5 << 30;
/// How long a presigned request stays valid: only for the request being sent now.
const SIGNED_FOR: Duration = Duration::from_secs(15 * 60);
/// How long to keep retrying an unreachable or failing server, unless
/// `ATHAR_S3_RETRY_SECS` says otherwise.
const DEFAULT_RETRY_FOR: Duration = Duration::from_secs(8);

/// `s3://BUCKET/PREFIX`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    /// Empty, or ending in `/`.
    pub prefix: String,
}

impl S3Url {
    /// Parse `s3://BUCKET[/PREFIX]`. Credentials in the URL are refused: they would end up in
    /// `vault.json`, shell history and process lists.
    pub fn parse(url: &str) -> Result<S3Url> {
        let bad = |why: &str| {
            VaultError::Invalid(format!(
                "{url:?} is not an S3 location: {why} (expected s3://BUCKET/PREFIX)"
            ))
        };
        let rest = url
            .strip_prefix("s3://")
            .ok_or_else(|| bad("it must start with s3://"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.contains('@') || bucket.contains(':') {
            return Err(VaultError::Invalid(format!(
                "{url:?} holds credentials or a port; never put secrets in the URL: set \
                 AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or AWS_PROFILE) and the endpoint \
                 in AWS_ENDPOINT_URL"
            )));
        }
        if bucket.is_empty() {
            return Err(bad("no bucket name"));
        }
        if prefix.contains('?') || prefix.contains('#') || prefix.contains("//") {
            return Err(bad("the prefix may not hold '?', '#' or '//'"));
        }
        let prefix = prefix.trim_end_matches('/');
        Ok(S3Url {
            bucket: bucket.to_string(),
            prefix: if prefix.is_empty() {
                String::new()
            } else {
                format!("{prefix}/")
            },
        })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "s3://{}/{}",
            self.bucket,
            self.prefix.trim_end_matches('/')
        )
    }
}

/// Where the server is and who we are, from the environment (see the module docs).
#[derive(Clone)]
pub struct S3Settings {
    pub endpoint: url::Url,
    pub region: String,
    pub path_style: bool,
    credentials: Credentials,
}

impl std::fmt::Debug for S3Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Settings")
            .field("endpoint", &self.endpoint.as_str())
            .field("region", &self.region)
            .field("path_style", &self.path_style)
            .field("access_key", &self.credentials.key())
            .finish_non_exhaustive()
    }
}

impl S3Settings {
    /// Explicit settings (path-style addressing), for programs and tests that do not take
    /// them from the environment.
    pub fn new(endpoint: &str, region: &str, key: &str, secret: &str) -> Result<S3Settings> {
        Ok(S3Settings {
            endpoint: endpoint
                .parse()
                .map_err(|e| VaultError::Invalid(format!("endpoint {endpoint:?}: {e}")))?,
            region: region.to_string(),
            path_style: true,
            credentials: Credentials::new(key, secret),
        })
    }

    pub fn from_env() -> Result<S3Settings> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let region = var("AWS_REGION")
            .or_else(|| var("AWS_DEFAULT_REGION"))
            .unwrap_or_else(|| "us-east-1".into());
        let (endpoint, path_style) =
            match var("AWS_ENDPOINT_URL_S3").or_else(|| var("AWS_ENDPOINT_URL")) {
                Some(e) => (e, true),
                None => (format!("https://s3.{region}.amazonaws.com"), false),
            };
        let endpoint: url::Url = endpoint.parse().map_err(|e| {
            VaultError::Invalid(format!(
                "AWS_ENDPOINT_URL {endpoint:?} is not a URL ({e}); set it like http://127.0.0.1:8333"
            ))
        })?;
        if !endpoint.username().is_empty() || endpoint.password().is_some() {
            return Err(VaultError::Invalid(
                "AWS_ENDPOINT_URL holds credentials; put them in AWS_ACCESS_KEY_ID and \
                 AWS_SECRET_ACCESS_KEY (or a credentials file) instead"
                    .into(),
            ));
        }
        let credentials = credentials_from_env()?;
        Ok(S3Settings {
            endpoint,
            region,
            path_style,
            credentials,
        })
    }
}

fn credentials_from_env() -> Result<Credentials> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    if let (Some(key), Some(secret)) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY")) {
        return Ok(match var("AWS_SESSION_TOKEN") {
            Some(token) => Credentials::new_with_token(key, secret, token),
            None => Credentials::new(key, secret),
        });
    }
    let file = var("AWS_SHARED_CREDENTIALS_FILE")
        .map(PathBuf::from)
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".aws/credentials")));
    let profile = var("AWS_PROFILE").unwrap_or_else(|| "default".into());
    let missing = || {
        VaultError::Invalid(format!(
            "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and \
             AWS_SESSION_TOKEN for temporary keys), or put profile [{profile}] in {} \
             (AWS_SHARED_CREDENTIALS_FILE, AWS_PROFILE)",
            file.as_ref()
                .map(|f| f.display().to_string())
                .unwrap_or_else(|| "~/.aws/credentials".into())
        ))
    };
    let Some(path) = file.clone() else {
        return Err(missing());
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(missing()),
        Err(e) => return Err(VaultError::Io { path, source: e }),
    };
    let section = ini_section(&text, &profile);
    match (
        section.get("aws_access_key_id"),
        section.get("aws_secret_access_key"),
    ) {
        (Some(key), Some(secret)) => Ok(match section.get("aws_session_token") {
            Some(token) => Credentials::new_with_token(key, secret, token),
            None => Credentials::new(key, secret),
        }),
        _ => Err(missing()),
    }
}

/// The `key = value` pairs of `[name]` in an AWS credentials file.
fn ini_section(text: &str, name: &str) -> std::collections::HashMap<String, String> {
    let mut inside = false;
    let mut pairs = std::collections::HashMap::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('#') || line.starts_with(';') || line.is_empty() {
            continue;
        }
        if let Some(header) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            inside = header.trim() == name;
        } else if inside {
            if let Some((k, v)) = line.split_once('=') {
                pairs.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
            }
        }
    }
    pairs
}

/// An S3-compatible bucket as a [`BlobStore`]. Cheap to clone.
#[derive(Clone)]
pub struct S3Store {
    inner: Arc<Inner>,
}

struct Inner {
    url: S3Url,
    bucket: Bucket,
    credentials: Credentials,
    agent: ureq::Agent,
    retry_for: Duration,
}

/// What one request came back with, after retries.
struct Reply {
    status: u16,
    body: ureq::Body,
    /// More than one attempt was sent: an earlier one may have reached the server.
    retried: bool,
}

impl S3Store {
    /// Connect to `s3://BUCKET/PREFIX` with settings from the environment, and check that
    /// the bucket answers and the credentials are accepted. The CLI calls this at init.
    pub fn connect(url: &str) -> Result<S3Store> {
        let store = S3Store::with_settings(S3Url::parse(url)?, S3Settings::from_env()?)?;
        store.check()?;
        Ok(store)
    }

    /// A store without checking the server (no request is sent).
    pub fn with_settings(url: S3Url, settings: S3Settings) -> Result<S3Store> {
        let style = if settings.path_style {
            UrlStyle::Path
        } else {
            UrlStyle::VirtualHost
        };
        let bucket = Bucket::new(
            settings.endpoint.clone(),
            style,
            url.bucket.clone(),
            settings.region.clone(),
        )
        .map_err(|e| VaultError::Invalid(format!("S3 bucket {:?}: {e}", url.bucket)))?;
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_recv_response(Some(Duration::from_secs(120)))
            .max_idle_connections(64)
            .max_idle_connections_per_host(64)
            .build()
            .into();
        let retry_for = std::env::var("ATHAR_S3_RETRY_SECS")
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_RETRY_FOR);
        Ok(S3Store {
            inner: Arc::new(Inner {
                url,
                bucket,
                credentials: settings.credentials,
                agent,
                retry_for,
            }),
        })
    }

    /// How long requests are retried before the server is called unreachable.
    pub fn set_retry_for(&mut self, retry_for: Duration) {
        Arc::get_mut(&mut self.inner)
            .expect("set before the store is shared")
            .retry_for = retry_for;
    }

    pub fn url(&self) -> &S3Url {
        &self.inner.url
    }

    /// One cheap request that proves the bucket exists and the credentials are accepted.
    pub fn check(&self) -> Result<()> {
        self.list_page("", None, None, Some(1)).map(|_| ())
    }

    /// Whether nothing at all is stored under the prefix.
    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.list_page("", None, None, Some(1))?.contents.is_empty())
    }

    fn full_key(&self, key: &str) -> String {
        format!("{}{key}", self.inner.url.prefix)
    }

    fn list_page(
        &self,
        prefix: &str,
        after: Option<&str>,
        token: Option<&str>,
        max: Option<usize>,
    ) -> Result<rusty_s3::actions::ListObjectsV2Response> {
        let inner = &self.inner;
        let full = self.full_key(prefix);
        let after = after.map(|a| self.full_key(a));
        let reply = self.inner.send("list", prefix, &[], None, || {
            let mut action = inner.bucket.list_objects_v2(Some(&inner.credentials));
            action.with_prefix(full.as_str());
            if let Some(a) = &after {
                action.with_start_after(a.as_str());
            }
            if let Some(t) = token {
                action.with_continuation_token(t);
            }
            if let Some(m) = max {
                action.with_max_keys(m);
            }
            ("GET", action.sign(SIGNED_FOR))
        })?;
        let text = self.inner.expect_ok(reply, "list", prefix)?;
        let text = String::from_utf8_lossy(&text);
        rusty_s3::actions::ListObjectsV2::parse_response(&text).map_err(|e| {
            VaultError::Invalid(format!(
                "S3 at {} sent a listing athar cannot read ({e})",
                self.inner.url
            ))
        })
    }

    /// Read a whole blob into memory (small blobs, and the read-back after a retried put).
    fn get_bytes(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let reply = self.inner.get(key, &self.full_key(key))?;
        if reply.status == 404 {
            return Ok(None);
        }
        self.inner.expect_ok(reply, "read", key).map(Some)
    }
}

impl Inner {
    /// Send a request, retrying transport errors, 5xx and 429 with backoff until
    /// `retry_for` has passed. `request` presigns afresh for each attempt.
    fn send(
        &self,
        what: &str,
        key: &str,
        headers: &[(&str, &str)],
        body: Option<&Spool>,
        request: impl Fn() -> (&'static str, url::Url),
    ) -> Result<Reply> {
        let started = Instant::now();
        let mut delay = Duration::from_millis(50);
        let mut attempts = 0u32;
        loop {
            attempts += 1;
            let (method, url) = request();
            let outcome = self.send_once(method, url, headers, body);
            let reason = match outcome {
                Ok(resp) if !retryable(resp.status().as_u16()) => {
                    return Ok(Reply {
                        status: resp.status().as_u16(),
                        body: resp.into_body(),
                        retried: attempts > 1,
                    })
                }
                Ok(resp) => format!("it answered {}", resp.status()),
                Err(e) => e.to_string(),
            };
            if started.elapsed() + delay > self.retry_for {
                return Err(self.unreachable(what, key, format!("{reason}; {attempts} attempts")));
            }
            std::thread::sleep(jitter(delay));
            delay = (delay * 2).min(Duration::from_secs(2));
        }
    }

    fn send_once(
        &self,
        method: &str,
        url: url::Url,
        headers: &[(&str, &str)],
        body: Option<&Spool>,
    ) -> Result<ureq::http::Response<ureq::Body>, ureq::Error> {
        let url = url.as_str();
        match method {
            "PUT" => {
                let mut req = self.agent.put(url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                match body {
                    None => req.send(&[][..]),
                    Some(Spool::Memory(bytes)) => req.send(&bytes[..]),
                    Some(Spool::File(file)) => {
                        // Every attempt sends the whole blob again.
                        (&*file).seek(io::SeekFrom::Start(0))?;
                        req.send(file)
                    }
                }
            }
            "DELETE" => self.agent.delete(url).call(),
            "HEAD" => self.agent.head(url).call(),
            _ => {
                let mut req = self.agent.get(url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.call()
            }
        }
    }

    fn get(&self, key: &str, full: &str) -> Result<Reply> {
        self.send("read", key, &[], None, || {
            (
                "GET",
                self.bucket
                    .get_object(Some(&self.credentials), full)
                    .sign(SIGNED_FOR),
            )
        })
    }

    fn unreachable(&self, what: &str, key: &str, reason: impl std::fmt::Display) -> VaultError {
        VaultError::S3Unreachable {
            url: self.url.to_string(),
            endpoint: self.bucket.base_url().to_string(),
            reason: format!("{what} {key}: {reason}"),
        }
    }

    /// The body of a 2xx reply, or the error its status means.
    fn expect_ok(&self, reply: Reply, what: &str, key: &str) -> Result<Vec<u8>> {
        let status = reply.status;
        let mut body = reply.body;
        let bytes = body
            .with_config()
            .limit(MAX_BLOB)
            .read_to_vec()
            .map_err(|e| self.unreachable(what, key, e))?;
        if (200..300).contains(&status) {
            return Ok(bytes);
        }
        Err(self.status_error(status, &bytes, what, key))
    }

    fn status_error(&self, status: u16, body: &[u8], what: &str, key: &str) -> VaultError {
        let text = String::from_utf8_lossy(body);
        let code = xml_field(&text, "Code").unwrap_or_default();
        let message = xml_field(&text, "Message").unwrap_or_default();
        if code == "NoSuchBucket" {
            return VaultError::S3NoBucket {
                bucket: self.url.bucket.clone(),
                endpoint: self.bucket.base_url().to_string(),
            };
        }
        if status == 403 || status == 401 {
            return VaultError::S3Denied {
                url: self.url.to_string(),
                reason: format!("{status} {code} {message}").trim().to_string(),
            };
        }
        VaultError::S3 {
            url: self.url.to_string(),
            what: format!("{what} {key}"),
            reason: format!("{status} {code} {message}").trim().to_string(),
        }
    }
}

fn retryable(status: u16) -> bool {
    status >= 500 || status == 429 || status == 408
}

fn jitter(d: Duration) -> Duration {
    let spread = rand::Rng::gen_range(&mut rand::thread_rng(), 0.5..1.5);
    d.mul_f64(spread)
}

/// The text of `<name>…</name>` in an S3 error body.
fn xml_field(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{name}>"))? + start;
    Some(text[start..end].to_string())
}

/// Where a pending blob's ciphertext waits for its PUT: in memory while small, then in an
/// anonymous temporary file (already unlinked, so nothing is left if we crash), so a
/// multi-gigabyte original does not cost its size in memory.
enum Spool {
    Memory(Vec<u8>),
    File(std::fs::File),
}

/// Blobs up to this size stay in memory.
const SPOOL_IN_MEMORY: usize = 16 << 20;

impl Spool {
    fn len(&self) -> io::Result<u64> {
        match self {
            Spool::Memory(b) => Ok(b.len() as u64),
            Spool::File(f) => Ok(f.metadata()?.len()),
        }
    }

    /// Whether the blob stored under `key` holds exactly these bytes.
    fn same_as(&self, stored: &[u8]) -> io::Result<bool> {
        match self {
            Spool::Memory(b) => Ok(b[..] == *stored),
            Spool::File(f) => {
                if f.metadata()?.len() != stored.len() as u64 {
                    return Ok(false);
                }
                let mut mine = Vec::with_capacity(stored.len());
                (&*f).seek(io::SeekFrom::Start(0))?;
                (&*f).read_to_end(&mut mine)?;
                Ok(mine == stored)
            }
        }
    }
}

struct S3Pending {
    spool: Spool,
    store: S3Store,
}

impl Write for S3Pending {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.spool.len()? + data.len() as u64 > MAX_BLOB {
            return Err(io::Error::other(
                "blob larger than 5 GiB, the most one S3 PUT can carry",
            ));
        }
        match &mut self.spool {
            Spool::Memory(buf) if buf.len() + data.len() <= SPOOL_IN_MEMORY => {
                buf.extend_from_slice(data)
            }
            Spool::Memory(buf) => {
                let mut file = tempfile::tempfile()?;
                file.write_all(buf)?;
                file.write_all(data)?;
                self.spool = Spool::File(file);
            }
            Spool::File(file) => file.write_all(data)?,
        }
        Ok(data.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl PendingBlob for S3Pending {
    fn commit(self: Box<Self>, key: &str) -> Result<Committed> {
        let store = &self.store;
        let inner = &store.inner;
        let full = store.full_key(key);
        let reply = inner.send(
            "write",
            key,
            &[("if-none-match", "*")],
            Some(&self.spool),
            || {
                let mut action = inner.bucket.put_object(Some(&inner.credentials), &full);
                // Signed, so no proxy can strip the condition.
                action.headers_mut().insert("if-none-match", "*");
                ("PUT", action.sign(SIGNED_FOR))
            },
        )?;
        match reply.status {
            412 | 409 => {
                let ours = reply.retried
                    && match store.get_bytes(key)? {
                        Some(stored) => self
                            .spool
                            .same_as(&stored)
                            .map_err(|e| inner.unreachable("write", key, e))?,
                        None => false,
                    };
                // Ours: an earlier attempt landed and its answer was lost on the way back.
                Ok(if ours {
                    Committed::New
                } else {
                    Committed::AlreadyPresent
                })
            }
            _ => inner.expect_ok(reply, "write", key).map(|_| Committed::New),
        }
    }
}

/// A blob being read: streams the body, and on a broken connection asks again for the
/// rest (`Range: bytes=N-`), so a server restart mid-read costs a retry, not the read.
struct S3Reader {
    store: S3Store,
    key: String,
    body: Option<ureq::BodyReader<'static>>,
    offset: u64,
}

impl Read for S3Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let mut resumes = 0;
        loop {
            if self.body.is_none() {
                self.body = Some(self.resume().map_err(io::Error::other)?);
            }
            match self.body.as_mut().expect("just set").read(buf) {
                Ok(n) => {
                    self.offset += n as u64;
                    return Ok(n);
                }
                Err(e) if resumes < 3 => {
                    let _ = e;
                    resumes += 1;
                    self.body = None;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl S3Reader {
    fn resume(&self) -> Result<ureq::BodyReader<'static>> {
        let inner = &self.store.inner;
        let full = self.store.full_key(&self.key);
        let range = format!("bytes={}-", self.offset);
        let reply = inner.send("read", &self.key, &[("range", &range)], None, || {
            let mut action = inner.bucket.get_object(Some(&inner.credentials), &full);
            action.headers_mut().insert("range", range.clone());
            ("GET", action.sign(SIGNED_FOR))
        })?;
        match reply.status {
            200 if self.offset == 0 => Ok(reply.body.into_reader()),
            // A server that ignores Range sends it all again: skip what was read.
            200 => {
                let mut reader = reply.body.into_reader();
                let skipped = io::copy(&mut (&mut reader).take(self.offset), &mut io::sink())
                    .map_err(|e| inner.unreachable("read", &self.key, e))?;
                if skipped < self.offset {
                    return Err(inner.unreachable("read", &self.key, "the blob got shorter"));
                }
                Ok(reader)
            }
            206 => Ok(reply.body.into_reader()),
            404 => Err(VaultError::Io {
                path: PathBuf::from(inner.url.to_string()).join(&self.key),
                source: io::Error::new(io::ErrorKind::NotFound, "no such blob in the bucket"),
            }),
            status => {
                let bytes = reply.body.into_with_config().limit(1 << 20).read_to_vec();
                Err(inner.status_error(status, &bytes.unwrap_or_default(), "read", &self.key))
            }
        }
    }
}

impl BlobStore for S3Store {
    fn create(&self) -> Result<Box<dyn PendingBlob>> {
        Ok(Box::new(S3Pending {
            spool: Spool::Memory(Vec::new()),
            store: self.clone(),
        }))
    }

    fn open(&self, key: &str) -> Result<Box<dyn Read + Send>> {
        let mut reader = S3Reader {
            store: self.clone(),
            key: key.to_string(),
            body: None,
            offset: 0,
        };
        // Ask now, so a missing blob or a refusal is reported here rather than mid-read.
        reader.body = Some(reader.resume()?);
        Ok(Box::new(reader))
    }

    fn exists(&self, key: &str) -> Result<bool> {
        let inner = &self.inner;
        let full = self.full_key(key);
        let reply = inner.send("check", key, &[], None, || {
            (
                "HEAD",
                inner
                    .bucket
                    .head_object(Some(&inner.credentials), &full)
                    .sign(SIGNED_FOR),
            )
        })?;
        match reply.status {
            404 => Ok(false),
            _ => inner.expect_ok(reply, "check", key).map(|_| true),
        }
    }

    fn list(&self, prefix: &str) -> Result<Vec<String>> {
        self.list_pages(prefix, None)
    }

    fn list_after(&self, prefix: &str, after: &str) -> Result<Vec<String>> {
        self.list_pages(prefix, Some(after))
    }

    fn sync(&self) -> Result<()> {
        // An acknowledged PUT is already durable.
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<()> {
        self.remove_blob(key)
    }

    fn locate(&self, key: &str) -> String {
        format!("s3://{}/{}", self.inner.url.bucket, self.full_key(key))
    }

    fn is_shared(&self) -> bool {
        true
    }
}

impl S3Store {
    fn list_pages(&self, prefix: &str, after: Option<&str>) -> Result<Vec<String>> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            // start-after counts only on the first page; the token carries on from there.
            let after = if token.is_none() { after } else { None };
            let page = self.list_page(prefix, after, token.as_deref(), None)?;
            let strip = self.inner.url.prefix.len();
            keys.extend(
                page.contents
                    .into_iter()
                    .filter(|c| c.key.len() > strip)
                    .map(|c| c.key[strip..].to_string()),
            );
            match page.next_continuation_token {
                Some(t) if !t.is_empty() => token = Some(t),
                _ => break,
            }
        }
        keys.sort();
        Ok(keys)
    }

    fn remove_blob(&self, key: &str) -> Result<()> {
        let inner = &self.inner;
        let full = self.full_key(key);
        let reply = inner.send("remove", key, &[], None, || {
            (
                "DELETE",
                inner
                    .bucket
                    .delete_object(Some(&inner.credentials), &full)
                    .sign(SIGNED_FOR),
            )
        })?;
        match reply.status {
            404 => Ok(()),
            _ => inner.expect_ok(reply, "remove", key).map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_locations_and_refuses_credentials() {
        assert_eq!(
            S3Url::parse("s3://bkt/a/b/").unwrap(),
            S3Url {
                bucket: "bkt".into(),
                prefix: "a/b/".into()
            }
        );
        assert_eq!(S3Url::parse("s3://bkt").unwrap().prefix, "");
        assert!(S3Url::parse("http://bkt/x").is_err());
        let e = S3Url::parse("s3://key:secret@bkt/x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("AWS_ACCESS_KEY_ID"), "{e}");
    }

    #[test]
    fn reads_a_profile_from_a_credentials_file() {
        let text = "[default]\naws_access_key_id = A\n\n[work]\naws_access_key_id=W\naws_secret_access_key = S\n";
        let s = ini_section(text, "work");
        assert_eq!(s.get("aws_access_key_id").map(String::as_str), Some("W"));
        assert_eq!(
            s.get("aws_secret_access_key").map(String::as_str),
            Some("S")
        );
        assert!(ini_section(text, "none").is_empty());
    }
}
