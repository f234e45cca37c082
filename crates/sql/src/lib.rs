//! One SQL interface over the two engines athar runs on: the embedded SQLite, encrypted with
//! SQLCipher (the default, one file in the vault directory), and PostgreSQL (at scale, shared
//! by several machines and `athar serve` processes).
//!
//! Callers write SQL once, in the dialect both engines share (see [`dialect`]), pass
//! parameters as [`ToValue`] and read rows as [`Row`]. Methods take `&self`: a PostgreSQL
//! client sits behind a mutex and reconnects when its server went away.

pub mod dialect;
mod pg;
mod value;

use std::path::Path;

pub use value::{FromValue, Row, ToValue, Value};

#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", pg::describe(.0))]
    Postgres(#[from] postgres::Error),
    #[error("the disk is full")]
    DiskFull,
    #[error(
        "the database cannot be opened with this key (it belongs to another vault or is damaged)"
    )]
    WrongKey,
    #[error("a column holds {found} where {wanted} was expected")]
    Type {
        wanted: &'static str,
        found: &'static str,
    },
    #[error("no column {0} in the row")]
    NoColumn(usize),
    #[error("invalid PostgreSQL address: {0}")]
    BadUrl(String),
}

impl SqlError {
    /// A uniqueness constraint refused the row (another writer got there first).
    pub fn is_unique_violation(&self) -> bool {
        match self {
            SqlError::Sqlite(rusqlite::Error::SqliteFailure(e, _)) => {
                e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            }
            SqlError::Postgres(e) => e.code() == Some(&postgres::error::SqlState::UNIQUE_VIOLATION),
            _ => false,
        }
    }

    /// The server could not be reached or dropped the connection: retrying later may work.
    pub fn is_unavailable(&self) -> bool {
        match self {
            SqlError::Postgres(e) => pg::is_unavailable(e),
            _ => false,
        }
    }
}

pub type Result<T, E = SqlError> = std::result::Result<T, E>;

/// Which engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// A database connection.
pub struct Db {
    inner: Inner,
}

enum Inner {
    Sqlite(rusqlite::Connection),
    // Boxed: the client with its statement cache is much larger than a SQLite handle.
    Postgres(Box<pg::Client>),
}

/// SQLCipher sets itself up on the first connection a process opens. Two threads opening
/// their first connections at once can race there, and one fails with "sqlcipher not
/// initialized" at `PRAGMA key` (seen with parallel tests). One keyed in-memory
/// connection, opened once before any other, settles it.
fn initialise_sqlcipher() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        if let Ok(c) = rusqlite::Connection::open_in_memory() {
            let _ =
                c.execute_batch("PRAGMA key = 'initialise'; SELECT count(*) FROM sqlite_master;");
        }
    });
}

impl Db {
    /// Open (creating if needed) an SQLCipher database at `path` under a raw 256-bit key.
    pub fn open_sqlite(path: &Path, key: &[u8; 32]) -> Result<Db> {
        initialise_sqlcipher();
        let conn = rusqlite::Connection::open(path)?;
        // A raw key: SQLCipher skips its own KDF, our keys are already strong.
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(key)))?;
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase =>
            {
                return Err(SqlError::WrongKey)
            }
            Err(e) => return Err(sqlite_error(e)),
        }
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 10000; \
             PRAGMA secure_delete = ON; PRAGMA cache_size = -65536;",
        )
        .map_err(sqlite_error)?;
        // cache_size: 64 MiB of decrypted pages instead of SQLite's 2 MiB. Under SQLCipher
        // every page read from disk is decrypted and authenticated again, so a catalogue that
        // outgrew the small cache spent as much CPU on re-reading pages as on its queries.
        // Every statement is prepared once and kept (the default keeps 16, fewer than a
        // catalogue's apply alone runs, which would re-prepare per row).
        conn.set_prepared_statement_cache_capacity(128);
        Ok(Db {
            inner: Inner::Sqlite(conn),
        })
    }

    /// Connect to PostgreSQL at `url` (`postgres://user@host:port/db`, or the key=value
    /// form), working in `schema`, which is created if missing. Passwords come from the
    /// environment (`PGPASSWORD`) or `~/.pgpass`, never from a command line.
    pub fn connect_postgres(url: &str, schema: &str) -> Result<Db> {
        Ok(Db {
            inner: Inner::Postgres(Box::new(pg::Client::connect(url, schema)?)),
        })
    }

    pub fn engine(&self) -> Engine {
        match self.inner {
            Inner::Sqlite(_) => Engine::Sqlite,
            Inner::Postgres(_) => Engine::Postgres,
        }
    }

    /// Run a schema script (several statements, no parameters).
    pub fn batch(&self, sql: &str) -> Result<()> {
        match &self.inner {
            Inner::Sqlite(c) => c.execute_batch(sql).map_err(sqlite_error),
            Inner::Postgres(c) => c.batch(&dialect::schema(sql)),
        }
    }

    /// Run one statement; returns the number of rows changed.
    pub fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        match &self.inner {
            Inner::Sqlite(c) => sqlite_execute(c, sql, params),
            Inner::Postgres(c) => c.execute(sql, params),
        }
    }

    /// Every row of a query.
    pub fn rows(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>> {
        match &self.inner {
            Inner::Sqlite(c) => sqlite_rows(c, sql, params),
            Inner::Postgres(c) => c.rows(sql, params),
        }
    }

    /// Every row, each turned into a `T`.
    pub fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.rows(sql, params)?.iter().map(f).collect()
    }

    /// The first row, if any, turned into a `T`.
    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        self.rows(sql, params)?.first().map(f).transpose()
    }

    /// Run `f` in one transaction: committed if it returns `Ok`, rolled back otherwise.
    /// SQLite takes its write lock at the start (`BEGIN IMMEDIATE`), so concurrent writers
    /// queue instead of failing half-way.
    pub fn transaction<T>(&self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        match &self.inner {
            Inner::Sqlite(c) => {
                let tx = rusqlite::Transaction::new_unchecked(
                    c,
                    rusqlite::TransactionBehavior::Immediate,
                )
                .map_err(sqlite_error)?;
                let out = f(&Tx {
                    inner: TxInner::Sqlite(&tx),
                })?;
                tx.commit().map_err(sqlite_error)?;
                Ok(out)
            }
            Inner::Postgres(c) => c.transaction(|t: &pg::Tx<'_>| {
                f(&Tx {
                    inner: TxInner::Postgres(t),
                })
            }),
        }
    }
}

