//! C2SP tlog-checkpoint (c2sp.org/tlog-checkpoint): the signed statement
//! "log `<origin>` had `<size>` entries with root `<root>`".
//!
//! A checkpoint is what the vault hands out and what witnesses cosign; every
//! later inclusion or consistency proof is checked against one.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::merkle::Hash;
use crate::note::{open_note, sign_note, Signer, Verifier};
use crate::{Error, Result};

/// A tree head: origin line, tree size, root hash and optional extension lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Checkpoint {
    /// Unique log identity; we require it to equal the log's key name.
    pub origin: String,
    /// Number of leaves.
    pub size: u64,
    /// RFC 9162 root of the first `size` leaves.
    pub root: Hash,
    /// Opaque extra lines. Not auditable by monitors, so best left empty.
    pub extensions: Vec<String>,
}

/// A body line must be one non-empty line of note-safe text.
fn check_line(line: &str, what: &'static str) -> Result<()> {
    if line.is_empty() {
        return Err(Error::MalformedCheckpoint(what));
    }
    if line.chars().any(char::is_control) {
        return Err(Error::MalformedCheckpoint("control character in line"));
    }
    Ok(())
}

/// Parses an ASCII decimal with no sign and no leading zeros, so that each
/// number has one encoding (a signed text must not have look-alikes).
pub(crate) fn parse_decimal(s: &str) -> Option<u64> {
    let canonical =
        !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    canonical.then(|| s.parse().ok()).flatten()
}

/// Decodes one canonical base64 SHA-256 hash.
pub(crate) fn decode_hash(s: &str) -> Option<Hash> {
    B64.decode(s).ok()?.try_into().ok()
}

pub(crate) fn encode_hash(h: &Hash) -> String {
    B64.encode(h)
}

impl Checkpoint {
    pub fn new(origin: impl Into<String>, size: u64, root: Hash) -> Self {
        Self {
            origin: origin.into(),
            size,
            root,
            extensions: Vec::new(),
        }
    }

    /// The note text: `origin\nsize\nbase64(root)\n` then one line per
    /// extension. Fails if a field would not survive a round trip.
    pub fn to_body(&self) -> Result<String> {
        check_line(&self.origin, "empty origin")?;
        for ext in &self.extensions {
            check_line(ext, "empty extension line")?;
        }
        let mut body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.size,
            encode_hash(&self.root)
        );
        for ext in &self.extensions {
            body.push_str(ext);
            body.push('\n');
        }
        Ok(body)
    }

    /// Parses a note text produced by [`Self::to_body`] (or any conforming log).
    pub fn parse_body(text: &str) -> Result<Self> {
        let lines = text
            .strip_suffix('\n')
            .ok_or(Error::MalformedCheckpoint("body must end in newline"))?;
        let mut lines = lines.split('\n');
        let (Some(origin), Some(size), Some(root)) = (lines.next(), lines.next(), lines.next())
        else {
            return Err(Error::MalformedCheckpoint("fewer than three lines"));
        };
        check_line(origin, "empty origin")?;
        let size = parse_decimal(size).ok_or(Error::MalformedCheckpoint("bad tree size"))?;
        let root = decode_hash(root).ok_or(Error::MalformedCheckpoint("bad root hash"))?;
        let extensions = lines
            .map(|l| check_line(l, "empty extension line").map(|()| l.to_owned()))
            .collect::<Result<_>>()?;
        Ok(Self {
            origin: origin.to_owned(),
            size,
            root,
            extensions,
        })
    }
}

/// Signs a checkpoint as a note. The signer's key name must equal the
/// origin, so that we never issue a checkpoint `open_checkpoint` would refuse.
pub fn sign_checkpoint(checkpoint: &Checkpoint, signer: &Signer) -> Result<String> {
    let body = checkpoint.to_body()?;
    if checkpoint.origin != signer.name() {
        return Err(Error::OriginMismatch {
            origin: checkpoint.origin.clone(),
            key_name: signer.name().to_owned(),
        });
    }
    sign_note(&body, &[signer])
}

