//! C2SP signed notes (c2sp.org/signed-note, the golang.org/x/mod/sumdb/note
//! format) with Ed25519 keys.
//!
//! A note is UTF-8 text plus one or more signature lines. We use this format
//! because witnesses and monitors of transparency logs already speak it, and
//! because it signs the exact bytes a human can read.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Signature type byte for Ed25519 in key hashes and key strings.
const ALG_ED25519: u8 = 0x01;
/// Every signature line starts with an em dash (U+2014) and a space.
const SIG_PREFIX: &str = "\u{2014} ";
/// Prefix of the private key string form, so it can't be mistaken for a vkey.
const SKEY_PREFIX: &str = "PRIVATE+KEY+";

/// Upper bound on signature lines, so a hostile note can't make us verify
/// forever. The spec requires accepting at least 16.
pub const MAX_NOTE_SIGNATURES: usize = 100;

/// Key ID: the first four bytes, big-endian, of
/// `SHA-256(name || 0x0A || 0x01 || public_key)`.
pub fn key_hash(name: &str, public_key: &[u8; 32]) -> u32 {
    let d = Sha256::new()
        .chain_update(name.as_bytes())
        .chain_update([b'\n', ALG_ED25519])
        .chain_update(public_key)
        .finalize();
    u32::from_be_bytes([d[0], d[1], d[2], d[3]])
}

/// Names appear unquoted in signature lines and key strings, so they must not
/// contain the separators of either (space, '+') nor control characters.
fn check_name(name: &str) -> Result<()> {
    let bad = |c: char| c.is_whitespace() || c.is_control() || c == '+';
    if name.is_empty() || name.contains(bad) {
        return Err(Error::InvalidKeyName(name.to_owned()));
    }
    Ok(())
}

/// Notes may contain no ASCII control character other than newline.
fn check_note_chars(s: &str) -> Result<()> {
    if s.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err(Error::MalformedNote("control character"));
    }
    Ok(())
}

/// Parses the 8 lowercase hex digits of a key hash. Lowercase only, so that
/// a key has exactly one string form.
fn parse_hash8(s: &str) -> Result<u32> {
    let ok = s.len() == 8 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !ok {
        return Err(Error::MalformedKey(
            "key hash must be 8 lowercase hex digits",
        ));
    }
    u32::from_str_radix(s, 16).map_err(|_| Error::MalformedKey("bad key hash"))
}

/// Decodes `base64(0x01 || 32 bytes)`.
fn decode_key_material(b64: &str) -> Result<[u8; 32]> {
    let raw = B64
        .decode(b64)
        .map_err(|_| Error::MalformedKey("invalid base64"))?;
    let (&alg, key) = raw.split_first().ok_or(Error::MalformedKey("empty key"))?;
    if alg != ALG_ED25519 {
        return Err(Error::UnsupportedAlgorithm(alg));
    }
    key.try_into()
        .map_err(|_| Error::MalformedKey("Ed25519 key must be 32 bytes"))
}

fn encode_key_material(key: &[u8; 32]) -> String {
    let mut raw = Vec::with_capacity(33);
    raw.push(ALG_ED25519);
    raw.extend_from_slice(key);
    B64.encode(raw)
}

/// A named Ed25519 signing key, the log's private half.
pub struct Signer {
    name: String,
    key_hash: u32,
    key: SigningKey,
}

impl Signer {
    /// Wraps an Ed25519 key under a key name (normally the log origin).
    pub fn new(name: impl Into<String>, key: SigningKey) -> Result<Self> {
        let name = name.into();
        check_name(&name)?;
        let key_hash = key_hash(&name, key.verifying_key().as_bytes());
        Ok(Self {
            name,
            key_hash,
            key,
        })
    }

    /// Builds the key from a 32-byte Ed25519 seed. Key generation is left to
    /// the caller so this crate needs no randomness source.
    pub fn from_seed(name: impl Into<String>, seed: &[u8; 32]) -> Result<Self> {
        Self::new(name, SigningKey::from_bytes(seed))
    }

