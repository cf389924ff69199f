-- Signoff workspace schema, version 9: outbound actions (issue 7, item 5). A disposition that
-- sends the reply out (approve, edit) with an upstream configured queues one action in its own
-- transaction; the sender posts it with an Idempotency-Key header and records the outcome;
-- undoing the disposition (or an explicit compensation) cancels it or sends the compensating
-- request. Every change of `state` has its own audit entry. Released migrations are never edited.

CREATE TABLE actions (
    seq             INTEGER PRIMARY KEY,
    case_seq        INTEGER NOT NULL REFERENCES cases(seq),
    disposition_seq INTEGER NOT NULL REFERENCES dispositions(seq),
    kind            TEXT NOT NULL,              -- 'post_reply'
    -- SHA-256 over the case id and the disposition entry's leaf hash: the same disposition
    -- always yields the same key, so a resend can never post twice.
    idempotency_key TEXT NOT NULL UNIQUE,
    url             TEXT NOT NULL,              -- the endpoint, fixed when queued
    body_sha256     TEXT NOT NULL,              -- commitment to the body that is sent
    state           TEXT NOT NULL CHECK (state IN
                        ('queued', 'sent', 'failed', 'cancelled', 'compensating', 'compensated')),
    attempts        INTEGER NOT NULL DEFAULT 0, -- HTTP attempts so far (sends and compensations)
    last_status     INTEGER,                    -- last HTTP status seen
    last_error      TEXT,                       -- last failure, for people
    -- Set (and committed) before a request goes out, cleared when its outcome is recorded: a
    -- row still in flight after a crash may have reached upstream, so it is compensated, not
    -- merely cancelled.
    in_flight_ms    INTEGER,
    queued_ms       INTEGER NOT NULL,
    updated_ms      INTEGER NOT NULL,
    audit_idx       INTEGER NOT NULL            -- its action_queued entry
) STRICT;

CREATE INDEX actions_case ON actions (case_seq, seq);
CREATE INDEX actions_state ON actions (state, seq);

CREATE TRIGGER actions_no_delete BEFORE DELETE ON actions BEGIN
    SELECT RAISE(ABORT, 'actions are never deleted');
END;
CREATE TRIGGER actions_fixed BEFORE UPDATE OF case_seq, disposition_seq, kind, idempotency_key,
    url, body_sha256, queued_ms, audit_idx ON actions BEGIN
    SELECT RAISE(ABORT, 'an action''s identity is never changed');
END;
