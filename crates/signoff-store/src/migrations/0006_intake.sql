-- Version 6: intake. Classifications are appended, never rewritten; the case row carries the
-- current label, band and escalation (reusing `cases.label` and `cases.band`), and the label
-- the case file gave moves to `given_label` so training and calibration keep the truth.
-- Model artefacts live in the workspace by content hash, so a workspace is self-contained
-- and every classification can be replayed against the exact model that made it.

ALTER TABLE cases ADD COLUMN given_label TEXT;
ALTER TABLE cases ADD COLUMN escalate INTEGER;
ALTER TABLE cases ADD COLUMN classification_seq INTEGER;
UPDATE cases SET given_label = label;

CREATE TABLE intake_models (
    id                TEXT PRIMARY KEY,   -- intake-<first 16 hex digits of sha256>
    sha256            TEXT NOT NULL,      -- of `bytes`
    format            INTEGER NOT NULL,   -- artefact format version
    heads             TEXT NOT NULL,      -- minilm+lexical, minilm, lexical
    embedding_version TEXT,               -- the sentence encoder the model was trained with
    labels            INTEGER NOT NULL,
    train_rows        INTEGER NOT NULL,
    bytes             BLOB NOT NULL,
    created_ms        INTEGER NOT NULL,
    audit_idx         INTEGER NOT NULL
) STRICT;

-- One row per saved set of thresholds; the highest version for a model is in force.
-- Target precisions are null when the thresholds came with the trained model.
CREATE TABLE threshold_versions (
    version        INTEGER PRIMARY KEY,
    model_id       TEXT NOT NULL REFERENCES intake_models(id),
    target_high    REAL,
    target_medium  REAL,
    high           REAL NOT NULL,
    medium         REAL NOT NULL,
    reject         REAL NOT NULL,
    basis          TEXT NOT NULL,         -- what the thresholds were computed on
    set_by         TEXT NOT NULL,
    at_ms          INTEGER NOT NULL,
    audit_idx      INTEGER NOT NULL
) STRICT;
CREATE INDEX threshold_versions_model ON threshold_versions (model_id, version);

CREATE TABLE classifications (
    seq               INTEGER PRIMARY KEY,
    case_seq          INTEGER NOT NULL REFERENCES cases(seq),
    at_ms             INTEGER NOT NULL,
    path              TEXT NOT NULL CHECK (path IN ('rule', 'model')),
    rule_id           TEXT,
    rules_version     TEXT,
    model_id          TEXT,
    heads             TEXT,
    embedding_version TEXT,
    threshold_version INTEGER,
    label             TEXT NOT NULL,
    band              TEXT NOT NULL CHECK (band IN ('high', 'medium', 'low')),
    escalate          INTEGER NOT NULL CHECK (escalate IN (0, 1)),
    confidence_ppm    INTEGER NOT NULL CHECK (confidence_ppm BETWEEN 0 AND 1000000),
    explanation       TEXT NOT NULL,      -- JSON; the audit entry commits to its SHA-256
    audit_idx         INTEGER NOT NULL
) STRICT;
CREATE INDEX classifications_case ON classifications (case_seq, seq);

CREATE TRIGGER classifications_no_update BEFORE UPDATE ON classifications BEGIN
    SELECT RAISE(ABORT, 'classifications are never changed; record a new one');
END;
CREATE TRIGGER classifications_no_delete BEFORE DELETE ON classifications BEGIN
    SELECT RAISE(ABORT, 'classifications are never deleted');
END;
CREATE TRIGGER threshold_versions_no_update BEFORE UPDATE ON threshold_versions BEGIN
    SELECT RAISE(ABORT, 'threshold versions are never changed; save a new one');
END;

-- Sentence embeddings of cases (derived data: recomputable from the text and the encoder
-- version), for comparable prior cases.
CREATE TABLE case_embeddings (
    case_seq          INTEGER PRIMARY KEY REFERENCES cases(seq),
    embedding_version TEXT NOT NULL,
    vec               BLOB NOT NULL        -- little-endian f32, unit length
) STRICT;

-- Every rules file that was in force, by the SHA-256 of its bytes (the version a rule
-- decision records), so a rule decision can be replayed and the last valid rules stay in
-- force when a later edit of the file does not load.
CREATE TABLE intake_rules (
    version    TEXT PRIMARY KEY,
    text       TEXT NOT NULL,
    loaded_ms  INTEGER NOT NULL
) STRICT;
