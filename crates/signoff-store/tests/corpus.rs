//! The context corpus in a real workspace file: versions from adds, diffs, approval,
//! allow-lists and flags filtering retrieval, the retrieval audit entry, index rebuilds.

mod support;

use signoff_context::ingest::{ingest_bytes, Format};
use signoff_core::FixedClock;
use signoff_store::Workspace;
use support::{clock, import_rows, keyed, kinds};

fn ws(dir: &std::path::Path) -> Workspace {
    keyed(dir, 7)
}

fn import(w: &mut Workspace, dir: &std::path::Path, rows: &[(&str, &str, Option<&str>)]) {
    import_rows(w, dir, "Help", rows)
}

fn md(source: &str, file: &str, text: &str) -> signoff_context::ingest::Document {
    ingest_bytes(file, file, text.as_bytes(), Format::Markdown, source).unwrap()
}

const POLICY_V1: &str = "# Refunds\n\nRefunds are paid within 30 days of a return.\n\n# Shipping\n\nStandard shipping takes five days.\n";
const POLICY_V2: &str = "# Refunds\n\nRefunds are paid within 14 days of a return.\n\n# Shipping\n\nStandard shipping takes five days.\n\n# Gift cards\n\nGift cards cannot be refunded.\n";

#[test]
fn re_adding_a_changed_source_makes_a_new_version_with_a_diff() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let a = w
        .corpus_add(
            "policy",
            &[md("policy", "p.md", POLICY_V1)],
            Some(30),
            &clock(),
        )
        .unwrap();
    assert!(a.new_version);
    assert_eq!(a.chunks, 2);
    assert_eq!(a.diff.added.len(), 2);
    let same = w
        .corpus_add("policy", &[md("policy", "p.md", POLICY_V1)], None, &clock())
        .unwrap();
    assert!(!same.new_version);
    assert_eq!(same.version, a.version);
    let b = w
        .corpus_add("policy", &[md("policy", "p.md", POLICY_V2)], None, &clock())
        .unwrap();
    assert!(b.new_version);
    assert_ne!(b.version, a.version);
    assert_eq!(b.parent.as_deref(), Some(a.version.as_str()));
    assert_eq!(b.diff.added, ["policy:p.md#gift-cards/p1"]);
    assert_eq!(b.diff.changed, ["policy:p.md#refunds/p1"]);
    assert!(b.diff.removed.is_empty());
    assert_eq!(b.diff.unchanged, 1);
    // A second source keeps the first one's chunks.
    let c = w
        .corpus_add(
            "faq",
            &[md("faq", "faq.md", "Opening hours are nine to five.")],
            None,
            &clock(),
        )
        .unwrap();
    assert_eq!(c.chunks, 4);
    let (from, to, d) = w.corpus_diff(Some(&a.version[..8]), None).unwrap();
    assert_eq!(from.as_deref(), Some(a.version.as_str()));
    assert_eq!(to, c.version);
    assert_eq!(d.added.len(), 2);
    assert_eq!(d.changed.len(), 1);
    let versions = w.corpus_versions().unwrap();
    assert_eq!(versions.len(), 3);
    assert!(versions[0].head && versions[0].sources["faq"] == 1);
    assert_eq!(kinds(&w).iter().filter(|k| *k == "corpus_add").count(), 4);
    // Offsets point into the stored document text.
    let (seq, _) = w.corpus_version("head").unwrap();
    for ch in w.corpus_chunks(seq).unwrap() {
        let doc: String = w
            .conn()
            .query_row(
                "SELECT d.text FROM corpus_version_chunks v JOIN corpus_documents d ON d.seq = v.doc_seq WHERE v.version_seq = ?1 AND v.chunk_sha256 = ?2",
                rusqlite::params![seq, ch.sha256],
                |r| r.get(0),
            )
            .unwrap();
        let span: String = doc
            .chars()
            .skip(ch.start as usize)
            .take((ch.end - ch.start) as usize)
            .collect();
        assert_eq!(span, ch.text);
    }
    w.audit_verify(None, &mut |_, _| {}).unwrap();
}

