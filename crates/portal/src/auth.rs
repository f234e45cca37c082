//! Passwords, session ids, CSRF tokens and the sign-in rate limit.

use std::net::IpAddr;
use std::time::Duration;

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use athar_sql::Db;

use crate::store;

pub const SESSION_COOKIE: &str = "athar_session";
pub const LANG_COOKIE: &str = "athar_lang";
/// Sessions last a working day.
pub const SESSION_TTL: i64 = 12 * 3600;
pub const MIN_PASSWORD: usize = 10;

pub fn random_hex(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut b);
    hex::encode(b)
}

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

/// Argon2id with the crate's defaults (the OWASP-recommended 19 MiB, 2 passes).
pub fn hash_password(password: &str) -> String {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 hashes any password")
        .to_string()
}

pub fn check_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to check against when the account does not exist, so that timing does not tell
/// which e-mail addresses have accounts.
pub fn dummy_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| hash_password("no such account, only for timing"))
}

pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

/// `Set-Cookie` for the session: Secure, HttpOnly, SameSite=Strict (browsers treat
/// http://localhost as secure, so this works on a workstation too).
pub fn session_cookie(id: &str) -> String {
    format!(
        "{SESSION_COOKIE}={id}; Path=/; Max-Age={SESSION_TTL}; Secure; HttpOnly; SameSite=Strict"
    )
}

pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; Secure; HttpOnly; SameSite=Strict")
}

pub fn lang_cookie(code: &str) -> String {
    format!("{LANG_COOKIE}={code}; Path=/; Max-Age=31536000; Secure; SameSite=Lax")
}

pub fn cookie<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').find_map(|kv| {
        let (k, v) = kv.trim().split_once('=')?;
        (k == name).then_some(v)
    })
}

/// Failed sign-ins allowed per window, per e-mail address and per client address.
pub const MAX_FAILURES_PER_ACCOUNT: u32 = 5;
pub const MAX_FAILURES_PER_CLIENT: u32 = 20;
pub const WINDOW: Duration = Duration::from_secs(15 * 60);

/// Count a sign-in attempt for this address from this client; false when either has used up
/// its attempts for the window (the password must then not be checked). The counts live in
/// the portal's database, shared by every `athar serve` process.
pub fn signin_attempt(db: &Db, email: &str, ip: IpAddr) -> crate::Result<bool> {
    let window = WINDOW.as_secs() as i64;
    let account = store::signin_attempt(db, &limit_key("e", email), window)?;
    let client = store::signin_attempt(db, &limit_key("i", &ip.to_string()), window)?;
    Ok(account <= MAX_FAILURES_PER_ACCOUNT && client <= MAX_FAILURES_PER_CLIENT)
}

/// A successful sign-in does not count as a failure. (It does not reset the counts either,
/// so a guesser with one real account gains nothing.)
pub fn signin_succeeded(db: &Db, email: &str, ip: IpAddr) -> crate::Result<()> {
    store::signin_attempt_succeeded(db, &limit_key("e", email))?;
    store::signin_attempt_succeeded(db, &limit_key("i", &ip.to_string()))?;
    Ok(())
}

/// The stored form of a counter's subject: a digest, so the table lists no addresses.
fn limit_key(kind: &str, subject: &str) -> String {
    sha256_hex(&format!("{kind}:{subject}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_verify_and_hashes_are_argon2id() {
        let h = hash_password("a long enough passphrase");
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(check_password("a long enough passphrase", &h));
        assert!(!check_password("a long enough passphrasE", &h));
        assert_ne!(h, hash_password("a long enough passphrase"), "salted");
    }

    #[test]
    fn the_limiter_blocks_after_five_failures_for_one_account() {
        let dir = tempfile::tempdir().unwrap();
        let db = store::open(&dir.path().join("portal.db"), &[7; 32]).unwrap();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..MAX_FAILURES_PER_ACCOUNT {
            assert!(signin_attempt(&db, "a@x", ip).unwrap());
        }
        assert!(!signin_attempt(&db, "a@x", ip).unwrap());
        assert!(signin_attempt(&db, "b@x", "127.0.0.2".parse().unwrap()).unwrap());
    }

    #[test]
    fn successes_do_not_count_as_failures() {
        let dir = tempfile::tempdir().unwrap();
        let db = store::open(&dir.path().join("portal.db"), &[7; 32]).unwrap();
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 * MAX_FAILURES_PER_ACCOUNT {
            assert!(signin_attempt(&db, "a@x", ip).unwrap());
            signin_succeeded(&db, "a@x", ip).unwrap();
        }
    }

    #[test]
    fn the_client_limit_counts_every_address_tried() {
        let dir = tempfile::tempdir().unwrap();
        let db = store::open(&dir.path().join("portal.db"), &[7; 32]).unwrap();
        let ip: IpAddr = "10.0.0.9".parse().unwrap();
        for i in 0..MAX_FAILURES_PER_CLIENT {
            assert!(signin_attempt(&db, &format!("u{i}@x"), ip).unwrap());
        }
        assert!(!signin_attempt(&db, "someone-new@x", ip).unwrap());
        assert!(signin_attempt(&db, "someone-new@x", "10.0.0.10".parse().unwrap()).unwrap());
    }

    #[test]
    fn cookies_are_read_by_name() {
        assert_eq!(
            cookie("a=1; athar_session=xyz; b=2", SESSION_COOKIE),
            Some("xyz")
        );
        assert_eq!(cookie("a=1", SESSION_COOKIE), None);
    }
}