    /// Parses `PRIVATE+KEY+<name>+<hex8>+<base64(0x01 || seed)>`, checking
    /// that the key hash matches the derived public key.
    pub fn from_skey(skey: &str) -> Result<Self> {
        let rest = skey
            .strip_prefix(SKEY_PREFIX)
            .ok_or(Error::MalformedKey("missing PRIVATE+KEY+ prefix"))?;
        let (name, rest) = rest
            .split_once('+')
            .ok_or(Error::MalformedKey("missing key hash"))?;
        let (hash8, key64) = rest
            .split_once('+')
            .ok_or(Error::MalformedKey("missing key"))?;
        check_name(name)?;
        let hash = parse_hash8(hash8)?;
        let seed = decode_key_material(key64)?;
        let signer = Self::from_seed(name, &seed)?;
        if signer.key_hash != hash {
            return Err(Error::KeyHashMismatch);
        }
        Ok(signer)
    }

    /// The private key string form; handle it like the key itself.
    pub fn to_skey_string(&self) -> String {
        format!(
            "{SKEY_PREFIX}{}+{:08x}+{}",
            self.name,
            self.key_hash,
            encode_key_material(self.key.as_bytes())
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    /// The matching public verifier, to publish or to check our own output.
    pub fn verifier(&self) -> Verifier {
        Verifier {
            name: self.name.clone(),
            key_hash: self.key_hash,
            key: self.key.verifying_key(),
        }
    }
}

impl fmt::Debug for Signer {
    // Never print the secret key.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Signer")
            .field("name", &self.name)
            .field("key_hash", &format_args!("{:08x}", self.key_hash))
            .finish_non_exhaustive()
    }
}

/// A named Ed25519 public key that notes are checked against.
#[derive(Clone, PartialEq, Eq)]
pub struct Verifier {
    name: String,
    key_hash: u32,
    key: VerifyingKey,
}

impl Verifier {
    /// Wraps a public key. Weak (small-order) keys are refused: a signature
    /// under one proves nothing.
    pub fn new(name: impl Into<String>, key: VerifyingKey) -> Result<Self> {
        let name = name.into();
        check_name(&name)?;
        if key.is_weak() {
            return Err(Error::MalformedKey("weak Ed25519 public key"));
        }
        Ok(Self {
            key_hash: key_hash(&name, key.as_bytes()),
            name,
            key,
        })
    }

    /// Parses `<name>+<hex8>+<base64(0x01 || public key)>`.
    pub fn from_vkey(vkey: &str) -> Result<Self> {
        let (name, rest) = vkey
            .split_once('+')
            .ok_or(Error::MalformedKey("missing key hash"))?;
        let (hash8, key64) = rest
            .split_once('+')
            .ok_or(Error::MalformedKey("missing key"))?;
        check_name(name)?;
        let hash = parse_hash8(hash8)?;
        let bytes = decode_key_material(key64)?;
        if key_hash(name, &bytes) != hash {
            return Err(Error::KeyHashMismatch);
        }
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|_| Error::MalformedKey("not an Ed25519 public key"))?;
        Self::new(name, key)
    }

    /// The public key string form, `<name>+<hex8>+<base64(0x01 || key)>`.
    pub fn to_vkey_string(&self) -> String {
        format!(
            "{}+{:08x}+{}",
            self.name,
            self.key_hash,
            encode_key_material(self.key.as_bytes())
        )
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn key_hash(&self) -> u32 {
        self.key_hash
    }

    pub fn verifying_key(&self) -> &VerifyingKey {
        &self.key
    }

    /// Strict RFC 8032 verification (canonical encodings, no small-order
    /// points), so a signature can't be malleated into a second valid one.
    fn verify(&self, msg: &[u8], sig: &[u8]) -> bool {
        let Ok(sig) = <[u8; 64]>::try_from(sig) else {
            return false;
        };
        self.key
            .verify_strict(msg, &Signature::from_bytes(&sig))
            .is_ok()
    }
}

impl fmt::Debug for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Verifier")
            .field(&self.to_vkey_string())
            .finish()
    }
}

impl fmt::Display for Verifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_vkey_string())
    }
}