/// Verifies a signed checkpoint with the log's key and parses it. Other
/// signatures (witness cosignatures) are ignored.
///
/// The origin must equal the key name: the spec only says SHOULD, but
/// binding them stops a key that signs for two logs from having one log's
/// tree head accepted as the other's.
pub fn open_checkpoint(note: &str, verifier: &Verifier) -> Result<Checkpoint> {
    let opened = open_note(note, &[verifier])?;
    let checkpoint = Checkpoint::parse_body(&opened.text)?;
    if checkpoint.origin != verifier.name() {
        return Err(Error::OriginMismatch {
            origin: checkpoint.origin,
            key_name: verifier.name().to_owned(),
        });
    }
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::merkle::{leaf_hash, root};

    const ORIGIN: &str = "athar.example/log";

    fn signer() -> Signer {
        Signer::from_seed(ORIGIN, &[42; 32]).unwrap()
    }

    #[test]
    fn body_round_trip() {
        let mut cp = Checkpoint::new(ORIGIN, 20852163, leaf_hash(b"x"));
        let body = cp.to_body().unwrap();
        assert_eq!(
            body,
            format!("{ORIGIN}\n20852163\n{}\n", B64.encode(leaf_hash(b"x")))
        );
        assert_eq!(Checkpoint::parse_body(&body).unwrap(), cp);
        cp.extensions = vec!["ext one".into(), "two".into()];
        let body = cp.to_body().unwrap();
        assert!(body.ends_with("\next one\ntwo\n"));
        assert_eq!(Checkpoint::parse_body(&body).unwrap(), cp);

        let empty = Checkpoint::new(ORIGIN, 0, root(&[]));
        let body = empty.to_body().unwrap();
        assert_eq!(Checkpoint::parse_body(&body).unwrap(), empty);
    }

    #[test]
    fn spec_example_body_parses() {
        let body = "example.com/behind-the-sofa\n20852163\n\
                    CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
        let cp = Checkpoint::parse_body(body).unwrap();
        assert_eq!(cp.origin, "example.com/behind-the-sofa");
        assert_eq!(cp.size, 20852163);
        assert_eq!(cp.to_body().unwrap(), body);
    }

    #[test]
    fn bad_bodies() {
        let r = B64.encode([0u8; 32]);
        for body in [
            format!("o\n1\n{r}"),
            "o\n1\n".to_string(),
            format!("\n1\n{r}\n"),
            format!("o\n01\n{r}\n"),
            format!("o\n+1\n{r}\n"),
            format!("o\n-1\n{r}\n"),
            format!("o\n\n{r}\n"),
            format!("o\n18446744073709551616\n{r}\n"),
            format!("o\n1\n{}\n", B64.encode([0u8; 31])),
            format!("o\n1\n{}\n", &r[..43]),
            format!("o\n1\n{r}\n\n"),
            format!("o\n1\n{r}\next\n\n"),
            format!("o\n1\n{r}\r\n"),
        ] {
            assert!(Checkpoint::parse_body(&body).is_err(), "{body:?}");
        }
        let mut cp = Checkpoint::new("", 1, [0; 32]);
        assert!(cp.to_body().is_err());
        cp.origin = "a\nb".into();
        assert!(cp.to_body().is_err());
        cp.origin = "o".into();
        cp.extensions = vec![String::new()];
        assert!(cp.to_body().is_err());
    }

    #[test]
    fn sign_and_open() {
        let s = signer();
        let cp = Checkpoint::new(ORIGIN, 3, [7; 32]);
        let note = sign_checkpoint(&cp, &s).unwrap();
        assert_eq!(open_checkpoint(&note, &s.verifier()).unwrap(), cp);

        // A witness cosignature from an unknown key is ignored.
        let w = Signer::from_seed("witness.example", &[1; 32]).unwrap();
        let cosigned = sign_note(&cp.to_body().unwrap(), &[&s, &w]).unwrap();
        assert_eq!(open_checkpoint(&cosigned, &s.verifier()).unwrap(), cp);

        // Wrong key, tampered size, mismatched origin.
        let other = Signer::from_seed(ORIGIN, &[43; 32]).unwrap();
        assert!(open_checkpoint(&note, &other.verifier()).is_err());
        let tampered = note.replacen("\n3\n", "\n4\n", 1);
        assert!(matches!(
            open_checkpoint(&tampered, &s.verifier()),
            Err(Error::BadSignature { .. })
        ));
        let foreign = Checkpoint::new("other.example/log", 3, [7; 32]);
        assert!(matches!(
            sign_checkpoint(&foreign, &s),
            Err(Error::OriginMismatch { .. })
        ));
        let signed_foreign = sign_note(&foreign.to_body().unwrap(), &[&s]).unwrap();
        assert!(matches!(
            open_checkpoint(&signed_foreign, &s.verifier()),
            Err(Error::OriginMismatch { .. })
        ));
    }
}
