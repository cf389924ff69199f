-- Signoff workspace schema, version 11: erasure. A case's text, drafts and rationales can be
-- removed for good while its audit entries keep verifying (leaves hold commitments, not text);
-- `erased_idx` is the signed `erase` entry that removed them. Released migrations are never
-- edited.
ALTER TABLE cases ADD COLUMN erased_idx INTEGER;

-- Rows that are never rewritten stay so, with one exception: an erasure blanks their text
-- columns once the case is marked erased (set first, in the same transaction). Any other
-- change is refused as before.
DROP TRIGGER dispositions_no_update;
CREATE TRIGGER dispositions_no_update BEFORE UPDATE OF seq, case_seq, kind, reviewer_id, at_ms,
    reason_code, prev_status, undoes, audit_idx ON dispositions BEGIN
    SELECT RAISE(ABORT, 'dispositions are never changed; record a new one');
END;
CREATE TRIGGER dispositions_text_erased_only BEFORE UPDATE OF rationale, draft_text, final_text, diff
    ON dispositions
WHEN new.rationale IS NOT NULL OR new.draft_text IS NOT NULL OR new.final_text IS NOT NULL
    OR new.diff IS NOT NULL
    OR (SELECT erased_idx FROM cases WHERE seq = old.case_seq) IS NULL
BEGIN
    SELECT RAISE(ABORT, 'dispositions are never changed; record a new one');
END;

DROP TRIGGER drafts_no_update;
CREATE TRIGGER drafts_no_update BEFORE UPDATE OF seq, case_seq, at_ms, model_id, model_version,
    prompt_id, prompt_fingerprint, corpus_version, chunk_ids, band, grounded, audit_idx, route
    ON drafts
BEGIN SELECT RAISE(ABORT, 'drafts are never rewritten'); END;
CREATE TRIGGER drafts_text_erased_only BEFORE UPDATE OF text ON drafts
WHEN new.text <> '' OR (SELECT erased_idx FROM cases WHERE seq = old.case_seq) IS NULL
BEGIN SELECT RAISE(ABORT, 'drafts are never rewritten'); END;

DROP TRIGGER claim_resolutions_no_update;
CREATE TRIGGER claim_resolutions_no_update BEFORE UPDATE OF seq, draft_seq, claim_idx, action,
    reviewer_id, at_ms, audit_idx ON claim_resolutions
BEGIN SELECT RAISE(ABORT, 'claim resolutions are never rewritten'); END;
CREATE TRIGGER claim_resolutions_text_erased_only BEFORE UPDATE OF reason, replacement
    ON claim_resolutions
WHEN new.reason IS NOT NULL OR new.replacement IS NOT NULL
    OR (SELECT c.erased_idx FROM drafts d JOIN cases c ON c.seq = d.case_seq
        WHERE d.seq = old.draft_seq) IS NULL
BEGIN SELECT RAISE(ABORT, 'claim resolutions are never rewritten'); END;

DROP TRIGGER classifications_no_update;
CREATE TRIGGER classifications_no_update BEFORE UPDATE OF seq, case_seq, at_ms, path, rule_id,
    rules_version, model_id, heads, embedding_version, threshold_version, label, band, escalate,
    confidence_ppm, audit_idx ON classifications BEGIN
    SELECT RAISE(ABORT, 'classifications are never changed; record a new one');
END;
CREATE TRIGGER classifications_explanation_erased_only BEFORE UPDATE OF explanation
    ON classifications
WHEN new.explanation <> '{}' OR (SELECT erased_idx FROM cases WHERE seq = old.case_seq) IS NULL
BEGIN
    SELECT RAISE(ABORT, 'classifications are never changed; record a new one');
END;

-- The erasure mark is set once, never cleared or moved.
CREATE TRIGGER cases_erased_once BEFORE UPDATE OF erased_idx ON cases
WHEN old.erased_idx IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'an erasure is never undone'); END;
