//! RFC 6962 Merkle tree hashing and inclusion proofs (RFC 9162 §2.1.3.2), the part of a
//! transparency log proof that needs no key: the leaf and node hashes and the root an
//! inclusion proof leads to. Matches sigstore-rs `crypto/merkle/`.

use crate::crypto::sha256;

/// RFC 6962 §2.1 leaf hash: SHA-256(0x00 || entry).
pub fn leaf_hash(entry: &[u8]) -> [u8; 32] {
    let mut buf = Vec::with_capacity(entry.len() + 1);
    buf.push(0x00);
    buf.extend_from_slice(entry);
    sha256(&buf)
}

/// RFC 6962 §2.1 interior node hash: SHA-256(0x01 || left || right).
pub(crate) fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut buf = [0u8; 65];
    buf[0] = 0x01;
    buf[1..33].copy_from_slice(left);
    buf[33..].copy_from_slice(right);
    sha256(&buf)
}

/// The root an inclusion proof leads to (RFC 9162 §2.1.3.2), or `None` when the proof has
/// the wrong length for `index` in a tree of `tree_size` or the index is out of range.
pub fn root_from_inclusion_proof(
    leaf_hash: &[u8; 32],
    index: u64,
    tree_size: u64,
    proof: &[[u8; 32]],
) -> Option<[u8; 32]> {
    if index >= tree_size {
        return None;
    }
    let mut fnode = index;
    let mut snode = tree_size - 1;
    let mut r = *leaf_hash;
    for p in proof {
        if snode == 0 {
            return None;
        }
        if fnode & 1 == 1 || fnode == snode {
            r = node_hash(p, &r);
            if fnode & 1 == 0 {
                while fnode & 1 == 0 && fnode != 0 {
                    fnode >>= 1;
                    snode >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    (snode == 0).then_some(r)
}

/// Whether `proof` shows the leaf `leaf_hash` at `index` is in the tree of `tree_size` leaves
/// with root `root` (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf_hash: &[u8; 32],
    index: u64,
    tree_size: u64,
    proof: &[[u8; 32]],
    root: &[u8; 32],
) -> bool {
    root_from_inclusion_proof(leaf_hash, index, tree_size, proof).is_some_and(|r| r == *root)
}

#[cfg(test)]
mod tests {
    use super::super::hash32;
    use super::*;
    use crate::encoding::unhex;

    // RFC 6962 test vectors: the 8-leaf tree of certificate-transparency-go's merkle tests,
    // as carried by sigstore-rs (src/crypto/merkle/proof_verification.rs).
    fn leaves() -> Vec<Vec<u8>> {
        [
            "",
            "00",
            "10",
            "2021",
            "3031",
            "40414243",
            "5051525354555657",
            "606162636465666768696a6b6c6d6e6f",
        ]
        .iter()
        .map(|h| unhex(h).expect("hex"))
        .collect()
    }

    /// Root of the tree made of the first `n` leaves.
    fn root_of(n: usize) -> [u8; 32] {
        let h = match n {
            1 => "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            2 => "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            3 => "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
            4 => "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
            5 => "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
            6 => "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
            7 => "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
            8 => "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
            _ => unreachable!("the vector tree has 8 leaves"),
        };
        h32(h)
    }

    fn h32(h: &str) -> [u8; 32] {
        hash32(&unhex(h).expect("hex")).expect("32 bytes")
    }

    /// (1-based leaf, tree size, audit path).
    fn inclusion_vectors() -> Vec<(u64, u64, Vec<[u8; 32]>)> {
        vec![
            (
                1,
                8,
                vec![
                    h32("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                    h32("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h32("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
                ],
            ),
            (
                6,
                8,
                vec![
                    h32("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                    h32("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                    h32("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
                ],
            ),
            (
                3,
                3,
                vec![h32(
                    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
                )],
            ),
            (
                2,
                5,
                vec![
                    h32("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                    h32("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                    h32("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                ],
            ),
        ]
    }

    #[test]
    fn rfc6962_inclusion_vectors_verify() {
        let leaves = leaves();
        assert_eq!(
            leaf_hash(&leaves[0]),
            root_of(1),
            "a one-leaf tree's root is its leaf hash"
        );
        assert!(
            verify_inclusion(&leaf_hash(&leaves[0]), 0, 1, &[], &root_of(1)),
            "one leaf, empty proof"
        );
        for (leaf, size, proof) in inclusion_vectors() {
            let index = leaf - 1;
            let lh = leaf_hash(&leaves[index as usize]);
            let root = root_of(size as usize);
            assert_eq!(
                root_from_inclusion_proof(&lh, index, size, &proof),
                Some(root),
                "leaf {leaf} of {size} leads to the vector root"
            );
            assert!(
                verify_inclusion(&lh, index, size, &proof, &root),
                "leaf {leaf} of {size}"
            );
        }
    }

    /// (what, leaf hash, index, tree size, proof, root).
    type Probe = (&'static str, [u8; 32], u64, u64, Vec<[u8; 32]>, [u8; 32]);

    #[test]
    fn rfc6962_corrupted_inclusion_proofs_fail() {
        let leaves = leaves();
        for (leaf, size, proof) in inclusion_vectors() {
            let index = leaf - 1;
            let lh = leaf_hash(&leaves[index as usize]);
            let root = root_of(size as usize);
            let with = |extra_front: Option<[u8; 32]>, extra_back: Option<[u8; 32]>| {
                let mut p: Vec<[u8; 32]> = extra_front.into_iter().collect();
                p.extend_from_slice(&proof);
                p.extend(extra_back);
                p
            };
            let probes: Vec<Probe> = vec![
                (
                    "index - 1",
                    lh,
                    index.wrapping_sub(1),
                    size,
                    proof.clone(),
                    root,
                ),
                ("index + 1", lh, index + 1, size, proof.clone(), root),
                ("index ^ 2", lh, index ^ 2, size, proof.clone(), root),
                ("size / 2", lh, index, size / 2, proof.clone(), root),
                ("size * 2", lh, index, size * 2, proof.clone(), root),
                (
                    "wrong leaf",
                    *b"WrongLeafWrongLeafWrongLeafWrong",
                    index,
                    size,
                    proof.clone(),
                    root,
                ),
                ("zero root", lh, index, size, proof.clone(), [0; 32]),
                (
                    "trailing garbage",
                    lh,
                    index,
                    size,
                    with(None, Some([0; 32])),
                    root,
                ),
                (
                    "trailing root",
                    lh,
                    index,
                    size,
                    with(None, Some(root)),
                    root,
                ),
                (
                    "preceding garbage",
                    lh,
                    index,
                    size,
                    with(Some([0; 32]), None),
                    root,
                ),
                (
                    "truncated",
                    lh,
                    index,
                    size,
                    proof[..proof.len() - 1].to_vec(),
                    root,
                ),
            ];
            for (what, lh, index, size, proof, root) in probes {
                assert!(
                    !verify_inclusion(&lh, index, size, &proof, &root),
                    "leaf {leaf} of {size}: {what} must not verify"
                );
            }
        }
        assert_eq!(
            root_from_inclusion_proof(&[0; 32], 0, 0, &[]),
            None,
            "an empty tree has no leaves"
        );
        assert_eq!(
            root_from_inclusion_proof(&[0; 32], u64::MAX, u64::MAX, &[]),
            None,
            "index must be below the size"
        );
        assert!(
            root_from_inclusion_proof(&[0; 32], u64::MAX - 1, u64::MAX, &[[0; 32]; 63]).is_some(),
            "the last leaf of the largest tree (63 border hashes) computes without overflow"
        );
    }
}
