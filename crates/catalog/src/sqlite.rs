//! The embedded catalogue: SQLite, encrypted at rest with SQLCipher under a key derived from
//! the vault's secrets, so paths and metadata are never in clear on disk.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};

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
CREATE TABLE IF NOT EXISTS sightings (
    seq INTEGER NOT NULL, sha256 TEXT NOT NULL, path BLOB NOT NULL, source_path TEXT NOT NULL,
    size INTEGER NOT NULL, mtime TEXT, PRIMARY KEY (seq, sha256)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sightings_file ON sightings(path, size, mtime);
CREATE INDEX IF NOT EXISTS sightings_sha ON sightings(sha256, seq);
"#;

pub struct SqliteCatalog {
    conn: Connection,
}

impl SqliteCatalog {
    /// Open (creating if needed) the catalogue at `path`, keyed with `key`.
    pub fn open(path: &Path, key: &[u8; 32]) -> Result<Self> {
        let conn = Connection::open(path)?;
        // A raw key: SQLCipher skips its own KDF, the vault key is already strong.
        conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(key)))?;
        match conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        }) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::NotADatabase =>
            {
                return Err(CatalogError::WrongKey)
            }
            Err(e) => return Err(e.into()),
        }
        conn.execute_batch(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
             PRAGMA temp_store = MEMORY; PRAGMA busy_timeout = 10000; \
             PRAGMA secure_delete = ON;",
        )?;
        conn.execute_batch(SCHEMA)?;
        conn.execute_batch(crate::photos::SCHEMA)?;
        conn.execute_batch(crate::observations::SCHEMA)?;
        conn.execute_batch(crate::records::SCHEMA)?;
        Ok(SqliteCatalog { conn })
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

    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }
}

fn apply_one(tx: &rusqlite::Transaction<'_>, ev: &SignedEvent) -> Result<()> {
    let e = &ev.event;
    tx.execute(
        "INSERT INTO events (seq, time, type, actor, objects, details, leaf) VALUES (?1,?2,?3,?4,?5,?6,?7)",
        params![
            e.seq as i64,
            e.time,
            e.kind,
            e.actor,
            serde_json::to_string(&e.objects).expect("strings serialise"),
            serde_json::Value::Object(e.details.clone()).to_string(),
            &ev.leaf[..],
        ],
    )?;
    for sha in &e.objects {
        tx.execute(
            "INSERT OR IGNORE INTO event_objects (sha256, seq) VALUES (?1, ?2)",
            params![sha, e.seq as i64],
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
            params![sha, size, e.detail_str("media_type").unwrap_or(""), e.seq as i64, e.time],
        )?;
        if let Some(display) = e.detail_str("source_path") {
            let raw = e
                .detail_str("source_path_hex")
                .and_then(|h| hex::decode(h).ok())
                .unwrap_or_else(|| display.as_bytes().to_vec());
            tx.execute(
                "INSERT INTO sightings (seq, sha256, path, source_path, size, mtime) VALUES (?1,?2,?3,?4,?5,?6)",
                params![e.seq as i64, sha, raw, display, size, e.detail_str("mtime")],
            )?;
        }
    }
    crate::photos::apply(tx, ev)?;
    crate::observations::apply(tx, ev)?;
    Ok(())
}

