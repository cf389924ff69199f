//! The fast encoder against candle's stock BERT on the real all-MiniLM-L6-v2: every vector
//! within 1e-5 cosine of the stock path's, in input order, for texts of very different
//! lengths (including one past the 256-token window) mixed so that each batch is length-grouped
//! and any padding bug would show. Skipped (with a message) when `scripts/setup.sh` has not
//! fetched the model.

use signoff_embed::embed::{model_dir, Embedder, Pooling};
use signoff_embed::reference::reference_embed;

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

#[test]
fn fast_encoder_matches_the_stock_model_within_1e_5_cosine() {
    let dir = model_dir(std::env::var("SIGNOFF_MODEL_DIR").ok().as_deref());
    let Some(mut m) = signoff_testkit::loaded(Embedder::load(&dir)) else {
        return;
    };
    let long = "the refund for order 1234 was declined twice and I want to know why ".repeat(30);
    let mut texts: Vec<String> = vec![
        "hi".into(),
        long.clone(),
        "Q: Can I bring my pet to A and B Guest House?\nA: No, pets are not allowed.".into(),
        String::new(),
        "where is my parcel".into(),
    ];
    for i in 0..40 {
        texts.push(format!(
            "case {i}: {}",
            "my card has not arrived yet and the app says delivered ".repeat(1 + i % 7)
        ));
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let want = reference_embed(&dir, &refs).unwrap();
    // A small budget forces many batches of different widths.
    m.set_batch_tokens(300);
    for got in [m.embed(&refs).unwrap(), {
        m.set_batch_tokens(signoff_embed::embed::BATCH_TOKENS);
        m.embed(&refs).unwrap()
    }] {
        assert_eq!(got.len(), texts.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            let c = dot(g, w);
            assert!(c > 1.0 - 1e-5, "text {i}: cosine {c} with the stock path");
        }
    }
    // Mean-max pooling keeps its mean half equal to the mean vector.
    let mm = m.embed_with(&refs[..3], Pooling::MeanMax).unwrap();
    for (i, v) in mm.iter().enumerate() {
        assert_eq!(v.len(), 2 * signoff_embed::DIM);
        assert!(dot(&v[..signoff_embed::DIM], &want[i]) > 1.0 - 1e-5);
        assert!((dot(&v[signoff_embed::DIM..], &v[signoff_embed::DIM..]) - 1.0).abs() < 1e-4);
    }
    // Mean + layer 4: the same mean half, then the unit mean of layer 4's token states (not
    // layer 6's, not a copy of the first half).
    let m4 = m.embed_with(&refs[..3], Pooling::MeanL4).unwrap();
    for (i, v) in m4.iter().enumerate() {
        let d = signoff_embed::DIM;
        assert_eq!(v.len(), 2 * d);
        assert!(dot(&v[..d], &want[i]) > 1.0 - 1e-5);
        assert!((dot(&v[d..], &v[d..]) - 1.0).abs() < 1e-4);
        let c = dot(&v[d..], &v[..d]);
        assert!(c < 0.999 && c > 0.2, "text {i}: layer 4 vs 6 cosine {c}");
        assert!(
            dot(&v[d..], &mm[i][d..]) < 0.999,
            "text {i}: same as the max half"
        );
    }
    assert_eq!(Pooling::parse("meanl4"), Some(Pooling::MeanL4));
    assert_eq!(Pooling::parse("max"), None);
    assert!(m.embed(&[]).unwrap().is_empty());
}
