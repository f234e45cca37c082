//! Self-contained, offline-verifiable proof texts.
//!
//! Inclusion proofs use C2SP tlog-proof (c2sp.org/tlog-proof) so that a
//! piece of evidence can travel with a proof any tlog tool can check.
//! Consistency proofs have no C2SP text form; we define a small analogous
//! one (see `docs/formats/checkpoint.md`):
//!
//! ```text
//! athar.consistency-proof@v1
//! old <old size>
//! new <new size>
//! <base64 hash>            (zero or more lines)
//!
//! <signed checkpoint at the new size>
//! ```

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

use crate::checkpoint::{decode_hash, encode_hash, open_checkpoint, parse_decimal, Checkpoint};
use crate::merkle::{leaf_hash, verify_consistency, verify_inclusion, Hash};
use crate::note::Verifier;
use crate::{Error, Result};

/// First line of a C2SP tlog-proof.
pub const TLOG_PROOF_HEADER: &str = "c2sp.org/tlog-proof@v1";
/// First line of our consistency-proof text.
pub const CONSISTENCY_PROOF_HEADER: &str = "athar.consistency-proof@v1";

/// No valid proof in a tree of at most 2^64 leaves has more hashes than this.
const MAX_PROOF_HASHES: usize = 64;

/// Splits off the next newline-terminated line.
fn next_line<'a>(rest: &mut &'a str) -> Result<&'a str> {
    let (line, tail) = rest
        .split_once('\n')
        .ok_or(Error::MalformedProof("unexpected end of proof"))?;
    *rest = tail;
    Ok(line)
}

/// Reads hash lines up to the blank separator line, then returns the
/// remainder, which must be a non-empty checkpoint note.
fn hashes_then_note(mut rest: &str) -> Result<(Vec<Hash>, String)> {
    let mut hashes = Vec::new();
    loop {
        let line = next_line(&mut rest)?;
        if line.is_empty() {
            break;
        }
        if hashes.len() == MAX_PROOF_HASHES {
            return Err(Error::MalformedProof("too many proof hashes"));
        }
        hashes.push(decode_hash(line).ok_or(Error::MalformedProof("bad proof hash"))?);
    }
    if rest.is_empty() {
        return Err(Error::MalformedProof("missing checkpoint"));
    }
    Ok((hashes, rest.to_owned()))
}

fn push_hashes_then_note(out: &mut String, hashes: &[Hash], note: &str) {
    for h in hashes {
        out.push_str(&encode_hash(h));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(note);
}

fn prefixed_number(line: &str, prefix: &str, what: &'static str) -> Result<u64> {
    line.strip_prefix(prefix)
        .and_then(parse_decimal)
        .ok_or(Error::MalformedProof(what))
}

/// A C2SP tlog-proof: an inclusion proof bundled with the signed checkpoint
/// it leads to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InclusionProofText {
    /// Zero-based position of the entry in the log.
    pub index: u64,
    /// Opaque, unauthenticated application data (the `extra` line).
    pub extra: Option<Vec<u8>>,
    /// RFC 9162 audit path, leaf sibling first.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note, verbatim (may carry cosignatures).
    pub checkpoint_note: String,
}

impl InclusionProofText {
    /// Renders the `c2sp.org/tlog-proof@v1` text.
    pub fn format(&self) -> String {
        let mut out = format!("{TLOG_PROOF_HEADER}\n");
        if let Some(extra) = &self.extra {
            out.push_str("extra ");
            out.push_str(&B64.encode(extra));
            out.push('\n');
        }
        out.push_str(&format!("index {}\n", self.index));
        push_hashes_then_note(&mut out, &self.hashes, &self.checkpoint_note);
        out
    }

    /// Parses the text form. Only the syntax is checked here; see
    /// [`verify_proof_text`].
    pub fn parse(text: &str) -> Result<Self> {
        let mut rest = text;
        if next_line(&mut rest)? != TLOG_PROOF_HEADER {
            return Err(Error::MalformedProof(
                "missing c2sp.org/tlog-proof@v1 header",
            ));
        }
        let mut line = next_line(&mut rest)?;
        let extra = match line.strip_prefix("extra ") {
            Some(b64) => {
                let data = B64
                    .decode(b64)
                    .map_err(|_| Error::MalformedProof("bad extra data"))?;
                line = next_line(&mut rest)?;
                Some(data)
            }
            None => None,
        };
        let index = prefixed_number(line, "index ", "bad index line")?;
        let (hashes, checkpoint_note) = hashes_then_note(rest)?;
        Ok(Self {
            index,
            extra,
            hashes,
            checkpoint_note,
        })
    }
}

