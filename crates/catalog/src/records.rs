//! Missing-person (ante-mortem) records from families.
//!
//! Unlike everything else in the catalogue these rows are *not* a projection of the log: a
//! family may withdraw a record, and withdrawal must erase it, which a write-once log cannot
//! do. So the record, its life photos and the sealed contact live only in the catalogue's
//! encrypted database (carried over by [`crate::rebuild`]); the custody log gets a keyed
//! digest of the record at each change ([`record_event`]), enough to show later that a given
//! record existed unchanged at a time, and nothing that reveals it.

use athar_sql::{Engine, ToValue};
use hmac::{KeyInit, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map};

use athar_vault::EventDraft;

use crate::sql::upsert;
use crate::{CatalogError, Result, SqlCatalog};

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, owner TEXT NOT NULL, body TEXT NOT NULL,
    created TEXT NOT NULL, updated TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_owner ON records(owner, created);
CREATE TABLE IF NOT EXISTS record_photos (
    id INTEGER PRIMARY KEY, record_id TEXT NOT NULL, media_type TEXT NOT NULL, bytes BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS record_photos_record ON record_photos(record_id);
CREATE TABLE IF NOT EXISTS record_contacts (
    record_id TEXT PRIMARY KEY, sealed BLOB NOT NULL) WITHOUT ROWID;
"#;

/// The tables that `rebuild` copies from the old catalogue into the new one.
pub(crate) const TABLES: [&str; 3] = ["records", "record_photos", "record_contacts"];

/// Our event type for a change to a missing-person record (PREMIS has none that fits a
/// record kept outside the archive).
pub const RECORD: &str = "ante-mortem record";

/// The purpose string of the vault subkey under which record digests are computed:
/// `vault.secrets().subkey(RECORD_DIGEST_KEY)`.
pub const RECORD_DIGEST_KEY: &str = "athar record digest v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    pub fn as_str(self) -> &'static str {
        match self {
            Sex::Male => "male",
            Sex::Female => "female",
        }
    }

    /// "male", "m", "ذكر" … → `Male`.
    pub fn parse(s: &str) -> Option<Sex> {
        match s.trim().to_lowercase().as_str() {
            "male" | "m" | "man" | "ذكر" | "رجل" | "homme" | "männlich" => Some(Sex::Male),
            "female" | "f" | "woman" | "أنثى" | "انثى" | "امرأة" | "femme" | "weiblich" => {
                Some(Sex::Female)
            }
            _ => None,
        }
    }
}

/// A person's names as Syrian documents give them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PersonNames {
    pub given: String,
    pub father: String,
    pub grandfather_or_family: String,
    pub mother: String,
}

impl PersonNames {
    pub fn parts(&self) -> [&str; 4] {
        [
            &self.given,
            &self.father,
            &self.grandfather_or_family,
            &self.mother,
        ]
    }

    pub fn is_empty(&self) -> bool {
        self.parts().iter().all(|p| p.trim().is_empty())
    }
}

/// An ante-mortem record: what a family knows of the person they are looking for.
/// Unknown fields are refused, so a misspelt field is an error rather than silently lost.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MissingPerson {
    /// 128 random bits, lowercase hex.
    pub id: String,
    /// The portal user who submitted it, or "cli".
    pub owner: String,
    pub names_ar: PersonNames,
    pub names_latin: PersonNames,
    pub sex: Option<Sex>,
    /// `YYYY` or `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    pub age_at_arrest: Option<u32>,
    pub origin: String,
    /// `YYYY`, `YYYY-MM` or `YYYY-MM-DD`.
    pub arrest_date: Option<String>,
    pub arrest_place: String,
    /// The branch believed to hold them: its number (ASCII or Arabic-Indic digits) or name.
    pub branch: Option<String>,
    pub description: String,
    pub marks: Vec<String>,
    /// Detainee or report numbers the family knows; Arabic-Indic digits accepted.
    pub known_numbers: Vec<String>,
    pub consent: bool,
    /// RFC 3339 UTC.
    pub created: String,
    pub updated: String,
}

impl MissingPerson {
    /// An empty record with a fresh id, owned by `owner`, created now.
    pub fn new(owner: &str) -> MissingPerson {
        let now = athar_vault::now_rfc3339();
        MissingPerson {
            id: new_record_id(),
            owner: owner.to_string(),
            created: now.clone(),
            updated: now,
            ..MissingPerson::default()
        }
    }

