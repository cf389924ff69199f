//! Differential tests against Cloudflare's independent Rust implementations of the C2SP specs
//! (crates.io `signed_note` for signed-note, `tlog_tiles` for tlog-checkpoint and the tlog
//! tree, a port of Go's sumdb/tlog): notes Signoff signs open with theirs and theirs open with
//! Signoff's, checkpoints parse to the same origin, size and root both ways, and tree roots,
//! inclusion proofs and consistency proofs are byte-identical and accepted by both verifiers.
//! Neither crate implements tlog-cosignature (`cosignature/v1`), so witness cosignatures are
//! not covered here.

use proptest::prelude::*;
use rand_core::{CryptoRng, Error as RngError, RngCore};
use signed_note::{Note, StandardSigner, StandardVerifier, VerifierList};
use signoff_audit::merkle::{self, MemoryTree};
use signoff_audit::note::{self, Ed25519Key, NoteSigner, NoteVerifier};
use signoff_audit::{Checkpoint, Signer};
use tlog_tiles::{Hash as TlogHash, HashReader};

/// A deterministic byte stream for their key generator, so failures replay from the seed.
struct SeededRng([u8; 32], usize);

impl RngCore for SeededRng {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0; 4];
        self.fill_bytes(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0; 8];
        self.fill_bytes(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        for d in dest {
            *d = self.0[self.1 % 32] ^ (self.1 / 32) as u8;
            self.1 += 1;
        }
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), RngError> {
        self.fill_bytes(dest);
        Ok(())
    }
}

impl CryptoRng for SeededRng {}

/// Their tree storage: every stored hash, in their index order (as Go's tlog tests keep it).
#[derive(Default)]
struct Stored(Vec<TlogHash>);

impl HashReader for Stored {
    fn read_hashes(&self, indexes: &[u64]) -> Result<Vec<TlogHash>, tlog_tiles::Error> {
        Ok(indexes.iter().map(|&i| self.0[i as usize]).collect())
    }
}

impl Stored {
    fn of(leaves: &[Vec<u8>]) -> Self {
        let mut s = Stored::default();
        for (i, l) in leaves.iter().enumerate() {
            let new = tlog_tiles::stored_hashes(i as u64, l, &s).expect("stored hashes");
            s.0.extend(new);
        }
        s
    }
}

fn ours(leaves: &[Vec<u8>]) -> MemoryTree {
    let mut t = MemoryTree::default();
    for l in leaves {
        t.push(l);
    }
    t
}

fn theirs(hashes: &[merkle::Hash]) -> Vec<TlogHash> {
    hashes.iter().map(|h| TlogHash(*h)).collect()
}

fn back(hashes: &[TlogHash]) -> Vec<merkle::Hash> {
    hashes.iter().map(|h| h.0).collect()
}