/// The logged entry a proof is about: its bytes, or its leaf hash.
#[derive(Clone, Copy, Debug)]
pub enum Leaf<'a> {
    /// The entry as logged; it is hashed with [`leaf_hash`].
    Data(&'a [u8]),
    /// An already computed leaf hash.
    Hash(Hash),
}

impl Leaf<'_> {
    fn hash(&self) -> Hash {
        match self {
            Leaf::Data(d) => leaf_hash(d),
            Leaf::Hash(h) => *h,
        }
    }
}

/// Checks a tlog-proof end to end: the checkpoint signature by the log key,
/// then the inclusion of `leaf` at the proof's index under its root.
/// Returns the checkpoint the entry is proven against.
pub fn verify_proof_text(text: &str, leaf: Leaf<'_>, verifier: &Verifier) -> Result<Checkpoint> {
    let proof = InclusionProofText::parse(text)?;
    let checkpoint = open_checkpoint(&proof.checkpoint_note, verifier)?;
    verify_inclusion(
        &leaf.hash(),
        proof.index,
        checkpoint.size,
        &proof.hashes,
        &checkpoint.root,
    )?;
    Ok(checkpoint)
}

/// Our consistency proof text: proves that the log at `new_size` (the signed
/// checkpoint included) extends the log at `old_size`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConsistencyProofText {
    pub old_size: u64,
    pub new_size: u64,
    /// RFC 9162 consistency proof.
    pub hashes: Vec<Hash>,
    /// The signed checkpoint note at `new_size`, verbatim.
    pub checkpoint_note: String,
}

impl ConsistencyProofText {
    /// Renders the `athar.consistency-proof@v1` text.
    pub fn format(&self) -> String {
        let mut out = format!(
            "{CONSISTENCY_PROOF_HEADER}\nold {}\nnew {}\n",
            self.old_size, self.new_size
        );
        push_hashes_then_note(&mut out, &self.hashes, &self.checkpoint_note);
        out
    }

    /// Parses the text form (syntax only; see [`verify_consistency_text`]).
    pub fn parse(text: &str) -> Result<Self> {
        let mut rest = text;
        if next_line(&mut rest)? != CONSISTENCY_PROOF_HEADER {
            return Err(Error::MalformedProof(
                "missing athar.consistency-proof@v1 header",
            ));
        }
        let old_size = prefixed_number(next_line(&mut rest)?, "old ", "bad old line")?;
        let new_size = prefixed_number(next_line(&mut rest)?, "new ", "bad new line")?;
        if old_size > new_size {
            return Err(Error::SizeOrder {
                old: old_size,
                new: new_size,
            });
        }
        let (hashes, checkpoint_note) = hashes_then_note(rest)?;
        Ok(Self {
            old_size,
            new_size,
            hashes,
            checkpoint_note,
        })
    }
}

