//! Embedded, forward-only schema migrations; `PRAGMA user_version` is the schema version.

use crate::{StoreError, APPLICATION_ID};
use rusqlite::Connection;
use std::path::Path;

/// The migrations, in order; index + 1 is the schema version each one produces.
/// Each migration is one or more SQL scripts run in one transaction.
const MIGRATIONS: &[&[&str]] = &[
    &[include_str!("migrations/0001_workspace.sql")],
    // Version 2: the audit log's own tables, then the links to them.
    &[
        signoff_audit::log::SCHEMA,
        include_str!("migrations/0002_audit.sql"),
    ],
    &[include_str!("migrations/0003_audit_strata.sql")],
    &[include_str!("migrations/0004_audit_view.sql")],
    &[include_str!("migrations/0005_audit_catalog.sql")],
    &[include_str!("migrations/0006_intake.sql")],
    &[include_str!("migrations/0007_corpus.sql")],
    &[include_str!("migrations/0008_drafts.sql")],
    &[include_str!("migrations/0009_actions.sql")],
    &[include_str!("migrations/0010_draft_route.sql")],
    &[include_str!("migrations/0011_erasure.sql")],
    &[include_str!("migrations/0012_hub_leases.sql")],
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn pragma_i64(conn: &Connection, name: &str, db: &Path) -> Result<i64, StoreError> {
    conn.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
        .map_err(|e| StoreError::open(db, e))
}

/// Refuses files that are SQLite but belong to something else.
pub(crate) fn check_identity(conn: &Connection, db: &Path) -> Result<(), StoreError> {
    let app = pragma_i64(conn, "application_id", db)?;
    if app == i64::from(APPLICATION_ID) {
        return Ok(());
    }
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
        .map_err(|e| StoreError::open(db, e))?;
    if app != 0 || tables > 0 {
        return Err(StoreError::NotAWorkspace {
            path: db.to_path_buf(),
            why: "it is an SQLite database of another application".into(),
        });
    }
    Ok(())
}

/// Refuses workspaces written by a newer Signoff.
pub(crate) fn check_version(conn: &Connection, db: &Path) -> Result<i64, StoreError> {
    let found = pragma_i64(conn, "user_version", db)?;
    if found > SCHEMA_VERSION {
        return Err(StoreError::TooNew {
            path: db.to_path_buf(),
            found,
            known: SCHEMA_VERSION,
        });
    }
    Ok(found)
}

/// Applies every migration the file has not seen yet, each in its own transaction.
pub(crate) fn migrate(conn: &mut Connection, db: &Path) -> Result<(), StoreError> {
    let found = check_version(conn, db)?;
    for (i, scripts) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let tx = conn.transaction()?;
        for sql in *scripts {
            tx.execute_batch(sql)?;
        }
        tx.execute_batch(&format!(
            "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {};",
            i + 1
        ))?;
        tx.commit()?;
    }
    // Workspaces written before erasure existed may hold copies of old row versions in the
    // free space of their pages (written without secure_delete); rewriting the file once
    // leaves none, so a later erasure removes every copy of a case's text.
    if found > 0 && found < ERASURE_VERSION {
        conn.execute_batch("VACUUM; PRAGMA wal_checkpoint(TRUNCATE);")?;
    }
    Ok(())
}

/// The schema version that introduced erasure (and secure deletion on every write).
const ERASURE_VERSION: i64 = 11;
