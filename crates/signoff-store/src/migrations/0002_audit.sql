-- Signoff workspace schema, version 2: the audit log. Every state change appends an entry in
-- the same transaction; imports and dispositions remember the index of their entry.

ALTER TABLE imports ADD COLUMN audit_idx INTEGER;
ALTER TABLE dispositions ADD COLUMN audit_idx INTEGER;
