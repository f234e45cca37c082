//! The cryptography, from the public specifications: SHA-256 Merkle trees (RFC 9162 §2.1),
//! C2SP signed notes and checkpoints with Ed25519 keys, and the `c2sp.org/tlog-proof` text.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

pub fn sha256(bytes: &[u8]) -> Hash {
    Sha256::digest(bytes).into()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn b64(s: &str) -> Result<Vec<u8>, String> {
    B64.decode(s)
        .map_err(|_| format!("{s:?} is not valid base64"))
}

pub fn b64_encode(bytes: &[u8]) -> String {
    B64.encode(bytes)
}

pub fn leaf_hash(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    h.finalize().into()
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Strict Ed25519 (no malleable or small-order signatures).
pub fn ed25519_ok(key: &VerifyingKey, msg: &[u8], sig: &[u8]) -> bool {
    let Ok(sig) = <[u8; 64]>::try_from(sig) else {
        return false;
    };
    key.verify_strict(msg, &Signature::from_bytes(&sig)).is_ok()
}

/// A signed-note verifier key, `<name>+<hex key hash>+<base64(0x01 || public key)>`.
#[derive(Clone)]
pub struct LogKey {
    pub name: String,
    pub id: [u8; 4],
    pub key: VerifyingKey,
}

pub fn parse_vkey(vkey: &str) -> Result<LogKey, String> {
    let parts: Vec<&str> = vkey.trim().splitn(3, '+').collect();
    let [name, id_hex, key_b64] = parts[..] else {
        return Err("not a key of the form NAME+HASH+KEY".into());
    };
    let raw = b64(key_b64)?;
    if raw.len() != 33 || raw[0] != 0x01 {
        return Err("not an Ed25519 signed-note key".into());
    }
    let pk: [u8; 32] = raw[1..].try_into().expect("32 bytes");
    let key = VerifyingKey::from_bytes(&pk).map_err(|_| "not a valid Ed25519 point")?;
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([0x0a, 0x01]);
    h.update(pk);
    let d: Hash = h.finalize().into();
    let id = [d[0], d[1], d[2], d[3]];
    if id_hex != hex(&id) {
        return Err("its key hash does not match the key".into());
    }
    Ok(LogKey {
        name: name.to_string(),
        id,
        key,
    })
}

/// A checkpoint: origin, tree size and root hash.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeHead {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
}

/// Check a signed note's signature by `key` and read the checkpoint it carries.
pub fn open_checkpoint(note: &str, key: &LogKey) -> Result<TreeHead, String> {
    if note.bytes().any(|b| b < 0x20 && b != b'\n') {
        return Err("contains a control character".into());
    }
    let sep = note.rfind("\n\n").ok_or("has no signature block")?;
    let (text, block) = (&note[..=sep], &note[sep + 2..]);
    let mut signed = false;
    for line in block.lines() {
        let rest = line
            .strip_prefix("\u{2014} ")
            .ok_or("has a malformed signature line")?;
        let (name, sig_b64) = rest
            .split_once(' ')
            .ok_or("has a malformed signature line")?;
        let blob = b64(sig_b64)?;
        if name != key.name || blob.len() < 4 || blob[..4] != key.id {
            continue; // someone else's signature, e.g. a witness: not ours to judge
        }
        if !ed25519_ok(&key.key, text.as_bytes(), &blob[4..]) {
            return Err(format!(
                "has a signature by {} that does not verify",
                key.name
            ));
        }
        signed = true;
    }
    if !signed {
        return Err(format!("is not signed by the key {}", key.name));
    }
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() < 3 {
        return Err("has no origin, size and root".into());
    }
    let size: u64 = lines[1].parse().map_err(|_| "has a malformed tree size")?;
    let root: Hash = b64(lines[2])?
        .try_into()
        .map_err(|_| "has a root that is not 32 bytes")?;
    if lines[0] != key.name {
        return Err(format!("names the log {:?}, not {:?}", lines[0], key.name));
    }
    Ok(TreeHead {
        origin: lines[0].to_string(),
        size,
        root,
    })
}

/// A parsed `c2sp.org/tlog-proof@v1` (or our consistency proof): header values, the hashes
/// and the checkpoint note that follows the empty line.
pub struct ProofText {
    pub numbers: Vec<(String, u64)>,
    pub hashes: Vec<Hash>,
    pub note: String,
}

pub fn parse_proof(text: &str, header: &str) -> Result<ProofText, String> {
    let (head, note) = text
        .split_once("\n\n")
        .ok_or("has no checkpoint after its hashes")?;
    let mut lines = head.lines();
    if lines.next() != Some(header) {
        return Err(format!("does not start with {header}"));
    }
    let mut numbers = Vec::new();
    let mut hashes = Vec::new();
    for line in lines {
        if let Some((word, n)) = line.split_once(' ') {
            if word == "extra" {
                continue;
            }
            let n: u64 = n.parse().map_err(|_| format!("malformed line {line:?}"))?;
            numbers.push((word.to_string(), n));
        } else {
            hashes.push(
                b64(line)?
                    .try_into()
                    .map_err(|_| "holds a hash that is not 32 bytes")?,
            );
        }
    }
    Ok(ProofText {
        numbers,
        hashes,
        note: note.to_string(),
    })
}

impl ProofText {
    pub fn number(&self, word: &str) -> Result<u64, String> {
        self.numbers
            .iter()
            .find(|(w, _)| w == word)
            .map(|(_, n)| *n)
            .ok_or_else(|| format!("has no {word} line"))
    }
}

/// RFC 9162 §2.1.3.2: does `proof` lead from leaf `index` to `root` in a tree of `size`?
pub fn inclusion_ok(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node_hash(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && r == *root
}

/// RFC 9162 §2.1.4.2: is the tree (`size1`, `root1`) a prefix of (`size2`, `root2`)?
pub fn consistency_ok(size1: u64, size2: u64, proof: &[Hash], root1: &Hash, root2: &Hash) -> bool {
    if size1 > size2 {
        return false;
    }
    if size1 == size2 {
        return proof.is_empty() && root1 == root2;
    }
    if size1 == 0 {
        return proof.is_empty();
    }
    let mut path = proof.to_vec();
    if size1.is_power_of_two() {
        path.insert(0, *root1);
    }
    let Some((first, rest)) = path.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (size1 - 1, size2 - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && fr == *root1 && sr == *root2
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The worked example of docs/formats/checkpoint.md, checked by this independent code.
    #[test]
    fn worked_example() {
        let key =
            parse_vkey("athar.example/log+7bb33016+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c")
                .unwrap();
        let note = "athar.example/log\n3\nlPvQ3YNvUDAWkubQ6t5yjuGexSv/8WBu2AfIV11aqhk=\n\n\u{2014} athar.example/log e7MwFjBv3LDbGQYDE4bwKxRuAUQ82uBrgz8wogjt8wcdK0l8ykJrW2s62ul8lRMHfVCzN9B7VahCxEpDQOgd61NA1wQ=\n";
        let head = open_checkpoint(note, &key).unwrap();
        assert_eq!(head.size, 3);
        let leaf1 = leaf_hash(b"entry 1");
        let proof = [
            b64("dziFphNIniTOLPdhmdakI/BC5LvxLX7s7pEu8nbGVwE=")
                .unwrap()
                .try_into()
                .unwrap(),
            b64("V8efTzGuApxdS9MLBzwnyU35NDiytGl+Hh7vW8A5SkE=")
                .unwrap()
                .try_into()
                .unwrap(),
        ];
        assert!(inclusion_ok(&leaf1, 1, 3, &proof, &head.root));
        assert!(!inclusion_ok(&leaf1, 0, 3, &proof, &head.root));
        let old_root = leaf_hash(b"entry 0");
        let cons: Vec<Hash> = [
            "Lfs2xvZsrDYUKc9G34aKuCQtOmRB8Qmcj7P5jsXRCKQ=",
            "V8efTzGuApxdS9MLBzwnyU35NDiytGl+Hh7vW8A5SkE=",
        ]
        .iter()
        .map(|s| b64(s).unwrap().try_into().unwrap())
        .collect();
        assert!(consistency_ok(1, 3, &cons, &old_root, &head.root));
        assert!(!consistency_ok(1, 3, &cons, &leaf1, &head.root));
        let tampered = note.replace("\n3\n", "\n4\n");
        assert!(open_checkpoint(&tampered, &key).is_err());
    }
}
