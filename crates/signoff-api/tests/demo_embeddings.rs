//! The demo's bundled sentence vectors (`assets/demo/intake-embeddings.bin`), which let the
//! demo seed without running the encoder: they cover every training row and demo case, and
//! equal what the installed encoder computes. Rebuild the file after changing the demo rows
//! or the encoder with
//! `SIGNOFF_BLESS=1 cargo test --release -p signoff-api --test demo_embeddings -- --ignored`.

use signoff_api::intake;
use signoff_core::FixedClock;
use signoff_intake::bundled::EmbeddingTable;
use signoff_intake::embed::Pooling;
use signoff_store::intake::Scope;
use signoff_store::{Access, Workspace};
use std::sync::Arc;

const ASSET: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../assets/demo/intake-embeddings.bin"
);

/// Every text the demo seeding embeds: the training rows, then each demo case as the
/// classifier reads it (subject and body, as stored after import).
fn demo_texts() -> Vec<String> {
    let mut texts: Vec<String> = signoff_api::demo::training_rows()
        .unwrap()
        .into_iter()
        .map(|r| r.text)
        .collect();
    let t = tempfile::tempdir().unwrap();
    let mut w = Workspace::open(t.path(), Access::Write).unwrap();
    w.attach_key(Arc::new(signoff_audit::note::Ed25519Key::from_seed(
        [3; 32],
    )))
    .unwrap();
    let p = t.path().join("cases.jsonl");
    std::fs::write(&p, signoff_api::demo::DEMO_CASES).unwrap();
    let clock = FixedClock::new("2026-11-26T08:00:00Z".parse().unwrap());
    w.import_file(&p, &clock, &mut |_| {}).unwrap();
    texts.extend(
        w.cases_to_classify(&Scope::All)
            .unwrap()
            .iter()
            .map(|c| intake::model_text(&c.subject, &c.body)),
    );
    texts
}

/// The pooling the demo's intake model reads (its configuration's).
fn demo_pooling() -> Pooling {
    signoff_intake::Config::parse("ensemble").unwrap().pooling
}

#[test]
#[ignore = "runs the encoder over ~1,200 texts; SIGNOFF_BLESS=1 rewrites the asset"]
fn the_bundled_vectors_are_what_the_encoder_computes() {
    let dir = intake::model_dir_from_env();
    let Some(e) = signoff_testkit::loaded(intake::embedder(&dir)) else {
        return;
    };
    let texts = demo_texts();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vecs = e.embed_with(&refs, demo_pooling()).unwrap();
    if std::env::var_os("SIGNOFF_BLESS").is_some() {
        let bytes = EmbeddingTable::encode(e.version(), demo_pooling(), &refs, &vecs).unwrap();
        std::fs::write(ASSET, bytes).unwrap();
        return;
    }
    let bytes = std::fs::read(ASSET).unwrap();
    let table = EmbeddingTable::decode(&bytes, ASSET).unwrap();
    assert_eq!(
        table.encoder,
        e.version(),
        "rebuild the asset (SIGNOFF_BLESS=1)"
    );
    for (t, v) in refs.iter().zip(&vecs) {
        let got = table.get(e.version(), demo_pooling(), t).expect("bundled");
        let diff = got
            .iter()
            .zip(v)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        assert!(diff < 1e-4, "{t:?}: differs by {diff}");
    }
}

#[test]
fn the_bundled_table_reads_and_covers_every_demo_text() {
    let table = signoff_api::demo::demo_embeddings().unwrap();
    let texts = demo_texts();
    let missing: Vec<&String> = texts
        .iter()
        .filter(|t| table.get(&table.encoder, demo_pooling(), t).is_none())
        .collect();
    assert!(missing.is_empty(), "not bundled: {missing:?}");
    assert!(table.len() <= texts.len());
    assert_eq!(table.dim, demo_pooling().dim());
}
