-- The leases this workstation holds from its team hub, as the last sync returned them. Each
-- sync that changes them replaces the whole set in the transaction of the `hub_leases` entry
-- that commits to it (leases_sha256), so `audit verify` re-derives every row.
CREATE TABLE hub_leases (
    case_id       TEXT NOT NULL UNIQUE,
    fence         INTEGER NOT NULL,
    expires_at_ms INTEGER NOT NULL,
    audit_idx     INTEGER NOT NULL
);

-- Checkpoints of this log cosigned by the team hub as witness (C2SP tlog-cosignature): the
-- workstation's own signed checkpoint with the witness's `cosignature/v1` line added.
-- `audit verify` checks each against the checkpoint of the same size; `--witness VKEY` also
-- checks the cosignatures.
CREATE TABLE audit_cosigned (
    size        INTEGER PRIMARY KEY,
    note        TEXT NOT NULL,
    received_ms INTEGER NOT NULL
) STRICT;
