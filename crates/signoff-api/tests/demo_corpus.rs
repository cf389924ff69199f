//! The demo workspace is one organisation, ABCD's online clothing retailer: its queue carries
//! the retailer's agent guidelines as an approved corpus version, every in-scope demo case
//! gets evidence from it (BM25, and the retrieval drafts use: hybrid with the embedding
//! model), the share of Signoff-written cases whose top 3 passages are of their own ABCD
//! subflow is measured and held to a floor, in-scope drafts cite their evidence, and every
//! retrieval is in a log that still verifies. Out-of-scope cases (upstream label `oos`) are
//! counted apart: no policy covers them, so what matters is that intake escalates them at
//! band low, whatever retrieval finds.

use signoff_core::FixedClock;
use signoff_store::Workspace;
use std::path::Path;

fn clock() -> FixedClock {
    FixedClock::new("2026-11-26T10:00:00Z".parse().unwrap())
}

/// A demo case as the checks need it.
struct DemoCase {
    id: String,
    /// Written by Signoff for one ABCD subflow (`metadata.source = signoff`).
    written: bool,
    /// Upstream label `oos`: no policy of the retailer is about it.
    out_of_scope: bool,
    /// The guideline title of its ABCD subflow ("Flow › Subflow"), when it has one.
    subflow: Option<String>,
    /// The body ends in a sign-off line (a name), as an e-mail does.
    signed: bool,
}

impl DemoCase {
    /// Whether a passage (by its title) is of this case's own subflow, and of its own flow.
    fn own(&self, title: &str) -> (bool, bool) {
        let Some(sub) = &self.subflow else {
            return (false, false);
        };
        let flow = sub.split(" › ").next().unwrap_or(sub);
        (
            title == sub || title.starts_with(&format!("{sub} › ")),
            title.starts_with(&format!("{flow} › ")),
        )
    }
}

fn seeded(dir: &Path) -> Workspace {
    signoff_api::demo::open(&dir.join("ws"), true, Some(&dir.join("dev.key")), &clock()).unwrap()
}

fn demo_cases(ws: &Workspace) -> Vec<DemoCase> {
    // The upstream label as imported (`given_label`; `label` is intake's).
    let rows: Vec<(String, Option<String>)> = ws
        .conn()
        .prepare("SELECT id, given_label FROM cases ORDER BY seq")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    rows.into_iter()
        .map(|(id, given)| {
            let c = ws.case(ws.case_seq(&id).unwrap()).unwrap();
            let meta = c.metadata.unwrap_or_default();
            let text = |k: &str| meta.get(k).and_then(|v| v.as_str()).map(str::to_string);
            let last = c.body.lines().rev().find(|l| !l.trim().is_empty());
            let signed = c.body.contains('\n')
                && last.is_some_and(|l| {
                    l.split_whitespace().count() <= 3 && !l.trim_end().ends_with(['.', '?', '!'])
                });
            DemoCase {
                signed,
                written: text("source").as_deref() == Some("signoff"),
                out_of_scope: given.as_deref() == Some("oos"),
                subflow: text("abcd_subflow"),
                id,
            }
        })
        .collect()
}

/// Per case: whether it has evidence, and whether its top 3 hold a chunk of its own subflow
/// and of its own flow.
#[derive(Default)]
struct Tally {
    in_scope: usize,
    in_scope_without: Vec<String>,
    out_of_scope: usize,
    out_of_scope_without: usize,
    written: usize,
    own_subflow: usize,
    unsigned: usize,
    unsigned_own_subflow: usize,
    own_flow: usize,
    misses: Vec<String>,
}

impl Tally {
    /// Counts one case from the titles of its passages, best first.
    fn add(&mut self, c: &DemoCase, hits: &[&str]) {
        if c.out_of_scope {
            self.out_of_scope += 1;
            self.out_of_scope_without += hits.is_empty() as usize;
            return;
        }
        self.in_scope += 1;
        if hits.is_empty() {
            self.in_scope_without.push(c.id.clone());
        }
        if c.written {
            self.written += 1;
            let top = &hits[..hits.len().min(3)];
            let sub = top.iter().any(|h| c.own(h).0);
            self.own_subflow += sub as usize;
            if !c.signed {
                self.unsigned += 1;
                self.unsigned_own_subflow += sub as usize;
            }
            self.own_flow += top.iter().any(|h| c.own(h).1) as usize;
            if !sub {
                self.misses.push(c.id.clone());
            }
        }
    }

    /// Prints the figures; returns the own-subflow share of the Signoff-written cases, and
    /// of those among them without a sign-off line.
    fn report(&self, mode: &str) -> (f64, f64) {
        let sub = self.own_subflow as f64 / self.written as f64;
        let flow = self.own_flow as f64 / self.written as f64;
        let unsigned = self.unsigned_own_subflow as f64 / self.unsigned as f64;
        eprintln!(
            "{mode}: {} of {} in-scope cases have evidence; out of scope {} of {} without; \
             Signoff-written cases whose top 3 hold their own subflow {sub:.3}, own flow {flow:.3} \
             (n {}); own subflow without a sign-off line {unsigned:.3} (n {}); subflow misses: {:?}",
            self.in_scope - self.in_scope_without.len(),
            self.in_scope,
            self.out_of_scope_without,
            self.out_of_scope,
            self.written,
            self.unsigned,
            self.misses
        );
        (sub, unsigned)
    }
}

