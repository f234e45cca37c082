//! RFC 9162 (Certificate Transparency v2) Merkle tree over SHA-256.
//!
//! We follow RFC 9162 section 2.1 exactly (it is the same tree as RFC 6962) so
//! that any CT / sumdb / C2SP tooling can check our proofs. The domain
//! separation prefixes (0x00 for leaves, 0x01 for nodes) stop a leaf from
//! being passed off as an interior node.
//!
//! Proof generation walks the tree top-down and hashes each sibling subtree
//! once, so root and proof computation cost O(n) hashes and O(log n) memory
//! beyond the caller's slice of leaf hashes.

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// A SHA-256 digest: a leaf hash, a node hash or a tree root.
pub type Hash = [u8; 32];

/// Root of the empty tree, SHA-256 of the empty string (RFC 9162 2.1.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// `SHA-256(0x00 || data)`: the hash of one log entry.
pub fn leaf_hash(data: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(data)
        .finalize()
        .into()
}

/// `SHA-256(0x01 || left || right)`: the hash of an interior node.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// The RFC's split point: the largest power of two strictly less than `n`.
/// Only meaningful for `n >= 2`.
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// Converts a caller's u64 position to a slice position; values that don't
/// fit can't index a slice anyway.
fn to_usize(v: u64) -> usize {
    usize::try_from(v).expect("tree size exceeds address space")
}

/// Merkle Tree Hash (MTH) of a list of leaf hashes.
///
/// O(n) hashes, O(log n) memory.
pub fn root(leaves: &[Hash]) -> Hash {
    let mut b = TreeBuilder::new();
    for leaf in leaves {
        b.push(*leaf);
    }
    b.root()
}

/// Root of the tree made of the first `size` leaves: what a checkpoint at
/// that size must carry.
///
/// # Panics
/// If `size > leaves.len()`.
pub fn root_at(leaves: &[Hash], size: u64) -> Hash {
    let size = to_usize(size);
    assert!(size <= leaves.len(), "root_at: size beyond leaves");
    root(&leaves[..size])
}

/// Audit path (RFC 9162 2.1.3.1, `PATH(m, D[n])`) for leaf `index` in the
/// tree of all `leaves`. Ordered leaf-sibling first, root-child last.
///
/// To prove against an older tree size, pass `&leaves[..size]`.
///
/// # Panics
/// If `index >= leaves.len()`.
pub fn inclusion_proof(leaves: &[Hash], index: u64) -> Vec<Hash> {
    let mut m = to_usize(index);
    assert!(m < leaves.len(), "inclusion_proof: index out of range");
    // Walk down from the root; each step records the sibling subtree's root.
    // PATH puts the deepest sibling first, so reverse at the end.
    let (mut lo, mut hi) = (0, leaves.len());
    let mut siblings = Vec::new();
    while hi - lo > 1 {
        let k = split(hi - lo);
        if m < k {
            siblings.push(root(&leaves[lo + k..hi]));
            hi = lo + k;
        } else {
            siblings.push(root(&leaves[lo..lo + k]));
            lo += k;
            m -= k;
        }
    }
    siblings.reverse();
    siblings
}

/// Consistency proof (RFC 9162 2.1.4.1, `PROOF(m, D[n])`) that the tree of
/// the first `old_size` leaves is a prefix of the tree of all `leaves`.
/// Empty when `old_size` is 0 or equal to the new size.
///
/// # Panics
/// If `old_size > leaves.len()`.
pub fn consistency_proof(leaves: &[Hash], old_size: u64) -> Vec<Hash> {
    let mut m = to_usize(old_size);
    assert!(
        m <= leaves.len(),
        "consistency_proof: old size beyond leaves"
    );
    if m == 0 || m == leaves.len() {
        return Vec::new();
    }
    // Iterative SUBPROOF(m, D, b): siblings are collected top-down and the
    // proof lists them bottom-up, after the optional old-subtree root.
    let (mut lo, mut hi) = (0, leaves.len());
    let mut b = true;
    let mut siblings = Vec::new();
    let mut proof = Vec::new();
    loop {
        let n = hi - lo;
        if m == n {
            if !b {
                proof.push(root(&leaves[lo..hi]));
            }
            break;
        }
        let k = split(n);
        if m <= k {
            siblings.push(root(&leaves[lo + k..hi]));
            hi = lo + k;
        } else {
            siblings.push(root(&leaves[lo..lo + k]));
            lo += k;
            m -= k;
            b = false;
        }
    }
    proof.extend(siblings.into_iter().rev());
    proof
}

