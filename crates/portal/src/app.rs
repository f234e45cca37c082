//! The shared state of a running portal: the vault (opened for reading; see
//! [`App::append`] for writing), pools of catalogue and portal-database connections and the
//! translations.
//!
//! Several `athar serve` processes may share one PostgreSQL behind a load balancer. All
//! state a user's requests depend on (sessions and CSRF tokens, claims, viewing grades, the
//! audit trail with the daily unblurred cap, settings and the sign-in failure counts) is in
//! the database. What stays in a process is a cache that cannot go stale unnoticed: the
//! candidates are keyed by the record's `updated` time and the catalogue's log position, the
//! case index by the log position, and label crops by the photo's SHA-256 (content never
//! changes under a digest).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use athar_sql::Db;
use zeroize::Zeroizing;

use athar_catalog::matching::Candidate;
use athar_catalog::{catch_up, CaseFilter, CaseRow, Location, MissingPerson, Photos, SqlCatalog};
use athar_vault::{Access, EventDraft, SecretString, SignedEvent, Vault, VaultError};

use crate::i18n::I18n;
use crate::{store, PortalError, Result};

pub use athar_catalog::CATALOG_FILE;

#[derive(Debug, Clone)]
pub struct Options {
    /// Connections to each database (readers run in parallel; SQLite serialises writers).
    pub connections: usize,
    /// How long to wait for the vault's writer lock before telling the user to retry.
    pub lock_wait: Duration,
    /// How many candidates a record page lists.
    pub candidates: usize,
    /// PostgreSQL address (`postgres://user@host:port/db`) of the portal's tables; without
    /// one they live in `VAULT/portal.db`. Passwords come from `PGPASSWORD` or `~/.pgpass`.
    pub database: Option<String>,
    /// The PostgreSQL schema of the portal's tables (tests use one each).
    pub database_schema: String,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            connections: 4,
            lock_wait: Duration::from_secs(10),
            candidates: 10,
            database: None,
            database_schema: store::PG_SCHEMA.to_string(),
        }
    }
}

/// A fixed set of connections handed out one at a time.
pub struct Pool<T> {
    items: Mutex<Vec<T>>,
    ready: Condvar,
}

pub struct Pooled<'a, T> {
    pool: &'a Pool<T>,
    item: Option<T>,
}

impl<T> Pool<T> {
    fn new(items: Vec<T>) -> Pool<T> {
        Pool {
            items: Mutex::new(items),
            ready: Condvar::new(),
        }
    }

    pub fn get(&self) -> Pooled<'_, T> {
        let mut items = self.items.lock().expect("pool lock");
        loop {
            if let Some(item) = items.pop() {
                return Pooled {
                    pool: self,
                    item: Some(item),
                };
            }
            items = self.ready.wait(items).expect("pool lock");
        }
    }
}

impl<T> std::ops::Deref for Pooled<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        self.item.as_ref().expect("held")
    }
}
impl<T> std::ops::DerefMut for Pooled<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        self.item.as_mut().expect("held")
    }
}
impl<T> Drop for Pooled<'_, T> {
    fn drop(&mut self) {
        if let Some(item) = self.item.take() {
            self.pool.items.lock().expect("pool lock").push(item);
            self.pool.ready.notify_one();
        }
    }
}

type CandidateKey = (String, u64);
/// Per record id: the key it was ranked under, and its candidates.
type CandidateCache = HashMap<String, (CandidateKey, Arc<Vec<Candidate>>)>;

/// Every case in memory, for search: the catalogue has no index on the numbers, and a
/// family's search must not scan 50,000 encrypted rows. Rebuilt when the log grows.
pub struct CaseIndex {
    seq: u64,
    rows: Vec<CaseRow>,
    by_number: HashMap<String, Vec<usize>>,
}

