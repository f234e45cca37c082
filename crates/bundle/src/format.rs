//! The bytes of a bundle: part header and trailer, the signed manifest, the payload trailer
//! and the encrypted index. docs/formats/bundle.md describes them for other implementers.

use base64::Engine;
use serde::{Deserialize, Serialize};

use athar_tlog::{Signer, Verifier};

use crate::layout::Layout;

pub const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// First 16 bytes of every part.
pub const PART_MAGIC: &[u8; 16] = b"athar bundle v1\n";
pub const HEADER_LEN: u64 = 64;
/// Last 8 bytes of every part, after the manifest's length.
pub const TRAILER_MAGIC: &[u8; 8] = b"athar mf";
pub const TRAILER_LEN: u64 = 16;
/// Last 24 bytes of the payload: magic, index offset, index length.
pub const INDEX_MAGIC: &[u8; 8] = b"athar ix";
pub const PAYLOAD_TRAILER_LEN: u64 = 24;

pub const MANIFEST_FORMAT: &str = "athar-bundle";
pub const INDEX_FORMAT: &str = "athar-bundle-index";
/// Version 2: shard digests are BLAKE3 (version 1, never released, used SHA-256).
pub const VERSION: u32 = 2;

/// A bundle packed by a source device from its files.
pub const KIND_SOURCE: &str = "source";
/// A bundle exported by a vault for a partner archive.
pub const KIND_EXPORT: &str = "export";

/// Largest manifest we read (a part holding more is not ours).
const MAX_MANIFEST: u64 = 256 << 20;

/// The clear, signed description of a bundle: only what a courier needs to check and repair
/// it. No file names, no hashes of plaintext, no counts of files.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// `source` (packed by a source device) or `export` (from a vault, for a partner).
    pub kind: String,
    /// 16 random bytes, hex.
    pub bundle: String,
    /// The signer's key as a signed-note verifier key (`name+hash+base64`).
    pub signer: String,
    /// This bundle's number among the signer's bundles, from 1.
    pub seq: u64,
    /// RFC 3339 UTC.
    pub created: String,
    /// Length of the payload in bytes.
    pub payload: u64,
    /// Bytes per shard.
    pub shard_size: u64,
    /// Data and parity shards per row.
    pub data_shards: u32,
    pub parity_shards: u32,
    pub rows: u64,
    /// Size in bytes of every part file.
    pub part_size: u64,
    pub parts: Vec<PartEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartEntry {
    /// File name on the drive.
    pub name: String,
    /// base64 of the SHA-256 of each shard of this part, in order, concatenated.
    pub shards: String,
}

impl Manifest {
    pub fn layout(&self) -> Layout {
        Layout {
            parts: self.parts.len() as u32,
            data: self.data_shards,
            parity: self.parity_shards,
            shard: self.shard_size,
        }
    }

    pub fn id_bytes(&self) -> [u8; 16] {
        let mut id = [0u8; 16];
        if let Ok(b) = hex::decode(&self.bundle) {
            if b.len() == 16 {
                id.copy_from_slice(&b);
            }
        }
        id
    }

    /// Bytes of shard data in each part.
    pub fn part_data_len(&self) -> u64 {
        self.layout().part_data_len(self.rows)
    }

