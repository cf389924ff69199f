//! The retrieval API end to end on a small hand-made BEIR set written to a temporary
//! directory, without the embedding model (the BM25 + entity fallback): the case names its
//! hotel two turns before the question and entity-aware hybrid retrieval must rank that
//! hotel's passage on the question first; and bad input gets errors, not panics.

use signoff_context::eval::{collect, cross_validate, evaluate};
use signoff_context::rerank::TrainOptions;
use signoff_context::{BeirSet, Mode, Passage, Retriever};
use std::path::Path;

const HOTELS: [&str; 3] = ["Alder Lodge", "Birchwood Inn", "Cedar Court Hotel"];
const TOPICS: [(&str, &str, &str); 4] = [
    (
        "parking",
        "Parking is free for guests at {}.",
        "Can I park my car there?",
    ),
    ("pets", "Pets are welcome at {}.", "Do they allow pets?"),
    ("wifi", "The wifi at {} is fast.", "Is the wifi any good?"),
    (
        "breakfast",
        "{} serves a hot breakfast.",
        "What about breakfast?",
    ),
];

fn write_set(dir: &Path) {
    let mut corpus = String::new();
    let mut queries = String::new();
    let mut qrels = String::from("query-id\tcorpus-id\tscore\n");
    for (h, name) in HOTELS.iter().enumerate() {
        for (t, (topic, text, question)) in TOPICS.iter().enumerate() {
            let id = format!("h{h}-{topic}");
            corpus += &serde_json::json!({"_id": id, "title": name, "text": text.replace("{}", "the hotel")}).to_string();
            corpus.push('\n');
            let q = format!(
                "I'd like a room at the {name} please.\nBooked: two nights at {}.\n{question}",
                name.to_uppercase()
            );
            queries += &serde_json::json!({"_id": format!("q{h}{t}"), "text": q}).to_string();
            queries.push('\n');
            qrels += &format!("q{h}{t}\t{id}\t1\n");
        }
    }
    std::fs::write(dir.join("corpus.jsonl"), corpus).unwrap();
    std::fs::write(dir.join("queries.jsonl"), queries).unwrap();
    std::fs::create_dir(dir.join("qrels")).unwrap();
    std::fs::write(dir.join("qrels/test.tsv"), qrels).unwrap();
}

fn set() -> (tempfile::TempDir, BeirSet) {
    let t = tempfile::tempdir().unwrap();
    write_set(t.path());
    let s = BeirSet::load(t.path(), "test").unwrap();
    (t, s)
}

#[test]
fn entity_awareness_finds_the_hotel_named_turns_before_the_question() {
    let (_t, set) = set();
    let r = Retriever::build(&set.corpus, None).unwrap();
    assert!(!r.dense_available());
    let run = |mode: Mode| evaluate(&set, |q, k| r.rank_ids(q, mode, k)).unwrap();
    let (bm25, hybrid, rerank) = (run(Mode::Bm25), run(Mode::Hybrid), run(Mode::Rerank));
    assert_eq!(hybrid.queries, 12);
    // Hybrid puts the named hotel's passage on the question first for every query.
    assert!(hybrid.ndcg_10 > 0.99, "hybrid {hybrid:?}");
    assert!(hybrid.mrr_10 > 0.99);
    assert!(bm25.ndcg_10 <= hybrid.ndcg_10, "bm25 {bm25:?}");
    assert!(rerank.recall_100 > 0.99, "rerank {rerank:?}");

    let hits = r
        .search(
            "Is the Birchwood Inn nice?\nIt is.\nDo they allow pets?",
            Mode::Hybrid,
            3,
        )
        .unwrap();
    assert_eq!(hits[0].id, "h1-pets");
    assert_eq!(hits[0].entity.as_deref(), Some("Birchwood Inn"));
    assert!(
        hits[0].matched_terms.contains(&"pet".to_string()),
        "{hits:?}"
    );
    assert!(hits[0].bm25.is_some() && hits[0].dense.is_none());
    assert!(r
        .search("pets", Mode::Dense, 3)
        .unwrap_err()
        .to_string()
        .contains("embedding model"));
}

#[test]
fn cross_validation_reports_only_held_out_queries() {
    let (_t, set) = set();
    let r = Retriever::build(&set.corpus, None).unwrap();
    let col = collect(&set, &r).unwrap();
    assert_eq!(col.len(), 12);
    let rep = cross_validate(&r, &col, 3, 7, TrainOptions::default()).unwrap();
    assert_eq!(rep.queries, 12);
    assert!(rep.recall_100 > 0.99);
    assert!(cross_validate(&r, &col, 1, 7, TrainOptions::default()).is_err());
    assert!(cross_validate(&r, &col, 13, 7, TrainOptions::default()).is_err());
}

#[test]
fn bad_input_is_an_error_or_an_empty_result_never_a_panic() {
    let p = |id: &str| Passage {
        id: id.into(),
        title: "T".into(),
        text: "some text".into(),
    };
    let e = Retriever::build(&[p("a"), p("a")], None).unwrap_err();
    assert!(e.to_string().contains("\"a\" appears twice"), "{e}");
    let empty = Retriever::build(&[], None).unwrap();
    for mode in [Mode::Bm25, Mode::Hybrid, Mode::Rerank] {
        assert!(empty.search("anything", mode, 10).unwrap().is_empty());
    }
    let (_t, set) = set();
    let r = Retriever::build(&set.corpus, None).unwrap();
    // 16,000 bytes: only the end (where the question is) is searched.
    let long = "é".repeat(3_000) + "\n" + &"pets ".repeat(2_000);
    for mode in [Mode::Bm25, Mode::Hybrid, Mode::Rerank] {
        assert!(!r.search(&long, mode, 5).unwrap().is_empty());
        r.search("", mode, 5).unwrap();
    }
}