/// Checks an audit path with the algorithm of RFC 9162 2.1.3.2.
pub fn verify_inclusion(
    leaf_hash: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<()> {
    if index >= size {
        return Err(Error::IndexOutOfRange { index, size });
    }
    let (mut fnode, mut snode) = (index, size - 1);
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            return Err(Error::InvalidInclusionProof("proof is too long"));
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return Err(Error::InvalidInclusionProof("proof is too short"));
    }
    if r != *root {
        return Err(Error::InvalidInclusionProof("computed root does not match"));
    }
    Ok(())
}

/// Checks a consistency proof with the algorithm of RFC 9162 2.1.4.2.
///
/// The RFC covers `0 < old < new`; the edge cases are decided here: equal
/// sizes need an empty proof and equal roots, and old size 0 needs an empty
/// proof and the empty-tree root (anything extends the empty log).
pub fn verify_consistency(
    old_size: u64,
    new_size: u64,
    old_root: &Hash,
    new_root: &Hash,
    proof: &[Hash],
) -> Result<()> {
    let bad = |why| Err(Error::InvalidConsistencyProof(why));
    if old_size > new_size {
        return Err(Error::SizeOrder {
            old: old_size,
            new: new_size,
        });
    }
    if old_size == new_size {
        if !proof.is_empty() {
            return bad("proof must be empty for equal sizes");
        }
        if old_root != new_root {
            return bad("roots differ at equal sizes");
        }
        return Ok(());
    }
    if old_size == 0 {
        if !proof.is_empty() {
            return bad("proof must be empty from the empty tree");
        }
        if *old_root != EMPTY_ROOT {
            return bad("old root is not the empty-tree root");
        }
        return Ok(());
    }
    if proof.is_empty() {
        return bad("proof is empty");
    }
    // Step 2: for a perfect old tree the old root itself starts the path.
    let (first, rest) = if old_size.is_power_of_two() {
        (*old_root, proof)
    } else {
        (proof[0], &proof[1..])
    };
    let (mut fnode, mut snode) = (old_size - 1, new_size - 1);
    while fnode & 1 == 1 {
        fnode >>= 1;
        snode >>= 1;
    }
    let (mut fr, mut sr) = (first, first);
    for c in rest {
        if snode == 0 {
            return bad("proof is too long");
        }
        if fnode & 1 == 1 || fnode == snode {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            while fnode & 1 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    if snode != 0 {
        return bad("proof is too short");
    }
    if fr != *old_root {
        return bad("old root does not match");
    }
    if sr != *new_root {
        return bad("new root does not match");
    }
    Ok(())
}

/// Incremental tree hasher: push leaf hashes in log order, read the root at
/// any time. Keeps only the roots of the perfect subtrees that make up the
/// tree (one per set bit of the size), so a caller can stream a log of any
/// length in O(log n) memory.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TreeBuilder {
    size: u64,
    /// Perfect subtree roots, largest (leftmost) first.
    peaks: Vec<Hash>,
}

impl TreeBuilder {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Resumes from saved state ([`Self::size`], [`Self::peaks`]) so a log
    /// need not be rehashed from the start after a restart.
    pub fn from_peaks(size: u64, peaks: Vec<Hash>) -> Result<Self> {
        if peaks.len() != size.count_ones() as usize {
            return Err(Error::InvalidTreeState {
                size,
                peaks: peaks.len(),
            });
        }
        Ok(Self { size, peaks })
    }

    /// Appends a leaf hash (see [`leaf_hash`]).
    pub fn push(&mut self, leaf: Hash) {
        // Merge equal-sized perfect subtrees, like carrying in binary addition.
        let mut h = leaf;
        let mut s = self.size;
        while s & 1 == 1 {
            let left = self.peaks.pop().expect("one peak per set bit");
            h = node_hash(&left, &h);
            s >>= 1;
        }
        self.peaks.push(h);
        self.size = self.size.checked_add(1).expect("tree size overflow");
    }

    /// Appends an entry, hashing it as a leaf.
    pub fn push_data(&mut self, data: &[u8]) {
        self.push(leaf_hash(data));
    }

    /// Number of leaves pushed so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// Roots of the perfect subtrees, largest first: the state to persist.
    pub fn peaks(&self) -> &[Hash] {
        &self.peaks
    }

    /// Current tree root. The RFC split always puts the largest perfect
    /// subtree on the left, so the root is the peaks folded right to left.
    pub fn root(&self) -> Hash {
        let mut it = self.peaks.iter().rev();
        let Some(last) = it.next() else {
            return EMPTY_ROOT;
        };
        it.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unhex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    fn h(s: &str) -> Hash {
        unhex(s).try_into().unwrap()
    }

    // --- Naive reference: the RFC's recursive definitions, transcribed. ---

    fn k_of(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    fn mth(d: &[Hash]) -> Hash {
        match d.len() {
            0 => Sha256::digest([]).into(),
            1 => d[0],
            n => {
                let k = k_of(n);
                node_hash(&mth(&d[..k]), &mth(&d[k..]))
            }
        }
    }

    fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
        let n = d.len();
        if n == 1 {
            return vec![];
        }
        let k = k_of(n);
        if m < k {
            let mut p = path(m, &d[..k]);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = path(m - k, &d[k..]);
            p.push(mth(&d[..k]));
            p
        }
    }

    fn subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
        let n = d.len();
        if m == n {
            return if b { vec![] } else { vec![mth(d)] };
        }
        let k = k_of(n);
        if m <= k {
            let mut p = subproof(m, &d[..k], b);
            p.push(mth(&d[k..]));
            p
        } else {
            let mut p = subproof(m - k, &d[k..], false);
            p.push(mth(&d[..k]));
            p
        }
    }

    fn leaves(n: usize) -> Vec<Hash> {
        (0..n)
            .map(|i| leaf_hash(&(i as u64).to_be_bytes()))
            .collect()
    }

    fn flip(h: &Hash, bit: usize) -> Hash {
        let mut x = *h;
        x[bit / 8 % 32] ^= 1 << (bit % 8);
        x
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, <Hash>::from(Sha256::digest([])));
        assert_eq!(root(&[]), EMPTY_ROOT);
        assert_eq!(TreeBuilder::new().root(), EMPTY_ROOT);
    }

    #[test]
    fn split_is_largest_power_of_two_below() {
        for n in 2..5000 {
            assert_eq!(split(n), k_of(n), "n={n}");
        }
    }

    // RFC 6962 reference vectors (transparency-dev/merkle testonly/constants.go).
    const CT_LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const CT_ROOTS: [&str; 8] = [
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    #[test]
    fn ct_reference_vectors() {
        let l: Vec<Hash> = CT_LEAVES.iter().map(|s| leaf_hash(&unhex(s))).collect();
        for n in 1..=8 {
            assert_eq!(root(&l[..n]), h(CT_ROOTS[n - 1]), "size {n}");
            assert_eq!(root_at(&l, n as u64), h(CT_ROOTS[n - 1]));
        }
        assert_eq!(
            inclusion_proof(&l, 0),
            [
                "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
            .map(h)
        );
        assert_eq!(
            inclusion_proof(&l, 5),
            [
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
            .map(h)
        );
        assert_eq!(
            consistency_proof(&l, 2),
            [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
            ]
            .map(h)
        );
        assert_eq!(
            consistency_proof(&l, 6),
            [
                "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            ]
            .map(h)
        );
        assert_eq!(
            consistency_proof(&l[..5], 2),
            [
                "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            ]
            .map(h)
        );
    }

    #[test]
    fn builder_matches_reference_and_resumes() {
        let l = leaves(300);
        let mut b = TreeBuilder::new();
        for (i, leaf) in l.iter().enumerate() {
            assert_eq!(b.root(), mth(&l[..i]));
            assert_eq!(b.peaks().len(), b.size().count_ones() as usize);
            let mut resumed = TreeBuilder::from_peaks(b.size(), b.peaks().to_vec()).unwrap();
            b.push(*leaf);
            resumed.push(*leaf);
            assert_eq!(resumed, b);
        }
        assert_eq!(b.root(), mth(&l));
        assert!(TreeBuilder::from_peaks(3, vec![[0; 32]]).is_err());
    }

    #[test]
    fn inclusion_all_sizes_and_indices() {
        let l = leaves(65);
        for n in 1..=64usize {
            let d = &l[..n];
            let r = root(d);
            assert_eq!(r, mth(d), "root n={n}");
            for m in 0..n {
                let (mu, nu) = (m as u64, n as u64);
                let p = inclusion_proof(d, mu);
                assert_eq!(p, path(m, d), "path n={n} m={m}");
                verify_inclusion(&d[m], mu, nu, &p, &r).unwrap();

                // Every tampering must fail.
                for i in 0..p.len() {
                    let mut q = p.clone();
                    q[i] = flip(&q[i], i * 7);
                    assert!(verify_inclusion(&d[m], mu, nu, &q, &r).is_err());
                }
                assert!(verify_inclusion(&flip(&d[m], 3), mu, nu, &p, &r).is_err());
                assert!(verify_inclusion(&d[m], mu, nu, &p, &flip(&r, 9)).is_err());
                if n > 1 {
                    let other = (m + 1) % n;
                    assert!(verify_inclusion(&d[m], other as u64, nu, &p, &r).is_err());
                    assert!(verify_inclusion(&d[other], mu, nu, &p, &r).is_err());
                }
                // The root alone does not commit to the size (the checkpoint
                // signs both), but a size giving another path shape must fail.
                for other in [n - 1, n + 1] {
                    if m < other && path(m, &l[..other]).len() != p.len() {
                        assert!(verify_inclusion(&d[m], mu, other as u64, &p, &r).is_err());
                    }
                }
                assert!(verify_inclusion(&d[m], nu, nu, &p, &r).is_err());
                if let Some((_, short)) = p.split_last() {
                    assert!(verify_inclusion(&d[m], mu, nu, short, &r).is_err());
                }
                let mut long = p.clone();
                long.push(r);
                assert!(verify_inclusion(&d[m], mu, nu, &long, &r).is_err());
            }
        }
    }

    #[test]
    fn consistency_all_sizes() {
        let l = leaves(65);
        for n in 1..=64usize {
            let d = &l[..n];
            let new_root = root(d);
            let nu = n as u64;
            for m in 0..=n {
                let mu = m as u64;
                let old_root = root(&d[..m]);
                let p = consistency_proof(d, mu);
                let want = if m == 0 || m == n {
                    vec![]
                } else {
                    subproof(m, d, true)
                };
                assert_eq!(p, want, "proof n={n} m={m}");
                verify_consistency(mu, nu, &old_root, &new_root, &p).unwrap();

                for i in 0..p.len() {
                    let mut q = p.clone();
                    q[i] = flip(&q[i], i * 5 + 1);
                    assert!(verify_consistency(mu, nu, &old_root, &new_root, &q).is_err());
                }
                if m != n {
                    assert!(
                        verify_consistency(mu, nu, &flip(&old_root, 0), &new_root, &p).is_err()
                    );
                }
                if m != 0 && m != n {
                    // (Every tree extends the empty one, whatever its root.)
                    assert!(
                        verify_consistency(mu, nu, &old_root, &flip(&new_root, 0), &p).is_err()
                    );
                }
                if m > 0 && m < n {
                    // As with inclusion, only sizes giving another proof shape
                    // are detectable from the hashes alone.
                    for (o, nn) in [(m, n + 1), (m, n - 1), (m - 1, n), (m + 1, n)] {
                        if 0 < o && o < nn && subproof(o, &l[..nn], true).len() != p.len() {
                            let r =
                                verify_consistency(o as u64, nn as u64, &old_root, &new_root, &p);
                            assert!(r.is_err(), "n={n} m={m} o={o} nn={nn}");
                        }
                    }
                    let (_, short) = p.split_last().unwrap();
                    assert!(verify_consistency(mu, nu, &old_root, &new_root, short).is_err());
                    let mut long = p.clone();
                    long.push(new_root);
                    assert!(verify_consistency(mu, nu, &old_root, &new_root, &long).is_err());
                    assert!(verify_consistency(mu, nu, &old_root, &new_root, &[]).is_err());
                }
            }
            // Equal sizes with different roots, and the wrong direction.
            assert!(verify_consistency(nu, nu, &new_root, &flip(&new_root, 1), &[]).is_err());
            assert!(verify_consistency(nu + 1, nu, &new_root, &new_root, &[]).is_err());
        }
        // Size 0 must carry the empty-tree root.
        assert!(verify_consistency(0, 5, &[0; 32], &root(&l[..5]), &[]).is_err());
    }

    #[test]
    fn large_tree_proofs() {
        // Big enough to exercise deep paths; the builder streams the leaves.
        let n = 200_003usize;
        let l = leaves(n);
        let r = root(&l);
        let mut b = TreeBuilder::new();
        l.iter().for_each(|x| b.push(*x));
        assert_eq!(b.root(), r);
        for &m in &[0, 1, 65_535, 131_072, n - 1] {
            let p = inclusion_proof(&l, m as u64);
            verify_inclusion(&l[m], m as u64, n as u64, &p, &r).unwrap();
        }
        for &m in &[1usize, 4096, 100_000, n - 1] {
            let p = consistency_proof(&l, m as u64);
            verify_consistency(m as u64, n as u64, &root(&l[..m]), &r, &p).unwrap();
        }
    }
}
