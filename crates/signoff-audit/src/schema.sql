-- Audit log tables (applied by the workspace store as a migration). Append-only.

CREATE TABLE audit_entries (
    idx     INTEGER PRIMARY KEY,   -- leaf index, from 0
    kind    TEXT NOT NULL,
    case_id TEXT,
    actor   TEXT NOT NULL,
    at_ms   INTEGER NOT NULL,
    leaf    BLOB NOT NULL,         -- canonical leaf bytes (encoding v1)
    hash    BLOB NOT NULL          -- RFC 6962 leaf hash: the tree's level 0
) STRICT;

CREATE INDEX audit_entries_case ON audit_entries (case_id, at_ms) WHERE case_id IS NOT NULL;

-- Hash of the perfect subtrees of 2^level leaves starting at leaf idx << level. Since schema
-- version 3 only levels 4, 8, 12 … are kept (level 0 is audit_entries.hash; the other levels
-- are recomputed from the stored ones).
CREATE TABLE audit_nodes (
    level INTEGER NOT NULL,
    idx   INTEGER NOT NULL,
    hash  BLOB NOT NULL,
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;

CREATE TABLE audit_checkpoints (
    size  INTEGER PRIMARY KEY,
    at_ms INTEGER NOT NULL,
    note  TEXT NOT NULL            -- C2SP signed note over a tlog-checkpoint body
) STRICT;

CREATE TRIGGER audit_entries_append_only BEFORE UPDATE ON audit_entries BEGIN
    SELECT RAISE(ABORT, 'audit entries are never changed');
END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries BEGIN
    SELECT RAISE(ABORT, 'audit entries are never deleted');
END;
CREATE TRIGGER audit_nodes_append_only BEFORE UPDATE ON audit_nodes BEGIN
    SELECT RAISE(ABORT, 'audit nodes are never changed');
END;
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes BEGIN
    SELECT RAISE(ABORT, 'audit nodes are never deleted');
END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints BEGIN
    SELECT RAISE(ABORT, 'checkpoints are never deleted');
END;