#[test]
fn every_demo_case_gets_evidence_from_its_own_part_of_the_approved_demo_corpus() {
    let t = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut ws = seeded(t.path());
    let versions = ws.corpus_versions().unwrap();
    assert_eq!(versions.len(), 1);
    assert_eq!(
        versions[0].approved_by.as_deref(),
        Some(signoff_api::demo::DEMO_SME)
    );
    assert!(versions[0].chunks > 250, "{}", versions[0].chunks);
    let cases = demo_cases(&ws);
    assert!(cases.len() > 200, "{}", cases.len());
    assert!(cases.iter().filter(|c| c.written).count() >= 150);
    assert!(cases.iter().any(|c| c.out_of_scope));

    // BM25, searched as a retrieval searches (redacted subject and body), read-only.
    let started = std::time::Instant::now();
    let mut bm25 = Tally::default();
    let mut redacted = std::collections::BTreeMap::<String, u32>::new();
    for c in &cases {
        let case = ws.case(ws.case_seq(&c.id).unwrap()).unwrap();
        let red =
            signoff_store::corpus::redact::redact(&format!("{}\n\n{}", case.subject, case.body));
        for (kind, n) in red.counts_by_name() {
            *redacted.entry(kind).or_default() += n;
        }
        let r = ws.corpus_search(&red.text, "bm25", 3, None, None).unwrap();
        assert_eq!(r.version, versions[0].id);
        let titles: Vec<&str> = r.hits.iter().map(|h| h.chunk.title.as_str()).collect();
        bm25.add(c, &titles);
    }
    eprintln!(
        "{:.1} ms per BM25 search",
        started.elapsed().as_secs_f64() * 1000.0 / cases.len() as f64
    );
    // Some demo cases carry synthetic personal data, so redaction shows in the evidence panel.
    eprintln!("redacted before searching: {redacted:?}");
    for kind in ["email", "phone", "card", "address", "name"] {
        assert!(
            redacted.get(kind).is_some_and(|&n| n > 0),
            "{kind}: {redacted:?}"
        );
    }
    let (sub, _) = bm25.report("bm25");
    assert!(
        bm25.in_scope_without.is_empty(),
        "in-scope cases without BM25 evidence: {:?}",
        bm25.in_scope_without
    );
    assert!(sub >= 0.8, "BM25 own-subflow share {sub:.3}");
    // A few go through the recorded retrieval (every case does in the drafting test).
    for c in cases.iter().take(3) {
        let r = ws.retrieve_for_case(&c.id, 3, &clock).unwrap();
        assert!(c.out_of_scope || !r.result.hits.is_empty(), "{}", c.id);
    }
    drop(ws);
    // Opening again seeds nothing twice.
    let ws = seeded(t.path());
    assert_eq!(ws.corpus_versions().unwrap().len(), 1);
    ws.audit_verify(None, &mut |_, _| {}).unwrap();
}

#[test]
#[ignore = "drafts all 213 demo cases with the retrieval drafts use (hybrid with the embedding model: ~1-2 min in a debug build); run with --ignored"]
fn every_demo_case_gets_relevant_evidence_and_a_draft_that_cites_it() {
    let t = tempfile::tempdir().unwrap();
    let clock = clock();
    let mut ws = seeded(t.path());
    let cases = demo_cases(&ws);
    let mode = if signoff_context::encoder::shared().is_ok() {
        "retrieve_for_case (hybrid)"
    } else {
        "retrieve_for_case (bm25, no embedding model)"
    };
    let mut tally = Tally::default();
    let (mut with_evidence, mut cited) = (0, 0);
    let (mut oos, mut oos_grounded) = (0, 0);
    let mut uncited = Vec::new();
    for c in &cases {
        // Drafting retrieves as the evidence panel does (recorded, audited), then composes.
        let d = signoff_api::draft::draft_case(&mut ws, &c.id, Some("offline"), 5, None, &clock)
            .unwrap();
        let titles: Vec<&str> = d.evidence.iter().map(|e| e.title.as_str()).collect();
        tally.add(c, &titles);
        let draft = &d.record.draft;
        if c.out_of_scope {
            // Out of scope: intake escalates it at band low, whatever retrieval finds.
            let k = ws.classification(&c.id).unwrap().unwrap();
            assert!(
                k.escalate && k.band == signoff_core::Band::Low,
                "{}: {:?}",
                c.id,
                k.band
            );
            oos += 1;
            oos_grounded += draft.grounded as usize;
            continue;
        }
        with_evidence += 1;
        if draft.citations.is_empty() {
            uncited.push(c.id.clone());
        } else {
            cited += 1;
        }
    }
    let (sub, unsigned) = tally.report(mode);
    assert!(
        tally.in_scope_without.is_empty(),
        "in-scope cases without evidence: {:?}",
        tally.in_scope_without
    );
    // Hybrid retrieval embeds a case's last line as its question: e-mails that end in a
    // sign-off (the signer's name) must not steer it, so signed cases count like the rest.
    assert!(
        sub >= 0.8 && unsigned >= 0.8,
        "{mode} own-subflow share {sub:.3}, without a sign-off {unsigned:.3}"
    );
    eprintln!(
        "{cited} of {with_evidence} in-scope demo cases drafted with at least one citation \
         (uncited: {uncited:?}); out of scope: {oos} escalated at band low, {} without \
         evidence, {oos_grounded} drafted as grounded",
        tally.out_of_scope_without
    );
    // The offline drafter quotes only evidence sentences that share a word with the case and
    // are not questions, so a case whose passages say it only in their title or in a question
    // list (the ABCD FAQ subflows) can come out uncited; at most 2 in 100.
    assert!(
        uncited.len() * 50 <= with_evidence,
        "drafts without a citation: {uncited:?}"
    );
    let retrievals: i64 = ws
        .conn()
        .query_row(
            "SELECT count(*) FROM audit_entries WHERE kind = 'retrieval'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(retrievals as usize, cases.len());
    ws.audit_verify(None, &mut |_, _| {}).unwrap();
}
