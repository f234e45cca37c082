//! The portal's own tables: users, sessions, invitations, claims, graded viewing, the audit
//! trail and settings. They live in `VAULT/portal.db`, a second SQLCipher database keyed from
//! the vault (subkey "athar portal v1"): accounts are not evidence, so they stay out of the
//! catalogue, whose `rebuild` recreates everything from the log.

use std::path::Path;

use rusqlite::{params, Connection, OptionalExtension};
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
"#;

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

pub fn open(path: &Path, key: &[u8; 32]) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(&format!("PRAGMA key = \"x'{}'\";", hex::encode(key)))?;
    if conn
        .query_row("SELECT count(*) FROM sqlite_master", [], |r| {
            r.get::<_, i64>(0)
        })
        .is_err()
    {
        return Err(PortalError::Setup(format!(
            "{} cannot be opened with this vault's key (it belongs to another vault or is damaged)",
            path.display()
        )));
    }
    conn.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000;",
    )?;
    conn.execute_batch(SCHEMA)?;
    Ok(conn)
}

fn now() -> String {
    athar_vault::now_rfc3339()
}

pub fn unix_now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(User, String)> {
    let role: String = r.get(3)?;
    Ok((
        User {
            id: r.get(0)?,
            email: r.get(1)?,
            name: r.get(2)?,
            role: Role::parse(&role).unwrap_or(Role::Anonymous),
            disabled: r.get::<_, i64>(5)? != 0,
            created: r.get(6)?,
        },
        r.get(4)?,
    ))
}

const USER_COLS: &str = "id, email, name, role, password, disabled, created";

