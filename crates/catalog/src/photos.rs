//! Photos, derivatives and cases: the projection of "metadata extraction", "creation" and
//! "grouping" events, and the queries that the archive team's commands run on them.

use athar_sql::{Db, Row, ToValue, Tx};
use serde::Serialize;
use serde_json::Value;

use athar_vault::{kind, SignedEvent};

use crate::observations::Observations;
use crate::sql::upsert;
use crate::{Result, SqlCatalog};

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS photos (
    sha256 TEXT PRIMARY KEY, seq INTEGER NOT NULL, source_path TEXT,
    width INTEGER, height INTEGER,
    make TEXT, model TEXT, serial TEXT, taken TEXT, subsec TEXT, utc_offset TEXT,
    software TEXT, orientation INTEGER, lat REAL, lon REAL,
    pdq BLOB, pdq_quality INTEGER, phash TEXT,
    detainee TEXT, branch TEXT, report TEXT, numbers_from TEXT,
    photographer TEXT, label_date TEXT, hospital TEXT, labels_raw TEXT,
    error TEXT, details TEXT NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS photos_numbers ON photos(detainee, branch);
CREATE INDEX IF NOT EXISTS photos_camera ON photos(serial, taken);
CREATE TABLE IF NOT EXISTS derivatives (
    sha256 TEXT PRIMARY KEY, original TEXT NOT NULL, kind TEXT NOT NULL,
    transform TEXT NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS derivatives_original ON derivatives(original, kind);
CREATE TABLE IF NOT EXISTS cases (
    id TEXT PRIMARY KEY, basis TEXT NOT NULL, status TEXT NOT NULL,
    detainee TEXT, branch TEXT, report TEXT, hospital TEXT,
    first_taken TEXT, last_taken TEXT, camera TEXT, seq INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS cases_branch ON cases(branch, first_taken);
CREATE TABLE IF NOT EXISTS case_photos (
    case_id TEXT NOT NULL, sha256 TEXT NOT NULL, seq INTEGER NOT NULL,
    PRIMARY KEY (case_id, sha256)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS case_photos_sha ON case_photos(sha256);
"#;

/// The columns of `photos`, in the order `apply` binds them.
const PHOTO_FIELDS: [&str; 28] = [
    "sha256",
    "seq",
    "source_path",
    "width",
    "height",
    "make",
    "model",
    "serial",
    "taken",
    "subsec",
    "utc_offset",
    "software",
    "orientation",
    "lat",
    "lon",
    "pdq",
    "pdq_quality",
    "phash",
    "detainee",
    "branch",
    "report",
    "numbers_from",
    "photographer",
    "label_date",
    "hospital",
    "labels_raw",
    "error",
    "details",
];

/// Our event type for grouping photos into a case (PREMIS has none).
pub const GROUPING: &str = "grouping";
/// PREMIS 3 "metadata extraction": what analysis read from a photo.
pub const METADATA_EXTRACTION: &str = "metadata extraction";

fn s<'a>(v: &'a Value, path: &[&str]) -> Option<&'a str> {
    let mut v = v;
    for p in path {
        v = v.get(p)?;
    }
    v.as_str()
}

/// EXIF "YYYY:MM:DD HH:MM:SS" → "YYYY-MM-DDTHH:MM:SS" (local camera time, sortable).
pub fn exif_time(t: &str) -> Option<String> {
    let t = t.trim();
    if t.len() < 19 || t.starts_with("0000") {
        return None;
    }
    let b = t.as_bytes();
    if b[4] != b':' || b[7] != b':' || b[10] != b' ' {
        return None;
    }
    Some(format!(
        "{}-{}-{}T{}",
        &t[0..4],
        &t[5..7],
        &t[8..10],
        &t[11..19]
    ))
}

pub(crate) fn apply(tx: &Tx<'_>, ev: &SignedEvent) -> athar_sql::Result<()> {
    let e = &ev.event;
    let d = Value::Object(e.details.clone());
    match e.kind.as_str() {
        METADATA_EXTRACTION if !e.objects.is_empty() => {
            let names = d.get("labels");
            let card = d.get("card");
            let from_names = names
                .and_then(|l| l.get("detainee"))
                .is_some_and(|v| v.is_string());
            let from_card = !from_names
                && card
                    .and_then(|c| c.get("detainee"))
                    .is_some_and(|v| v.is_string());
            let numbers = if from_names {
                names
            } else if from_card {
                card
            } else {
                None
            };
            let num = |f: &str| numbers.and_then(|n| n.get(f)).and_then(Value::as_str);
            let pdq = s(&d, &["pdq"]).and_then(|h| hex::decode(h).ok());
            tx.execute(
                &upsert("photos", &PHOTO_FIELDS, &["sha256"]),
                &[
                    &e.objects[0],
                    &(e.seq as i64),
                    &s(&d, &["source_path"]),
                    &(d.get("width").and_then(Value::as_u64).map(|v| v as i64)),
                    &(d.get("height").and_then(Value::as_u64).map(|v| v as i64)),
                    &(s(&d, &["exif", "make"])),
                    &(s(&d, &["exif", "model"])),
                    &(s(&d, &["exif", "serial"])),
                    &(s(&d, &["exif", "datetime_original"]).and_then(exif_time)),
                    &(s(&d, &["exif", "subsec"])),
                    &(s(&d, &["exif", "offset"])),
                    &(s(&d, &["exif", "software"])),
                    &(d.pointer("/exif/orientation").and_then(Value::as_i64)),
                    &(d.pointer("/exif/gps/lat").and_then(Value::as_f64)),
                    &(d.pointer("/exif/gps/lon").and_then(Value::as_f64)),
                    &(pdq),
                    &(d.get("pdq_quality").and_then(Value::as_i64)),
                    &(s(&d, &["phash"])),
                    &(num("detainee")),
                    &(num("branch")),
                    &(num("report")),
                    &(if from_names {
                        Some("names")
                    } else if from_card {
                        Some("card")
                    } else {
                        None
                    }),
                    &(names
                        .and_then(|l| l.get("photographer"))
                        .and_then(Value::as_str)),
                    &(names.and_then(|l| l.get("date")).and_then(Value::as_str)),
                    &(names
                        .and_then(|l| l.get("hospital"))
                        .and_then(Value::as_str)),
                    &(names.and_then(|l| l.get("raw")).map(Value::to_string)),
                    &(s(&d, &["error"])),
                    &(d.to_string()),
                ],
            )?;
        }
        kind::CREATION if e.objects.len() >= 2 => {
            tx.execute(
                "INSERT OR IGNORE INTO derivatives (sha256, original, kind, transform, seq) VALUES (?1,?2,?3,?4,?5)",
                &[
                    &e.objects[0],
                    &e.objects[1],
                    &s(&d, &["derivative"]).unwrap_or(""),
                    &s(&d, &["transform"]).unwrap_or(""),
                    &(e.seq as i64),
                ],
            )?;
        }
        GROUPING if !crate::observations::is_regrouping(&d) => {
            let case = s(&d, &["case"]).unwrap_or_default();
            tx.execute(
                "INSERT OR IGNORE INTO cases (id, basis, status, detainee, branch, report, hospital, seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                &[
                    &case,
                    &s(&d, &["basis"]).unwrap_or("numbers"),
                    &s(&d, &["status"]).unwrap_or("unidentified"),
                    &s(&d, &["detainee"]),
                    &s(&d, &["branch"]),
                    &s(&d, &["report"]),
                    &s(&d, &["hospital"]),
                    &(e.seq as i64),
                ],
            )?;
            for sha in &e.objects {
                tx.execute(
                    "INSERT OR IGNORE INTO case_photos (case_id, sha256, seq) VALUES (?1, ?2, ?3)",
                    &[&case, sha, &(e.seq as i64)],
                )?;
            }
            crate::observations::refresh_dates(tx, case)?;
        }
        _ => {}
    }
    Ok(())
}

/// A photo as the grouping and search code needs it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoRow {
    pub sha256: String,
    pub source_path: Option<String>,
    pub serial: Option<String>,
    pub camera: Option<String>,
    pub taken: Option<String>,
    pub subsec: Option<String>,
    #[serde(skip)]
    pub pdq: Option<[u8; 32]>,
    pub pdq_quality: Option<u8>,
    pub detainee: Option<String>,
    pub branch: Option<String>,
    pub report: Option<String>,
    pub numbers_from: Option<String>,
    pub photographer: Option<String>,
    pub hospital: Option<String>,
    pub error: Option<String>,
    pub case_id: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CaseRow {
    pub id: String,
    pub basis: String,
    pub status: String,
    pub detainee: Option<String>,
    pub branch: Option<String>,
    pub report: Option<String>,
    pub hospital: Option<String>,
    pub first_taken: Option<String>,
    pub last_taken: Option<String>,
    pub camera: Option<String>,
    pub photos: u64,
    /// The latest observations recorded by an investigator.
    pub observations: Option<Observations>,
}

/// Which cases `athar cases` lists.
#[derive(Debug, Clone, Default)]
pub struct CaseFilter {
    pub branch: Option<String>,
    pub hospital: Option<String>,
    pub status: Option<String>,
    /// Detainee or report number (ASCII digits).
    pub number: Option<String>,
    /// `YYYY-MM-DD` bounds on the date documented.
    pub from: Option<String>,
    pub to: Option<String>,
    pub limit: Option<u64>,
}

/// An original awaiting analysis.
#[derive(Debug, Clone)]
pub struct Pending {
    pub sha256: String,
    pub size: u64,
    pub media_type: String,
    pub source_path: Option<String>,
    /// Sequence number of the event that first named it.
    pub first_seq: i64,
}

impl Pending {
    /// The `after` that starts [`Photos::pending_analysis`] at the beginning.
    pub const START: (i64, String) = (-1, String::new());

    /// The `after` that continues [`Photos::pending_analysis`] past this one.
    pub fn cursor(&self) -> (i64, String) {
        (self.first_seq, self.sha256.clone())
    }
}

const PHOTO_COLUMNS: &str = "p.sha256, p.source_path, p.serial, p.make || ' ' || p.model, p.taken, p.subsec,
    p.pdq, p.pdq_quality, p.detainee, p.branch, p.report, p.numbers_from, p.photographer, p.hospital, p.error,
    (SELECT c.case_id FROM case_photos c WHERE c.sha256 = p.sha256 LIMIT 1)";

fn photo_row(r: &Row) -> athar_sql::Result<PhotoRow> {
    let pdq: Option<Vec<u8>> = r.get(6)?;
    Ok(PhotoRow {
        sha256: r.get(0)?,
        source_path: r.get(1)?,
        serial: r.get(2)?,
        camera: r.get(3)?,
        taken: r.get(4)?,
        subsec: r.get(5)?,
        pdq: pdq.and_then(|b| b.try_into().ok()),
        pdq_quality: r.get::<Option<i64>>(7)?.map(|q| q as u8),
        detainee: r.get(8)?,
        branch: r.get(9)?,
        report: r.get(10)?,
        numbers_from: r.get(11)?,
        photographer: r.get(12)?,
        hospital: r.get(13)?,
        error: r.get(14)?,
        case_id: r.get(15)?,
    })
}

fn case_row(r: &Row) -> athar_sql::Result<CaseRow> {
    Ok(CaseRow {
        id: r.get(0)?,
        basis: r.get(1)?,
        status: r.get(2)?,
        detainee: r.get(3)?,
        branch: r.get(4)?,
        report: r.get(5)?,
        hospital: r.get(6)?,
        first_taken: r.get(7)?,
        last_taken: r.get(8)?,
        camera: r.get(9)?,
        photos: r.get::<i64>(10)? as u64,
        observations: r
            .get::<Option<String>>(11)?
            .and_then(|b| serde_json::from_str(&b).ok()),
    })
}

const CASE_COLUMNS: &str = "c.id, c.basis, c.status, c.detainee, c.branch, c.report, c.hospital,
    c.first_taken, c.last_taken, c.camera, (SELECT count(*) FROM case_photos x WHERE x.case_id = c.id),
    (SELECT o.body FROM case_observations o WHERE o.case_id = c.id)";

/// Counts for `athar stats`: each row is (key, count) or, by month, (month, branch, count).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    pub photos: u64,
    pub cases: u64,
    pub proposed_groups: u64,
    pub photos_in_cases: u64,
    pub cases_by_branch: Vec<(String, u64)>,
    pub cases_by_hospital: Vec<(String, u64)>,
    pub cases_by_month: Vec<(String, u64)>,
    pub cases_by_month_and_branch: Vec<(String, String, u64)>,
    pub photos_by_camera: Vec<(String, u64)>,
    /// (photos in the case, number of such cases)
    pub photos_per_case: Vec<(u64, u64)>,
}

