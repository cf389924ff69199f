//! RFC 6962 / RFC 9162 Merkle tree hashing and proofs.
//!
//! Leaf hash = SHA-256(0x00 ‖ leaf), node hash = SHA-256(0x01 ‖ left ‖ right). Storage keeps
//! the hash of every *perfect* subtree (2^level leaves starting at `index << level`); every
//! other hash the RFC defines is computed from those, so proofs cost O(log² n) lookups.

use crate::AuditError;
use sha2::{Digest, Sha256};

/// A SHA-256 digest.
pub type Hash = [u8; 32];

/// RFC 6962 leaf hash.
pub fn leaf_hash(leaf: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(leaf);
    h.finalize().into()
}

/// RFC 6962 interior node hash.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// The root of the empty tree: SHA-256 of nothing.
pub fn empty_root() -> Hash {
    Sha256::digest([]).into()
}

/// Where perfect-subtree hashes come from (a table, a vector, a tile cache …).
pub trait NodeSource {
    /// The hash of the perfect subtree of height `level` at position `index`.
    fn node(&self, level: u32, index: u64) -> Result<Hash, AuditError>;
}

/// The largest power of two strictly below `n` (n ≥ 2).
fn split(n: u64) -> u64 {
    debug_assert!(n >= 2);
    1u64 << (63 - (n - 1).leading_zeros())
}

/// MTH of leaves `[start, end)`, where `start` is aligned as the RFC's recursion guarantees.
pub fn subtree_hash(src: &dyn NodeSource, start: u64, end: u64) -> Result<Hash, AuditError> {
    let len = end - start;
    if len == 0 {
        return Ok(empty_root());
    }
    if len.is_power_of_two() && start.is_multiple_of(len) {
        return src.node(len.trailing_zeros(), start >> len.trailing_zeros());
    }
    let k = split(len);
    Ok(node_hash(
        &subtree_hash(src, start, start + k)?,
        &subtree_hash(src, start + k, end)?,
    ))
}

/// The root of the first `size` leaves.
pub fn root(src: &dyn NodeSource, size: u64) -> Result<Hash, AuditError> {
    subtree_hash(src, 0, size)
}

/// The root of the tree whose leaves from `from` on are given by their hashes (`tail`) and
/// whose perfect subtrees wholly before `from` come from `src`: what a reader computes to
/// authenticate the end of the log (every leaf in `tail`) against a signed root while
/// trusting nothing it read from storage.
pub fn root_with_tail(src: &dyn NodeSource, from: u64, tail: &[Hash]) -> Result<Hash, AuditError> {
    fn go(
        src: &dyn NodeSource,
        lo: u64,
        hi: u64,
        from: u64,
        tail: &[Hash],
    ) -> Result<Hash, AuditError> {
        let len = hi - lo;
        if hi <= from {
            return subtree_hash(src, lo, hi);
        }
        if len == 1 {
            return Ok(tail[(lo - from) as usize]);
        }
        let k = split(len);
        Ok(node_hash(
            &go(src, lo, lo + k, from, tail)?,
            &go(src, lo + k, hi, from, tail)?,
        ))
    }
    let size = from + tail.len() as u64;
    if size == 0 {
        return Ok(empty_root());
    }
    go(src, 0, size, from, tail)
}

/// The audit path for leaf `index` in the tree of `size` leaves (RFC 6962 §2.1.1), leaf-side first.
pub fn inclusion_proof(
    src: &dyn NodeSource,
    index: u64,
    size: u64,
) -> Result<Vec<Hash>, AuditError> {
    if index >= size {
        return Err(AuditError::BadRequest(format!(
            "leaf {index} is not in a tree of size {size}"
        )));
    }
    let mut path = Vec::new();
    path_rec(src, index, 0, size, &mut path)?;
    Ok(path)
}