impl CaseIndex {
    fn load(cat: &SqlCatalog) -> Result<CaseIndex> {
        let seq = athar_catalog::Catalog::last_seq(cat)?;
        let rows = cat.cases(&CaseFilter::default())?;
        let mut by_number: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, r) in rows.iter().enumerate() {
            let mut keys = vec![
                r.detainee.clone(),
                r.report.clone(),
                r.report.as_ref().map(|x| x.replace('/', "-")),
            ];
            keys.dedup();
            for k in keys.into_iter().flatten() {
                by_number.entry(k).or_default().push(i);
            }
        }
        Ok(CaseIndex {
            seq,
            rows,
            by_number,
        })
    }

    /// The same answers as the catalogue's `cases(filter)`, in the same order.
    pub fn search(&self, f: &CaseFilter) -> Vec<CaseRow> {
        let keep = |r: &CaseRow| {
            let eq = |want: &Option<String>, have: &Option<String>| want.is_none() || want == have;
            eq(&f.branch, &r.branch)
                && eq(&f.hospital, &r.hospital)
                && f.status.as_ref().is_none_or(|s| *s == r.status)
                && f.from
                    .as_ref()
                    .is_none_or(|from| r.first_taken.as_ref().is_some_and(|t| t >= from))
                && f.to.as_ref().is_none_or(|to| {
                    r.first_taken
                        .as_ref()
                        .is_some_and(|t| &t[..t.len().min(10)] <= to.as_str())
                })
        };
        let limit = f.limit.unwrap_or(u64::MAX) as usize;
        match &f.number {
            Some(n) => self
                .by_number
                .get(n)
                .map(|ix| {
                    ix.iter()
                        .map(|&i| &self.rows[i])
                        .filter(|r| keep(r))
                        .take(limit)
                        .cloned()
                        .collect()
                })
                .unwrap_or_default(),
            None => self
                .dated(f)
                .iter()
                .filter(|r| keep(r))
                .take(limit)
                .cloned()
                .collect(),
        }
    }

    /// The rows a date filter can match. The catalogue lists cases by `first_taken`, undated
    /// ones first (SQLite) or last (PostgreSQL): skip the undated head, binary-search `from`
    /// and stop after `to`, so a dated search at a million cases reads only its dates.
    fn dated(&self, f: &CaseFilter) -> &[CaseRow] {
        let mut rows = &self.rows[..];
        if let Some(from) = &f.from {
            let undated = rows.iter().take_while(|r| r.first_taken.is_none()).count();
            rows = &rows[undated..];
            let start = rows.partition_point(|r| r.first_taken.as_ref().is_some_and(|t| t < from));
            rows = &rows[start..];
        }
        if let Some(to) = &f.to {
            // Undated rows never match `to`; if they sort last, the cut may keep some rows
            // past `to`, which `keep` drops, but never loses a dated row up to `to`.
            let end = rows.partition_point(|r| {
                r.first_taken
                    .as_ref()
                    .is_none_or(|t| &t[..t.len().min(10)] <= to.as_str())
            });
            rows = &rows[..end];
        }
        rows
    }
}

pub struct App {
    pub root: PathBuf,
    pub options: Options,
    vault: Mutex<Vault>,
    pub catalogs: Pool<SqlCatalog>,
    pub db: Pool<Db>,
    pub i18n: I18n,
    pub record_key: Zeroizing<[u8; 32]>,
    pub recipient: age::x25519::Recipient,
    identity: age::x25519::Identity,
    candidates: Mutex<CandidateCache>,
    pub(crate) label_crops: Mutex<HashMap<String, Arc<Vec<u8>>>>,
    case_index: Mutex<Option<Arc<CaseIndex>>>,
}