/// Queries on photos and cases. Kept behind a trait, like [`crate::Catalog`], so that another
/// SQL engine can stand behind it.
pub trait Photos {
    /// Image originals that no "metadata extraction" event covers yet.
    /// Up to `limit` originals not yet analysed, in the order they entered the vault,
    /// starting after `after` (the `(first_seq, sha256)` of the last one a caller has in
    /// hand; `Pending::START` at first), so a long run pages through an index instead of
    /// rescanning what it has done.
    fn pending_analysis(&self, after: &(i64, String), limit: usize) -> Result<Vec<Pending>>;
    fn photo(&self, sha256: &str) -> Result<Option<PhotoRow>>;
    /// Every analysed original, in camera and time order.
    fn photos(&self) -> Result<Vec<PhotoRow>>;
    /// Derivatives of an original: (kind, sha256, transform).
    fn derivatives(&self, original: &str) -> Result<Vec<(String, String, String)>>;
    fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>>;
    fn case(&self, id: &str) -> Result<Option<CaseRow>>;
    fn case_photos(&self, id: &str) -> Result<Vec<PhotoRow>>;
    /// (sha256, PDQ hash) of every analysed original that has one.
    fn pdq_hashes(&self) -> Result<Vec<(String, [u8; 32])>>;
    /// Counts by branch, hospital, month and camera, for cases asserted by their numbers.
    fn stats(&self) -> Result<Stats>;
}