    /// The canonical JSON the digest covers: fields in declaration order, no whitespace.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(self).expect("records always serialise")
    }

    /// Check the fields a person types, so a bad date is refused with a message that says
    /// which field, rather than silently ignored by matching.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(CatalogError::InvalidRecord(m));
        if self.id.len() != 32 || !self.id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return bad(format!(
                "id {:?} is not 32 hex digits (128 random bits)",
                self.id
            ));
        }
        if self.owner.trim().is_empty() {
            return bad("owner is empty".into());
        }
        for (field, v) in [
            ("birth_date", &self.birth_date),
            ("arrest_date", &self.arrest_date),
        ] {
            if let Some(v) = v {
                if parse_partial_date(v).is_none() {
                    return bad(format!(
                        "{field} {v:?} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)"
                    ));
                }
            }
        }
        if let Some(a) = self.age_at_arrest {
            if a > 120 {
                return bad(format!("age_at_arrest {a} is not a human age"));
            }
        }
        if self.names_ar.is_empty() && self.names_latin.is_empty() {
            return bad("a record needs a name, in Arabic script or Latin letters".into());
        }
        Ok(())
    }

    /// Known numbers with Arabic-Indic digits folded to ASCII and separators removed.
    pub fn numbers_ascii(&self) -> Vec<String> {
        self.known_numbers
            .iter()
            .map(|n| fold_number(n))
            .filter(|n| !n.is_empty())
            .collect()
    }

    /// The branch with Arabic-Indic digits folded.
    pub fn branch_ascii(&self) -> Option<String> {
        self.branch
            .as_deref()
            .map(fold_number)
            .filter(|b| !b.is_empty())
    }
}

/// ASCII digits of a number as typed: "٢١٥" → "215", "No. 4512" → "4512", "1234/2013" →
/// "1234/2013" (report numbers keep their year). Leading zeros are dropped.
pub fn fold_number(s: &str) -> String {
    let s = athar_media::numbers::normalize(s);
    let kept: String = s
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == '/' || *c == '-')
        .collect();
    let kept = kept
        .trim_matches(|c| c == '/' || c == '-')
        .replace('-', "/");
    let t = kept.trim_start_matches('0');
    if t.is_empty() && !kept.is_empty() {
        "0".into()
    } else {
        t.to_string()
    }
}

/// A calendar date from `YYYY`, `YYYY-MM` or `YYYY-MM-DD` (a prefix of longer forms such as
/// RFC 3339 times is read too): (year, month or 0, day or 0).
pub fn parse_partial_date(s: &str) -> Option<(i32, u32, u32)> {
    let s = athar_media::numbers::normalize(s.trim());
    let mut parts = s.get(..10.min(s.len()))?.split('-');
    let y: i32 = parts.next()?.parse().ok()?;
    if !(1880..=2200).contains(&y) {
        return None;
    }
    let m: u32 = match parts.next() {
        Some(m) => m.parse().ok().filter(|m| (1..=12).contains(m))?,
        None => 0,
    };
    let d: u32 = match parts.next() {
        Some(d) if m > 0 => d.parse().ok().filter(|d| (1..=31).contains(d))?,
        Some(_) => return None,
        None => 0,
    };
    if parts.next().is_some() {
        return None;
    }
    Some((y, m, d))
}

/// 128 random bits, lowercase hex.
pub fn new_record_id() -> String {
    hex::encode(rand::random::<[u8; 16]>())
}

/// A life photo attached to a record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordPhoto {
    pub id: i64,
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// The reporter's contact, encrypted with age to the vault's recipient: only someone holding
/// the vault's identity (the case workers) can read it.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedContact(pub Vec<u8>);

impl std::fmt::Debug for SealedContact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedContact({} bytes)", self.0.len())
    }
}

pub fn seal_contact(recipient: &age::x25519::Recipient, text: &str) -> Result<SealedContact> {
    let sealed = athar_vault::envelope::seal_bytes(text.as_bytes(), &[recipient])?;
    Ok(SealedContact(sealed))
}

pub fn open_contact(identity: &age::x25519::Identity, sealed: &SealedContact) -> Result<String> {
    let mut reader = athar_vault::envelope::open(&sealed.0[..], identity, "sealed contact")?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut reader, &mut text).map_err(|e| {
        CatalogError::InvalidRecord(format!("the sealed contact does not decrypt: {e}"))
    })?;
    Ok(text)
}

/// Which change to a record an event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RecordChange {
    Submitted,
    Edited,
    Withdrawn,
}

impl RecordChange {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordChange::Submitted => "submitted",
            RecordChange::Edited => "edited",
            RecordChange::Withdrawn => "withdrawn",
        }
    }
}

