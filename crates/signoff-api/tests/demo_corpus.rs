//! The demo workspace carries the ABCD agent guidelines as an approved corpus version, so every
//! demo case shows evidence, and every retrieval is in a log that still verifies.

use signoff_core::FixedClock;

#[test]
fn every_demo_case_gets_evidence_from_the_approved_demo_corpus() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("ws");
    let key = t.path().join("dev.key");
    let clock = FixedClock::new("2026-11-26T10:00:00Z".parse().unwrap());
    let mut ws = signoff_api::demo::open(&dir, true, Some(&key), &clock).unwrap();
    let versions = ws.corpus_versions().unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(
        versions[0].approved_by.as_deref(),
        Some(signoff_api::demo::DEMO_SME)
    );
    assert!(versions[0].chunks > 250, "{}", versions[0].chunks);
    let ids: Vec<String> = ws
        .conn()
        .prepare("SELECT id FROM cases ORDER BY seq")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert!(ids.len() > 200);
    // Every case searched as a retrieval would search it (read-only, timed); a few go through
    // the recorded retrieval too.
    let started = std::time::Instant::now();
    let mut without = Vec::new();
    for id in &ids {
        let c = ws.case(ws.case_seq(id).unwrap()).unwrap();
        let red = signoff_store::corpus::redact::redact(&format!("{}\n\n{}", c.subject, c.body));
        let r = ws.corpus_search(&red.text, "bm25", 3, None, None).unwrap();
        assert_eq!(r.version, versions[0].id);
        if r.hits.is_empty() {
            without.push(id.clone());
        }
    }
    eprintln!(
        "{} of {} demo cases have evidence; {:.1} ms per search",
        ids.len() - without.len(),
        ids.len(),
        started.elapsed().as_secs_f64() * 1000.0 / ids.len() as f64
    );
    // The demo cases are banking questions and the corpus is a retailer's agent guidelines:
    // a handful share no word with it (BM25 finds nothing; dense retrieval will).
    assert!(
        without.len() * 20 <= ids.len(),
        "cases without evidence: {without:?}"
    );
    for id in ids.iter().take(3) {
        let r = ws.retrieve_for_case(id, 3, &clock).unwrap();
        assert!(!r.result.hits.is_empty());
    }
    drop(ws);
    // Opening again seeds nothing twice.
    let ws = signoff_api::demo::open(&dir, true, Some(&key), &clock).unwrap();
    assert_eq!(ws.corpus_versions().unwrap().len(), 1);
    ws.audit_verify(None, &mut |_, _| {}).unwrap();
}
