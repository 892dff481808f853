//! RFC 6962 §2.1 Merkle hash trees: leaf and node hashing, tree heads, audit paths
//! (inclusion proofs) and consistency proofs, plus the RFC 9162 §2.1.3/§2.1.4 verifiers the
//! tests use to check what the log hands out.
//!
//! The functions are a line-for-line transcription of the RFC's recursive definitions, over
//! `(start, len)` ranges of the leaves. The tree also keeps the hash of every complete,
//! aligned subtree (2^h leaves starting at a multiple of 2^h; ~2n hashes in all), which is
//! every power-of-two range those definitions ask for: a tree head costs O(log n) hashes and a
//! proof O(log² n) instead of O(n). Recomputing was microseconds for a test's few thousand
//! entries but made appending the 100,000 entries of scripts/bench-memory quadratic (a head
//! and a proof over every leaf per append: ~10^10 hashes, tens of minutes of CPU); now an
//! append costs a few hundred hashes at any size.

use sha2::{Digest, Sha256};

/// A SHA-256 hash as the tree uses it.
pub type Hash = [u8; 32];

/// `MTH({d})` = SHA-256(0x00 || d).
pub fn leaf_hash(data: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

/// SHA-256(0x01 || left || right).
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The largest power of two strictly smaller than `n` (n >= 2): RFC 6962's split point `k`.
fn split(n: usize) -> usize {
    debug_assert!(n >= 2);
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// An append-only list of leaf hashes with RFC 6962 tree operations over any prefix.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// `levels[0]` holds the leaf hashes; `levels[h][i]` the head of the complete subtree of
    /// the 2^h leaves starting at `i * 2^h`, appended as soon as its last leaf is.
    levels: Vec<Vec<Hash>>,
}

/// Why a proof could not be produced for the sizes asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProofError {
    /// Index or sizes outside the tree (or `first > second`).
    OutOfRange,
}

impl std::fmt::Display for ProofError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("requested index or tree size is outside the log")
    }
}

impl std::error::Error for ProofError {}

impl Tree {
    pub fn new() -> Self {
        Self::default()
    }

    /// Append a leaf hash (already `leaf_hash`ed); returns its index.
    pub fn push(&mut self, leaf: Hash) -> usize {
        let index = self.len();
        let (mut node, mut i, mut h) = (leaf, index, 0);
        loop {
            if self.levels.len() == h {
                self.levels.push(Vec::new());
            }
            self.levels[h].push(node);
            // A right child completes its parent.
            if i & 1 == 0 {
                break;
            }
            node = node_hash(&self.levels[h][i - 1], &node);
            i >>= 1;
            h += 1;
        }
        index
    }