fn path_rec(
    src: &dyn NodeSource,
    m: u64,
    start: u64,
    end: u64,
    out: &mut Vec<Hash>,
) -> Result<(), AuditError> {
    let n = end - start;
    if n <= 1 {
        return Ok(());
    }
    let k = split(n);
    if m < k {
        path_rec(src, m, start, start + k, out)?;
        out.push(subtree_hash(src, start + k, end)?);
    } else {
        path_rec(src, m - k, start + k, end, out)?;
        out.push(subtree_hash(src, start, start + k)?);
    }
    Ok(())
}

/// The consistency proof between tree sizes `old` and `new` (RFC 6962 §2.1.2).
pub fn consistency_proof(
    src: &dyn NodeSource,
    old: u64,
    new: u64,
) -> Result<Vec<Hash>, AuditError> {
    if old == 0 || old > new {
        return Err(AuditError::BadRequest(format!(
            "no consistency proof from size {old} to {new}"
        )));
    }
    let mut out = Vec::new();
    if old < new {
        subproof(src, old, 0, new, true, &mut out)?;
    }
    Ok(out)
}

fn subproof(
    src: &dyn NodeSource,
    m: u64,
    start: u64,
    end: u64,
    b: bool,
    out: &mut Vec<Hash>,
) -> Result<(), AuditError> {
    let n = end - start;
    if m == n {
        if !b {
            out.push(subtree_hash(src, start, end)?);
        }
        return Ok(());
    }
    let k = split(n);
    if m <= k {
        subproof(src, m, start, start + k, b, out)?;
        out.push(subtree_hash(src, start + k, end)?);
    } else {
        subproof(src, m - k, start + k, end, false, out)?;
        out.push(subtree_hash(src, start, start + k)?);
    }
    Ok(())
}

