-- Signoff workspace schema, version 8: AI drafts with their citations, checked claims and
-- frozen evidence (issue 7). Released migrations are never edited.

-- The exact passages drafts cited, keyed by the SHA-256 of their text: what the reviewer saw
-- stays the same when the corpus changes.
CREATE TABLE draft_passages (
    sha256   TEXT PRIMARY KEY,
    chunk_id TEXT NOT NULL,
    source   TEXT NOT NULL,
    version  TEXT NOT NULL,
    title    TEXT NOT NULL,
    text     TEXT NOT NULL
) STRICT;

-- One row per draft made for a case (newest = highest seq); never rewritten.
CREATE TABLE drafts (
    seq                INTEGER PRIMARY KEY,
    case_seq           INTEGER NOT NULL REFERENCES cases(seq),
    at_ms              INTEGER NOT NULL,
    model_id           TEXT NOT NULL,
    model_version      TEXT NOT NULL,
    prompt_id          TEXT NOT NULL,
    prompt_fingerprint TEXT NOT NULL,    -- SHA-256 of the rendered prompt
    corpus_version     TEXT NOT NULL,
    chunk_ids          TEXT NOT NULL,    -- JSON array: retrieved chunk ids, best first
    text               TEXT NOT NULL,
    band               TEXT NOT NULL,
    grounded           INTEGER NOT NULL,
    audit_idx          INTEGER NOT NULL
) STRICT;
CREATE INDEX drafts_case ON drafts (case_seq, seq);

-- Marker [n] of a draft bound to a span (characters) of a frozen passage.
CREATE TABLE draft_citations (
    draft_seq      INTEGER NOT NULL REFERENCES drafts(seq),
    marker         INTEGER NOT NULL,
    chunk_id       TEXT NOT NULL,
    passage_sha256 TEXT NOT NULL REFERENCES draft_passages(sha256),
    start_char     INTEGER NOT NULL,
    end_char       INTEGER NOT NULL,
    PRIMARY KEY (draft_seq, marker)
) STRICT;

-- The claims of a draft (character spans of its text) and what the check said.
CREATE TABLE draft_claims (
    draft_seq  INTEGER NOT NULL REFERENCES drafts(seq),
    idx        INTEGER NOT NULL,
    start_char INTEGER NOT NULL,
    end_char   INTEGER NOT NULL,
    markers    TEXT NOT NULL,            -- JSON array of cited markers
    score      REAL,                     -- probability unsupported; NULL when not scored
    status     TEXT NOT NULL CHECK (status IN ('supported', 'unsupported', 'uncited', 'bad_citation')),
    PRIMARY KEY (draft_seq, idx)
) STRICT;

-- A reviewer's resolution of a flagged claim: accepted with a reason, edited, or removed.
CREATE TABLE claim_resolutions (
    seq         INTEGER PRIMARY KEY,
    draft_seq   INTEGER NOT NULL,
    claim_idx   INTEGER NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('accept', 'edit', 'remove')),
    reason      TEXT,
    replacement TEXT,
    reviewer_id TEXT NOT NULL,
    at_ms       INTEGER NOT NULL,
    audit_idx   INTEGER NOT NULL,
    FOREIGN KEY (draft_seq, claim_idx) REFERENCES draft_claims(draft_seq, idx)
) STRICT;
CREATE INDEX claim_resolutions_claim ON claim_resolutions (draft_seq, claim_idx);

CREATE TRIGGER drafts_no_update BEFORE UPDATE ON drafts
BEGIN SELECT RAISE(ABORT, 'drafts are never rewritten'); END;
CREATE TRIGGER drafts_no_delete BEFORE DELETE ON drafts
BEGIN SELECT RAISE(ABORT, 'drafts are never deleted'); END;
CREATE TRIGGER draft_passages_no_update BEFORE UPDATE ON draft_passages
BEGIN SELECT RAISE(ABORT, 'frozen passages are never rewritten'); END;
CREATE TRIGGER draft_passages_no_delete BEFORE DELETE ON draft_passages
BEGIN SELECT RAISE(ABORT, 'frozen passages are never deleted'); END;
CREATE TRIGGER claim_resolutions_no_update BEFORE UPDATE ON claim_resolutions
BEGIN SELECT RAISE(ABORT, 'claim resolutions are never rewritten'); END;