/// Checks a consistency proof text against a checkpoint the caller already
/// trusts (`old`, verified earlier). Verifies the new checkpoint's signature,
/// that sizes and origin agree, and the proof itself. Returns the new
/// checkpoint, which the caller may then trust in place of `old`.
pub fn verify_consistency_text(
    text: &str,
    old: &Checkpoint,
    verifier: &Verifier,
) -> Result<Checkpoint> {
    let proof = ConsistencyProofText::parse(text)?;
    let new = open_checkpoint(&proof.checkpoint_note, verifier)?;
    if new.origin != old.origin {
        return Err(Error::ProofCheckpointMismatch("origins differ"));
    }
    if proof.old_size != old.size {
        return Err(Error::ProofCheckpointMismatch(
            "old size is not the trusted checkpoint's",
        ));
    }
    if proof.new_size != new.size {
        return Err(Error::ProofCheckpointMismatch(
            "new size is not the checkpoint's",
        ));
    }
    verify_consistency(old.size, new.size, &old.root, &new.root, &proof.hashes)?;
    Ok(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::sign_checkpoint;
    use crate::merkle::{consistency_proof, inclusion_proof, root};
    use crate::note::Signer;

    const ORIGIN: &str = "athar.example/log";

    fn setup(n: usize) -> (Signer, Vec<Vec<u8>>, Vec<Hash>) {
        let s = Signer::from_seed(ORIGIN, &[5; 32]).unwrap();
        let data: Vec<Vec<u8>> = (0..n).map(|i| format!("entry {i}").into_bytes()).collect();
        let leaves = data.iter().map(|d| leaf_hash(d)).collect();
        (s, data, leaves)
    }

    fn checkpoint_note(s: &Signer, leaves: &[Hash]) -> String {
        let cp = Checkpoint::new(ORIGIN, leaves.len() as u64, root(leaves));
        sign_checkpoint(&cp, s).unwrap()
    }

    #[test]
    fn inclusion_text_round_trip_and_verify() {
        let (s, data, leaves) = setup(21);
        let note = checkpoint_note(&s, &leaves);
        for index in [0usize, 7, 20] {
            for extra in [None, Some(vec![]), Some(b"vrf proof".to_vec())] {
                let p = InclusionProofText {
                    index: index as u64,
                    extra,
                    hashes: inclusion_proof(&leaves, index as u64),
                    checkpoint_note: note.clone(),
                };
                let text = p.format();
                assert!(text.starts_with("c2sp.org/tlog-proof@v1\n"));
                assert_eq!(InclusionProofText::parse(&text).unwrap(), p);
                let cp = verify_proof_text(&text, Leaf::Data(&data[index]), &s.verifier()).unwrap();
                assert_eq!(cp.size, 21);
                verify_proof_text(&text, Leaf::Hash(leaves[index]), &s.verifier()).unwrap();
                // Wrong entry.
                assert!(verify_proof_text(&text, Leaf::Data(b"forged"), &s.verifier()).is_err());
            }
        }
    }

    #[test]
    fn inclusion_text_layout() {
        let (s, _, leaves) = setup(3);
        let note = checkpoint_note(&s, &leaves);
        let p = InclusionProofText {
            index: 2,
            extra: Some(b"hi".to_vec()),
            hashes: inclusion_proof(&leaves, 2),
            checkpoint_note: note.clone(),
        };
        let want = format!(
            "c2sp.org/tlog-proof@v1\nextra aGk=\nindex 2\n{}\n\n{note}",
            B64.encode(root(&leaves[..2]))
        );
        assert_eq!(p.format(), want);
    }

    #[test]
    fn inclusion_text_tampering() {
        let (s, data, leaves) = setup(9);
        let note = checkpoint_note(&s, &leaves);
        let p = InclusionProofText {
            index: 4,
            extra: None,
            hashes: inclusion_proof(&leaves, 4),
            checkpoint_note: note,
        };
        let v = s.verifier();
        let leaf = Leaf::Data(&data[4]);
        let text = p.format();
        // Another index.
        let t = text.replace("index 4\n", "index 5\n");
        assert!(verify_proof_text(&t, leaf, &v).is_err());
        // A proof hash altered.
        let mut q = p.clone();
        q.hashes[1][0] ^= 1;
        assert!(verify_proof_text(&q.format(), leaf, &v).is_err());
        // Checkpoint size altered (signature breaks).
        let t = text.replace("\n9\n", "\n10\n");
        assert!(matches!(
            verify_proof_text(&t, leaf, &v),
            Err(Error::BadSignature { .. })
        ));
        // Someone else's key.
        let other = Signer::from_seed(ORIGIN, &[6; 32]).unwrap();
        assert!(verify_proof_text(&text, leaf, &other.verifier()).is_err());
        // Syntax errors.
        for bad in [
            text.replace("c2sp.org/tlog-proof@v1", "c2sp.org/tlog-proof@v2"),
            text.replace("index 4", "index 04"),
            text.replace("index 4", "Index 4"),
            text.replace("index 4\n", "index 4\nextra aGk=\n"),
            text.replace("index 4\n", "index 4\nnot-base64\n"),
            format!("{TLOG_PROOF_HEADER}\nindex 4\n"),
            format!("{TLOG_PROOF_HEADER}\nindex 4\n\n"),
            format!("{TLOG_PROOF_HEADER}\nindex 4"),
        ] {
            assert!(InclusionProofText::parse(&bad).is_err(), "{bad:?}");
        }
        let long = format!(
            "{TLOG_PROOF_HEADER}\nindex 0\n{}\nx\n",
            format!("{}\n", B64.encode([0u8; 32])).repeat(65)
        );
        assert!(InclusionProofText::parse(&long).is_err());
    }

    #[test]
    fn consistency_text_round_trip_and_verify() {
        let (s, _, leaves) = setup(40);
        let v = s.verifier();
        for old in [0usize, 1, 13, 32, 39, 40] {
            let old_cp = Checkpoint::new(ORIGIN, old as u64, root(&leaves[..old]));
            let p = ConsistencyProofText {
                old_size: old as u64,
                new_size: 40,
                hashes: consistency_proof(&leaves, old as u64),
                checkpoint_note: checkpoint_note(&s, &leaves),
            };
            let text = p.format();
            assert!(text.starts_with(&format!("athar.consistency-proof@v1\nold {old}\nnew 40\n")));
            assert_eq!(ConsistencyProofText::parse(&text).unwrap(), p);
            let new = verify_consistency_text(&text, &old_cp, &v).unwrap();
            assert_eq!((new.size, new.root), (40, root(&leaves)));

            // A forked old tree must not verify.
            if old > 0 {
                let mut forked = old_cp.clone();
                forked.root[0] ^= 1;
                assert!(verify_consistency_text(&text, &forked, &v).is_err());
            }
            // Sizes that disagree with the checkpoints.
            let mut other = old_cp.clone();
            other.size += 1;
            assert!(verify_consistency_text(&text, &other, &v).is_err());
            let t = text.replace("new 40\n", "new 41\n");
            assert!(matches!(
                verify_consistency_text(&t, &old_cp, &v),
                Err(Error::ProofCheckpointMismatch(_))
            ));
        }
        assert!(ConsistencyProofText::parse(&format!(
            "{CONSISTENCY_PROOF_HEADER}\nold 5\nnew 4\n\nx\n"
        ))
        .is_err());
        assert!(ConsistencyProofText::parse(&format!(
            "{CONSISTENCY_PROOF_HEADER}\nnew 4\nold 1\n\nx\n"
        ))
        .is_err());
    }

    /// The worked example of docs/formats/checkpoint.md, byte for byte.
    #[test]
    fn documented_example() {
        let s = Signer::from_seed("athar.example/log", &[0x01; 32]).unwrap();
        assert_eq!(
            s.verifier().to_vkey_string(),
            "athar.example/log+7bb33016+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c"
        );
        let leaves: Vec<Hash> = [&b"entry 0"[..], b"entry 1", b"entry 2"]
            .iter()
            .map(|d| leaf_hash(d))
            .collect();
        let note =
            sign_checkpoint(&Checkpoint::new("athar.example/log", 3, root(&leaves)), &s).unwrap();
        let note_text = "athar.example/log\n3\nlPvQ3YNvUDAWkubQ6t5yjuGexSv/8WBu2AfIV11aqhk=\n\n\
            \u{2014} athar.example/log e7MwFjBv3LDbGQYDE4bwKxRuAUQ82uBrgz8wogjt8wcdK0l8ykJrW2s62ul8lRMHfVCzN9B7VahCxEpDQOgd61NA1wQ=\n";
        assert_eq!(note, note_text);
        let (l0, l2) = (
            "dziFphNIniTOLPdhmdakI/BC5LvxLX7s7pEu8nbGVwE=",
            "V8efTzGuApxdS9MLBzwnyU35NDiytGl+Hh7vW8A5SkE=",
        );
        let incl = InclusionProofText {
            index: 1,
            extra: None,
            hashes: inclusion_proof(&leaves, 1),
            checkpoint_note: note.clone(),
        };
        assert_eq!(
            incl.format(),
            format!("c2sp.org/tlog-proof@v1\nindex 1\n{l0}\n{l2}\n\n{note_text}")
        );
        let cons = ConsistencyProofText {
            old_size: 1,
            new_size: 3,
            hashes: consistency_proof(&leaves, 1),
            checkpoint_note: note,
        };
        assert_eq!(
            cons.format(),
            format!(
                "athar.consistency-proof@v1\nold 1\nnew 3\n\
                 Lfs2xvZsrDYUKc9G34aKuCQtOmRB8Qmcj7P5jsXRCKQ=\n{l2}\n\n{note_text}"
            )
        );
        let old = Checkpoint::new("athar.example/log", 1, leaves[0]);
        verify_consistency_text(&cons.format(), &old, &s.verifier()).unwrap();
        verify_proof_text(&incl.format(), Leaf::Data(b"entry 1"), &s.verifier()).unwrap();
    }
}
