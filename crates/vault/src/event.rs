//! Custody events: one JSON object per line, signed with Ed25519.
//!
//! The signature covers the exact bytes of the event body, so no JSON canonicalisation is
//! needed: a line is the body with `,"sig":"<base64>"` spliced in before its closing brace.
//! See docs/formats/events.md.

use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use athar_tlog::Hash;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
/// Domain separation: an event signature can never be mistaken for any other signed message.
const SIGNING_PREFIX: &[u8] = b"athar event v1\n";
const SIG_MEMBER: &str = ",\"sig\":\"";

/// PREMIS 3 event types, plus our own where PREMIS has none.
pub mod kind {
    pub const INGESTION: &str = "ingestion";
    pub const TRANSFER: &str = "transfer";
    pub const FIXITY_CHECK: &str = "fixity check";
    pub const CREATION: &str = "creation";
    pub const METADATA_MODIFICATION: &str = "metadata modification";
    pub const IDENTIFICATION: &str = "identification";
    /// PREMIS "capture": a source device took a file in (written by sources, kept in feeds).
    pub const CAPTURE: &str = "capture";
    /// Ours: the archive trusts a source's (or partner's) signing key.
    pub const TRUST: &str = "trust";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Format version of this event.
    pub v: u32,
    /// Position in the log, from 1, without gaps.
    pub seq: u64,
    /// RFC 3339 UTC time at which the event was recorded.
    pub time: String,
    /// The signer: `ed25519:<base64 public key>`.
    pub actor: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// SHA-256 (lowercase hex) of the objects the event is about.
    pub objects: Vec<String>,
    pub details: Map<String, Value>,
    /// Leaf hash (hex) of the previous event's line; 64 zeros for the first event.
    pub prev: String,
}

/// What a caller asks to record; the log fills in sequence, time, actor and chain.
#[derive(Debug, Clone, PartialEq)]
pub struct EventDraft {
    pub kind: String,
    pub objects: Vec<String>,
    pub details: Map<String, Value>,
}

/// An event together with the exact line that was signed and logged.
#[derive(Debug, Clone, PartialEq)]
pub struct SignedEvent {
    pub event: Event,
    pub line: String,
    pub leaf: Hash,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EventError {
    #[error("not a signed event line (no signature member)")]
    NoSignature,
    #[error("signature is not valid base64 Ed25519")]
    BadSignatureEncoding,
    #[error("actor {0:?} is not an Ed25519 key")]
    BadActor(String),
    #[error(
        "signature does not match the event: the event was altered or not signed by its actor"
    )]
    BadSignature,
    #[error("malformed event JSON: {0}")]
    Json(String),
}

pub fn actor_id(key: &VerifyingKey) -> String {
    format!("ed25519:{}", B64.encode(key.as_bytes()))
}

pub fn actor_key(actor: &str) -> Result<VerifyingKey, EventError> {
    let bad = || EventError::BadActor(actor.to_string());
    let b64 = actor.strip_prefix("ed25519:").ok_or_else(bad)?;
    let bytes: [u8; 32] = B64
        .decode(b64)
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or_else(bad)?;
    VerifyingKey::from_bytes(&bytes).map_err(|_| bad())
}

impl Event {
    /// Sign with `sign` (the actor's key) and produce the log line.
    pub fn sign(self, sign: impl FnOnce(&[u8]) -> [u8; 64]) -> SignedEvent {
        let body = serde_json::to_string(&self).expect("events always serialise");
        let mut msg = Vec::with_capacity(SIGNING_PREFIX.len() + body.len());
        msg.extend_from_slice(SIGNING_PREFIX);
        msg.extend_from_slice(body.as_bytes());
        let sig = sign(&msg);
        let line = format!(
            "{}{SIG_MEMBER}{}\"}}",
            &body[..body.len() - 1],
            B64.encode(sig)
        );
        let leaf = athar_tlog::leaf_hash(line.as_bytes());
        SignedEvent {
            event: self,
            line,
            leaf,
        }
    }

    pub fn detail_str(&self, key: &str) -> Option<&str> {
        self.details.get(key).and_then(Value::as_str)
    }

    pub fn detail_u64(&self, key: &str) -> Option<u64> {
        self.details.get(key).and_then(Value::as_u64)
    }
}

impl SignedEvent {
    /// Parse a log line and check its signature against the key it names.
    pub fn parse(line: &str) -> Result<Self, EventError> {
        let at = line.rfind(SIG_MEMBER).ok_or(EventError::NoSignature)?;
        let sig_b64 = line[at + SIG_MEMBER.len()..]
            .strip_suffix("\"}")
            .ok_or(EventError::NoSignature)?;
        let body = format!("{}}}", &line[..at]);
        let event: Event =
            serde_json::from_str(&body).map_err(|e| EventError::Json(e.to_string()))?;
        let sig: [u8; 64] = B64
            .decode(sig_b64)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(EventError::BadSignatureEncoding)?;
        let key = actor_key(&event.actor)?;
        let mut msg = Vec::with_capacity(SIGNING_PREFIX.len() + body.len());
        msg.extend_from_slice(SIGNING_PREFIX);
        msg.extend_from_slice(body.as_bytes());
        key.verify_strict(&msg, &Signature::from_bytes(&sig))
            .map_err(|_| EventError::BadSignature)?;
        Ok(SignedEvent {
            leaf: athar_tlog::leaf_hash(line.as_bytes()),
            line: line.to_string(),
            event,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signer, SigningKey};

    fn sample(key: &SigningKey) -> SignedEvent {
        let mut details = Map::new();
        details.insert("source_path".into(), "صور/١.jpg".into());
        Event {
            v: 1,
            seq: 1,
            time: "2026-01-01T00:00:00Z".into(),
            actor: actor_id(&key.verifying_key()),
            kind: kind::INGESTION.into(),
            objects: vec!["ab".repeat(32)],
            details,
            prev: "0".repeat(64),
        }
        .sign(|m| key.sign(m).to_bytes())
    }

    #[test]
    fn round_trip_and_tamper() {
        let key = SigningKey::from_bytes(&[7; 32]);
        let ev = sample(&key);
        assert!(ev.line.ends_with("\"}"));
        let parsed = SignedEvent::parse(&ev.line).unwrap();
        assert_eq!(parsed, ev);
        let tampered = ev.line.replace("\"seq\":1", "\"seq\":2");
        assert_eq!(SignedEvent::parse(&tampered), Err(EventError::BadSignature));
        let other = SigningKey::from_bytes(&[8; 32]);
        let forged = ev.event.clone().sign(|m| other.sign(m).to_bytes());
        assert_eq!(
            SignedEvent::parse(&forged.line),
            Err(EventError::BadSignature)
        );
    }
}