#[test]
fn only_approved_versions_are_searched_and_fed_to_cases() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    import(
        &mut w,
        t.path(),
        &[(
            "C1",
            "My refund has not arrived, my email is ann@example.com",
            None,
        )],
    );
    let e = w
        .retrieve_for_case("C1", 5, &clock())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no corpus version is approved"), "{e}");
    let a = w
        .corpus_add("policy", &[md("policy", "p.md", POLICY_V1)], None, &clock())
        .unwrap();
    let e = w
        .corpus_search("refund", "bm25", 5, Some("head"), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("is not approved"), "{e}");
    assert!(w.retrieve_for_case("C1", 5, &clock()).is_err());
    let v = w
        .corpus_approve(&a.version[..10], "Dana Expert", &clock())
        .unwrap();
    assert_eq!(v.approved_by.as_deref(), Some("Dana Expert"));
    let again = w
        .corpus_approve(&a.version, "Someone", &clock())
        .unwrap_err()
        .to_string();
    assert!(again.contains("already approved by Dana Expert"), "{again}");
    // A newer, unapproved version does not replace the approved one.
    w.corpus_add("policy", &[md("policy", "p.md", POLICY_V2)], None, &clock())
        .unwrap();
    let r = w.retrieve_for_case("C1", 5, &clock()).unwrap();
    assert_eq!(r.result.version, a.version);
    assert_eq!(r.result.hits[0].chunk.id, "policy:p.md#refunds/p1");
    assert!(r.result.hits[0].chunk.text.contains("30 days"));
    assert!(r.result.hits[0]
        .matched_terms
        .contains(&"Refunds".to_string()));
    assert_eq!(r.redactions.get("email"), Some(&1));
    // The retrieval row and its audit entry: hashes and integer scores, no case text.
    let (hits, idx): (String, i64) = w
        .conn()
        .query_row("SELECT hits, audit_idx FROM retrievals", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(idx as u64, r.audit_index);
    let leaf: Vec<u8> = w
        .conn()
        .query_row(
            "SELECT leaf FROM audit_entries WHERE idx = ?1",
            [idx],
            |r| r.get(0),
        )
        .unwrap();
    let leaf = String::from_utf8(leaf).unwrap();
    assert!(leaf.contains("\"kind\":\"retrieval\"") && leaf.contains(&r.query_sha256));
    assert!(leaf.contains(&r.result.hits[0].chunk.sha256));
    assert!(!leaf.contains("example.com") && !leaf.contains("refund has not"));
    assert!(hits.contains(&format!("\"score\":{}", r.result.hits[0].score)));
    // Looking at the case again reuses the recorded retrieval: no second row, no new entry.
    let size = kinds(&w).len();
    let again = w.retrieve_for_case("C1", 5, &clock()).unwrap();
    assert_eq!(again.audit_index, r.audit_index);
    assert_eq!(kinds(&w).len(), size);
    let rows: i64 = w
        .conn()
        .query_row("SELECT count(*) FROM retrievals", [], |r| r.get(0))
        .unwrap();
    assert_eq!(rows, 1);
    w.audit_verify(None, &mut |_, _| {}).unwrap();
}

#[test]
fn allow_list_and_flags_filter_retrieval() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    import(
        &mut w,
        t.path(),
        &[
            ("R1", "refund please", Some("refund")),
            ("L1", "refund please", Some("legal")),
        ],
    );
    w.corpus_add("policy", &[md("policy", "p.md", POLICY_V1)], None, &clock())
        .unwrap();
    w.corpus_add(
        "internal",
        &[md(
            "internal",
            "i.md",
            "---\nrestricted: true\n---\nRefund fraud checklist for refunds.",
        )],
        None,
        &clock(),
    )
    .unwrap();
    let g = br#"[{"id": "a", "title": "Refund story", "text": "A customer refund story.", "consent": "withdrawn"},
                {"id": "b", "title": "Refund tip", "text": "Refund tips from customers.", "consent": "granted"}]"#;
    let doc = ingest_bytes("s.json", "s.json", g, Format::Json, "stories").unwrap();
    let head = w.corpus_add("stories", &[doc], None, &clock()).unwrap();
    w.corpus_approve(&head.version, "Dana", &clock()).unwrap();
    let r = w.retrieve_for_case("R1", 10, &clock()).unwrap();
    let ids: Vec<&str> = r.result.hits.iter().map(|h| h.chunk.id.as_str()).collect();
    assert!(
        ids.contains(&"stories:s.json#b") && ids.contains(&"policy:p.md#refunds/p1"),
        "{ids:?}"
    );
    assert!(
        !ids.iter().any(|i| i.starts_with("internal:")),
        "restricted: {ids:?}"
    );
    assert!(
        !ids.contains(&"stories:s.json#a"),
        "consent withdrawn: {ids:?}"
    );
    let e = w
        .set_corpus_allow_list(
            "[labels]\nrefund = [\"policy\"]\nlegal = []\nbogus",
            "allow.toml",
            &clock(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("allow.toml:4"), "{e}");
    w.set_corpus_allow_list(
        "[labels]\nrefund = [\"policy\"]\nlegal = []\n",
        "allow.toml",
        &clock(),
    )
    .unwrap();
    let r = w.retrieve_for_case("R1", 10, &clock()).unwrap();
    assert!(r.result.hits.iter().all(|h| h.chunk.source == "policy"));
    assert!(!r.result.hits.is_empty());
    let l = w.retrieve_for_case("L1", 10, &clock()).unwrap();
    assert!(l.result.hits.is_empty());
    assert!(kinds(&w).contains(&"corpus_allow".to_string()));
    w.audit_verify(None, &mut |_, _| {}).unwrap();
}