    pub fn len(&self) -> usize {
        self.levels.first().map_or(0, Vec::len)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn leaf(&self, index: usize) -> Option<&Hash> {
        self.levels.first()?.get(index)
    }

    /// The tree head of the first `size` leaves.
    pub fn root(&self, size: usize) -> Result<Hash, ProofError> {
        if size > self.len() {
            return Err(ProofError::OutOfRange);
        }
        Ok(self.mth(0, size))
    }

    /// `PATH(m, D[size])`: the audit path of leaf `index` in the tree of the first `size` leaves.
    pub fn inclusion_proof(&self, index: usize, size: usize) -> Result<Vec<Hash>, ProofError> {
        if index >= size || size > self.len() {
            return Err(ProofError::OutOfRange);
        }
        let mut out = Vec::new();
        self.path(index, 0, size, &mut out);
        Ok(out)
    }

    /// `PROOF(first, D[second])`: the consistency proof between two tree sizes.
    pub fn consistency_proof(&self, first: usize, second: usize) -> Result<Vec<Hash>, ProofError> {
        if first > second || second > self.len() {
            return Err(ProofError::OutOfRange);
        }
        let mut out = Vec::new();
        if first > 0 && first < second {
            self.subproof(first, 0, second, true, &mut out);
        }
        Ok(out)
    }

    /// `MTH(D[start..start + n])`. Every range the definitions below ask for starts at a
    /// multiple of its split point, so a power-of-two range is a kept complete subtree.
    fn mth(&self, start: usize, n: usize) -> Hash {
        match n {
            0 => Sha256::digest([]).into(),
            1 => self.levels[0][start],
            n if n.is_power_of_two() && start % n == 0 => {
                self.levels[n.trailing_zeros() as usize][start / n]
            }
            n => {
                let k = split(n);
                node_hash(&self.mth(start, k), &self.mth(start + k, n - k))
            }
        }
    }

    /// `PATH(m, D[start..start + n])`.
    fn path(&self, m: usize, start: usize, n: usize, out: &mut Vec<Hash>) {
        if n <= 1 {
            return;
        }
        let k = split(n);
        if m < k {
            self.path(m, start, k, out);
            out.push(self.mth(start + k, n - k));
        } else {
            self.path(m - k, start + k, n - k, out);
            out.push(self.mth(start, k));
        }
    }

    /// `SUBPROOF(m, D[start..start + n], complete)`.
    fn subproof(&self, m: usize, start: usize, n: usize, complete: bool, out: &mut Vec<Hash>) {
        if m == n {
            if !complete {
                out.push(self.mth(start, n));
            }
            return;
        }
        let k = split(n);
        if m <= k {
            self.subproof(m, start, k, complete, out);
            out.push(self.mth(start + k, n - k));
        } else {
            self.subproof(m - k, start + k, n - k, false, out);
            out.push(self.mth(start, k));
        }
    }
}

/// RFC 9162 §2.1.3.2: does `proof` show `leaf` at `index` in a tree of `size` with head `root`?
pub fn verify_inclusion(leaf: &Hash, index: u64, size: u64, proof: &[Hash], root: &Hash) -> bool {
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
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && &r == root
}

/// RFC 9162 §2.1.4.2: does `proof` show the tree of `second` extends the tree of `first`?
pub fn verify_consistency(
    first: u64,
    second: u64,
    proof: &[Hash],
    first_root: &Hash,
    second_root: &Hash,
) -> bool {
    if first > second {
        return false;
    }
    if first == second {
        return proof.is_empty() && first_root == second_root;
    }
    if first == 0 {
        return proof.is_empty();
    }
    let mut path: Vec<Hash> = proof.to_vec();
    if first.is_power_of_two() {
        path.insert(0, *first_root);
    }
    let Some((head, rest)) = path.split_first() else {
        return false;
    };
    let (mut fn_, mut sn) = (first - 1, second - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*head, *head);
    for c in rest {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fn_ & 1 == 0 {
                while fn_ & 1 == 0 && fn_ != 0 {
                    fn_ >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && &fr == first_root && &sr == second_root
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

    // The RFC 6962 reference vectors used by Certificate Transparency implementations
    // (transparency-dev/merkle testonly): eight leaves, the head of every prefix, and the
    // published inclusion and consistency paths.
    const LEAVES: [&str; 8] = [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ];
    const ROOTS: [&str; 9] = [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ];

    fn reference_tree() -> Tree {
        let mut t = Tree::new();
        for l in LEAVES {
            t.push(leaf_hash(&unhex(l)));
        }
        t
    }

    #[test]
    fn tree_heads_match_rfc6962_vectors() {
        let t = reference_tree();
        for (size, want) in ROOTS.iter().enumerate() {
            assert_eq!(
                t.root(size).unwrap(),
                h(want),
                "tree head of size {size} must match the reference"
            );
        }
    }

    #[test]
    fn inclusion_proofs_match_rfc6962_vectors() {
        let t = reference_tree();
        let cases: [(usize, usize, &[&str]); 4] = [
            (
                0,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                5,
                8,
                &[
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
            (
                2,
                3,
                &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
            ),
            (
                1,
                5,
                &[
                    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
                ],
            ),
        ];
        for (index, size, want) in cases {
            let got = t.inclusion_proof(index, size).unwrap();
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(
                got, want,
                "audit path of leaf {index} in tree {size} must match the reference"
            );
            let root = t.root(size).unwrap();
            assert!(
                verify_inclusion(
                    t.leaf(index).unwrap(),
                    index as u64,
                    size as u64,
                    &got,
                    &root
                ),
                "the reference path of leaf {index} in tree {size} must verify"
            );
        }
    }

    #[test]
    fn consistency_proofs_match_rfc6962_vectors() {
        let t = reference_tree();
        let cases: [(usize, usize, &[&str]); 3] = [
            (1, 1, &[]),
            (
                1,
                8,
                &[
                    "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
                    "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
                    "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
                ],
            ),
            (
                6,
                8,
                &[
                    "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
                    "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
                    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
                ],
            ),
        ];
        for (first, second, want) in cases {
            let got = t.consistency_proof(first, second).unwrap();
            let want: Vec<Hash> = want.iter().map(|s| h(s)).collect();
            assert_eq!(
                got, want,
                "consistency proof {first}->{second} must match the reference"
            );
        }
        let two_five = t.consistency_proof(2, 5).unwrap();
        assert_eq!(
            two_five,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
            "consistency proof 2->5 must match the reference"
        );
    }

    #[test]
    fn every_proof_verifies_and_tampering_is_caught() {
        let mut t = Tree::new();
        for i in 0..37u8 {
            t.push(leaf_hash(&[i, i.wrapping_mul(7)]));
        }
        for size in 1..=t.len() {
            let root = t.root(size).unwrap();
            for index in 0..size {
                let p = t.inclusion_proof(index, size).unwrap();
                let leaf = *t.leaf(index).unwrap();
                assert!(
                    verify_inclusion(&leaf, index as u64, size as u64, &p, &root),
                    "leaf {index} of {size} must verify"
                );
                if size > 1 {
                    let other = (index + 1) % size;
                    assert!(
                        !verify_inclusion(&leaf, other as u64, size as u64, &p, &root),
                        "a proof must not verify at another index"
                    );
                }
            }
            for first in 0..=size {
                let p = t.consistency_proof(first, size).unwrap();
                let r1 = t.root(first).unwrap();
                assert!(
                    verify_consistency(first as u64, size as u64, &p, &r1, &root),
                    "consistency {first}->{size} must verify"
                );
                if first > 0 && first < size {
                    let mut bad = p.clone();
                    bad[0][0] ^= 1;
                    assert!(
                        !verify_consistency(first as u64, size as u64, &bad, &r1, &root),
                        "a tampered consistency proof {first}->{size} must fail"
                    );
                }
            }
        }
    }

    // The RFC's definitions over slices, recomputing every subtree: what the kept subtree
    // heads must reproduce exactly.
    fn naive_mth(leaves: &[Hash]) -> Hash {
        match leaves.len() {
            0 => Sha256::digest([]).into(),
            1 => leaves[0],
            n => {
                let k = split(n);
                node_hash(&naive_mth(&leaves[..k]), &naive_mth(&leaves[k..]))
            }
        }
    }

    fn naive_path(m: usize, leaves: &[Hash]) -> Vec<Hash> {
        let n = leaves.len();
        if n <= 1 {
            return Vec::new();
        }
        let k = split(n);
        let (mut p, other) = if m < k {
            (naive_path(m, &leaves[..k]), naive_mth(&leaves[k..]))
        } else {
            (naive_path(m - k, &leaves[k..]), naive_mth(&leaves[..k]))
        };
        p.push(other);
        p
    }

    fn naive_subproof(m: usize, leaves: &[Hash], complete: bool) -> Vec<Hash> {
        let n = leaves.len();
        if m == n {
            return if complete {
                Vec::new()
            } else {
                vec![naive_mth(leaves)]
            };
        }
        let k = split(n);
        let (mut p, other) = if m <= k {
            (
                naive_subproof(m, &leaves[..k], complete),
                naive_mth(&leaves[k..]),
            )
        } else {
            (
                naive_subproof(m - k, &leaves[k..], false),
                naive_mth(&leaves[..k]),
            )
        };
        p.push(other);
        p
    }

    #[test]
    fn kept_subtree_heads_give_the_rfc_definitions_for_every_prefix() {
        let leaves: Vec<Hash> = (0..70u32).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let mut t = Tree::new();
        for (i, l) in leaves.iter().enumerate() {
            assert_eq!(t.push(*l), i, "push returns the new leaf's index");
        }
        for size in 0..=leaves.len() {
            let prefix = &leaves[..size];
            assert_eq!(
                t.root(size).unwrap(),
                naive_mth(prefix),
                "tree head of size {size} must equal MTH"
            );
            for index in 0..size {
                assert_eq!(
                    t.inclusion_proof(index, size).unwrap(),
                    naive_path(index, prefix),
                    "audit path of leaf {index} in tree {size} must equal PATH"
                );
            }
            for first in 1..size {
                assert_eq!(
                    t.consistency_proof(first, size).unwrap(),
                    naive_subproof(first, prefix, true),
                    "consistency proof {first}->{size} must equal PROOF"
                );
            }
        }
    }

    #[test]
    fn out_of_range_requests_are_errors_not_panics() {
        let t = reference_tree();
        assert_eq!(
            t.inclusion_proof(8, 8),
            Err(ProofError::OutOfRange),
            "index == size is outside"
        );
        assert_eq!(
            t.inclusion_proof(0, 9),
            Err(ProofError::OutOfRange),
            "size beyond the log is outside"
        );
        assert_eq!(
            t.consistency_proof(5, 4),
            Err(ProofError::OutOfRange),
            "first > second is refused"
        );
        assert_eq!(
            t.root(9),
            Err(ProofError::OutOfRange),
            "root beyond the log is refused"
        );
    }
}
