//! The catalogue's one implementation, over `athar_sql::Db`: the embedded SQLite database,
//! encrypted at rest with SQLCipher under a key derived from the vault's secrets, or a
//! PostgreSQL schema shared by several importers and `athar serve` processes. The SQL is the
//! same on both.

use std::path::{Path, PathBuf};

use athar_sql::{Db, Engine, Row, Tx, Value};
use athar_vault::{kind, SignedEvent};

use crate::{Catalog, CatalogError, EventFilter, EventRow, ObjectRow, Result, SightingRow};

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY, time TEXT NOT NULL, type TEXT NOT NULL, actor TEXT NOT NULL,
    objects TEXT NOT NULL, details TEXT NOT NULL, leaf BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS events_time ON events(time);
CREATE INDEX IF NOT EXISTS events_type ON events(type, seq);
CREATE TABLE IF NOT EXISTS event_objects (
    sha256 TEXT NOT NULL, seq INTEGER NOT NULL, PRIMARY KEY (sha256, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS objects (
    sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, media_type TEXT NOT NULL,
    first_seq INTEGER NOT NULL, first_time TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS objects_first_seq ON objects(first_seq, sha256);
CREATE TABLE IF NOT EXISTS sightings (
    seq INTEGER NOT NULL, sha256 TEXT NOT NULL, path BLOB NOT NULL, source_path TEXT NOT NULL,
    size INTEGER NOT NULL, mtime TEXT, PRIMARY KEY (seq, sha256)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sightings_file ON sightings(path, size, mtime);
CREATE INDEX IF NOT EXISTS sightings_sha ON sightings(sha256, seq);
"#;

/// The catalogue's file in a vault directory, on the embedded backend.
pub const CATALOG_FILE: &str = "catalog.db";

/// The PostgreSQL schema the catalogue lives in unless told otherwise.
pub const PG_SCHEMA: &str = "athar_catalog";

/// The advisory lock every `apply` on PostgreSQL takes first, so that several processes
/// catching up the same catalogue take turns: derived from the schema's name, so that
/// catalogues in other schemas of the same database do not wait for each other.
fn apply_lock(schema: &str) -> i64 {
    use sha2::Digest;
    let d = sha2::Sha256::digest(format!("athar catalogue apply {schema}").as_bytes());
    i64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

/// Where a catalogue lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// An SQLCipher file, keyed with the vault's catalogue key.
    Sqlite(PathBuf),
    /// A schema of a PostgreSQL database.
    Postgres { url: String, schema: String },
}

impl Location {
    /// Where the vault's configuration puts its catalogue: the PostgreSQL database it names,
    /// or [`CATALOG_FILE`] in the vault directory.
    pub fn of_vault(vault: &athar_vault::Vault) -> Location {
        match &vault.config().catalog {
            Some(url) => Location::postgres(url),
            None => Location::Sqlite(vault.root().join(CATALOG_FILE)),
        }
    }

    /// The default schema ([`PG_SCHEMA`]) of the PostgreSQL database at `url`.
    pub fn postgres(url: &str) -> Location {
        Location::Postgres {
            url: url.to_string(),
            schema: PG_SCHEMA.to_string(),
        }
    }
}

pub struct SqlCatalog {
    db: Db,
    /// Names this catalogue among others in one process (the cache of case tables).
    id: String,
    /// See [`apply_lock`] (unused on SQLite, whose writers queue on the file).
    lock: i64,
}

/// `INSERT … ON CONFLICT (key) DO UPDATE SET c = excluded.c, …`: a whole-row replace that
/// both engines understand (SQLite's `INSERT OR REPLACE` is not PostgreSQL's).
pub(crate) fn upsert(table: &str, columns: &[&str], key: &[&str]) -> String {
    let marks: Vec<String> = (1..=columns.len()).map(|i| format!("?{i}")).collect();
    let set: Vec<String> = columns
        .iter()
        .filter(|c| !key.contains(c))
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {table} ({}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
        columns.join(", "),
        marks.join(", "),
        key.join(", "),
        set.join(", ")
    )
}

impl SqlCatalog {
    /// Open (creating if needed) the embedded catalogue at `path`, keyed with `key`.
    pub fn open_sqlite(path: &Path, key: &[u8; 32]) -> Result<Self> {
        let db = Db::open_sqlite(path, key)?;
        Self::init(db, path.display().to_string(), 0)
    }

    /// Connect to the catalogue in the default schema ([`PG_SCHEMA`]) of the PostgreSQL
    /// database at `url`, creating its tables if needed.
    pub fn connect_postgres(url: &str) -> Result<Self> {
        Self::connect_postgres_schema(url, PG_SCHEMA)
    }

    /// As [`SqlCatalog::connect_postgres`], in another schema (tests, `rebuild`).
    pub fn connect_postgres_schema(url: &str, schema: &str) -> Result<Self> {
        let db = Db::connect_postgres(url, schema)?;
        Self::init(db, format!("{url}#{schema}"), apply_lock(schema))
    }

    /// Open the catalogue at `location`; `key` is the vault's catalogue key (SQLite only).
    pub fn open(location: &Location, key: &[u8; 32]) -> Result<Self> {
        match location {
            Location::Sqlite(path) => Self::open_sqlite(path, key),
            Location::Postgres { url, schema } => Self::connect_postgres_schema(url, schema),
        }
    }

    /// An empty catalogue in `schema`, dropping whatever that schema held (a rebuild left
    /// half-done).
    pub(crate) fn connect_postgres_fresh(url: &str, schema: &str) -> Result<Self> {
        let db = Db::connect_postgres(url, schema)?;
        db.batch(&format!(
            "DROP SCHEMA {schema} CASCADE; CREATE SCHEMA {schema}; SET search_path TO {schema}"
        ))?;
        Self::init(db, format!("{url}#{schema}"), apply_lock(schema))
    }

    fn init(db: Db, id: String, lock: i64) -> Result<Self> {
        for schema in [
            SCHEMA,
            crate::photos::SCHEMA,
            crate::observations::SCHEMA,
            crate::records::SCHEMA,
        ] {
            db.batch(schema)?;
        }
        Ok(SqlCatalog { db, id, lock })
    }

    /// Remove a catalogue file and its WAL companions.
    pub fn remove_files(path: &Path) -> Result<()> {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = path.as_os_str().to_owned();
            p.push(suffix);
            match std::fs::remove_file(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(source) => {
                    return Err(CatalogError::Io {
                        path: p.into(),
                        source,
                    })
                }
            }
        }
        Ok(())
    }

    pub fn engine(&self) -> Engine {
        self.db.engine()
    }

    pub(crate) fn db(&self) -> &Db {
        &self.db
    }

    /// A name for this catalogue, unique among those a process opens (file path, or URL and
    /// schema).
    pub(crate) fn id(&self) -> &str {
        &self.id
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .db
            .query_row("SELECT value FROM meta WHERE key = ?1", &[&key], |r| {
                r.get(0)
            })?)
    }
}

fn apply_one(tx: &Tx<'_>, ev: &SignedEvent) -> athar_sql::Result<()> {
    let e = &ev.event;
    let seq = e.seq as i64;
    tx.execute(
        "INSERT INTO events (seq, time, type, actor, objects, details, leaf) VALUES (?1,?2,?3,?4,?5,?6,?7)",
        &[
            &seq,
            &e.time,
            &e.kind,
            &e.actor,
            &serde_json::to_string(&e.objects).expect("strings serialise"),
            &serde_json::Value::Object(e.details.clone()).to_string(),
            &ev.leaf,
        ],
    )?;
    for sha in &e.objects {
        tx.execute(
            "INSERT OR IGNORE INTO event_objects (sha256, seq) VALUES (?1, ?2)",
            &[sha, &seq],
        )?;
    }
    // The first object of an ingestion or creation is the one stored (a creation also names
    // its original).
    let stores_object = matches!(e.kind.as_str(), kind::INGESTION | kind::CREATION)
        && !e.objects.is_empty()
        && e.details.contains_key("media_type");
    if stores_object {
        let sha = &e.objects[0];
        let size = e.detail_u64("size").unwrap_or(0) as i64;
        tx.execute(
            "INSERT OR IGNORE INTO objects (sha256, size, media_type, first_seq, first_time) VALUES (?1,?2,?3,?4,?5)",
            &[sha, &size, &e.detail_str("media_type").unwrap_or(""), &seq, &e.time],
        )?;
        if let Some(display) = e.detail_str("source_path") {
            let raw = e
                .detail_str("source_path_hex")
                .and_then(|h| hex::decode(h).ok())
                .unwrap_or_else(|| display.as_bytes().to_vec());
            tx.execute(
                "INSERT INTO sightings (seq, sha256, path, source_path, size, mtime) VALUES (?1,?2,?3,?4,?5,?6)",
                &[&seq, sha, &raw, &display, &size, &e.detail_str("mtime")],
            )?;
        }
    }
    crate::photos::apply(tx, ev)?;
    crate::observations::apply(tx, ev)?;
    Ok(())
}

fn u64_at(r: &Row, i: usize) -> athar_sql::Result<u64> {
    Ok(r.get::<i64>(i)? as u64)
}

impl Catalog for SqlCatalog {
    fn last_seq(&self) -> Result<u64> {
        Ok(self
            .meta("last_seq")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    fn position(&self) -> Result<(u64, [u8; 32])> {
        // One statement, so both come from the same applied batch even while another
        // process applies more (two reads could pair a sequence with a later leaf).
        let rows = self.db.query(
            "SELECT key, value FROM meta WHERE key IN ('last_seq', 'last_leaf')",
            &[],
            |r| Ok((r.get::<String>(0)?, r.get::<String>(1)?)),
        )?;
        let (mut seq, mut leaf) = (0, [0; 32]);
        for (key, value) in rows {
            match key.as_str() {
                "last_seq" => seq = value.parse().unwrap_or(0),
                _ => {
                    leaf = hex::decode(value)
                        .ok()
                        .and_then(|b| b.try_into().ok())
                        .unwrap_or([0; 32])
                }
            }
        }
        Ok((seq, leaf))
    }

    fn apply(&mut self, events: &[SignedEvent]) -> Result<()> {
        let Some(last) = events.last() else {
            return Ok(());
        };
        // Writers take turns (SQLite's BEGIN IMMEDIATE, PostgreSQL's advisory lock) and each
        // re-reads where the catalogue stands, skipping what another already applied, so
        // concurrent catch-ups never duplicate an event nor fail.
        let gap = self.db.transaction(|tx| {
            tx.lock(self.lock)?;
            let applied: u64 = tx
                .query_row("SELECT value FROM meta WHERE key = 'last_seq'", &[], |r| {
                    r.get::<String>(0)
                })?
                .and_then(|v| v.parse().ok())
                .unwrap_or(0);
            if last.event.seq <= applied {
                return Ok(None);
            }
            let fresh: Vec<&SignedEvent> =
                events.iter().filter(|ev| ev.event.seq > applied).collect();
            if fresh[0].event.seq != applied + 1 {
                return Ok(Some(CatalogError::Gap {
                    have: applied,
                    next: fresh[0].event.seq,
                }));
            }
            for ev in fresh {
                apply_one(tx, ev)?;
            }
            let meta = upsert("meta", &["key", "value"], &["key"]);
            tx.execute(&meta, &[&"last_seq", &last.event.seq.to_string()])?;
            tx.execute(&meta, &[&"last_leaf", &hex::encode(last.leaf)])?;
            Ok(None)
        })?;
        gap.map_or(Ok(()), Err)
    }

    fn object(&self, sha256: &str) -> Result<Option<ObjectRow>> {
        Ok(self.db.query_row(
            "SELECT sha256, size, media_type, first_seq, first_time FROM objects WHERE sha256 = ?1",
            &[&sha256],
            |r| {
                Ok(ObjectRow {
                    sha256: r.get(0)?,
                    size: u64_at(r, 1)?,
                    media_type: r.get(2)?,
                    first_seq: u64_at(r, 3)?,
                    first_time: r.get(4)?,
                })
            },
        )?)
    }

    fn sightings(&self, sha256: &str) -> Result<Vec<SightingRow>> {
        Ok(self.db.query(
            "SELECT s.seq, e.time, s.source_path, s.size, s.mtime FROM sightings s \
             JOIN events e ON e.seq = s.seq WHERE s.sha256 = ?1 ORDER BY s.seq",
            &[&sha256],
            |r| {
                Ok(SightingRow {
                    seq: u64_at(r, 0)?,
                    time: r.get(1)?,
                    source_path: r.get(2)?,
                    size: u64_at(r, 3)?,
                    mtime: r.get(4)?,
                })
            },
        )?)
    }

    fn recorded_file(&self, path: &[u8], size: u64, mtime: &str) -> Result<Option<String>> {
        Ok(self.db.query_row(
            "SELECT sha256 FROM sightings WHERE path = ?1 AND size = ?2 AND mtime = ?3 LIMIT 1",
            &[&path, &(size as i64), &mtime],
            |r| r.get(0),
        )?)
    }

    fn events(&self, f: &EventFilter) -> Result<Vec<EventRow>> {
        let mut sql = String::from(
            "SELECT e.seq, e.time, e.type, e.actor, e.objects, e.details FROM events e WHERE 1=1",
        );
        let mut args: Vec<String> = Vec::new();
        let mut bind = |sql: &mut String, clause: &str, v: &str| {
            args.push(v.to_string());
            *sql += &clause.replace('?', &format!("?{}", args.len()));
        };
        if let Some(o) = &f.object {
            bind(
                &mut sql,
                " AND e.seq IN (SELECT seq FROM event_objects WHERE sha256 = ?)",
                o,
            );
        }
        if let Some(k) = &f.kind {
            bind(&mut sql, " AND e.type = ?", k);
        }
        if let Some(s) = &f.since {
            bind(&mut sql, " AND e.time >= ?", s);
        }
        if let Some(u) = &f.until {
            bind(&mut sql, " AND e.time <= ?", u);
        }
        sql += " ORDER BY e.seq";
        if let Some(l) = f.limit {
            sql += &format!(" LIMIT {l}");
        }
        let params: Vec<&dyn athar_sql::ToValue> =
            args.iter().map(|a| a as &dyn athar_sql::ToValue).collect();
        Ok(self.db.query(&sql, &params, |r| {
            let objects: String = r.get(4)?;
            let details: String = r.get(5)?;
            Ok(EventRow {
                seq: u64_at(r, 0)?,
                time: r.get(1)?,
                kind: r.get(2)?,
                actor: r.get(3)?,
                objects: serde_json::from_str(&objects).unwrap_or_default(),
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
            })
        })?)
    }

    fn totals(&self) -> Result<(u64, u64)> {
        Ok(self
            .db
            .query_row(
                "SELECT count(*), coalesce(sum(size), 0) FROM objects",
                &[],
                |r| Ok((u64_at(r, 0)?, u64_at(r, 1)?)),
            )?
            .unwrap_or((0, 0)))
    }

    fn dump(&self) -> Result<String> {
        let mut out = String::new();
        for (table, order) in DUMP_ORDER {
            for row in self
                .db
                .rows(&format!("SELECT * FROM {table} ORDER BY {order}"), &[])?
            {
                out.push_str(table);
                for v in row.values() {
                    out.push_str(&format!("\t{}", dump_value(v)));
                }
                out.push('\n');
            }
        }
        Ok(out)
    }
}

/// Every table, in the order `dump` lists them, with a key that orders its rows.
const DUMP_ORDER: [(&str, &str); 13] = [
    ("meta", "key"),
    ("events", "seq"),
    ("event_objects", "sha256, seq"),
    ("objects", "sha256"),
    ("sightings", "seq, sha256"),
    ("photos", "sha256"),
    ("derivatives", "sha256"),
    ("cases", "id"),
    ("case_photos", "case_id, sha256"),
    ("case_observations", "case_id"),
    ("records", "id"),
    ("record_photos", "id"),
    ("record_contacts", "record_id"),
];

fn dump_value(v: &Value) -> String {
    match v {
        Value::Null => "Null".into(),
        Value::Int(i) => format!("Integer({i})"),
        Value::Real(f) => format!("Real({f:?})"),
        Value::Text(s) => format!("Text({s:?})"),
        Value::Blob(b) => format!("Blob({})", hex::encode(b)),
    }
}