    /// Structural checks, so that no later arithmetic can overflow or index out of bounds.
    pub fn check(&self) -> Result<(), String> {
        if self.format != MANIFEST_FORMAT {
            return Err(format!("not an athar bundle manifest ({:?})", self.format));
        }
        if self.version != VERSION {
            return Err(format!(
                "bundle format version {} is not supported; upgrade athar",
                self.version
            ));
        }
        if self.kind != KIND_SOURCE && self.kind != KIND_EXPORT {
            return Err(format!("unknown bundle kind {:?}", self.kind));
        }
        if self.bundle.len() != 32 || hex::decode(&self.bundle).is_err() {
            return Err("bundle id is not 32 hex digits".into());
        }
        let layout = self.layout();
        layout.check()?;
        if self.rows == 0 || self.rows > 1 << 32 {
            return Err("bad row count".into());
        }
        let capacity = self
            .rows
            .checked_mul(layout.data as u64)
            .and_then(|x| x.checked_mul(self.shard_size))
            .ok_or("bundle too large")?;
        if self.payload < PAYLOAD_TRAILER_LEN || self.payload > capacity {
            return Err("payload length does not fit the shards".into());
        }
        let hashes = self.rows * layout.cpp() as u64 * 32;
        for p in &self.parts {
            if !valid_part_name(&p.name) {
                return Err(format!("bad part name {:?}", p.name));
            }
            let len = p.shards.len() as u64;
            if len != hashes.div_ceil(3) * 4 {
                return Err(format!("part {}: wrong number of shard hashes", p.name));
            }
        }
        let mut names: Vec<&str> = self.parts.iter().map(|p| p.name.as_str()).collect();
        names.sort();
        names.dedup();
        if names.len() != self.parts.len() {
            return Err("two parts have the same name".into());
        }
        if self.part_size < HEADER_LEN + self.part_data_len() + TRAILER_LEN {
            return Err("part size too small for its shards".into());
        }
        Ok(())
    }

    /// The expected SHA-256 of every shard of part `p`, in order.
    pub fn shard_hashes(&self, p: usize) -> Vec<[u8; 32]> {
        let bytes = B64.decode(&self.parts[p].shards).unwrap_or_default();
        bytes
            .chunks_exact(32)
            .map(|c| c.try_into().expect("32 bytes"))
            .collect()
    }
}

/// Part names: what `pack` makes (8 lowercase letters or digits + `.dat`), plus anything a
/// file system can hold that is not a path.
pub fn valid_part_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 255
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
}

/// A random, innocuous part name: `k3v9q2xa.dat` (fits FAT's 8.3 names).
pub fn random_part_name() -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rngs::OsRng;
    let stem: String = (0..8)
        .map(|_| {
            let i = rand::Rng::gen_range(&mut rng, 0..ALPHABET.len());
            ALPHABET[i] as char
        })
        .collect();
    format!("{stem}.dat")
}

/// The 64-byte header of part `index` of `count`.
pub fn part_header(id: &[u8; 16], index: u32, count: u32) -> [u8; HEADER_LEN as usize] {
    let mut h = [0u8; HEADER_LEN as usize];
    h[..16].copy_from_slice(PART_MAGIC);
    h[16..32].copy_from_slice(id);
    h[32..36].copy_from_slice(&index.to_le_bytes());
    h[36..40].copy_from_slice(&count.to_le_bytes());
    h
}

/// What a part's header claims: bundle id, index, count.
pub fn parse_header(h: &[u8]) -> Option<([u8; 16], u32, u32)> {
    if h.len() < HEADER_LEN as usize || &h[..16] != PART_MAGIC {
        return None;
    }
    let id: [u8; 16] = h[16..32].try_into().ok()?;
    let index = u32::from_le_bytes(h[32..36].try_into().ok()?);
    let count = u32::from_le_bytes(h[36..40].try_into().ok()?);
    Some((id, index, count))
}

pub fn part_trailer(manifest_len: u64) -> [u8; TRAILER_LEN as usize] {
    let mut t = [0u8; TRAILER_LEN as usize];
    t[..8].copy_from_slice(&manifest_len.to_le_bytes());
    t[8..].copy_from_slice(TRAILER_MAGIC);
    t
}

/// The manifest length a part's trailer claims, if the trailer is intact and plausible.
pub fn parse_trailer(t: &[u8], file_len: u64) -> Option<u64> {
    if t.len() != TRAILER_LEN as usize || &t[8..] != TRAILER_MAGIC {
        return None;
    }
    let len = u64::from_le_bytes(t[..8].try_into().ok()?);
    (len > 0 && len <= MAX_MANIFEST && len + HEADER_LEN + TRAILER_LEN <= file_len).then_some(len)
}

pub fn payload_trailer(index_offset: u64, index_len: u64) -> [u8; PAYLOAD_TRAILER_LEN as usize] {
    let mut t = [0u8; PAYLOAD_TRAILER_LEN as usize];
    t[..8].copy_from_slice(INDEX_MAGIC);
    t[8..16].copy_from_slice(&index_offset.to_le_bytes());
    t[16..].copy_from_slice(&index_len.to_le_bytes());
    t
}

