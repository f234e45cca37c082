//! athar-tlog: the transparency-log primitives of the evidence vault.
//!
//! Every piece of evidence is a leaf in an append-only Merkle tree. The vault
//! publishes signed checkpoints of that tree so that anyone holding a
//! checkpoint can later prove that a record existed, unaltered, at that time,
//! and that the log was never rewritten. We use published formats rather than
//! our own so that third parties can check our claims with existing tools:
//!
//! - [`merkle`]: RFC 9162 Merkle tree hashing, inclusion and consistency proofs.
//! - [`note`]: C2SP signed notes (Ed25519), the envelope for checkpoints.
//! - [`checkpoint`]: C2SP tlog-checkpoint bodies.
//! - [`proof`]: C2SP tlog-proof text, plus our analogous consistency-proof text.
//!
//! The byte-level formats are described in `docs/formats/checkpoint.md`.

pub mod checkpoint;
pub mod merkle;
pub mod note;
pub mod proof;

pub use checkpoint::{open_checkpoint, sign_checkpoint, Checkpoint};
pub use merkle::{
    consistency_proof, inclusion_proof, leaf_hash, node_hash, root, root_at, verify_consistency,
    verify_inclusion, Hash, TreeBuilder, EMPTY_ROOT,
};
pub use note::{
    key_hash, open_note, sign_note, NoteSignature, OpenedNote, Signer, Verifier,
    MAX_NOTE_SIGNATURES,
};
pub use proof::{
    verify_consistency_text, verify_proof_text, ConsistencyProofText, InclusionProofText, Leaf,
    CONSISTENCY_PROOF_HEADER, TLOG_PROOF_HEADER,
};

/// Everything that can go wrong in this crate. One enum, because callers
/// mostly need to know *that* evidence failed to verify and *why*, in words.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A proof was asked for, or checked against, a leaf that isn't in the tree.
    #[error("leaf index {index} is out of range for tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A consistency proof was asked for with sizes that can't describe a log
    /// growing (old must not exceed new).
    #[error("tree size {old} is larger than tree size {new}")]
    SizeOrder { old: u64, new: u64 },
    /// Saved [`TreeBuilder`] state is inconsistent (one peak per set bit of size).
    #[error("tree builder state has {peaks} peaks for size {size}")]
    InvalidTreeState { size: u64, peaks: usize },
    /// The inclusion proof does not lead from the leaf to the root.
    #[error("inclusion proof is invalid: {0}")]
    InvalidInclusionProof(&'static str),
    /// The consistency proof does not connect the two roots.
    #[error("consistency proof is invalid: {0}")]
    InvalidConsistencyProof(&'static str),

    /// Key names become part of the signed text format, so they are restricted.
    #[error("invalid key name {0:?}: must be non-empty, without spaces or '+'")]
    InvalidKeyName(String),
    /// A vkey/skey string could not be decoded.
    #[error("malformed key: {0}")]
    MalformedKey(&'static str),
    /// The key hash in a vkey/skey string is not the hash of its name and key.
    #[error("key hash does not match key name and public key")]
    KeyHashMismatch,
    /// Only Ed25519 (signature type 0x01) is supported.
    #[error("unsupported signature algorithm 0x{0:02x}")]
    UnsupportedAlgorithm(u8),
    /// Note text must end in a newline so the envelope is unambiguous.
    #[error("note text must end in a newline")]
    TextMissingNewline,
    /// The note does not follow the signed-note syntax.
    #[error("malformed note: {0}")]
    MalformedNote(&'static str),
    /// More signature lines than we are willing to process.
    #[error("note has more than {0} signatures")]
    TooManySignatures(usize),
    /// None of the signatures came from a key we trust.
    #[error("note has no signature from a known key ({unverified} from unknown keys)")]
    NoKnownSignature { unverified: usize },
    /// A signature from a trusted key failed: the note was altered or forged.
    #[error("invalid signature from key {name}+{key_hash:08x}")]
    BadSignature { name: String, key_hash: u32 },
    /// Two trusted verifiers share a name and key hash; we refuse to guess.
    #[error("ambiguous verifier key {name}+{key_hash:08x}")]
    AmbiguousVerifier { name: String, key_hash: u32 },
    /// `sign_note` was called with no signers; an unsigned note is useless.
    #[error("no signers given")]
    NoSigners,

    /// The checkpoint body does not follow c2sp.org/tlog-checkpoint.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(&'static str),
    /// The checkpoint's origin is not the name of the key that vouches for it.
    #[error("checkpoint origin {origin:?} does not match key name {key_name:?}")]
    OriginMismatch { origin: String, key_name: String },

    /// The proof text does not follow its format.
    #[error("malformed proof: {0}")]
    MalformedProof(&'static str),
    /// The proof text and its checkpoint disagree (size or origin).
    #[error("proof does not match checkpoint: {0}")]
    ProofCheckpointMismatch(&'static str),
}

/// Crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