/// Verifies an inclusion proof (RFC 9162 §2.1.3.2).
pub fn verify_inclusion(
    leaf: &Hash,
    index: u64,
    size: u64,
    proof: &[Hash],
    root: &Hash,
) -> Result<(), AuditError> {
    if index >= size {
        return Err(AuditError::BadProof(format!(
            "index {index} is past the tree size {size}"
        )));
    }
    let (mut fn_, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in proof {
        if sn == 0 {
            return Err(AuditError::BadProof(
                "proof is longer than the tree is deep".into(),
            ));
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
    if sn != 0 {
        return Err(AuditError::BadProof(
            "proof is shorter than the tree is deep".into(),
        ));
    }
    if &r != root {
        return Err(AuditError::BadProof(format!(
            "leaf {index} does not lead to the root of size {size}"
        )));
    }
    Ok(())
}

/// Verifies a consistency proof between two roots (RFC 9162 §2.1.4.2).
pub fn verify_consistency(
    old: u64,
    new: u64,
    proof: &[Hash],
    old_root: &Hash,
    new_root: &Hash,
) -> Result<(), AuditError> {
    if old == 0 || old > new {
        return Err(AuditError::BadProof(format!(
            "sizes {old} → {new} cannot be consistent"
        )));
    }
    if old == new {
        return if proof.is_empty() && old_root == new_root {
            Ok(())
        } else {
            Err(AuditError::BadProof(
                "equal sizes need equal roots and an empty proof".into(),
            ))
        };
    }
    let mut proof: Vec<Hash> = proof.to_vec();
    if old.is_power_of_two() {
        proof.insert(0, *old_root);
    }
    let Some((first, rest)) = proof.split_first() else {
        return Err(AuditError::BadProof("empty consistency proof".into()));
    };
    let (mut fn_, mut sn) = (old - 1, new - 1);
    while fn_ & 1 == 1 {
        fn_ >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*first, *first);
    for c in rest {
        if sn == 0 {
            return Err(AuditError::BadProof("consistency proof is too long".into()));
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
    if sn != 0 {
        return Err(AuditError::BadProof(
            "consistency proof is too short".into(),
        ));
    }
    if &fr != old_root {
        return Err(AuditError::BadProof(format!(
            "proof does not reproduce the old root of size {old}"
        )));
    }
    if &sr != new_root {
        return Err(AuditError::BadProof(format!(
            "proof does not reproduce the new root of size {new}"
        )));
    }
    Ok(())
}

/// The right edge of a growing tree: one perfect-subtree hash per set bit of its size,
/// largest first. Enough to append leaves and to compute the root, in O(log n) memory.
#[derive(Debug, Default, Clone)]
pub struct RightEdge {
    size: u64,
    edge: Vec<(u32, Hash)>,
}

impl RightEdge {
    /// The right edge of the first `size` leaves of `src`.
    pub fn of(src: &dyn NodeSource, size: u64) -> Result<Self, AuditError> {
        let mut edge = Vec::new();
        let mut start = 0u64;
        for level in (0..64u32).rev() {
            if size & (1u64 << level) != 0 {
                edge.push((level, src.node(level, start >> level)?));
                start += 1u64 << level;
            }
        }
        Ok(Self { size, edge })
    }

    /// The right edge from its parts, as [`RightEdge::parts`] gave them (what a store keeps
    /// so it can append without reading the tree): one `(level, hash)` per set bit of `size`,
    /// largest first.
    pub fn from_parts(size: u64, edge: Vec<(u32, Hash)>) -> Result<Self, AuditError> {
        let want: Vec<u32> = (0..64u32)
            .rev()
            .filter(|l| size & (1u64 << l) != 0)
            .collect();
        let got: Vec<u32> = edge.iter().map(|(l, _)| *l).collect();
        if want != got {
            return Err(AuditError::BadRequest(format!(
                "a right edge of {size} leaves has subtrees of heights {want:?}, not {got:?}"
            )));
        }
        Ok(Self { size, edge })
    }

    /// The perfect-subtree hashes of the edge, `(level, hash)`, largest first.
    pub fn parts(&self) -> &[(u32, Hash)] {
        &self.edge
    }

    /// Appends a leaf by its hash; `completed(level, index, hash)` hears of every perfect
    /// subtree of two or more leaves it closes, smallest first.
    pub fn push<E>(
        &mut self,
        leaf_hash: Hash,
        mut completed: impl FnMut(u32, u64, &Hash) -> Result<(), E>,
    ) -> Result<(), E> {
        let index = self.size;
        let mut h = leaf_hash;
        let mut level = 0u32;
        while let Some(&(l, left)) = self.edge.last() {
            if l != level {
                break;
            }
            self.edge.pop();
            h = node_hash(&left, &h);
            level += 1;
            completed(level, index >> level, &h)?;
        }
        self.edge.push((level, h));
        self.size += 1;
        Ok(())
    }

    /// Appends a leaf by its hash, when nobody needs to hear of the completed subtrees.
    pub fn push_leaf_hash(&mut self, leaf_hash: Hash) {
        let Ok(()) = self.push(leaf_hash, |_, _, _| Ok::<_, std::convert::Infallible>(()));
    }

    /// The root of the leaves so far.
    pub fn root(&self) -> Hash {
        let mut it = self.edge.iter().rev();
        match it.next() {
            None => empty_root(),
            Some(&(_, last)) => it.fold(last, |acc, (_, left)| node_hash(left, &acc)),
        }
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// An in-memory tree that keeps every perfect-subtree hash, as the store does on disk.
#[derive(Debug, Default, Clone)]
pub struct MemoryTree {
    levels: Vec<Vec<Hash>>,
}

impl MemoryTree {
    /// Appends a leaf, completing every perfect subtree it closes.
    pub fn push(&mut self, leaf: &[u8]) {
        self.push_hash(leaf_hash(leaf));
    }

    /// Appends a leaf by its leaf hash (already computed), completing the subtrees it closes.
    pub fn push_hash(&mut self, leaf_hash: Hash) {
        let mut h = leaf_hash;
        let mut level = 0usize;
        loop {
            if self.levels.len() == level {
                self.levels.push(Vec::new());
            }
            let row = &mut self.levels[level];
            row.push(h);
            let idx = row.len() - 1;
            if idx.is_multiple_of(2) {
                break;
            }
            h = node_hash(&row[idx - 1], &h);
            level += 1;
        }
    }

    /// Number of leaves.
    pub fn len(&self) -> u64 {
        self.levels.first().map_or(0, |l| l.len() as u64)
    }

    /// Whether the tree has no leaves.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl NodeSource for MemoryTree {
    fn node(&self, level: u32, index: u64) -> Result<Hash, AuditError> {
        self.levels
            .get(level as usize)
            .and_then(|l| l.get(index as usize))
            .copied()
            .ok_or(AuditError::MissingNode { level, index })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(n: u64) -> MemoryTree {
        let mut t = MemoryTree::default();
        for i in 0..n {
            t.push(format!("leaf {i}").as_bytes());
        }
        t
    }

    #[test]
    fn root_with_tail_matches_the_root_at_every_split() {
        for n in [1u64, 2, 3, 7, 8, 13, 33] {
            let t = tree(n);
            for from in 0..=n {
                let tail: Vec<Hash> = (from..n).map(|i| t.node(0, i).unwrap()).collect();
                assert_eq!(
                    root_with_tail(&t, from, &tail).unwrap(),
                    root(&t, n).unwrap(),
                    "{n} {from}"
                );
            }
        }
    }

    #[test]
    fn known_answers_derived_by_hand() {
        // Empty tree: SHA-256("").
        assert_eq!(
            hex::encode(empty_root()),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        // One leaf: the root is the leaf hash, SHA-256(0x00).
        let mut t = MemoryTree::default();
        t.push(b"");
        assert_eq!(
            hex::encode(root(&t, 1).unwrap()),
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
        );
        // Three leaves a, b, c: H(1 ‖ H(1 ‖ H(0‖a) ‖ H(0‖b)) ‖ H(0‖c)), computed step by step.
        let mut t = MemoryTree::default();
        for l in [b"a", b"b", b"c"] {
            t.push(l);
        }
        let ab = node_hash(&leaf_hash(b"a"), &leaf_hash(b"b"));
        assert_eq!(root(&t, 3).unwrap(), node_hash(&ab, &leaf_hash(b"c")));
        assert_eq!(root(&t, 2).unwrap(), ab);
        assert_eq!(inclusion_proof(&t, 2, 3).unwrap(), vec![ab]);
        assert_eq!(
            inclusion_proof(&t, 0, 3).unwrap(),
            vec![leaf_hash(b"b"), leaf_hash(b"c")]
        );
        assert_eq!(consistency_proof(&t, 2, 3).unwrap(), vec![leaf_hash(b"c")]);
    }

    #[test]
    fn every_inclusion_and_consistency_proof_verifies_up_to_40_leaves() {
        let t = tree(40);
        for n in 1..=40 {
            let r = root(&t, n).unwrap();
            for i in 0..n {
                let p = inclusion_proof(&t, i, n).unwrap();
                verify_inclusion(&t.node(0, i).unwrap(), i, n, &p, &r).unwrap();
            }
            for m in 1..=n {
                let p = consistency_proof(&t, m, n).unwrap();
                verify_consistency(m, n, &p, &root(&t, m).unwrap(), &r).unwrap();
            }
        }
    }

    #[test]
    fn a_changed_leaf_or_proof_hash_fails_verification() {
        let t = tree(13);
        let r = root(&t, 13).unwrap();
        let mut p = inclusion_proof(&t, 5, 13).unwrap();
        let leaf = t.node(0, 5).unwrap();
        let mut bad_leaf = leaf;
        bad_leaf[0] ^= 1;
        assert!(verify_inclusion(&bad_leaf, 5, 13, &p, &r).is_err());
        p[1][31] ^= 0x80;
        assert!(verify_inclusion(&leaf, 5, 13, &p, &r).is_err());
        assert!(verify_inclusion(&leaf, 13, 13, &[], &r).is_err());
    }
}