fn pairs(db: &Db, sql: &str) -> Result<Vec<(String, u64)>> {
    Ok(db.query(sql, &[], |r| {
        Ok((
            r.get::<Option<String>>(0)?
                .unwrap_or_else(|| "unknown".into()),
            r.get::<i64>(1)? as u64,
        ))
    })?)
}

impl Photos for SqlCatalog {
    fn stats(&self) -> Result<Stats> {
        let c = self.db();
        let one = |sql: &str| -> Result<u64> {
            Ok(c.query_row(sql, &[], |r| r.get::<i64>(0))?.unwrap_or(0) as u64)
        };
        const NUMBERED: &str = "FROM cases WHERE basis = 'numbers'";
        let by_month_branch = c.query(
            &format!(
                "SELECT substr(first_taken, 1, 7) AS m, coalesce(branch, 'unknown'), count(*) {NUMBERED} GROUP BY m, branch ORDER BY m NULLS FIRST, branch NULLS FIRST"
            ),
            &[],
            |r| {
                Ok((
                    r.get::<Option<String>>(0)?
                        .unwrap_or_else(|| "unknown".into()),
                    r.get::<String>(1)?,
                    r.get::<i64>(2)? as u64,
                ))
            },
        )?;
        let per_case = c.query(
            "SELECT n, count(*) FROM (SELECT count(*) AS n FROM case_photos x JOIN cases k ON k.id = x.case_id
             WHERE k.basis = 'numbers' GROUP BY x.case_id) AS per GROUP BY n ORDER BY n",
            &[],
            |r| Ok((r.get::<i64>(0)? as u64, r.get::<i64>(1)? as u64)),
        )?;
        Ok(Stats {
            photos: one("SELECT count(*) FROM photos")?,
            cases: one(&format!("SELECT count(*) {NUMBERED}"))?,
            proposed_groups: one("SELECT count(*) FROM cases WHERE basis <> 'numbers'")?,
            photos_in_cases: one("SELECT count(*) FROM case_photos x JOIN cases k ON k.id = x.case_id WHERE k.basis = 'numbers'")?,
            cases_by_branch: pairs(c, &format!("SELECT branch, count(*) {NUMBERED} GROUP BY branch ORDER BY count(*) DESC, branch NULLS FIRST"))?,
            cases_by_hospital: pairs(c, &format!("SELECT hospital, count(*) {NUMBERED} GROUP BY hospital ORDER BY count(*) DESC, hospital NULLS FIRST"))?,
            cases_by_month: pairs(c, &format!("SELECT substr(first_taken, 1, 7) AS m, count(*) {NUMBERED} GROUP BY m ORDER BY m NULLS FIRST"))?,
            cases_by_month_and_branch: by_month_branch,
            photos_by_camera: pairs(c, "SELECT make || ' ' || model || ' #' || coalesce(serial, '?'), count(*) FROM photos GROUP BY 1 ORDER BY count(*) DESC, 1 NULLS FIRST")?,
            photos_per_case: per_case,
        })
    }

    fn pending_analysis(&self, after: &(i64, String), limit: usize) -> Result<Vec<Pending>> {
        Ok(self.db().query(
            "SELECT o.sha256, o.size, o.media_type,
                (SELECT s.source_path FROM sightings s WHERE s.sha256 = o.sha256 ORDER BY s.seq LIMIT 1),
                o.first_seq
             FROM objects o
             WHERE (o.first_seq, o.sha256) > (?1, ?2)
               AND o.media_type LIKE 'image/%'
               AND NOT EXISTS (SELECT 1 FROM photos p WHERE p.sha256 = o.sha256)
               AND NOT EXISTS (SELECT 1 FROM derivatives d WHERE d.sha256 = o.sha256)
             ORDER BY o.first_seq, o.sha256 LIMIT ?3",
            &[&after.0, &after.1, &(limit as i64)],
            |r| {
                Ok(Pending {
                    sha256: r.get(0)?,
                    size: r.get::<i64>(1)? as u64,
                    media_type: r.get(2)?,
                    source_path: r.get(3)?,
                    first_seq: r.get(4)?,
                })
            },
        )?)
    }

    fn photo(&self, sha256: &str) -> Result<Option<PhotoRow>> {
        Ok(self.db().query_row(
            &format!("SELECT {PHOTO_COLUMNS} FROM photos p WHERE p.sha256 = ?1"),
            &[&sha256],
            photo_row,
        )?)
    }

    fn photos(&self) -> Result<Vec<PhotoRow>> {
        Ok(self.db().query(
            &format!(
                "SELECT {PHOTO_COLUMNS} FROM photos p
                 ORDER BY p.serial NULLS FIRST, p.taken NULLS FIRST, p.subsec NULLS FIRST, p.source_path NULLS FIRST, p.sha256"
            ),
            &[],
            photo_row,
        )?)
    }

    fn derivatives(&self, original: &str) -> Result<Vec<(String, String, String)>> {
        Ok(self.db().query(
            "SELECT kind, sha256, transform FROM derivatives WHERE original = ?1 ORDER BY kind, sha256",
            &[&original],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )?)
    }

    fn cases(&self, f: &CaseFilter) -> Result<Vec<CaseRow>> {
        let mut sql = format!("SELECT {CASE_COLUMNS} FROM cases c WHERE 1=1");
        let mut args: Vec<String> = Vec::new();
        let mut bind = |sql: &mut String, clause: &str, v: &str| {
            args.push(v.to_string());
            *sql += &clause.replace('?', &format!("?{}", args.len()));
        };
        if let Some(v) = &f.branch {
            bind(&mut sql, " AND c.branch = ?", v);
        }
        if let Some(v) = &f.hospital {
            bind(&mut sql, " AND c.hospital = ?", v);
        }
        if let Some(v) = &f.status {
            bind(&mut sql, " AND c.status = ?", v);
        }
        if let Some(v) = &f.number {
            bind(
                &mut sql,
                " AND (c.detainee = ? OR c.report = ? OR replace(c.report, '/', '-') = ?)",
                v,
            );
        }
        if let Some(v) = &f.from {
            bind(&mut sql, " AND c.first_taken >= ?", v);
        }
        if let Some(v) = &f.to {
            bind(&mut sql, " AND substr(c.first_taken, 1, 10) <= ?", v);
        }
        sql += " ORDER BY c.first_taken NULLS FIRST, c.id";
        if let Some(l) = f.limit {
            sql += &format!(" LIMIT {l}");
        }
        let params: Vec<&dyn ToValue> = args.iter().map(|a| a as &dyn ToValue).collect();
        Ok(self.db().query(&sql, &params, case_row)?)
    }

    fn case(&self, id: &str) -> Result<Option<CaseRow>> {
        Ok(self.db().query_row(
            &format!("SELECT {CASE_COLUMNS} FROM cases c WHERE c.id = ?1"),
            &[&id],
            case_row,
        )?)
    }

    fn case_photos(&self, id: &str) -> Result<Vec<PhotoRow>> {
        Ok(self.db().query(
            &format!(
                "SELECT {PHOTO_COLUMNS} FROM photos p JOIN case_photos c ON c.sha256 = p.sha256
                 WHERE c.case_id = ?1
                 ORDER BY p.taken NULLS FIRST, p.subsec NULLS FIRST, p.source_path NULLS FIRST, p.sha256"
            ),
            &[&id],
            photo_row,
        )?)
    }

    fn pdq_hashes(&self) -> Result<Vec<(String, [u8; 32])>> {
        let rows = self.db().query(
            "SELECT sha256, pdq FROM photos WHERE pdq IS NOT NULL ORDER BY sha256",
            &[],
            |r| Ok((r.get::<String>(0)?, r.get::<Vec<u8>>(1)?)),
        )?;
        Ok(rows
            .into_iter()
            .filter_map(|(sha, pdq)| Some((sha, pdq.try_into().ok()?)))
            .collect())
    }
}
