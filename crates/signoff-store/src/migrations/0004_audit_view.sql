-- Version 4: indexes for the team lead's audit view. Its pages are newest first by entry time
-- (ties by index), filtered by reviewer, entry kind or disposition kind; each filter has an
-- index in that order, so a page stops after its last row instead of sorting the whole log.
CREATE INDEX audit_entries_time ON audit_entries (at_ms);
CREATE INDEX audit_entries_actor ON audit_entries (actor, at_ms);
CREATE INDEX audit_entries_kind ON audit_entries (kind, at_ms);
CREATE INDEX dispositions_kind ON dispositions (kind, at_ms);