impl FromStr for Verifier {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_vkey(s)
    }
}

/// Identifies one verified signature on a note.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    pub name: String,
    pub key_hash: u32,
}

/// A note whose signatures have been checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenedNote {
    /// The signed text, including its final newline.
    pub text: String,
    /// Known keys whose signatures verified, in note order, without repeats.
    pub verified_by: Vec<NoteSignature>,
    /// Distinct signature lines from keys not in the verifier list (e.g.
    /// witnesses we don't track). They were not checked.
    pub unverified: usize,
}

/// Signs `text` (which must end in a newline) with every signer, returning
/// the note: text, blank line, one signature line per signer.
pub fn sign_note(text: &str, signers: &[&Signer]) -> Result<String> {
    if !text.ends_with('\n') {
        return Err(Error::TextMissingNewline);
    }
    // Refuse to produce what `open_note` would reject.
    check_note_chars(text)?;
    if signers.is_empty() {
        return Err(Error::NoSigners);
    }
    if signers.len() > MAX_NOTE_SIGNATURES {
        return Err(Error::TooManySignatures(MAX_NOTE_SIGNATURES));
    }
    let mut out = String::with_capacity(text.len() + 1 + signers.len() * 120);
    out.push_str(text);
    out.push('\n');
    for s in signers {
        let sig = s.key.sign(text.as_bytes()).to_bytes();
        let mut blob = Vec::with_capacity(4 + sig.len());
        blob.extend_from_slice(&s.key_hash.to_be_bytes());
        blob.extend_from_slice(&sig);
        out.push_str(SIG_PREFIX);
        out.push_str(&s.name);
        out.push(' ');
        out.push_str(&B64.encode(blob));
        out.push('\n');
    }
    Ok(out)
}