fn signoff_checkpoint(origin: &str, size: u64, root: merkle::Hash) -> Checkpoint {
    Checkpoint {
        origin: origin.into(),
        size,
        root,
        extensions: vec![],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn roots_and_proofs_agree_with_tlog_tiles(
        leaves in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..160),
        pick in any::<prop::sample::Index>(),
        old in any::<prop::sample::Index>(),
    ) {
        let tree = ours(&leaves);
        let stored = Stored::of(&leaves);
        let n = leaves.len() as u64;
        let root = merkle::root(&tree, n).unwrap();
        let their_root = tlog_tiles::tree_hash(n, &stored).unwrap();
        prop_assert_eq!(root, their_root.0);
        prop_assert_eq!(merkle::leaf_hash(&leaves[0]), tlog_tiles::record_hash(&leaves[0]).0);

        // Inclusion: the same proof, and each side accepts the other's.
        let i = pick.index(leaves.len()) as u64;
        let our_proof = merkle::inclusion_proof(&tree, i, n).unwrap();
        let their_proof = tlog_tiles::prove_record(n, i, &stored).unwrap();
        prop_assert_eq!(&our_proof, &back(&their_proof));
        let leaf = tlog_tiles::record_hash(&leaves[i as usize]);
        prop_assert!(tlog_tiles::check_record(&theirs(&our_proof), n, their_root, i, leaf).is_ok());
        merkle::verify_inclusion(&leaf.0, i, n, &back(&their_proof), &root).unwrap();

        // Consistency from every older size m (1 ≤ m ≤ n).
        let m = old.index(leaves.len()) as u64 + 1;
        let old_root = merkle::root(&tree, m).unwrap();
        prop_assert_eq!(old_root, tlog_tiles::tree_hash(m, &stored).unwrap().0);
        let our_cons = merkle::consistency_proof(&tree, m, n).unwrap();
        let their_cons = tlog_tiles::prove_tree(n, m, &stored).unwrap();
        prop_assert_eq!(&our_cons, &back(&their_cons));
        prop_assert!(tlog_tiles::check_tree(&theirs(&our_cons), n, their_root, m, TlogHash(old_root)).is_ok());
        merkle::verify_consistency(m, n, &back(&their_cons), &old_root, &root).unwrap();
    }

    #[test]
    fn a_wrong_proof_is_refused_by_both(
        leaves in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..20), 2..80),
        pick in any::<prop::sample::Index>(),
        flip in any::<prop::sample::Index>(),
    ) {
        let tree = ours(&leaves);
        let n = leaves.len() as u64;
        let root = merkle::root(&tree, n).unwrap();
        let i = pick.index(leaves.len()) as u64;
        let mut proof = merkle::inclusion_proof(&tree, i, n).unwrap();
        prop_assume!(!proof.is_empty());
        let k = flip.index(proof.len());
        proof[k][0] ^= 1;
        let leaf = merkle::leaf_hash(&leaves[i as usize]);
        prop_assert!(merkle::verify_inclusion(&leaf, i, n, &proof, &root).is_err());
        prop_assert!(tlog_tiles::check_record(&theirs(&proof), n, TlogHash(root), i, TlogHash(leaf)).is_err());
    }

    #[test]
    fn signoff_checkpoints_open_with_signed_note_and_tlog_tiles(
        seed in any::<[u8; 32]>(),
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        origin in "[a-z0-9.]{1,20}/[a-z0-9-]{1,20}",
    ) {
        let key = Ed25519Key::from_seed(seed);
        let signer = NoteSigner::new(&origin, &key).unwrap();
        let cp = signoff_checkpoint(&origin, size, root);
        let signed = signer.sign(&cp.to_text()).unwrap();

        // The verifier key string is the one theirs derives from the same public key.
        let vk = ed25519_dalek::VerifyingKey::from_bytes(&key.public_key()).unwrap();
        prop_assert_eq!(signer.verifier_key(), signed_note::new_ed25519_verifier_key(&origin, &vk));
        let mut alg_pk = vec![1u8];
        alg_pk.extend_from_slice(&key.public_key());
        prop_assert_eq!(note::key_id(&origin, &key.public_key()), signed_note::key_id(&origin, &alg_pk));

        let verifier = StandardVerifier::new(&signer.verifier_key()).unwrap();
        let parsed = Note::from_bytes(signed.as_bytes()).unwrap();
        let (verified, unknown) = parsed.verify(&VerifierList::new(vec![Box::new(verifier)])).unwrap();
        prop_assert_eq!(verified.len(), 1);
        prop_assert_eq!(verified[0].name(), origin.as_str());
        prop_assert!(unknown.is_empty());
        prop_assert_eq!(parsed.to_bytes(), signed.as_bytes().to_vec());

        let theirs = tlog_tiles::Checkpoint::from_bytes(parsed.text()).unwrap();
        prop_assert_eq!(theirs.origin(), origin.as_str());
        prop_assert_eq!(theirs.size(), size);
        prop_assert_eq!(theirs.hash().0, root);
        prop_assert_eq!(theirs.to_bytes(), cp.to_text().into_bytes());
    }

    #[test]
    fn signed_note_checkpoints_open_with_signoff(
        seed in any::<[u8; 32]>(),
        size in any::<u64>(),
        root in any::<[u8; 32]>(),
        origin in "[a-z0-9.]{1,20}/[a-z0-9-]{1,20}",
    ) {
        let (skey, vkey) = signed_note::generate_key(&mut SeededRng(seed, 0), &origin);
        let signer = StandardSigner::new(&skey).unwrap();
        let body = tlog_tiles::Checkpoint::new(&origin, size, TlogHash(root), "").unwrap().to_bytes();
        let mut n = Note::new(&body, &[]).unwrap();
        n.add_sigs(&[&signer]).unwrap();
        let signed = String::from_utf8(n.to_bytes()).unwrap();

        let opened = note::open(&signed, &[NoteVerifier::parse(&vkey).unwrap()]).unwrap();
        prop_assert_eq!(&opened.signed_by, &vec![origin.clone()]);
        prop_assert!(opened.unknown.is_empty());
        prop_assert_eq!(NoteVerifier::parse(&vkey).unwrap().to_vkey(), vkey);
        let cp = Checkpoint::parse(&opened.text).unwrap();
        prop_assert_eq!(cp, signoff_checkpoint(&origin, size, root));
    }
}

#[test]
fn a_note_altered_after_signing_is_refused_by_both() {
    let key = Ed25519Key::from_seed([7; 32]);
    let origin = "signoff.local/differential";
    let signer = NoteSigner::new(origin, &key).unwrap();
    let signed = signer
        .sign(&signoff_checkpoint(origin, 10, [3; 32]).to_text())
        .unwrap();
    let altered = signed.replacen("\n10\n", "\n11\n", 1);
    assert_ne!(signed, altered);
    let ours = [NoteVerifier::parse(&signer.verifier_key()).unwrap()];
    assert!(note::open(&altered, &ours).is_err());
    let theirs = VerifierList::new(vec![Box::new(
        StandardVerifier::new(&signer.verifier_key()).unwrap(),
    )]);
    let parsed = Note::from_bytes(altered.as_bytes()).unwrap();
    assert!(parsed.verify(&theirs).is_err());

    // And a note by an unknown key is refused by both, naming no signer.
    let other = Ed25519Key::from_seed([8; 32]);
    let other_signed = NoteSigner::new(origin, &other)
        .unwrap()
        .sign(&signoff_checkpoint(origin, 10, [3; 32]).to_text())
        .unwrap();
    assert!(note::open(&other_signed, &ours).is_err());
    let parsed = Note::from_bytes(other_signed.as_bytes()).unwrap();
    assert!(parsed.verify(&theirs).is_err());
}

#[test]
fn checkpoints_with_extension_lines_read_the_same_in_both() {
    let cp = Checkpoint {
        origin: "signoff.local/ext".into(),
        size: 5,
        root: [9; 32],
        extensions: vec!["prev 4".into(), "kind import".into()],
    };
    let theirs = tlog_tiles::Checkpoint::from_bytes(cp.to_text().as_bytes()).unwrap();
    assert_eq!(theirs.extension(), "prev 4\nkind import\n");
    assert_eq!(theirs.to_bytes(), cp.to_text().into_bytes());
    let back = tlog_tiles::Checkpoint::new(
        "signoff.local/ext",
        5,
        TlogHash([9; 32]),
        "prev 4\nkind import\n",
    )
    .unwrap()
    .to_bytes();
    assert_eq!(
        Checkpoint::parse(std::str::from_utf8(&back).unwrap()).unwrap(),
        cp
    );
}