/// The open transaction handed to [`Db::transaction`]'s closure.
pub struct Tx<'a> {
    inner: TxInner<'a>,
}

enum TxInner<'a> {
    Sqlite(&'a rusqlite::Transaction<'a>),
    Postgres(&'a dyn pg::Statements),
}

impl Tx<'_> {
    pub fn engine(&self) -> Engine {
        match self.inner {
            TxInner::Sqlite(_) => Engine::Sqlite,
            TxInner::Postgres(_) => Engine::Postgres,
        }
    }

    pub fn execute(&self, sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
        match &self.inner {
            TxInner::Sqlite(c) => sqlite_execute(c, sql, params),
            TxInner::Postgres(t) => t.execute(sql, params),
        }
    }

    pub fn rows(&self, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>> {
        match &self.inner {
            TxInner::Sqlite(c) => sqlite_rows(c, sql, params),
            TxInner::Postgres(t) => t.rows(sql, params),
        }
    }

    pub fn query<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnMut(&Row) -> Result<T>,
    ) -> Result<Vec<T>> {
        self.rows(sql, params)?.iter().map(f).collect()
    }

    pub fn query_row<T>(
        &self,
        sql: &str,
        params: &[&dyn ToValue],
        f: impl FnOnce(&Row) -> Result<T>,
    ) -> Result<Option<T>> {
        self.rows(sql, params)?.first().map(f).transpose()
    }

    /// Serialise this transaction against every other holding the same `key` until it ends
    /// (PostgreSQL's transaction-scoped advisory lock). SQLite's `BEGIN IMMEDIATE` already
    /// serialises writers, so there it does nothing.
    pub fn lock(&self, key: i64) -> Result<()> {
        match &self.inner {
            TxInner::Sqlite(_) => Ok(()),
            TxInner::Postgres(t) => t
                .execute("SELECT pg_advisory_xact_lock(?1)", &[&key])
                .map(|_| ()),
        }
    }
}

fn sqlite_error(e: rusqlite::Error) -> SqlError {
    match e.sqlite_error_code() {
        Some(rusqlite::ErrorCode::DiskFull) => SqlError::DiskFull,
        _ => SqlError::Sqlite(e),
    }
}

fn sqlite_params(params: &[&dyn ToValue]) -> Vec<rusqlite::types::Value> {
    params
        .iter()
        .map(|p| match p.to_value() {
            Value::Null => rusqlite::types::Value::Null,
            Value::Int(i) => rusqlite::types::Value::Integer(i),
            Value::Real(f) => rusqlite::types::Value::Real(f),
            Value::Text(s) => rusqlite::types::Value::Text(s),
            Value::Blob(b) => rusqlite::types::Value::Blob(b),
        })
        .collect()
}

fn sqlite_execute(c: &rusqlite::Connection, sql: &str, params: &[&dyn ToValue]) -> Result<u64> {
    let mut stmt = c.prepare_cached(sql).map_err(sqlite_error)?;
    let n = stmt
        .execute(rusqlite::params_from_iter(sqlite_params(params)))
        .map_err(sqlite_error)?;
    Ok(n as u64)
}

fn sqlite_rows(c: &rusqlite::Connection, sql: &str, params: &[&dyn ToValue]) -> Result<Vec<Row>> {
    let mut stmt = c.prepare_cached(sql).map_err(sqlite_error)?;
    let width = stmt.column_count();
    let mut rows = stmt
        .query(rusqlite::params_from_iter(sqlite_params(params)))
        .map_err(sqlite_error)?;
    let mut out = Vec::new();
    while let Some(r) = rows.next().map_err(sqlite_error)? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(match r.get_ref(i).map_err(sqlite_error)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(i) => Value::Int(i),
                rusqlite::types::ValueRef::Real(f) => Value::Real(f),
                rusqlite::types::ValueRef::Text(t) => {
                    Value::Text(String::from_utf8_lossy(t).into_owned())
                }
                rusqlite::types::ValueRef::Blob(b) => Value::Blob(b.to_vec()),
            });
        }
        out.push(Row { values });
    }
    Ok(out)
}
