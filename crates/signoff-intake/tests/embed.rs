//! The real all-MiniLM-L6-v2 through candle: unit-length vectors, similar sentences closer
//! than unrelated ones, deterministic, and the same vector alone or padded inside a batch.
//! Needs the model from `scripts/setup.sh` (a failure under `SIGNOFF_REQUIRE_MODELS=1`).

use signoff_intake::embed::{model_dir, Embedder, DIM};

fn cosine(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn real_model_embeddings_are_unit_length_meaningful_and_padding_free() {
    let env = std::env::var("SIGNOFF_MODEL_DIR").ok();
    let dir = model_dir(env.as_deref());
    let Some(m) = signoff_testkit::loaded(Embedder::load(&dir)) else {
        return;
    };
    assert_eq!(m.version(), "53aa51172d142c89", "pinned weights");
    let texts = [
        "my card has not arrived yet",
        "I am still waiting for my new card to be delivered",
        "what is the weather like in paris tomorrow",
        "a much longer sentence so that the short ones above are padded inside the batch, \
         which must not change their embeddings at all",
    ];
    let v = m.embed(&texts).unwrap();
    for e in &v {
        assert_eq!(e.len(), DIM);
        assert!((cosine(e, e) - 1.0).abs() < 1e-4);
    }
    let similar = cosine(&v[0], &v[1]);
    let unrelated = cosine(&v[0], &v[2]);
    assert!(similar > 0.5 && unrelated < 0.2, "{similar} vs {unrelated}");
    let alone = m.embed(&texts[..1]).unwrap();
    let max_diff = alone[0]
        .iter()
        .zip(&v[0])
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    assert!(
        max_diff < 1e-4,
        "padding changed the embedding by {max_diff}"
    );
    assert_eq!(m.embed(&texts[..1]).unwrap(), alone, "deterministic");
}