#[test]
fn a_corrupt_or_missing_index_is_rebuilt_and_odd_queries_do_not_fail() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let a = w
        .corpus_add("policy", &[md("policy", "p.md", POLICY_V1)], None, &clock())
        .unwrap();
    w.corpus_approve(&a.version, "Dana", &clock()).unwrap();
    let first = w.corpus_search("shipping", "bm25", 3, None, None).unwrap();
    assert!(first.index_note.as_deref().unwrap().starts_with("built"));
    let again = w.corpus_search("shipping", "bm25", 3, None, None).unwrap();
    assert!(again.index_note.is_none());
    assert_eq!(again.hits[0].chunk.id, "policy:p.md#shipping/p1");
    let dir = t.path().join("index/corpus").join(&a.version).join("bm25");
    for f in std::fs::read_dir(&dir).unwrap() {
        let p = f.unwrap().path();
        std::fs::write(&p, b"garbage").unwrap();
    }
    let rebuilt = w.corpus_search("shipping", "bm25", 3, None, None).unwrap();
    assert!(
        rebuilt.index_note.as_deref().unwrap().contains("rebuilt"),
        "{:?}",
        rebuilt.index_note
    );
    assert_eq!(rebuilt.hits[0].chunk.id, "policy:p.md#shipping/p1");
    let long = "refund shipping ".repeat(700);
    let r = w.corpus_search(&long, "bm25", 3, None, None).unwrap();
    assert!(r.query_truncated && !r.hits.is_empty());
    assert!(w
        .corpus_search("", "bm25", 3, None, None)
        .unwrap()
        .hits
        .is_empty());
    // Dense needs the embedding model: with it the version is embedded into a dense index
    // (a note says so once); without it the refusal names the model.
    match signoff_context::encoder::shared() {
        Ok(_) => {
            let d = w.corpus_search("shipping", "dense", 3, None, None).unwrap();
            assert_eq!(d.mode, "dense");
            assert!(d.index_note.unwrap().contains("built the dense index"));
            assert_eq!(d.hits[0].chunk.id, "policy:p.md#shipping/p1");
            let h = w
                .corpus_search("shipping", "hybrid", 3, None, None)
                .unwrap();
            assert!(h.index_note.is_none(), "{:?}", h.index_note);
            assert!(h.hits[0].matched_terms.contains(&"Shipping".to_string()));
        }
        Err(_) => {
            let e = w
                .corpus_search("x", "dense", 3, None, None)
                .unwrap_err()
                .to_string();
            assert!(e.contains("needs the embedding model"), "{e}");
        }
    }
    let e = w
        .corpus_search("x", "sparse", 3, None, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not one of bm25, dense, hybrid, rerank"), "{e}");
}

#[test]
fn an_empty_corpus_and_bad_version_names_get_clear_errors() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    let e = w
        .corpus_search("refund", "bm25", 3, None, None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("no corpus version is approved"), "{e}");
    let e = w
        .corpus_approve("head", "Dana", &clock())
        .unwrap_err()
        .to_string();
    assert!(e.contains("no corpus version \"head\""), "{e}");
    let e = w
        .corpus_approve("xyz!", "Dana", &clock())
        .unwrap_err()
        .to_string();
    assert!(e.contains("not a corpus version"), "{e}");
    let e = w
        .corpus_approve("abcd", " ", &clock())
        .unwrap_err()
        .to_string();
    assert!(e.contains("--by NAME"), "{e}");
    assert!(w.corpus_versions().unwrap().is_empty());
}

#[test]
fn staleness_follows_each_sources_cadence() {
    let t = tempfile::tempdir().unwrap();
    let mut w = ws(t.path());
    w.corpus_add(
        "policy",
        &[md("policy", "p.md", POLICY_V1)],
        Some(7),
        &clock(),
    )
    .unwrap();
    w.corpus_add(
        "faq",
        &[md("faq", "f.md", "Hours nine to five.")],
        None,
        &clock(),
    )
    .unwrap();
    let later = FixedClock::new("2026-12-03T10:00:01Z".parse().unwrap());
    let s = w.corpus_sources(&later).unwrap();
    let by: std::collections::HashMap<_, _> = s.iter().map(|x| (x.name.as_str(), x)).collect();
    assert!(by["policy"].stale);
    assert!(!by["faq"].stale);
    assert_eq!(by["policy"].files, ["p.md"]);
    assert!(!w.corpus_sources(&clock()).unwrap()[1].stale);
}
