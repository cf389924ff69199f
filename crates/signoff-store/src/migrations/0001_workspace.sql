-- Signoff workspace schema, version 1. Released migrations are never edited.

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) STRICT;

CREATE TABLE reviewers (
    id         TEXT PRIMARY KEY,
    name       TEXT NOT NULL,
    created_ms INTEGER NOT NULL
) STRICT;

CREATE TABLE reason_codes (
    code     TEXT PRIMARY KEY,
    label    TEXT NOT NULL,
    position INTEGER NOT NULL
) STRICT;

INSERT INTO reason_codes (code, label, position) VALUES
    ('factual_error',    'Draft states something wrong',          1),
    ('policy_conflict',  'Draft contradicts policy',              2),
    ('missing_info',     'Draft misses something the customer asked', 3),
    ('tone',             'Tone or wording needs work',            4),
    ('needs_specialist', 'Needs a specialist or supervisor',      5),
    ('customer_risk',    'Legal, safety or vulnerability risk',   6),
    ('wrong_label',      'Case was classified wrongly',           7),
    ('other',            'Other (explain in the rationale)',      8);

CREATE TABLE imports (
    seq          INTEGER PRIMARY KEY,
    file_name    TEXT NOT NULL,
    file_sha256  TEXT NOT NULL,
    at_ms        INTEGER NOT NULL,
    new_cases    INTEGER NOT NULL DEFAULT 0,
    unchanged    INTEGER NOT NULL DEFAULT 0,
    conflicts    INTEGER NOT NULL DEFAULT 0
) STRICT;

-- prio_key is the negated priority, so that ascending order puts urgent cases first;
-- sla_key is the SLA deadline in ms, or the largest integer when there is none.
CREATE TABLE cases (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE COLLATE NOCASE,
    subject      TEXT NOT NULL,
    body         TEXT NOT NULL,
    received_ms  INTEGER NOT NULL,
    priority     INTEGER NOT NULL,
    prio_key     INTEGER NOT NULL,
    sla_key      INTEGER NOT NULL,
    metadata     TEXT,
    label        TEXT,
    band         TEXT,
    status       TEXT NOT NULL DEFAULT 'open',
    content_hash TEXT NOT NULL,
    draft        TEXT,
    import_seq   INTEGER REFERENCES imports(seq)
) STRICT;

CREATE INDEX cases_queue ON cases (status, sla_key, prio_key, received_ms, seq);
-- Covers the filters of a full-text count, so each hit is checked without reading the row.
CREATE INDEX cases_filter ON cases (seq, status, band, label);

CREATE TABLE import_conflicts (
    import_seq    INTEGER NOT NULL REFERENCES imports(seq),
    line          INTEGER NOT NULL,
    case_seq      INTEGER NOT NULL REFERENCES cases(seq),
    incoming_id   TEXT NOT NULL,
    incoming_hash TEXT NOT NULL
) STRICT;

CREATE VIRTUAL TABLE cases_fts USING fts5 (
    subject, body,
    content = 'cases', content_rowid = 'seq',
    tokenize = 'unicode61 remove_diacritics 2',
    detail = 'column'
);

-- Larger in-memory buffers and lazier merging make bulk imports about twice as fast.
INSERT INTO cases_fts (cases_fts, rank) VALUES ('hashsize', 67108864);
INSERT INTO cases_fts (cases_fts, rank) VALUES ('automerge', 8);

-- cases_fts and the open count are filled by the import code, not by INSERT triggers: a
-- trigger that writes to FTS5 opens a statement savepoint per row, and FTS5 flushes its
-- buffer at every savepoint, which makes bulk imports several times slower.

CREATE TABLE status_counts (
    status TEXT PRIMARY KEY,
    n      INTEGER NOT NULL
) STRICT;

INSERT INTO status_counts (status, n) VALUES
    ('open', 0), ('approved', 0), ('edited', 0), ('rejected', 0), ('escalated', 0);

CREATE TRIGGER cases_count_status AFTER UPDATE OF status ON cases
WHEN old.status <> new.status BEGIN
    UPDATE status_counts SET n = n - 1 WHERE status = old.status;
    UPDATE status_counts SET n = n + 1 WHERE status = new.status;
END;

-- Cases are never deleted: dispositions and the audit log refer to them.
CREATE TRIGGER cases_no_delete BEFORE DELETE ON cases BEGIN
    SELECT RAISE(ABORT, 'cases are never deleted');
END;

CREATE TABLE dispositions (
    seq          INTEGER PRIMARY KEY,
    case_seq     INTEGER NOT NULL REFERENCES cases(seq),
    kind         TEXT NOT NULL CHECK (kind IN ('approve', 'edit', 'reject', 'escalate', 'undo')),
    reviewer_id  TEXT NOT NULL REFERENCES reviewers(id),
    at_ms        INTEGER NOT NULL,
    reason_code  TEXT REFERENCES reason_codes(code),
    rationale    TEXT,
    draft_text   TEXT,
    final_text   TEXT,
    diff         TEXT,
    prev_status  TEXT NOT NULL,
    undoes       INTEGER REFERENCES dispositions(seq)
) STRICT;

CREATE INDEX dispositions_case ON dispositions (case_seq, seq);
CREATE INDEX dispositions_reviewer ON dispositions (reviewer_id, at_ms);

CREATE TRIGGER dispositions_no_delete BEFORE DELETE ON dispositions BEGIN
    SELECT RAISE(ABORT, 'dispositions are never deleted');
END;
CREATE TRIGGER dispositions_no_update BEFORE UPDATE ON dispositions BEGIN
    SELECT RAISE(ABORT, 'dispositions are never changed; record a new one');
END;
