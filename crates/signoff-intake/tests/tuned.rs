//! Fine-tuning the real all-MiniLM-L6-v2's top layer on a few BANKING77-style rows: the
//! tuned vectors differ from the frozen ones, training is reproducible, and the stored
//! artefact classifies with the same probabilities as the classifier that was trained.
//! About 10 s in a debug build; needs the model from `scripts/setup.sh` (a failure under
//! `SIGNOFF_REQUIRE_MODELS=1`).

use signoff_intake::artefact::{decode, encode};
use signoff_intake::classifier::Input;
use signoff_intake::embed::{model_dir, Embedder};
use signoff_intake::tune::train_tuned;
use signoff_intake::{Config, Example};

#[test]
fn a_tuned_model_round_trips_and_classifies_as_trained() {
    let env = std::env::var("SIGNOFF_MODEL_DIR").ok();
    let Some(m) = signoff_testkit::loaded(Embedder::load(&model_dir(env.as_deref()))) else {
        return;
    };
    let topics = [
        (
            "card_arrival",
            "my new card has still not arrived, it was sent",
        ),
        (
            "exchange_rate",
            "what exchange rate do you use when I pay in euros",
        ),
        ("lost_card", "I lost my card somewhere in town yesterday"),
    ];
    let rows: Vec<Example> = topics
        .iter()
        .flat_map(|(label, text)| {
            (0..10).map(move |i| Example {
                text: format!("{text} ({i} days ago)"),
                label: label.to_string(),
            })
        })
        .collect();
    let config = Config::parse("tuned:tune_epochs=3:tune_from=5:max_iter=50").unwrap();
    let (clf, emb) = train_tuned(&rows, &m, &config).unwrap();
    let texts: Vec<&str> = rows.iter().map(|r| r.text.as_str()).collect();
    let frozen = m.embed(&texts[..3]).unwrap();
    assert_ne!(emb[0], frozen[0], "the top layer changed");
    let (again, _) = train_tuned(&rows, &m, &config).unwrap();
    assert_eq!(again.tuned, clf.tuned, "seeded: the same layers");

    let (bytes, _) = encode(&clf);
    let (back, _) = decode(&bytes).unwrap();
    let query = ["has my card been posted yet? it has not arrived"];
    let (now, later) = (
        clf.embed(&m, &query).unwrap(),
        back.embed(&m, &query).unwrap(),
    );
    assert_eq!(now, later);
    fn input(e: &[f32]) -> Input<'_> {
        Input {
            embedding: Some(e),
            text: "has my card been posted yet? it has not arrived",
        }
    }
    let v = back.classify(input(&later[0])).unwrap();
    assert_eq!(
        back.probabilities(input(&later[0])).unwrap(),
        clf.probabilities(input(&now[0])).unwrap()
    );
    assert_eq!(v.best_in_scope, "card_arrival");
}
