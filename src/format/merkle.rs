//! RFC 6962 Merkle tree hashing: leaf = SHA-256(0x00 || data), node = SHA-256(0x01 || l || r),
//! the tree over n leaves splits at the largest power of two below n, and the root of no
//! leaves is SHA-256 of the empty string.

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// The leaf hash of a chunk given as consecutive parts (header, block header, data).
pub fn leaf_hash(parts: &[&[u8]]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// The leaf hashes of several chunks, each given as consecutive parts, hashed together (see
/// [`super::multi_sha256`]); the same as [`leaf_hash`] of each.
pub fn leaf_hashes(chunks: &[&[&[u8]]]) -> Vec<Hash> {
    let prefixed: Vec<Vec<&[u8]>> = chunks
        .iter()
        .map(|parts| {
            std::iter::once(&[0u8][..])
                .chain(parts.iter().copied())
                .collect()
        })
        .collect();
    let messages: Vec<&[&[u8]]> = prefixed.iter().map(|m| &m[..]).collect();
    super::multi_sha256::sha256_many(&messages)
}

pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Root of an append-only tree kept in O(log n) memory: the roots of the perfect subtrees
/// that the binary representation of the leaf count describes, largest first.
#[derive(Debug, Clone, Default)]
pub struct MerkleAccumulator {
    /// (subtree root, number of leaves in it), sizes strictly decreasing powers of two.
    stack: Vec<(Hash, u64)>,
    count: u64,
}

impl MerkleAccumulator {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn push(&mut self, leaf: Hash) {
        let mut node = (leaf, 1u64);
        while let Some(&(top, size)) = self.stack.last() {
            if size != node.1 {
                break;
            }
            self.stack.pop();
            node = (node_hash(&top, &node.0), size * 2);
        }
        self.stack.push(node);
        self.count += 1;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// The RFC 6962 root of every leaf pushed so far.
    pub fn root(&self) -> Hash {
        let mut iter = self.stack.iter().rev();
        match iter.next() {
            None => empty_root(),
            Some(&(last, _)) => iter.fold(last, |acc, (left, _)| node_hash(left, &acc)),
        }
    }
}

/// The RFC 6962 definition, recursively; used to check the accumulator.
pub fn root_of(leaves: &[Hash]) -> Hash {
    match leaves.len() {
        0 => empty_root(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..]))
        }
    }
}

/// The largest power of two strictly below `n` (n ≥ 2): where RFC 6962 splits a tree.
fn split(n: usize) -> usize {
    1usize << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// RFC 6962 §2.1.1: the audit path of leaf `m` among `leaves`, the roots of the sibling
/// subtrees from the leaf's level up to the root's children.
pub fn audit_path(leaves: &[Hash], m: usize) -> Vec<Hash> {
    let n = leaves.len();
    if n <= 1 || m >= n {
        return Vec::new();
    }
    let k = split(n);
    let (mut path, sibling) = if m < k {
        (audit_path(&leaves[..k], m), root_of(&leaves[k..]))
    } else {
        (audit_path(&leaves[k..], m - k), root_of(&leaves[..k]))
    };
    path.push(sibling);
    path
}

/// RFC 9162 §2.1.3.2: the root a leaf hash and its audit path lead to, for leaf `index` of a
/// tree of `size` leaves; `None` when the path does not fit the index and size.
pub fn root_from_audit_path(leaf: &Hash, index: u64, size: u64, path: &[Hash]) -> Option<Hash> {
    if index >= size {
        return None;
    }
    let (mut f, mut s) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if s == 0 {
            return None;
        }
        if f & 1 == 1 || f == s {
            r = node_hash(p, &r);
            while f & 1 == 0 && f != 0 {
                f >>= 1;
                s >>= 1;
            }
        } else {
            r = node_hash(&r, p);
        }
        f >>= 1;
        s >>= 1;
    }
    (s == 0).then_some(r)
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn largest_power_of_two_below(n: usize) -> usize {
        let mut k = 1;
        while k * 2 < n {
            k *= 2;
        }
        k
    }

    #[test]
    fn split_point_is_largest_power_of_two_below_n() {
        for n in 2..200usize {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&[&i.to_le_bytes()])).collect();
            let k = largest_power_of_two_below(n);
            assert_eq!(
                root_of(&leaves),
                node_hash(&root_of(&leaves[..k]), &root_of(&leaves[k..])),
                "n={n}"
            );
        }
    }

    #[test]
    fn accumulator_matches_recursive_definition() {
        let mut acc = MerkleAccumulator::new();
        let mut leaves = Vec::new();
        assert_eq!(acc.root(), empty_root());
        for i in 0..300u32 {
            let l = leaf_hash(&[&i.to_le_bytes()]);
            acc.push(l);
            leaves.push(l);
            assert_eq!(acc.root(), root_of(&leaves), "after {} leaves", i + 1);
        }
    }

    #[test]
    fn every_audit_path_leads_to_the_root_and_only_for_its_leaf() {
        for n in 1..70usize {
            let leaves: Vec<Hash> = (0..n).map(|i| leaf_hash(&[&i.to_le_bytes()])).collect();
            let root = root_of(&leaves);
            let depth = usize::BITS - (n - 1).leading_zeros();
            for m in 0..n {
                let path = audit_path(&leaves, m);
                assert!(path.len() <= depth as usize, "n={n} m={m}: {}", path.len());
                let (mi, ni) = (m as u64, n as u64);
                assert_eq!(root_from_audit_path(&leaves[m], mi, ni, &path), Some(root));
                // Another leaf, another index or another size does not lead there.
                let other = leaf_hash(&[b"edited"]);
                assert_ne!(root_from_audit_path(&other, mi, ni, &path), Some(root));
                if n > 1 {
                    let wrong = (m + 1) % n;
                    assert_ne!(
                        root_from_audit_path(&leaves[m], wrong as u64, ni, &path),
                        Some(root),
                        "n={n} m={m} as {wrong}"
                    );
                }
                // A path cut short or padded does not fit the tree's shape.
                if let Some((_, short)) = path.split_last() {
                    assert_eq!(root_from_audit_path(&leaves[m], mi, ni, short), None);
                }
                let mut long = path.clone();
                long.push(root);
                assert_eq!(root_from_audit_path(&leaves[m], mi, ni, &long), None);
            }
            assert_eq!(
                root_from_audit_path(&leaves[0], n as u64, n as u64, &[]),
                None
            );
        }
    }

    #[test]
    fn rfc6962_empty_and_single_leaf_vectors() {
        // SHA-256("") and SHA-256(0x00) are the RFC 6962 test tree's empty root and empty leaf.
        assert_eq!(
            hex(&empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(
            hex(&leaf_hash(&[])),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
    }
}
