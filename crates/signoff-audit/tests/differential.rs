//! Differential tests: our RFC 6962 tree against `ct-merkle`, an independent implementation,
//! on random trees — roots, inclusion proofs and consistency proofs must be byte-identical.

use ct_merkle::mem_backed_tree::MemoryBackedTree;
use proptest::prelude::*;
use signoff_audit::merkle::{self, MemoryTree};

fn both(leaves: &[Vec<u8>]) -> (MemoryTree, MemoryBackedTree<sha2_v011::Sha256, Vec<u8>>) {
    let mut ours = MemoryTree::default();
    let mut theirs = MemoryBackedTree::new();
    for l in leaves {
        ours.push(l);
        theirs.push(l.clone());
    }
    (ours, theirs)
}

fn flat(hashes: &[merkle::Hash]) -> Vec<u8> {
    hashes.concat()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn roots_and_proofs_match_ct_merkle(
        leaves in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..130),
        pick in any::<prop::sample::Index>(),
        old in any::<prop::sample::Index>(),
    ) {
        let (ours, theirs) = both(&leaves);
        let n = leaves.len() as u64;
        let root = merkle::root(&ours, n).unwrap();
        let their_root = theirs.root();
        prop_assert_eq!(&root[..], &their_root.as_bytes()[..]);

        let i = pick.index(leaves.len());
        let ours_proof = merkle::inclusion_proof(&ours, i as u64, n).unwrap();
        prop_assert_eq!(flat(&ours_proof), theirs.prove_inclusion(i).as_bytes().to_vec());
        merkle::verify_inclusion(&merkle::leaf_hash(&leaves[i]), i as u64, n, &ours_proof, &root).unwrap();

        let m = old.index(leaves.len()) as u64 + 1;
        let ours_cons = merkle::consistency_proof(&ours, m, n).unwrap();
        let theirs_cons = theirs.prove_consistency((n - m) as usize);
        prop_assert_eq!(flat(&ours_cons), theirs_cons.as_bytes().to_vec());
        merkle::verify_consistency(m, n, &ours_cons, &merkle::root(&ours, m).unwrap(), &root).unwrap();
    }
}