/// HMAC-SHA-256, under `key` (the vault subkey [`RECORD_DIGEST_KEY`]), of the record's
/// canonical JSON; lowercase hex. Keyed so that someone who guesses a record's content cannot
/// confirm it from the public log.
pub fn record_digest(key: &[u8; 32], r: &MissingPerson) -> String {
    let mut mac =
        <hmac::Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).expect("any key length");
    mac.update(r.canonical_json().as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The custody event for a record change: the digest only, never the record.
pub fn record_event(change: RecordChange, digest: &str) -> EventDraft {
    let mut d = Map::new();
    d.insert("change".into(), json!(change.as_str()));
    d.insert("digest".into(), json!(digest));
    d.insert("digest_alg".into(), json!("hmac-sha256"));
    EventDraft {
        kind: RECORD.into(),
        objects: Vec::new(),
        details: d,
    }
}

/// Storage of missing-person records. Implemented for [`SqlCatalog`].
pub trait Records {
    /// Insert or replace a record (validated first).
    fn put_record(&mut self, r: &MissingPerson) -> Result<()>;
    fn record(&self, id: &str) -> Result<Option<MissingPerson>>;
    /// The records a portal user submitted, oldest first.
    fn records_of(&self, owner: &str) -> Result<Vec<MissingPerson>>;
    fn all_records(&self) -> Result<Vec<MissingPerson>>;
    /// Erase the record, its photos and its contact.
    fn withdraw(&mut self, id: &str) -> Result<()>;
    /// Attach a life photo; returns its id.
    fn add_photo(&mut self, id: &str, bytes: &[u8], media_type: &str) -> Result<i64>;
    /// The life photos of a record (named `record_photos`, not `photos`, so it does not
    /// clash with [`crate::Photos::photos`]).
    fn record_photos(&self, id: &str) -> Result<Vec<RecordPhoto>>;
    fn remove_photo(&mut self, id: &str, photo: i64) -> Result<()>;
    fn set_contact(&mut self, id: &str, contact: &SealedContact) -> Result<()>;
    fn contact(&self, id: &str) -> Result<Option<SealedContact>>;
}

fn parse_body(body: String) -> Result<MissingPerson> {
    serde_json::from_str(&body)
        .map_err(|e| CatalogError::InvalidRecord(format!("a stored record does not parse: {e}")))
}

impl SqlCatalog {
    /// Copy the record tables of `old` into this catalogue (both on the same engine).
    pub(crate) fn carry_records(&mut self, old: &SqlCatalog) -> Result<()> {
        let copies: Vec<(&str, Vec<athar_sql::Row>)> = TABLES
            .iter()
            .map(|t| Ok((*t, old.db().rows(&format!("SELECT * FROM {t}"), &[])?)))
            .collect::<Result<_>>()?;
        self.db().transaction(|tx| {
            for (table, rows) in &copies {
                for row in rows {
                    let marks: Vec<String> = (1..=row.len()).map(|i| format!("?{i}")).collect();
                    let params: Vec<&dyn ToValue> =
                        row.values().iter().map(|v| v as &dyn ToValue).collect();
                    tx.execute(
                        &format!("INSERT INTO {table} VALUES ({})", marks.join(", ")),
                        &params,
                    )?;
                }
            }
            if tx.engine() == Engine::Postgres {
                // Copied ids do not move PostgreSQL's sequence; the next photo must not
                // collide with them.
                tx.rows(
                    "SELECT setval(pg_get_serial_sequence('record_photos', 'id'), \
                     coalesce((SELECT max(id) FROM record_photos), 0) + 1, false)",
                    &[],
                )?;
            }
            Ok(())
        })?;
        Ok(())
    }

    fn require_record(&self, id: &str) -> Result<()> {
        match self
            .db()
            .query_row("SELECT 1 FROM records WHERE id = ?1", &[&id], |_| Ok(()))?
        {
            Some(()) => Ok(()),
            None => Err(CatalogError::NoRecord(id.to_string())),
        }
    }

    fn record_list(&self, sql: &str, args: &[&dyn ToValue]) -> Result<Vec<MissingPerson>> {
        self.db()
            .query(sql, args, |r| r.get::<String>(0))?
            .into_iter()
            .map(parse_body)
            .collect()
    }
}

impl Records for SqlCatalog {
    fn put_record(&mut self, r: &MissingPerson) -> Result<()> {
        r.validate()?;
        self.db().execute(
            &upsert(
                "records",
                &["id", "owner", "body", "created", "updated"],
                &["id"],
            ),
            &[&r.id, &r.owner, &r.canonical_json(), &r.created, &r.updated],
        )?;
        Ok(())
    }

    fn record(&self, id: &str) -> Result<Option<MissingPerson>> {
        self.db()
            .query_row("SELECT body FROM records WHERE id = ?1", &[&id], |r| {
                r.get::<String>(0)
            })?
            .map(parse_body)
            .transpose()
    }

    fn records_of(&self, owner: &str) -> Result<Vec<MissingPerson>> {
        self.record_list(
            "SELECT body FROM records WHERE owner = ?1 ORDER BY created, id",
            &[&owner],
        )
    }

    fn all_records(&self) -> Result<Vec<MissingPerson>> {
        self.record_list("SELECT body FROM records ORDER BY created, id", &[])
    }

    fn withdraw(&mut self, id: &str) -> Result<()> {
        self.require_record(id)?;
        self.db().transaction(|tx| {
            tx.execute("DELETE FROM record_photos WHERE record_id = ?1", &[&id])?;
            tx.execute("DELETE FROM record_contacts WHERE record_id = ?1", &[&id])?;
            tx.execute("DELETE FROM records WHERE id = ?1", &[&id])?;
            Ok(())
        })?;
        if self.engine() == Engine::Sqlite {
            // secure_delete zeroes the freed pages; checkpointing moves them out of the WAL
            // too. (PostgreSQL reclaims dead rows at VACUUM; see docs/formats.)
            self.db().rows("PRAGMA wal_checkpoint(TRUNCATE)", &[])?;
        }
        Ok(())
    }

    fn add_photo(&mut self, id: &str, bytes: &[u8], media_type: &str) -> Result<i64> {
        self.require_record(id)?;
        let photo = self.db().query_row(
            "INSERT INTO record_photos (record_id, media_type, bytes) VALUES (?1, ?2, ?3) RETURNING id",
            &[&id, &media_type, &bytes],
            |r| r.get::<i64>(0),
        )?;
        Ok(photo.expect("RETURNING gives the new row"))
    }

    fn record_photos(&self, id: &str) -> Result<Vec<RecordPhoto>> {
        Ok(self.db().query(
            "SELECT id, media_type, bytes FROM record_photos WHERE record_id = ?1 ORDER BY id",
            &[&id],
            |r| {
                Ok(RecordPhoto {
                    id: r.get(0)?,
                    media_type: r.get(1)?,
                    bytes: r.get(2)?,
                })
            },
        )?)
    }

    fn remove_photo(&mut self, id: &str, photo: i64) -> Result<()> {
        self.db().execute(
            "DELETE FROM record_photos WHERE record_id = ?1 AND id = ?2",
            &[&id, &photo],
        )?;
        Ok(())
    }

    fn set_contact(&mut self, id: &str, contact: &SealedContact) -> Result<()> {
        self.require_record(id)?;
        self.db().execute(
            &upsert("record_contacts", &["record_id", "sealed"], &["record_id"]),
            &[&id, &contact.0],
        )?;
        Ok(())
    }

    fn contact(&self, id: &str) -> Result<Option<SealedContact>> {
        Ok(self
            .db()
            .query_row(
                "SELECT sealed FROM record_contacts WHERE record_id = ?1",
                &[&id],
                |r| r.get::<Vec<u8>>(0),
            )?
            .map(SealedContact))
    }
}

/// A record found by a name search, best first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RecordHit {
    pub record: MissingPerson,
    /// How surely the record's names are the query's, 0..1: 1 when every word of the query is
    /// one of the record's names in the same script; less across scripts or out of order.
    pub score: f64,
}