pub fn parse_payload_trailer(t: &[u8], payload: u64) -> Result<(u64, u64), String> {
    if t.len() != PAYLOAD_TRAILER_LEN as usize || &t[..8] != INDEX_MAGIC {
        return Err("the payload does not end in an index trailer".into());
    }
    let off = u64::from_le_bytes(t[8..16].try_into().expect("8 bytes"));
    let len = u64::from_le_bytes(t[16..].try_into().expect("8 bytes"));
    match off.checked_add(len) {
        Some(end) if end <= payload - PAYLOAD_TRAILER_LEN => Ok((off, len)),
        _ => Err("the index lies outside the payload".into()),
    }
}

/// Sign a manifest: a C2SP signed note whose text is the manifest's JSON on one line.
pub fn sign_manifest(m: &Manifest, signer: &Signer) -> Result<String, String> {
    let text = serde_json::to_string(m).expect("manifests serialise") + "\n";
    athar_tlog::sign_note(&text, &[signer]).map_err(|e| e.to_string())
}

/// Open a signed manifest and check its signature against the key it names. Whether that
/// key is trusted is the caller's decision.
pub fn open_manifest(note: &str) -> Result<(Manifest, Verifier), String> {
    let text_end = note
        .find('\n')
        .ok_or("not a signed manifest (no line break)")?;
    let claimed: Manifest = serde_json::from_str(&note[..text_end])
        .map_err(|e| format!("not a bundle manifest: {e}"))?;
    let verifier = Verifier::from_vkey(&claimed.signer)
        .map_err(|e| format!("the manifest names no valid signer key: {e}"))?;
    let opened = athar_tlog::open_note(note, &[&verifier]).map_err(|e| match e {
        athar_tlog::Error::BadSignature { .. } | athar_tlog::Error::NoKnownSignature { .. } => {
            "the manifest's signature does not match its content: it was altered or forged"
                .to_string()
        }
        other => format!("the manifest's signature cannot be checked: {other}"),
    })?;
    let m: Manifest = serde_json::from_str(opened.text.trim_end_matches('\n'))
        .map_err(|e| format!("not a bundle manifest: {e}"))?;
    m.check()?;
    Ok((m, verifier))
}

/// One object in the payload: where its age file lies, and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexObject {
    pub offset: u64,
    pub length: u64,
    pub sha256: String,
    pub size: u64,
}

/// The encrypted index at the end of the payload.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Index {
    pub format: String,
    pub version: u32,
    pub bundle: String,
    pub objects: Vec<IndexObject>,
    /// The signer's custody events for this bundle, as signed lines, in order.
    pub feed: Vec<String>,
    /// Export bundles: the sender's checkpoint after the events in `feed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<String>,
    /// Export bundles: consistency proof text from the `since` checkpoint to `checkpoint`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consistency: Option<String>,
}

/// Padmé padding (Nikitin et al., PETS 2019): the padded length reveals at most
/// O(log log L) bits of L, at a cost of at most 12 %.
pub fn padme(len: u64) -> u64 {
    if len < 2 {
        return len;
    }
    let e = 63 - len.leading_zeros() as u64; // floor(log2 len)
    let s = 64 - e.leading_zeros() as u64; // floor(log2 e) + 1
    let z = e - s;
    let mask = (1u64 << z) - 1;
    (len + mask) & !mask
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padme_bounds() {
        for len in [
            0u64,
            1,
            2,
            3,
            9,
            100,
            1000,
            65_536,
            1_000_003,
            7_777_777_777,
        ] {
            let p = padme(len);
            assert!(p >= len);
            assert!(p as f64 <= len as f64 * 1.12 + 1.0, "{len} -> {p}");
        }
        assert_eq!(padme(1000), 1024);
    }

    #[test]
    fn header_round_trip() {
        let h = part_header(&[7; 16], 3, 11);
        assert_eq!(parse_header(&h), Some(([7; 16], 3, 11)));
        let mut bad = h;
        bad[0] ^= 1;
        assert_eq!(parse_header(&bad), None);
    }
}