impl App {
    /// Open the vault for reading (no writer's lock is held between appends), catch the
    /// catalogue up with the log, and open the portal's database.
    pub fn open(root: &Path, passphrase: &SecretString, options: Options) -> Result<App> {
        let vault = Vault::open(root, passphrase, Access::Read)?;
        let cat_key = vault.catalog_key();
        // A vault whose catalogue is in PostgreSQL keeps the portal's tables there too, so
        // that several `athar serve` processes share accounts, sessions and the audit trail.
        let location = Location::of_vault(&vault);
        let database = options
            .database
            .clone()
            .or_else(|| vault.config().catalog.clone());
        let mut catalogs = Vec::new();
        for _ in 0..options.connections.max(1) {
            catalogs.push(SqlCatalog::open(&location, &cat_key)?);
        }
        catch_up(&mut catalogs[0], &vault)?;
        let mut dbs = Vec::new();
        for _ in 0..options.connections.max(1) {
            dbs.push(match &database {
                Some(url) => store::connect(url, &options.database_schema)?,
                None => store::open(
                    &root.join(store::FILE),
                    &vault.secrets().subkey(store::KEY_PURPOSE),
                )?,
            });
        }
        Ok(App {
            root: root.to_path_buf(),
            record_key: vault
                .secrets()
                .subkey(athar_catalog::records::RECORD_DIGEST_KEY),
            recipient: vault.secrets().recipient(),
            identity: vault.identity().clone(),
            vault: Mutex::new(vault),
            catalogs: Pool::new(catalogs),
            db: Pool::new(dbs),
            i18n: I18n::new(),
            options,
            candidates: Mutex::new(HashMap::new()),
            label_crops: Mutex::new(HashMap::new()),
            case_index: Mutex::new(None),
        })
    }

    pub fn vault(&self) -> MutexGuard<'_, Vault> {
        self.vault.lock().expect("vault lock")
    }

    pub fn identity(&self) -> &age::x25519::Identity {
        &self.identity
    }

    /// Sign and log events, holding the vault's writer lock only for this batch, then bring
    /// the catalogue up to date. While `ingest` or another writer holds the lock we wait up
    /// to [`Options::lock_wait`], then report [`PortalError::Busy`] (nothing was written).
    pub fn append(&self, drafts: Vec<EventDraft>) -> Result<Vec<SignedEvent>> {
        let started = Instant::now();
        let mut vault = self.vault();
        let signed = loop {
            match vault.append_with_lock(drafts.clone()) {
                Ok(s) => break s,
                Err(VaultError::Locked { .. }) if started.elapsed() < self.options.lock_wait => {
                    std::thread::sleep(Duration::from_millis(200));
                }
                Err(VaultError::Locked { .. }) => return Err(PortalError::Busy),
                Err(e) => return Err(e.into()),
            }
        };
        let mut cat = self.catalogs.get();
        catch_up(&mut *cat, &vault)?;
        Ok(signed)
    }

    /// Bring the catalogue up to events other processes appended (ingest, analysis).
    pub fn refresh(&self) -> Result<()> {
        let mut vault = self.vault();
        vault.refresh_tail()?;
        let mut cat = self.catalogs.get();
        catch_up(&mut *cat, &vault)?;
        Ok(())
    }

    /// Ranked candidates of a record, cached until the record or the catalogue changes.
    pub fn candidates(&self, record: &MissingPerson) -> Result<Arc<Vec<Candidate>>> {
        let cat = self.catalogs.get();
        let seq = athar_catalog::Catalog::last_seq(&*cat)?;
        let key = (record.updated.clone(), seq);
        if let Some((k, c)) = self.candidates.lock().expect("cache lock").get(&record.id) {
            if *k == key {
                return Ok(c.clone());
            }
        }
        let ranked = Arc::new(athar_catalog::matching::rank(
            &cat,
            record,
            self.options.candidates,
        )?);
        drop(cat);
        let mut cache = self.candidates.lock().expect("cache lock");
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(record.id.clone(), (key, ranked.clone()));
        Ok(ranked)
    }

    /// Search cases through the in-memory index, reloading it when the log has grown.
    pub fn search_cases(&self, f: &CaseFilter) -> Result<Vec<CaseRow>> {
        let cat = self.catalogs.get();
        let seq = athar_catalog::Catalog::last_seq(&*cat)?;
        let mut slot = self.case_index.lock().expect("index lock");
        let index = match slot.as_ref() {
            Some(ix) if ix.seq == seq => ix.clone(),
            _ => {
                let ix = Arc::new(CaseIndex::load(&cat)?);
                *slot = Some(ix.clone());
                ix
            }
        };
        drop(slot);
        drop(cat);
        Ok(index.search(f))
    }

    pub fn forget_candidates(&self, record_id: &str) {
        self.candidates
            .lock()
            .expect("cache lock")
            .remove(record_id);
    }
}