pub fn add_user(c: &Connection, email: &str, name: &str, role: Role, hash: &str) -> Result<User> {
    let id = crate::auth::random_hex(16);
    let created = now();
    let n = c.execute(
        "INSERT OR IGNORE INTO users (id, email, name, role, password, created) VALUES (?1,?2,?3,?4,?5,?6)",
        params![id, email, name, role.as_str(), hash, created],
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
pub fn user_by_email(c: &Connection, email: &str) -> Result<Option<(User, String)>> {
    Ok(c.query_row(
        &format!("SELECT {USER_COLS} FROM users WHERE email = ?1"),
        [email],
        user_row,
    )
    .optional()?)
}

pub fn user(c: &Connection, id: &str) -> Result<Option<User>> {
    Ok(c.query_row(
        &format!("SELECT {USER_COLS} FROM users WHERE id = ?1"),
        [id],
        user_row,
    )
    .optional()?
    .map(|(u, _)| u))
}

pub fn users(c: &Connection) -> Result<Vec<User>> {
    let mut st = c.prepare(&format!(
        "SELECT {USER_COLS} FROM users ORDER BY role, email"
    ))?;
    let rows = st.query_map([], user_row)?;
    Ok(rows
        .map(|r| r.map(|(u, _)| u))
        .collect::<rusqlite::Result<_>>()?)
}

pub fn set_role(c: &Connection, id: &str, role: Role) -> Result<bool> {
    Ok(c.execute(
        "UPDATE users SET role = ?2 WHERE id = ?1",
        params![id, role.as_str()],
    )? == 1)
}

pub fn set_disabled(c: &Connection, id: &str, disabled: bool) -> Result<bool> {
    let n = c.execute(
        "UPDATE users SET disabled = ?2 WHERE id = ?1",
        params![id, disabled as i64],
    )?;
    if disabled {
        c.execute("DELETE FROM sessions WHERE user_id = ?1", [id])?;
    }
    Ok(n == 1)
}

pub fn any_admin(c: &Connection) -> Result<bool> {
    Ok(c.query_row(
        "SELECT count(*) FROM users WHERE role = 'admin' AND disabled = 0",
        [],
        |r| r.get::<_, i64>(0),
    )? > 0)
}

// Sessions: the cookie holds a random id; the table only its SHA-256, so a copy of the
// database does not let anyone sign in as someone else.

pub fn create_session(
    c: &Connection,
    id_hash: &str,
    user: Option<&str>,
    ttl: i64,
) -> Result<String> {
    let csrf = crate::auth::random_hex(32);
    c.execute(
        "INSERT INTO sessions (id_hash, user_id, csrf, created, expires) VALUES (?1,?2,?3,?4,?5)",
        params![id_hash, user, csrf, now(), unix_now() + ttl],
    )?;
    Ok(csrf)
}

pub fn session(c: &Connection, id_hash: &str) -> Result<Option<SessionRow>> {
    Ok(c.query_row(
        "SELECT user_id, csrf FROM sessions WHERE id_hash = ?1 AND expires > ?2",
        params![id_hash, unix_now()],
        |r| {
            Ok(SessionRow {
                user_id: r.get(0)?,
                csrf: r.get(1)?,
            })
        },
    )
    .optional()?)
}

pub fn delete_session(c: &Connection, id_hash: &str) -> Result<()> {
    c.execute("DELETE FROM sessions WHERE id_hash = ?1", [id_hash])?;
    c.execute("DELETE FROM sessions WHERE expires <= ?1", [unix_now()])?;
    Ok(())
}

pub fn add_invitation(c: &Connection, token_hash: &str, role: Role, by: &str) -> Result<()> {
    c.execute(
        "INSERT INTO invitations (token_hash, role, created_by, created, expires) VALUES (?1,?2,?3,?4,?5)",
        params![token_hash, role.as_str(), by, now(), unix_now() + 7 * 86400],
    )?;
    Ok(())
}

/// The role an unused, unexpired invitation grants.
pub fn invitation(c: &Connection, token_hash: &str) -> Result<Option<Role>> {
    let role: Option<String> = c
        .query_row(
            "SELECT role FROM invitations WHERE token_hash = ?1 AND used_by IS NULL AND expires > ?2",
            params![token_hash, unix_now()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(role.and_then(|r| Role::parse(&r)))
}

pub fn use_invitation(c: &Connection, token_hash: &str, user: &str) -> Result<bool> {
    Ok(c.execute(
        "UPDATE invitations SET used_by = ?2 WHERE token_hash = ?1 AND used_by IS NULL",
        params![token_hash, user],
    )? == 1)
}

pub fn invitations(c: &Connection) -> Result<Vec<(String, String, bool)>> {
    let mut st = c.prepare(
        "SELECT role, created, used_by IS NOT NULL FROM invitations ORDER BY created DESC LIMIT 50",
    )?;
    let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

// Claims.

const CLAIM_COLS: &str =
    "id, record_id, case_id, kind, user_id, note, created, status, reviewed_by";

fn claim_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Claim> {
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
    c: &Connection,
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
        params![
            claim.id,
            claim.record_id,
            claim.case_id,
            claim.kind,
            claim.user_id,
            claim.note,
            claim.created,
            claim.status
        ],
    )?;
    Ok(claim)
}

pub fn claim(c: &Connection, id: &str) -> Result<Option<Claim>> {
    Ok(c.query_row(
        &format!("SELECT {CLAIM_COLS} FROM claims WHERE id = ?1"),
        [id],
        claim_row,
    )
    .optional()?)
}

pub fn claims(c: &Connection, record: Option<&str>) -> Result<Vec<Claim>> {
    let mut st = c.prepare(&format!(
        "SELECT {CLAIM_COLS} FROM claims WHERE ?1 IS NULL OR record_id = ?1
         ORDER BY status = 'open' DESC, created DESC LIMIT 500"
    ))?;
    let rows = st.query_map([record], claim_row)?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub fn set_claim_status(c: &Connection, id: &str, status: &str, by: &str) -> Result<()> {
    c.execute(
        "UPDATE claims SET status = ?2, reviewed_by = ?3, reviewed = ?4 WHERE id = ?1",
        params![id, status, by, now()],
    )?;
    Ok(())
}

/// Withdrawal: the record's claims go, and audit rows keep only a keyed digest of its id.
pub fn forget_record(c: &Connection, record: &str, digest: &str) -> Result<()> {
    c.execute("DELETE FROM claims WHERE record_id = ?1", [record])?;
    c.execute(
        "UPDATE audit SET record_id = ?2 WHERE record_id = ?1",
        params![record, format!("withdrawn:{digest}")],
    )?;
    Ok(())
}

// Graded viewing.

pub fn viewing_level(c: &Connection, user: &str, case: &str) -> Result<u8> {
    Ok(c.query_row(
        "SELECT level FROM viewing WHERE user_id = ?1 AND case_id = ?2",
        params![user, case],
        |r| r.get::<_, i64>(0),
    )
    .optional()?
    .unwrap_or(0) as u8)
}

pub fn set_viewing_level(c: &Connection, user: &str, case: &str, level: u8) -> Result<()> {
    c.execute(
        "INSERT INTO viewing (user_id, case_id, level, time) VALUES (?1,?2,?3,?4)
         ON CONFLICT (user_id, case_id) DO UPDATE SET level = ?3, time = ?4",
        params![user, case, level as i64, now()],
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

pub fn audit(c: &Connection, a: Audit<'_>) -> Result<()> {
    let t = now();
    c.execute(
        "INSERT INTO audit (time, day, user_id, role, action, case_id, record_id, detail)
         VALUES (?1,?2,?3,?4,?5,?6,?7,?8)",
        params![
            t,
            &t[..10],
            a.user.map(|u| u.id.as_str()),
            a.user.map(|u| u.role).unwrap_or(Role::Anonymous).as_str(),
            a.action,
            a.case_id,
            a.record_id,
            a.detail
        ],
    )?;
    Ok(())
}

pub fn audit_trail(c: &Connection, limit: usize) -> Result<Vec<AuditRow>> {
    let mut st = c.prepare(
        "SELECT time, user_id, role, action, case_id, record_id, detail FROM audit ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = st.query_map([limit as i64], |r| {
        Ok(AuditRow {
            time: r.get(0)?,
            user_id: r.get(1)?,
            role: r.get(2)?,
            action: r.get(3)?,
            case_id: r.get(4)?,
            record_id: r.get(5)?,
            detail: r.get(6)?,
        })
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

pub const UNBLURRED_VIEW: &str = "view-unblurred";

/// Unblurred images this user opened today (UTC).
pub fn unblurred_today(c: &Connection, user: &str) -> Result<u64> {
    let day = &now()[..10];
    Ok(c.query_row(
        "SELECT count(*) FROM audit WHERE user_id = ?1 AND action = ?2 AND day = ?3",
        params![user, UNBLURRED_VIEW, day],
        |r| r.get::<_, i64>(0),
    )? as u64)
}

/// Per investigator and day, newest first.
pub fn exposure(c: &Connection) -> Result<Vec<(String, String, u64)>> {
    let mut st = c.prepare(
        "SELECT day, user_id, count(*) FROM audit WHERE action = ?1 AND role = 'investigator'
         GROUP BY day, user_id ORDER BY day DESC, user_id LIMIT 200",
    )?;
    let rows = st.query_map([UNBLURRED_VIEW], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get::<_, i64>(2)? as u64))
    })?;
    Ok(rows.collect::<rusqlite::Result<_>>()?)
}

// Settings.

pub const PUBLIC_STATS: &str = "public_stats";
pub const UNBLURRED_CAP: &str = "unblurred_cap";

pub fn setting(c: &Connection, key: &str) -> Result<Option<String>> {
    Ok(
        c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

pub fn set_setting(c: &Connection, key: &str, value: Option<&str>) -> Result<()> {
    match value {
        Some(v) => c.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = ?2",
            params![key, v],
        )?,
        None => c.execute("DELETE FROM settings WHERE key = ?1", [key])?,
    };
    Ok(())
}