/// Parses a note and checks its signatures against `verifiers`.
///
/// Signatures from unknown keys are counted and ignored (they may be
/// witnesses). A signature from a known key that fails to verify rejects the
/// whole note: someone tampered with it. At least one known key must verify.
pub fn open_note(note: &str, verifiers: &[&Verifier]) -> Result<OpenedNote> {
    check_note_chars(note)?;
    // The text ends at the last blank line; signatures follow it.
    let split = note
        .rfind("\n\n")
        .ok_or(Error::MalformedNote("no blank line before signatures"))?;
    let (text, sigs) = (&note[..split + 1], &note[split + 2..]);
    let Some(sigs) = sigs.strip_suffix('\n') else {
        return Err(Error::MalformedNote("missing signatures or final newline"));
    };

    let mut verified_by: Vec<NoteSignature> = Vec::new();
    let mut unverified = HashSet::new();
    for (i, line) in sigs.split('\n').enumerate() {
        if i >= MAX_NOTE_SIGNATURES {
            return Err(Error::TooManySignatures(MAX_NOTE_SIGNATURES));
        }
        let body = line.strip_prefix(SIG_PREFIX).ok_or(Error::MalformedNote(
            "signature line must start with \"— \"",
        ))?;
        let (name, b64) = body
            .split_once(' ')
            .ok_or(Error::MalformedNote("signature line has no signature"))?;
        check_name(name).map_err(|_| Error::MalformedNote("bad key name in signature"))?;
        let blob = B64
            .decode(b64)
            .map_err(|_| Error::MalformedNote("signature is not base64"))?;
        if blob.len() < 5 {
            return Err(Error::MalformedNote("signature too short"));
        }
        let hash = u32::from_be_bytes([blob[0], blob[1], blob[2], blob[3]]);

        let mut known = verifiers
            .iter()
            .filter(|v| v.name == name && v.key_hash == hash);
        let Some(v) = known.next() else {
            unverified.insert(line);
            continue;
        };
        if known.any(|other| other.key != v.key) {
            return Err(Error::AmbiguousVerifier {
                name: name.to_owned(),
                key_hash: hash,
            });
        }
        let id = NoteSignature {
            name: name.to_owned(),
            key_hash: hash,
        };
        if !v.verify(text.as_bytes(), &blob[4..]) {
            return Err(Error::BadSignature {
                name: id.name,
                key_hash: id.key_hash,
            });
        }
        if !verified_by.contains(&id) {
            verified_by.push(id);
        }
    }
    if verified_by.is_empty() {
        return Err(Error::NoKnownSignature {
            unverified: unverified.len(),
        });
    }
    Ok(OpenedNote {
        text: text.to_owned(),
        verified_by,
        unverified: unverified.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    // Vectors from golang.org/x/mod/sumdb/note (note_test.go).
    const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    const PETER_SKEY: &str =
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
    const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
    const TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                        then you don't know what your problem is.\n";
    const PETER_SIG: &str = "— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    const ENOCH_SIG: &str = "— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

    fn peter() -> Verifier {
        Verifier::from_vkey(PETER_VKEY).unwrap()
    }
    fn enoch() -> Verifier {
        Verifier::from_vkey(ENOCH_VKEY).unwrap()
    }
    fn sig(name: &str, key_hash: u32) -> NoteSignature {
        NoteSignature {
            name: name.into(),
            key_hash,
        }
    }

    #[test]
    fn key_strings_round_trip() {
        let v = peter();
        assert_eq!(v.name(), "PeterNeumann");
        assert_eq!(v.key_hash(), 0xc74f20a3);
        assert_eq!(v.to_vkey_string(), PETER_VKEY);
        assert_eq!(PETER_VKEY.parse::<Verifier>().unwrap(), v);
        let s = Signer::from_skey(PETER_SKEY).unwrap();
        assert_eq!(s.key_hash(), 0xc74f20a3);
        assert_eq!(s.to_skey_string(), PETER_SKEY);
        assert_eq!(s.verifier(), v);
        assert!(!format!("{s:?}").contains("AYEK"));
    }

    fn assert_all_manglings_fail(good: &str, parse: impl Fn(&str) -> bool) {
        let b = good.as_bytes();
        for i in 0..=b.len() {
            for j in i + 1..=b.len() {
                if (i, j) != (0, b.len()) {
                    assert!(!parse(&good[i..j]), "accepted {:?}", &good[i..j]);
                }
            }
        }
        for i in 0..b.len() {
            let mut m = b.to_vec();
            m[i] += 1;
            let m = String::from_utf8(m).unwrap();
            assert!(!parse(&m), "accepted {m:?}");
        }
    }

    #[test]
    fn mangled_keys_are_rejected() {
        assert_all_manglings_fail(PETER_VKEY, |s| Verifier::from_vkey(s).is_ok());
        assert_all_manglings_fail(PETER_SKEY, |s| Signer::from_skey(s).is_ok());
        // Wrong key length and unknown algorithm, both with adjusted key hash.
        assert!(Verifier::from_vkey(
            "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY=="
        )
        .is_err());
        assert_eq!(
            Verifier::from_vkey(
                "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
            ),
            Err(Error::UnsupportedAlgorithm(0x65))
        );
    }

    #[test]
    fn sign_matches_go_vector() {
        let s = Signer::from_skey(PETER_SKEY).unwrap();
        let note = sign_note(TEXT, &[&s]).unwrap();
        assert_eq!(note, format!("{TEXT}\n{PETER_SIG}"));
        assert_eq!(sign_note("abc", &[&s]), Err(Error::TextMissingNewline));
        assert_eq!(sign_note(TEXT, &[]), Err(Error::NoSigners));
        assert!(sign_note("a\tb\n", &[&s]).is_err());
        assert!(Signer::from_seed("bad name", &[1; 32]).is_err());
        assert!(Signer::from_seed("a+b", &[1; 32]).is_err());
        assert!(Signer::from_seed("", &[1; 32]).is_err());
    }

    #[test]
    fn open_go_vectors() {
        let (p, e) = (peter(), enoch());
        let both = format!("{TEXT}\n{PETER_SIG}{ENOCH_SIG}");

        let n = open_note(&both, &[&p]).unwrap();
        assert_eq!(n.text, TEXT);
        assert_eq!(n.verified_by, [sig("PeterNeumann", 0xc74f20a3)]);
        assert_eq!(n.unverified, 1);

        let n = open_note(&both, &[&p, &e]).unwrap();
        assert_eq!(
            n.verified_by,
            [
                sig("PeterNeumann", 0xc74f20a3),
                sig("EnochRoot", 0xaf0cfe78)
            ]
        );
        assert_eq!(n.unverified, 0);

        assert_eq!(
            open_note(&both, &[]),
            Err(Error::NoKnownSignature { unverified: 2 })
        );

        // Same verifier listed twice is fine; two different keys sharing a
        // name and hash are not.
        open_note(&both, &[&e, &p, &e]).unwrap();
        let fake_enoch = Verifier {
            key: *p.verifying_key(),
            ..e.clone()
        };
        assert_eq!(
            open_note(&both, &[&e, &fake_enoch]),
            Err(Error::AmbiguousVerifier {
                name: "EnochRoot".into(),
                key_hash: 0xaf0cfe78
            })
        );

        let many = format!("{TEXT}\n{}", PETER_SIG.repeat(101));
        assert_eq!(
            open_note(&many, &[&p]),
            Err(Error::TooManySignatures(MAX_NOTE_SIGNATURES))
        );

        let bad = format!("{TEXT}\n{}ABCD{}", &PETER_SIG[..60], &PETER_SIG[60..]);
        assert_eq!(
            open_note(&bad, &[&p]),
            Err(Error::BadSignature {
                name: "PeterNeumann".into(),
                key_hash: 0xc74f20a3
            })
        );

        // Repeated verified and unverified signatures are counted once.
        let enoch_abcd = format!("{}ABCD{}", &ENOCH_SIG[..60], &ENOCH_SIG[60..]);
        let dup = format!("{TEXT}\n{PETER_SIG}{PETER_SIG}{ENOCH_SIG}{ENOCH_SIG}{enoch_abcd}");
        let n = open_note(&dup, &[&p]).unwrap();
        assert_eq!(n.verified_by, [sig("PeterNeumann", 0xc74f20a3)]);
        assert_eq!(n.unverified, 2);
    }

    #[test]
    fn malformed_notes() {
        let p = peter();
        let bad = [
            TEXT.to_string(),
            format!("{TEXT}\n"),
            format!("{TEXT}\n{}", &PETER_SIG[..PETER_SIG.len() - 1]),
            format!("\x01{TEXT}\n{PETER_SIG}"),
            format!("{TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
            format!("{TEXT}\n{PETER_SIG}Unexpected line.\n"),
            format!("{TEXT}\n— PeterNeumann AAAA\n"),
            format!("{TEXT}\n-- PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"),
        ];
        for msg in &bad {
            match open_note(msg, &[&p]) {
                Err(Error::MalformedNote(_)) => {}
                other => panic!("{msg:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn tampered_text_fails() {
        let p = peter();
        let note = format!("{TEXT}\n{PETER_SIG}").replace("cryptography", "cryptographY");
        assert!(matches!(
            open_note(&note, &[&p]),
            Err(Error::BadSignature { .. })
        ));
    }

    #[test]
    fn round_trip_multi_signer() {
        let a = Signer::from_seed("example.org/a", &[7; 32]).unwrap();
        let b = Signer::from_seed("example.org/b", &[8; 32]).unwrap();
        let text = "hello\n\nwith a blank line inside\n";
        let note = sign_note(text, &[&a, &b]).unwrap();
        let n = open_note(&note, &[&b.verifier()]).unwrap();
        assert_eq!(n.text, text);
        assert_eq!(n.verified_by, [sig("example.org/b", b.key_hash())]);
        assert_eq!(n.unverified, 1);
        // A different key claiming the same name is just unknown.
        let impostor = Signer::from_seed("example.org/a", &[9; 32]).unwrap();
        assert_eq!(
            open_note(&note, &[&impostor.verifier()]),
            Err(Error::NoKnownSignature { unverified: 2 })
        );
        let v = Verifier::from_vkey(&a.verifier().to_vkey_string()).unwrap();
        assert_eq!(v, a.verifier());
    }
}
