//! What investigators record about a case (a body): observations, the status from
//! unidentified to family informed, and merging or splitting cases. Each is a signed custody
//! event built here; the projection (`apply`) makes them part of the catalogue, so they
//! survive `athar catalog rebuild` like everything else that comes from the log.

use athar_sql::Tx;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

use athar_vault::{kind, EventDraft, SignedEvent};

use crate::records::Sex;
use crate::sql::upsert;
use crate::{Result, SqlCatalog, GROUPING};

pub(crate) const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS case_observations (
    case_id TEXT PRIMARY KEY, sex TEXT, age_min INTEGER, age_max INTEGER,
    body TEXT NOT NULL, seq INTEGER NOT NULL) WITHOUT ROWID;
"#;

/// A case's status, in the order a case moves through them.
pub mod status {
    pub const UNIDENTIFIED: &str = "unidentified";
    pub const PROPOSED: &str = "proposed";
    pub const CANDIDATE: &str = "candidate";
    pub const IDENTIFIED: &str = "identified";
    pub const FAMILY_INFORMED: &str = "family informed";
}

/// What an investigator sees on the body. Ages are the estimated range at death, in years.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Observations {
    pub sex: Option<Sex>,
    pub age_min: Option<u32>,
    pub age_max: Option<u32>,
    pub injuries: Vec<String>,
    pub marks: Vec<String>,
    pub notes: String,
}

fn case_draft(kind: &str, case_id: &str, objects: Vec<String>, more: Value) -> EventDraft {
    let mut d = Map::new();
    d.insert("case".into(), json!(case_id));
    if let Value::Object(m) = more {
        d.extend(m);
    }
    EventDraft {
        kind: kind.into(),
        objects,
        details: d,
    }
}

/// PREMIS "metadata modification": the case's observations are now these (the latest event
/// wins; earlier ones stay in the log).
pub fn observation_event(case_id: &str, obs: &Observations) -> EventDraft {
    case_draft(
        kind::METADATA_MODIFICATION,
        case_id,
        Vec::new(),
        json!({ "change": "observations", "observations": obs }),
    )
}

/// Ours, "identification": an investigator confirms that the case is the person of the record
/// with this keyed digest. Status → identified.
pub fn identification_event(case_id: &str, record_digest: &str) -> EventDraft {
    case_draft(
        kind::IDENTIFICATION,
        case_id,
        Vec::new(),
        json!({ "status": status::IDENTIFIED, "record_digest": record_digest }),
    )
}

fn status_event(case_id: &str, to: &str) -> EventDraft {
    case_draft(
        kind::METADATA_MODIFICATION,
        case_id,
        Vec::new(),
        json!({ "change": "status", "status": to }),
    )
}

/// Status → family informed.
pub fn informed_event(case_id: &str) -> EventDraft {
    status_event(case_id, status::FAMILY_INFORMED)
}

/// Status → candidate (a family's claim awaits review).
pub fn candidate_event(case_id: &str) -> EventDraft {
    status_event(case_id, status::CANDIDATE)
}

/// "grouping": the photos of cases `from` are one body with case `into`; the `from` cases
/// are removed from the catalogue (the log keeps their history).
pub fn merge_event(into: &str, from: &[String]) -> EventDraft {
    case_draft(
        GROUPING,
        into,
        Vec::new(),
        json!({ "action": "merge", "merged": from }),
    )
}

/// "grouping": these photos of `case_id` show another body; they move to a new case
/// `new_case_id` (unidentified, without numbers).
pub fn split_event(case_id: &str, photos: &[String], new_case_id: &str) -> EventDraft {
    case_draft(
        GROUPING,
        case_id,
        photos.to_vec(),
        json!({ "action": "split", "new_case": new_case_id }),
    )
}

/// The grouping events of this module carry an "action"; plain groupings do not.
pub(crate) fn is_regrouping(details: &Value) -> bool {
    details.get("action").and_then(Value::as_str).is_some()
}

/// Apply an event of this module to the projection. Events about a case the catalogue does
/// not know are recorded in the log but change nothing here.
pub(crate) fn apply(tx: &Tx<'_>, ev: &SignedEvent) -> athar_sql::Result<()> {
    let e = &ev.event;
    let d = Value::Object(e.details.clone());
    let Some(case) = d.get("case").and_then(Value::as_str) else {
        return Ok(());
    };
    let known = |id: &str| -> athar_sql::Result<bool> {
        Ok(tx
            .query_row("SELECT 1 FROM cases WHERE id = ?1", &[&id], |_| Ok(()))?
            .is_some())
    };
    match (e.kind.as_str(), d.get("change").and_then(Value::as_str)) {
        (kind::METADATA_MODIFICATION, Some("observations")) => {
            let Some(obs) = d
                .get("observations")
                .and_then(|o| serde_json::from_value::<Observations>(o.clone()).ok())
            else {
                return Ok(());
            };
            if known(case)? {
                put_observations(tx, case, &obs, e.seq)?;
            }
        }
        (kind::METADATA_MODIFICATION, Some("status")) | (kind::IDENTIFICATION, _) => {
            if let Some(to) = d.get("status").and_then(Value::as_str) {
                tx.execute("UPDATE cases SET status = ?2 WHERE id = ?1", &[&case, &to])?;
            }
        }
        (GROUPING, _) => match d.get("action").and_then(Value::as_str) {
            Some("merge") => merge(tx, case, &d, e.seq)?,
            Some("split") => split(tx, case, &d, &e.objects, e.seq)?,
            _ => {}
        },
        _ => {}
    }
    Ok(())
}

