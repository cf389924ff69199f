-- Version 5: the audit view's filters move off the append path. `audit_catalog` copies each
-- entry's kind, actor and time and carries the view's indexes; it is filled in bulk from
-- audit_entries (a catch-up before the view reads), so an append maintains no index beyond
-- the log's own. Derived data, like those columns themselves: the leaves are the record.
CREATE TABLE audit_catalog (
    idx   INTEGER PRIMARY KEY,
    kind  TEXT NOT NULL,
    actor TEXT NOT NULL,
    at_ms INTEGER NOT NULL
) STRICT;
INSERT INTO audit_catalog (idx, kind, actor, at_ms)
    SELECT idx, kind, actor, at_ms FROM audit_entries ORDER BY idx;
CREATE INDEX audit_catalog_time ON audit_catalog (at_ms);
CREATE INDEX audit_catalog_actor ON audit_catalog (actor, at_ms);
CREATE INDEX audit_catalog_kind ON audit_catalog (kind, at_ms);
DROP INDEX audit_entries_time;
DROP INDEX audit_entries_actor;
DROP INDEX audit_entries_kind;
