//! The local rewording model against the real SmolLM2-135M GGUF (installed by
//! `scripts/setup.sh` into `$SIGNOFF_MODEL_DIR/smollm2-135m`): the tokenizer built from the
//! GGUF metadata against pinned token ids, and (ignored: it loads and runs the model) a
//! reworded draft whose citations stay bound and checked.

mod support;

use signoff_action::draft::{
    char_slice, check, gazetteer_for, ClaimStatus, DraftRequest, Drafter, OfflineDrafter,
};
use signoff_action::remote::Cancel;
use signoff_action::reword::{self, SmolLm};
use signoff_action::support::{SupportModel, SupportScorer};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use support::evidence;

fn smol_dir() -> PathBuf {
    let root = std::env::var("SIGNOFF_MODEL_DIR")
        .ok()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "/var/cache/signoff-models".into());
    PathBuf::from(root).join(reword::SMOLLM2_DIR)
}

/// Ids pinned once from an independent byte-level BPE (Python, over the same GGUF's vocab and
/// merges, GPT-2 split after single digits): the tokenizer must agree and round-trip.
#[test]
fn tokenizer_from_gguf_metadata_matches_pinned_ids_and_round_trips() {
    let path = smol_dir().join(reword::SMOLLM2_GGUF);
    if !path.is_file() {
        signoff_testkit::model_missing(format!("{} is not installed", path.display()));
        return;
    }
    let tk = reword::tokenizer_from_file(&path).unwrap();
    let cases: [(&str, &[u32]); 4] = [
        ("Hello world!", &[19556, 905, 17]),
        (
            "Check-in is from 3:30pm.",
            &[10280, 29, 254, 314, 429, 216, 35, 42, 35, 32, 11043, 30],
        ),
        (
            "Parking is free on site, £12 per night — café?",
            &[
                7309, 644, 314, 1904, 335, 2530, 28, 10257, 33, 34, 567, 3163, 1841, 37366, 47,
            ],
        ),
        (
            "  two  spaces\nnew line",
            &[216, 827, 216, 5600, 198, 2241, 1761],
        ),
    ];
    for (text, ids) in cases {
        let enc = tk.encode(text, false).unwrap();
        assert_eq!(enc.get_ids(), ids, "{text:?}");
        assert_eq!(tk.decode(ids, false).unwrap(), text);
    }
    // The chat control tokens are single special tokens.
    let enc = tk.encode("<|im_start|>user\nhi<|im_end|>", false).unwrap();
    assert_eq!(enc.get_ids()[0], 1);
    assert_eq!(*enc.get_ids().last().unwrap(), 2);
}

/// Loads SmolLM2 (converting it on first use), rewords a real offline draft twice: the two
/// runs agree (greedy), every citation is the offline drafter's (same chunk, same span), and
/// every claim that goes out passes the same check.
#[test]
#[ignore = "loads and runs SmolLM2-135M (seconds); needs scripts/setup.sh"]
fn a_reworded_draft_keeps_its_citations_bound_and_checked() {
    let dir = smol_dir();
    let t = Instant::now();
    let model = reword::shared(&dir).expect("SmolLM2 installed (scripts/setup.sh)");
    eprintln!("load {:?}", t.elapsed());
    let mut model = model.lock().unwrap();
    let ev = evidence();
    let req = DraftRequest {
        subject: "Parking",
        body: "Is parking free? When is check-in? Is the room quiet?",
        evidence: &ev,
    };
    let p = signoff_action::prompt::render("t.v1", "x", &Default::default()).unwrap();
    let base = OfflineDrafter::default().compose(&req, &p).unwrap();
    let scorer = SupportScorer::new(SupportModel::default_model(), None, gazetteer_for(&ev, &[]));
    let run = |m: &mut SmolLm| {
        reword::reword_draft(
            &base,
            &ev,
            m,
            &scorer,
            Duration::from_secs(60),
            &Cancel::new(),
        )
        .unwrap()
    };
    let t = Instant::now();
    let (a, rep) = run(&mut model);
    let took = t.elapsed();
    eprintln!(
        "{took:?}, {} tokens ({:.1} tokens/s)\n{}\n{}\n{rep:?}",
        rep.counts.tokens,
        rep.counts.tokens as f64 / took.as_secs_f64(),
        base.text,
        a.text
    );
    let (b, _) = run(&mut model);
    assert_eq!(a, b, "greedy rewording is deterministic");
    assert_eq!(a.citations, base.citations);
    assert_eq!(rep.counts.sentences, 3);
    assert_eq!(
        rep.counts.reworded + rep.counts.rejected + rep.counts.unusable + rep.counts.out_of_time,
        3
    );
    assert!(rep.counts.tokens > 0);
    for c in &a.citations {
        let e = ev.iter().find(|e| e.chunk_id == c.chunk_id).unwrap();
        assert!(char_slice(&e.text, c.start, c.end).is_some());
        assert!(a.text.contains(&format!("[{}].", c.marker)), "{}", a.text);
    }
    let claims = check(&a.text, &a.citations, &ev, &scorer).unwrap();
    assert!(
        claims.iter().all(|c| c.status == ClaimStatus::Supported),
        "{claims:?}\n{}",
        a.text
    );
}

/// The Q4_1 → Q8_0 conversion runs once: a second load reuses the cached file (its checksum
/// file matches), a damaged cached file is converted again, and two conversions are
/// byte-identical.
#[test]
#[ignore = "converts SmolLM2-135M (seconds); needs scripts/setup.sh"]
fn the_converted_model_is_cached_with_its_checksum_and_redone_when_damaged() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        smol_dir().join(reword::SMOLLM2_GGUF),
        dir.path().join(reword::SMOLLM2_GGUF),
    )
    .expect("SmolLM2 installed (scripts/setup.sh)");
    let t = Instant::now();
    let (q8, sha, now) = reword::converted(dir.path()).unwrap();
    eprintln!("conversion {:?}", t.elapsed());
    assert!(now);
    assert_eq!(reword::file_sha256(&q8).unwrap(), sha);
    let (_, again, now) = reword::converted(dir.path()).unwrap();
    assert!(!now);
    assert_eq!(again, sha);
    let mut bytes = std::fs::read(&q8).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0xff;
    std::fs::write(&q8, bytes).unwrap();
    let (_, redone, now) = reword::converted(dir.path()).unwrap();
    assert!(now, "a damaged cached file is converted again");
    assert_eq!(redone, sha, "the conversion is deterministic");
}