fn put_observations(
    tx: &Tx<'_>,
    case: &str,
    obs: &Observations,
    seq: u64,
) -> athar_sql::Result<()> {
    tx.execute(
        &upsert(
            "case_observations",
            &["case_id", "sex", "age_min", "age_max", "body", "seq"],
            &["case_id"],
        ),
        &[
            &case,
            &obs.sex.map(Sex::as_str),
            &obs.age_min,
            &obs.age_max,
            &serde_json::to_string(obs).expect("observations serialise"),
            &(seq as i64),
        ],
    )?;
    Ok(())
}

fn merge(tx: &Tx<'_>, into: &str, d: &Value, seq: u64) -> athar_sql::Result<()> {
    let from: Vec<&str> = d
        .get("merged")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let exists: bool = tx
        .query_row("SELECT 1 FROM cases WHERE id = ?1", &[&into], |_| Ok(()))?
        .is_some();
    if !exists {
        return Ok(());
    }
    for f in from.into_iter().filter(|f| *f != into) {
        tx.execute(
            "INSERT OR IGNORE INTO case_photos (case_id, sha256, seq)
             SELECT ?1, sha256, ?3 FROM case_photos WHERE case_id = ?2",
            &[&into, &f, &(seq as i64)],
        )?;
        tx.execute("DELETE FROM case_photos WHERE case_id = ?1", &[&f])?;
        // The merged case's observations are kept when the surviving case has none.
        tx.execute(
            "UPDATE case_observations SET case_id = ?1
             WHERE case_id = ?2 AND NOT EXISTS (SELECT 1 FROM case_observations WHERE case_id = ?1)",
            &[&into, &f],
        )?;
        tx.execute("DELETE FROM case_observations WHERE case_id = ?1", &[&f])?;
        // Numbers the surviving case lacks come from the merged one.
        tx.execute(
            "UPDATE cases SET
                detainee = coalesce(detainee, (SELECT detainee FROM cases WHERE id = ?2)),
                branch = coalesce(branch, (SELECT branch FROM cases WHERE id = ?2)),
                report = coalesce(report, (SELECT report FROM cases WHERE id = ?2)),
                hospital = coalesce(hospital, (SELECT hospital FROM cases WHERE id = ?2))
             WHERE id = ?1",
            &[&into, &f],
        )?;
        tx.execute("DELETE FROM cases WHERE id = ?1", &[&f])?;
    }
    refresh_dates(tx, into)
}

fn split(tx: &Tx<'_>, case: &str, d: &Value, photos: &[String], seq: u64) -> athar_sql::Result<()> {
    let Some(new_case) = d.get("new_case").and_then(Value::as_str) else {
        return Ok(());
    };
    let hospital: Option<Option<String>> =
        tx.query_row("SELECT hospital FROM cases WHERE id = ?1", &[&case], |r| {
            r.get(0)
        })?;
    let Some(hospital) = hospital else {
        return Ok(());
    };
    tx.execute(
        "INSERT OR IGNORE INTO cases (id, basis, status, hospital, seq) VALUES (?1, 'split', ?2, ?3, ?4)",
        &[&new_case, &status::UNIDENTIFIED, &hospital, &(seq as i64)],
    )?;
    for sha in photos {
        // Only photos of this case move; a hash naming another case's photo is ignored.
        tx.execute(
            "UPDATE case_photos SET case_id = ?2, seq = ?4 WHERE case_id = ?1 AND sha256 = ?3",
            &[&case, &new_case, sha, &(seq as i64)],
        )?;
    }
    refresh_dates(tx, case)?;
    refresh_dates(tx, new_case)
}

/// Dates and camera follow from the photos in a case (as for a plain grouping).
pub(crate) fn refresh_dates(tx: &Tx<'_>, case: &str) -> athar_sql::Result<()> {
    tx.execute(
        "UPDATE cases SET
            first_taken = (SELECT min(p.taken) FROM case_photos c JOIN photos p USING (sha256) WHERE c.case_id = ?1),
            last_taken = (SELECT max(p.taken) FROM case_photos c JOIN photos p USING (sha256) WHERE c.case_id = ?1),
            camera = (SELECT p.make || ' ' || p.model || ' #' || coalesce(p.serial, '?')
                      FROM case_photos c JOIN photos p USING (sha256) WHERE c.case_id = ?1 AND p.model IS NOT NULL LIMIT 1)
         WHERE id = ?1",
        &[&case],
    )?;
    Ok(())
}

/// Reading observations back.
pub trait CaseObservations {
    /// The latest observations recorded for a case, if any.
    fn observations(&self, case_id: &str) -> Result<Option<Observations>>;
}

impl CaseObservations for SqlCatalog {
    fn observations(&self, case_id: &str) -> Result<Option<Observations>> {
        let body: Option<String> = self.db().query_row(
            "SELECT body FROM case_observations WHERE case_id = ?1",
            &[&case_id],
            |r| r.get(0),
        )?;
        Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
    }
}