impl Catalog for SqliteCatalog {
    fn last_seq(&self) -> Result<u64> {
        Ok(self
            .meta("last_seq")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0))
    }

    fn last_leaf(&self) -> Result<[u8; 32]> {
        Ok(self
            .meta("last_leaf")?
            .and_then(|v| hex::decode(v).ok())
            .and_then(|b| b.try_into().ok())
            .unwrap_or([0; 32]))
    }

    fn apply(&mut self, events: &[SignedEvent]) -> Result<()> {
        let Some(last) = events.last() else {
            return Ok(());
        };
        // IMMEDIATE: two processes catching up at once take turns, and each skips what the
        // other already applied, so the projection stays exact.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let applied: u64 = tx
            .query_row("SELECT value FROM meta WHERE key = 'last_seq'", [], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if last.event.seq <= applied {
            return Ok(());
        }
        let fresh: Vec<&SignedEvent> = events.iter().filter(|ev| ev.event.seq > applied).collect();
        if fresh[0].event.seq != applied + 1 {
            return Err(CatalogError::Gap {
                have: applied,
                next: fresh[0].event.seq,
            });
        }
        for ev in fresh {
            apply_one(&tx, ev)?;
        }
        tx.execute(
            "INSERT OR REPLACE INTO meta (key, value) VALUES ('last_seq', ?1), ('last_leaf', ?2)",
            params![last.event.seq.to_string(), hex::encode(last.leaf)],
        )?;
        tx.commit()?;
        Ok(())
    }

    fn object(&self, sha256: &str) -> Result<Option<ObjectRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT sha256, size, media_type, first_seq, first_time FROM objects WHERE sha256 = ?1",
                [sha256],
                |r| {
                    Ok(ObjectRow {
                        sha256: r.get(0)?,
                        size: r.get::<_, i64>(1)? as u64,
                        media_type: r.get(2)?,
                        first_seq: r.get::<_, i64>(3)? as u64,
                        first_time: r.get(4)?,
                    })
                },
            )
            .optional()?)
    }

    fn sightings(&self, sha256: &str) -> Result<Vec<SightingRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT s.seq, e.time, s.source_path, s.size, s.mtime FROM sightings s \
             JOIN events e ON e.seq = s.seq WHERE s.sha256 = ?1 ORDER BY s.seq",
        )?;
        let rows = stmt.query_map([sha256], |r| {
            Ok(SightingRow {
                seq: r.get::<_, i64>(0)? as u64,
                time: r.get(1)?,
                source_path: r.get(2)?,
                size: r.get::<_, i64>(3)? as u64,
                mtime: r.get(4)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn recorded_file(&self, path: &[u8], size: u64, mtime: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row(
                "SELECT sha256 FROM sightings WHERE path = ?1 AND size = ?2 AND mtime = ?3 LIMIT 1",
                params![path, size as i64, mtime],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn events(&self, f: &EventFilter) -> Result<Vec<EventRow>> {
        let mut sql = String::from(
            "SELECT e.seq, e.time, e.type, e.actor, e.objects, e.details FROM events e WHERE 1=1",
        );
        let mut args: Vec<Box<dyn rusqlite::ToSql>> = Vec::new();
        if let Some(o) = &f.object {
            args.push(Box::new(o.clone()));
            sql += &format!(
                " AND e.seq IN (SELECT seq FROM event_objects WHERE sha256 = ?{})",
                args.len()
            );
        }
        if let Some(k) = &f.kind {
            args.push(Box::new(k.clone()));
            sql += &format!(" AND e.type = ?{}", args.len());
        }
        if let Some(s) = &f.since {
            args.push(Box::new(s.clone()));
            sql += &format!(" AND e.time >= ?{}", args.len());
        }
        if let Some(u) = &f.until {
            args.push(Box::new(u.clone()));
            sql += &format!(" AND e.time <= ?{}", args.len());
        }
        sql += " ORDER BY e.seq";
        if let Some(l) = f.limit {
            sql += &format!(" LIMIT {l}");
        }
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), |r| {
            let objects: String = r.get(4)?;
            let details: String = r.get(5)?;
            Ok(EventRow {
                seq: r.get::<_, i64>(0)? as u64,
                time: r.get(1)?,
                kind: r.get(2)?,
                actor: r.get(3)?,
                objects: serde_json::from_str(&objects).unwrap_or_default(),
                details: serde_json::from_str(&details).unwrap_or(serde_json::Value::Null),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    fn totals(&self) -> Result<(u64, u64)> {
        Ok(self.conn.query_row(
            "SELECT count(*), coalesce(sum(size), 0) FROM objects",
            [],
            |r| Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64)),
        )?)
    }

    fn dump(&self) -> Result<String> {
        let mut out = String::new();
        for (table, order) in [
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
        ] {
            let mut stmt = self
                .conn
                .prepare(&format!("SELECT * FROM {table} ORDER BY {order}"))?;
            let cols = stmt.column_count();
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                out.push_str(table);
                for i in 0..cols {
                    let v: rusqlite::types::Value = row.get(i)?;
                    out.push_str(&format!("\t{v:?}"));
                }
                out.push('\n');
            }
        }
        Ok(out)
    }
}
