-- Signoff workspace schema, version 7: the curated context corpus (issue 6) and the
-- retrievals made from it. Released migrations are never edited.

-- A named source of passages (one or more files added together), with its refresh cadence.
CREATE TABLE corpus_sources (
    name         TEXT PRIMARY KEY,
    refresh_days INTEGER,            -- NULL: no cadence, never stale
    checked_ms   INTEGER NOT NULL    -- when it was last added (changed or not)
) STRICT;

-- The extracted text of an added file; chunk offsets point into `text` (in characters).
CREATE TABLE corpus_documents (
    seq         INTEGER PRIMARY KEY,
    source      TEXT NOT NULL REFERENCES corpus_sources(name),
    file        TEXT NOT NULL,
    format      TEXT NOT NULL,
    file_sha256 TEXT NOT NULL,
    text        TEXT NOT NULL,
    at_ms       INTEGER NOT NULL
) STRICT;
CREATE INDEX corpus_documents_file ON corpus_documents (source, file, file_sha256);

-- Chunks are content-addressed: the hash covers id, title, text and flags.
CREATE TABLE corpus_chunks (
    sha256 TEXT PRIMARY KEY,
    id     TEXT NOT NULL,
    source TEXT NOT NULL,
    title  TEXT NOT NULL,
    text   TEXT NOT NULL,
    flags  TEXT NOT NULL             -- JSON: restricted, consent
) STRICT;

-- A version is a set of chunk hashes; its id is the SHA-256 over the sorted set.
CREATE TABLE corpus_versions (
    seq          INTEGER PRIMARY KEY,
    id           TEXT NOT NULL UNIQUE,
    parent       TEXT,
    at_ms        INTEGER NOT NULL,
    chunks       INTEGER NOT NULL,
    audit_idx    INTEGER NOT NULL,
    approved_by  TEXT,
    approved_ms  INTEGER,
    approve_idx  INTEGER
) STRICT;

-- Which chunks a version holds, and where each one sits in its document for that version.
CREATE TABLE corpus_version_chunks (
    version_seq  INTEGER NOT NULL REFERENCES corpus_versions(seq),
    chunk_sha256 TEXT NOT NULL REFERENCES corpus_chunks(sha256),
    doc_seq      INTEGER NOT NULL REFERENCES corpus_documents(seq),
    start_char   INTEGER NOT NULL,
    end_char     INTEGER NOT NULL,
    PRIMARY KEY (version_seq, chunk_sha256)
) STRICT, WITHOUT ROWID;

-- Evidence retrieved for a case: commitments and scores, recorded with its audit entry.
CREATE TABLE retrievals (
    seq          INTEGER PRIMARY KEY,
    case_seq     INTEGER NOT NULL REFERENCES cases(seq),
    query_sha256 TEXT NOT NULL,
    version_id   TEXT NOT NULL,
    mode         TEXT NOT NULL,
    hits         TEXT NOT NULL,      -- JSON [{chunk_id, sha256, score}] (score in thousandths)
    redactions   TEXT NOT NULL,      -- JSON {kind: count}
    at_ms        INTEGER NOT NULL,
    audit_idx    INTEGER NOT NULL
) STRICT;
CREATE INDEX retrievals_case ON retrievals (case_seq, seq);
