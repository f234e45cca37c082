//! The portal's own tables: users, sessions, invitations, claims, graded viewing, the audit
//! trail, settings and the sign-in failure counts. By default they live in `VAULT/portal.db`,
//! a second SQLCipher database keyed from the vault (subkey "athar portal v1"); at scale in a
//! PostgreSQL schema (`athar_portal`) shared by every `athar serve` process. Accounts are not
//! evidence, so they stay out of the catalogue, whose `rebuild` recreates everything from the
//! log. The SQL below is written once for both engines (see `athar_sql::dialect`).

use std::path::Path;

use athar_sql::{Db, Row};
use serde::Serialize;

use crate::{PortalError, Result};

pub const FILE: &str = "portal.db";
pub const KEY_PURPOSE: &str = "athar portal v1";

const SCHEMA: &str = r#"
CREATE TABLE IF NOT EXISTS users (
    id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, name TEXT NOT NULL, role TEXT NOT NULL,
    password TEXT NOT NULL, created TEXT NOT NULL, disabled INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS sessions (
    id_hash TEXT PRIMARY KEY, user_id TEXT, csrf TEXT NOT NULL,
    created TEXT NOT NULL, expires INTEGER NOT NULL) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS sessions_user ON sessions(user_id);
CREATE TABLE IF NOT EXISTS invitations (
    token_hash TEXT PRIMARY KEY, role TEXT NOT NULL, created_by TEXT NOT NULL,
    created TEXT NOT NULL, expires INTEGER NOT NULL, used_by TEXT) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS claims (
    id TEXT PRIMARY KEY, record_id TEXT NOT NULL, case_id TEXT NOT NULL, kind TEXT NOT NULL,
    user_id TEXT NOT NULL, note TEXT NOT NULL, created TEXT NOT NULL, status TEXT NOT NULL,
    reviewed_by TEXT, reviewed TEXT) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS claims_record ON claims(record_id);
CREATE TABLE IF NOT EXISTS viewing (
    user_id TEXT NOT NULL, case_id TEXT NOT NULL, level INTEGER NOT NULL, time TEXT NOT NULL,
    PRIMARY KEY (user_id, case_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY, time TEXT NOT NULL, day TEXT NOT NULL, user_id TEXT, role TEXT NOT NULL,
    action TEXT NOT NULL, case_id TEXT, record_id TEXT, detail TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS audit_user_day ON audit(user_id, action, day);
CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS signin_failures (
    key TEXT PRIMARY KEY, since INTEGER NOT NULL, n INTEGER NOT NULL) WITHOUT ROWID;
"#;

/// The default PostgreSQL schema of the portal's tables.
pub const PG_SCHEMA: &str = "athar_portal";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, PartialOrd, Ord)]
pub enum Role {
    Anonymous,
    Family,
    Investigator,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::Admin,
        Role::Investigator,
        Role::Family,
        Role::Anonymous,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Anonymous => "anonymous",
            Role::Family => "family",
            Role::Investigator => "investigator",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: Role,
    pub disabled: bool,
    pub created: String,
}

#[derive(Debug, Clone)]
pub struct SessionRow {
    pub user_id: Option<String>,
    pub csrf: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Claim {
    pub id: String,
    pub record_id: String,
    pub case_id: String,
    /// "recognise" or "not-them".
    pub kind: String,
    pub user_id: String,
    pub note: String,
    pub created: String,
    /// "open", "confirmed", "rejected", "informed".
    pub status: String,
    pub reviewed_by: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRow {
    pub time: String,
    pub user_id: Option<String>,
    pub role: String,
    pub action: String,
    pub case_id: Option<String>,
    pub record_id: Option<String>,
    pub detail: String,
}

/// Open (creating if needed) the portal's SQLCipher database at `path`.
pub fn open(path: &Path, key: &[u8; 32]) -> Result<Db> {
    let db = Db::open_sqlite(path, key).map_err(|e| match e {
        athar_sql::SqlError::WrongKey => PortalError::Setup(format!(
            "{} cannot be opened with this vault's key (it belongs to another vault or is damaged)",
            path.display()
        )),
        e => e.into(),
    })?;
    db.batch(SCHEMA)?;
    Ok(db)
}

/// Connect to the portal's tables in PostgreSQL (`schema` is created if missing).
pub fn connect(url: &str, schema: &str) -> Result<Db> {
    let db = Db::connect_postgres(url, schema)?;
    // Several processes may start at once: one creates the tables, the others wait for it.
    db.transaction(|tx| {
        tx.lock(SCHEMA_LOCK)?;
        for stmt in athar_sql::dialect::schema(SCHEMA).split(";\n") {
            if !stmt.trim().is_empty() {
                tx.execute(stmt, &[])?;
            }
        }
        Ok(())
    })?;
    Ok(db)
}

/// Advisory lock key serialising schema creation: the ASCII of `athar-po`.
const SCHEMA_LOCK: i64 = 0x6174_6861_722d_706f;

fn now() -> String {
    athar_vault::now_rfc3339()
}

pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn user_row(r: &Row) -> athar_sql::Result<(User, String)> {
    let role: String = r.get(3)?;
    Ok((
        User {
            id: r.get(0)?,
            email: r.get(1)?,
            name: r.get(2)?,
            role: Role::parse(&role).unwrap_or(Role::Anonymous),
            disabled: r.get::<i64>(5)? != 0,
            created: r.get(6)?,
        },
        r.get(4)?,
    ))
}

const USER_COLS: &str = "id, email, name, role, password, disabled, created";

pub fn add_user(c: &Db, email: &str, name: &str, role: Role, hash: &str) -> Result<User> {
    let id = crate::auth::random_hex(16);
    let created = now();
    let n = c.execute(
        "INSERT OR IGNORE INTO users (id, email, name, role, password, created) VALUES (?1,?2,?3,?4,?5,?6)",
        &[&id, &email, &name, &role.as_str(), &hash, &created],
    )?;
    if n == 0 {
        return Err(PortalError::Taken);
    }
    Ok(User {
        id,
        email: email.into(),
        name: name.into(),
        role,
        disabled: false,
        created,
    })
}

/// The user and their password hash.
pub fn user_by_email(c: &Db, email: &str) -> Result<Option<(User, String)>> {
    Ok(c.query_row(
        &format!("SELECT {USER_COLS} FROM users WHERE email = ?1"),
        &[&email],
        user_row,
    )?)
}

pub fn user(c: &Db, id: &str) -> Result<Option<User>> {
    Ok(c.query_row(
        &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
        &[&id],
        user_row,
    )?
    .map(|(u, _)| u))
}

pub fn users(c: &Db) -> Result<Vec<User>> {
    Ok(c.query(
        &format!("SELECT {USER_COLS} FROM users ORDER BY role, email"),
        &[],
        |r| user_row(r).map(|(u, _)| u),
    )?)
}

pub fn set_role(c: &Db, id: &str, role: Role) -> Result<bool> {
    Ok(c.execute(
        "UPDATE users SET role = ?2 WHERE id = ?1",
        &[&id, &role.as_str()],
    )? == 1)
}

pub fn set_disabled(c: &Db, id: &str, disabled: bool) -> Result<bool> {
    let n = c.execute(
        "UPDATE users SET disabled = ?2 WHERE id = ?1",
        &[&id, &(disabled as i64)],
    )?;
    if disabled {
        c.execute("DELETE FROM sessions WHERE user_id = ?1", &[&id])?;
    }
    Ok(n == 1)
}

pub fn any_admin(c: &Db) -> Result<bool> {
    Ok(count(
        c,
        "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0",
        &[],
    )? > 0)
}

fn count(c: &Db, sql: &str, params: &[&dyn athar_sql::ToValue]) -> Result<i64> {
    Ok(c.query_row(sql, params, |r| r.get::<i64>(0))?.unwrap_or(0))
}

// Sessions: the cookie holds a random id; the table only its SHA-256, so a copy of the
// database does not let anyone sign in as someone else.

pub fn create_session(c: &Db, id_hash: &str, user: Option<&str>, ttl: i64) -> Result<String> {
    let csrf = crate::auth::random_hex(32);
    c.execute(
        "INSERT INTO sessions (id_hash, user_id, csrf, created, expires) VALUES (?1,?2,?3,?4,?5)",
        &[&id_hash, &user, &csrf, &now(), &(unix_now() + ttl)],
    )?;
    Ok(csrf)
}

pub fn session(c: &Db, id_hash: &str) -> Result<Option<SessionRow>> {
    Ok(c.query_row(
        "SELECT user_id, csrf FROM sessions WHERE id_hash = ?1 AND expires > ?2",
        &[&id_hash, &unix_now()],
        |r| {
            Ok(SessionRow {
                user_id: r.get(0)?,
                csrf: r.get(1)?,
            })
        },
    )?)
}

pub fn delete_session(c: &Db, id_hash: &str) -> Result<()> {
    c.execute("DELETE FROM sessions WHERE id_hash = ?1", &[&id_hash])?;
    c.execute("DELETE FROM sessions WHERE expires <= ?1", &[&unix_now()])?;
    Ok(())
}

pub fn add_invitation(c: &Db, token_hash: &str, role: Role, by: &str) -> Result<()> {
    c.execute(
        "INSERT INTO invitations (token_hash, role, created_by, created, expires) VALUES (?1,?2,?3,?4,?5)",
        &[&token_hash, &role.as_str(), &by, &now(), &(unix_now() + 7 * 86400)],
    )?;
    Ok(())
}

/// The role an unused, unexpired invitation grants.
pub fn invitation(c: &Db, token_hash: &str) -> Result<Option<Role>> {
    let role: Option<String> = c.query_row(
        "SELECT role FROM invitations WHERE token_hash = ?1 AND used_by IS NULL AND expires > ?2",
        &[&token_hash, &unix_now()],
        |r| r.get(0),
    )?;
    Ok(role.and_then(|r| Role::parse(&r)))
}

pub fn use_invitation(c: &Db, token_hash: &str, user: &str) -> Result<bool> {
    Ok(c.execute(
        "UPDATE invitations SET used_by = ?2 WHERE token_hash = ?1 AND used_by IS NULL",
        &[&token_hash, &user],
    )? == 1)
}

pub fn invitations(c: &Db) -> Result<Vec<(String, String, bool)>> {
    Ok(c.query(
        "SELECT role, created, used_by IS NOT NULL FROM invitations ORDER BY created DESC LIMIT 50",
        &[],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?)
}

// Claims.

const CLAIM_COLS: &str =
    "id, record_id, case_id, kind, user_id, note, created, status, reviewed_by";

fn claim_row(r: &Row) -> athar_sql::Result<Claim> {
    Ok(Claim {
        id: r.get(0)?,
        record_id: r.get(1)?,
        case_id: r.get(2)?,
        kind: r.get(3)?,
        user_id: r.get(4)?,
        note: r.get(5)?,
        created: r.get(6)?,
        status: r.get(7)?,
        reviewed_by: r.get(8)?,
    })
}

pub fn add_claim(
    c: &Db,
    record: &str,
    case: &str,
    kind: &str,
    user: &str,
    note: &str,
) -> Result<Claim> {
    let claim = Claim {
        id: crate::auth::random_hex(16),
        record_id: record.into(),
        case_id: case.into(),
        kind: kind.into(),
        user_id: user.into(),
        note: note.into(),
        created: now(),
        status: "open".into(),
        reviewed_by: None,
    };
    c.execute(
        &format!("INSERT INTO claims ({CLAIM_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,NULL)"),
        &[
            &claim.id,
            &claim.record_id,
            &claim.case_id,
            &claim.kind,
            &claim.user_id,
            &claim.note,
            &claim.created,
            &claim.status,
        ],
    )?;
    Ok(claim)
}

pub fn claim(c: &Db, id: &str) -> Result<Option<Claim>> {
    Ok(c.query_row(
        &format!("SELECT {CLAIM_COLS} FROM claims WHERE id = ?1"),
        &[&id],
        claim_row,
    )?)
}

pub fn claims(c: &Db, record: Option<&str>) -> Result<Vec<Claim>> {
    // Open claims first; `CASE` rather than a boolean sort key, which the engines order alike.
    let order = "ORDER BY CASE WHEN status = 'open' THEN 0 ELSE 1 END, created DESC LIMIT 500";
    Ok(match record {
        Some(r) => c.query(
            &format!("SELECT {CLAIM_COLS} FROM claims WHERE record_id = ?1 {order}"),
            &[&r],
            claim_row,
        )?,
        None => c.query(
            &format!("SELECT {CLAIM_COLS} FROM claims {order}"),
            &[],
            claim_row,
        )?,
    })
}

pub fn set_claim_status(c: &Db, id: &str, status: &str, by: &str) -> Result<()> {
    c.execute(
        "UPDATE claims SET status = ?2, reviewed_by = ?3, reviewed = ?4 WHERE id = ?1",
        &[&id, &status, &by, &now()],
    )?;
    Ok(())
}

/// Withdrawal: the record's claims go, and audit rows keep only a keyed digest of its id.
pub fn forget_record(c: &Db, record: &str, digest: &str) -> Result<()> {
    c.transaction(|tx| {
        tx.execute("DELETE FROM claims WHERE record_id = ?1", &[&record])?;
        tx.execute(
            "UPDATE audit SET record_id = ?2 WHERE record_id = ?1",
            &[&record, &format!("withdrawn:{digest}")],
        )?;
        Ok(())
    })?;
    Ok(())
}

// Graded viewing.

pub fn viewing_level(c: &Db, user: &str, case: &str) -> Result<u8> {
    Ok(c.query_row(
        "SELECT level FROM viewing WHERE user_id = ?1 AND case_id = ?2",
        &[&user, &case],
        |r| r.get::<i64>(0),
    )?
    .unwrap_or(0) as u8)
}

pub fn set_viewing_level(c: &Db, user: &str, case: &str, level: u8) -> Result<()> {
    c.execute(
        "INSERT INTO viewing (user_id, case_id, level, time) VALUES (?1,?2,?3,?4)
         ON CONFLICT (user_id, case_id) DO UPDATE SET level = excluded.level, time = excluded.time",
        &[&user, &case, &(level as i64), &now()],
    )?;
    Ok(())
}

// The audit trail.

pub struct Audit<'a> {
    pub user: Option<&'a User>,
    pub action: &'a str,
    pub case_id: Option<&'a str>,
    pub record_id: Option<&'a str>,
    pub detail: String,
}

const AUDIT_INSERT: &str =
    "INSERT INTO audit (time, day, user_id, role, action, case_id, record_id, detail)
     VALUES (?1,?2,?3,?4,?5,?6,?7,?8)";

fn audit_params(a: &Audit<'_>, t: &str) -> Vec<athar_sql::Value> {
    use athar_sql::ToValue;
    vec![
        t.to_value(),
        t[..10].to_value(),
        a.user.map(|u| u.id.as_str()).to_value(),
        a.user
            .map(|u| u.role)
            .unwrap_or(Role::Anonymous)
            .as_str()
            .to_value(),
        a.action.to_value(),
        a.case_id.to_value(),
        a.record_id.to_value(),
        a.detail.to_value(),
    ]
}

pub fn audit(c: &Db, a: Audit<'_>) -> Result<()> {
    let values = audit_params(&a, &now());
    let params: Vec<&dyn athar_sql::ToValue> = values.iter().map(|v| v as _).collect();
    c.execute(AUDIT_INSERT, &params)?;
    Ok(())
}

/// Log an unblurred view unless the user already had `cap` today; false when over the cap.
/// Check and insert are one transaction, serialised per user, so that several processes
/// (or tabs) opening images at once cannot overshoot the cap between them.
pub fn audit_unblurred(c: &Db, a: Audit<'_>, cap: Option<u64>) -> Result<bool> {
    let user = a.user.map(|u| u.id.clone()).unwrap_or_default();
    let t = now();
    let values = audit_params(&a, &t);
    Ok(c.transaction(|tx| {
        if let Some(cap) = cap {
            tx.lock(lock_key("unblurred", &user))?;
            let today = tx
                .query_row(
                    "SELECT count(*) FROM audit WHERE user_id = ?1 AND action = ?2 AND day = ?3",
                    &[&user, &UNBLURRED_VIEW, &&t[..10]],
                    |r| r.get::<i64>(0),
                )?
                .unwrap_or(0);
            if today as u64 >= cap {
                return Ok(false);
            }
        }
        let params: Vec<&dyn athar_sql::ToValue> = values.iter().map(|v| v as _).collect();
        tx.execute(AUDIT_INSERT, &params)?;
        Ok(true)
    })?)
}

/// An advisory-lock key for one purpose and one subject.
fn lock_key(purpose: &str, subject: &str) -> i64 {
    use sha2::{Digest, Sha256};
    let d = Sha256::digest(format!("{purpose}\0{subject}").as_bytes());
    i64::from_be_bytes(d[..8].try_into().expect("8 bytes"))
}

pub fn audit_trail(c: &Db, limit: usize) -> Result<Vec<AuditRow>> {
    Ok(c.query(
        "SELECT time, user_id, role, action, case_id, record_id, detail FROM audit ORDER BY id DESC LIMIT ?1",
        &[&(limit as i64)],
        |r| {
            Ok(AuditRow {
                time: r.get(0)?,
                user_id: r.get(1)?,
                role: r.get(2)?,
                action: r.get(3)?,
                case_id: r.get(4)?,
                record_id: r.get(5)?,
                detail: r.get(6)?,
            })
        },
    )?)
}

pub const UNBLURRED_VIEW: &str = "view-unblurred";

/// Unblurred images this user opened today (UTC).
pub fn unblurred_today(c: &Db, user: &str) -> Result<u64> {
    let day = &now()[..10];
    Ok(count(
        c,
        "SELECT count(*) FROM audit WHERE user_id = ?1 AND action = ?2 AND day = ?3",
        &[&user, &UNBLURRED_VIEW, &day],
    )? as u64)
}

/// Per investigator and day, newest first.
pub fn exposure(c: &Db) -> Result<Vec<(String, String, u64)>> {
    Ok(c.query(
        "SELECT day, user_id, count(*) FROM audit WHERE action = ?1 AND role = 'investigator'
         GROUP BY day, user_id ORDER BY day DESC, user_id LIMIT 200",
        &[&UNBLURRED_VIEW],
        |r| Ok((r.get(0)?, r.get(1)?, r.get::<i64>(2)? as u64)),
    )?)
}

// Settings.

pub const PUBLIC_STATS: &str = "public_stats";
pub const UNBLURRED_CAP: &str = "unblurred_cap";

pub fn setting(c: &Db, key: &str) -> Result<Option<String>> {
    Ok(
        c.query_row("SELECT value FROM settings WHERE key = ?1", &[&key], |r| {
            r.get(0)
        })?,
    )
}

pub fn set_setting(c: &Db, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => c.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            &[&key, &v],
        )?,
        None => c.execute("DELETE FROM settings WHERE key = ?1", &[&key])?,
    };
    Ok(())
}

// Sign-in attempts, counted in the database so that every `athar serve` process sees the same
// counts: N processes behind a load balancer must not give a guesser N times the attempts.
// An attempt is counted before its password is checked and taken back if it succeeds, so a
// burst of parallel guesses cannot all slip in before the first failure is recorded. Keys are
// SHA-256 digests (of "e:" + address or "i:" + client address), not the addresses.

/// Count one attempt of `key`, starting a new window if the last one is over `window` seconds
/// old; returns the attempts in the current window, this one included. One upsert, so
/// concurrent attempts on several processes are all counted.
pub fn signin_attempt(c: &Db, key: &str, window: i64) -> Result<u32> {
    let now = unix_now();
    let n = c.query_row(
        "INSERT INTO signin_failures (key, since, n) VALUES (?1, ?2, 1)
         ON CONFLICT (key) DO UPDATE SET
           n = CASE WHEN signin_failures.since > ?3 THEN signin_failures.n + 1 ELSE 1 END,
           since = CASE WHEN signin_failures.since > ?3 THEN signin_failures.since ELSE ?2 END
         RETURNING n",
        &[&key, &now, &(now - window)],
        |r| r.get::<i64>(0),
    )?;
    // Windows long over are kept from piling up.
    c.execute(
        "DELETE FROM signin_failures WHERE since <= ?1",
        &[&(now - 2 * window)],
    )?;
    Ok(n.unwrap_or(1) as u32)
}

/// Take back an attempt that succeeded.
pub fn signin_attempt_succeeded(c: &Db, key: &str) -> Result<()> {
    c.execute(
        "UPDATE signin_failures SET n = n - 1 WHERE key = ?1 AND n > 0",
        &[&key],
    )?;
    Ok(())
}