/// Find records by name, in Arabic script or Latin letters, whatever the spelling:
/// every word of the query must meet one of the record's names (see
/// [`crate::matching::names`]); surer and in-order matches come first.
pub fn search_records(records: &dyn Records, query: &str) -> Result<Vec<RecordHit>> {
    use crate::matching::names;
    let wanted = names::words(query);
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut hits = Vec::new();
    for r in records.all_records()? {
        // (part index, word) of every name word of the record, both scripts.
        let have: Vec<(usize, String)> = r
            .names_ar
            .parts()
            .iter()
            .chain(r.names_latin.parts().iter())
            .enumerate()
            .flat_map(|(i, part)| names::words(part).into_iter().map(move |w| (i % 4, w)))
            .collect();
        let mut total = 0.0;
        let mut parts = Vec::new();
        for q in &wanted {
            let best = have
                .iter()
                .map(|(i, w)| (names::word_similarity(q, w), *i))
                .filter(|(s, _)| *s > 0.0)
                .max_by(|a, b| a.0.total_cmp(&b.0).then(b.1.cmp(&a.1)));
            match best {
                Some((s, i)) => {
                    total += s;
                    parts.push(i);
                }
                None => break,
            }
        }
        if parts.len() < wanted.len() {
            continue;
        }
        // Words given in the order of the record's parts (given, father, family) rank first.
        let in_order = parts.windows(2).all(|w| w[0] <= w[1]);
        let score = total / wanted.len() as f64 * if in_order { 1.0 } else { 0.9 };
        hits.push(RecordHit { record: r, score });
    }
    hits.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then_with(|| a.record.created.cmp(&b.record.created))
    });
    Ok(hits)
}
