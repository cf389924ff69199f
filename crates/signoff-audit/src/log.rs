//! The audit log in the workspace's SQLite file: entries (canonical leaves), every perfect
//! subtree hash, and signed checkpoints. Appends run inside the caller's transaction, so an
//! entry commits or rolls back with the change it records.

use crate::chain::Chain;
use crate::merkle::{self, Hash, MemoryTree, NodeSource, RightEdge};
use crate::note::{self, Checkpoint, NoteSigner, NoteVerifier, Signer};
use crate::AuditError;
use rusqlite::{params, Connection, OptionalExtension};
use serde_json::{Map, Value};

/// The audit tables; the workspace store applies this as one of its migrations.
pub const SCHEMA: &str = include_str!("schema.sql");
/// Version of the canonical leaf encoding.
pub const LEAF_VERSION: i64 = 1;

/// An event to record.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    /// What happened: `import`, `disposition`, `undo`, `threshold`, `key_rotation` …
    pub kind: String,
    /// The case concerned, if one is.
    pub case_id: Option<String>,
    /// Who did it (reviewer id, or `device` for the workstation itself).
    pub actor: String,
    /// When, ms since the epoch (from the injected clock).
    pub at_ms: i64,
    /// Details: commitments (hashes), codes and counts — never personal data.
    pub payload: Map<String, Value>,
}

/// Errors from the stored log.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LogError {
    /// A proof, note or key problem.
    #[error(transparent)]
    Audit(#[from] AuditError),
    /// SQLite failed (the enclosing transaction must roll back).
    #[error("audit log storage: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// An entry that cannot be encoded canonically.
    #[error("audit entry cannot be encoded: {0}")]
    Encoding(String),
    /// Verification found the first bad place.
    #[error("audit log fails verification at {at}: {why}")]
    Tampered {
        /// Where: `entry 17`, `node (level 2, index 3)`, `checkpoint of size 40` …
        at: String,
        /// What is wrong.
        why: String,
        /// The first bad leaf index, when the fault is tied to one.
        index: Option<u64>,
    },
}

fn canonical_value(v: &Value) -> Result<(), LogError> {
    match v {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => Err(LogError::Encoding(
            "floating-point numbers are not allowed in leaves".into(),
        )),
        Value::Array(a) => a.iter().try_for_each(canonical_value),
        Value::Object(o) => o.values().try_for_each(canonical_value),
        _ => Ok(()),
    }
}

/// A time in leaves: RFC 3339, UTC, milliseconds (`2026-11-26T03:07:34.691Z`).
pub fn rfc3339_ms(ms: i64) -> Result<String, LogError> {
    Ok(chrono::DateTime::from_timestamp_millis(ms)
        .ok_or_else(|| LogError::Encoding(format!("time {ms} ms is out of range")))?
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
}

/// The canonical v1 leaf: a JSON object with sorted keys and no insignificant whitespace
/// (RFC 8785 for the values Signoff writes: strings, integers, booleans, null, arrays, objects).
pub fn encode_leaf(index: u64, e: &Entry) -> Result<Vec<u8>, LogError> {
    e.payload.values().try_for_each(canonical_value)?;
    let at = rfc3339_ms(e.at_ms)?;
    // Fields in sorted order; the payload map is sorted by serde_json itself.
    #[derive(serde::Serialize)]
    struct Leaf<'a> {
        actor: &'a str,
        at: &'a str,
        case_id: Option<&'a str>,
        kind: &'a str,
        payload: &'a Map<String, Value>,
        seq: u64,
        v: i64,
    }
    let leaf = Leaf {
        actor: &e.actor,
        at: &at,
        case_id: e.case_id.as_deref(),
        kind: &e.kind,
        payload: &e.payload,
        seq: index,
        v: LEAF_VERSION,
    };
    serde_json::to_vec(&leaf).map_err(|e| LogError::Encoding(e.to_string()))
}

/// Interior hashes are stored only at levels that are multiples of this (16-leaf "strata"):
/// an append writes one node row per 15 entries on average instead of one per entry, and
/// any other node is recomputed from at most 8 stored hashes below it.
pub const STORED_LEVEL_STEP: u32 = 4;

/// Whether subtree hashes of this level are kept in `audit_nodes`.
pub fn is_stored_level(level: u32) -> bool {
    level > 0 && level.is_multiple_of(STORED_LEVEL_STEP)
}

/// Perfect-subtree hashes read from the log's tables (and recomputed for levels not stored).
pub struct SqlNodes<'c>(pub &'c Connection);

impl SqlNodes<'_> {
    /// Hashes at a stored level (0 = leaves) for indices `from..from + count`, in order.
    fn stored_range(&self, level: u32, from: u64, count: u64) -> Result<Vec<Hash>, AuditError> {
        let missing = || AuditError::MissingNode { level, index: from };
        let sql = if level == 0 {
            "SELECT hash FROM audit_entries WHERE idx >= ?2 AND idx < ?3 AND ?1 = 0 ORDER BY idx"
        } else {
            "SELECT hash FROM audit_nodes WHERE level = ?1 AND idx >= ?2 AND idx < ?3 ORDER BY idx"
        };
        let mut stmt = self.0.prepare_cached(sql).map_err(|_| missing())?;
        let rows = stmt
            .query_map(params![level, from as i64, (from + count) as i64], |r| {
                r.get::<_, Vec<u8>>(0)
            })
            .map_err(|_| missing())?;
        let mut out = Vec::with_capacity(count as usize);
        for r in rows {
            let h: Hash = r.ok().and_then(|h| h.try_into().ok()).ok_or_else(missing)?;
            out.push(h);
        }
        if out.len() as u64 != count {
            return Err(missing());
        }
        Ok(out)
    }
}

impl NodeSource for SqlNodes<'_> {
    fn node(&self, level: u32, index: u64) -> Result<Hash, AuditError> {
        let base = level - level % STORED_LEVEL_STEP;
        let span = 1u64 << (level - base);
        let mut layer = self
            .stored_range(base, index * span, span)
            .map_err(|_| AuditError::MissingNode { level, index })?;
        while layer.len() > 1 {
            layer = layer
                .chunks_exact(2)
                .map(|p| merkle::node_hash(&p[0], &p[1]))
                .collect();
        }
        Ok(layer[0])
    }
}

/// Number of entries in the log.
pub fn size(conn: &Connection) -> Result<u64, LogError> {
    let n: i64 = conn.query_row(
        "SELECT coalesce(max(idx) + 1, 0) FROM audit_entries",
        [],
        |r| r.get(0),
    )?;
    Ok(n as u64)
}

/// Appends many entries in one transaction: the tree's right edge is read once and kept in
/// memory, so each entry costs its own row plus the subtree hashes it completes.
pub struct Appender<'c> {
    conn: &'c Connection,
    insert_entry: rusqlite::CachedStatement<'c>,
    insert_node: rusqlite::CachedStatement<'c>,
    edge: RightEdge,
}

impl<'c> Appender<'c> {
    /// Reads the current size and right edge of the log.
    pub fn new(conn: &'c Connection) -> Result<Self, LogError> {
        let edge = RightEdge::of(&SqlNodes(conn), size(conn)?)?;
        Ok(Self {
            conn,
            insert_entry: conn.prepare_cached(
                "INSERT INTO audit_entries (idx, kind, case_id, actor, at_ms, leaf, hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?,
            insert_node: conn
                .prepare_cached("INSERT INTO audit_nodes (level, idx, hash) VALUES (?1, ?2, ?3)")?,
            edge,
        })
    }

    /// Appends one entry; returns its leaf index.
    pub fn append(&mut self, e: &Entry) -> Result<u64, LogError> {
        let index = self.edge.size();
        let leaf = encode_leaf(index, e)?;
        let h = merkle::leaf_hash(&leaf);
        self.insert_entry.execute(params![
            index as i64,
            e.kind,
            e.case_id,
            e.actor,
            e.at_ms,
            leaf,
            &h[..]
        ])?;
        let insert_node = &mut self.insert_node;
        self.edge.push(h, |level, idx, hash| {
            if is_stored_level(level) {
                insert_node.execute(params![level, idx as i64, &hash[..]])?;
            }
            Ok::<_, LogError>(())
        })?;
        Ok(index)
    }

    /// The root of the tree so far, from the right edge alone.
    pub fn root(&self) -> Hash {
        self.edge.root()
    }

    /// Number of entries so far.
    pub fn size(&self) -> u64 {
        self.edge.size()
    }

    /// Signs and stores a checkpoint of the tree so far (the group commit's seal), using the
    /// root kept in memory; returns the signed note.
    pub fn checkpoint(
        &self,
        origin: &str,
        signer: &dyn Signer,
        at_ms: i64,
    ) -> Result<String, LogError> {
        store_checkpoint(self.conn, self.size(), self.root(), origin, signer, at_ms)
    }
}

/// Appends an entry inside the caller's transaction; returns its leaf index.
pub fn append(conn: &Connection, e: &Entry) -> Result<u64, LogError> {
    Appender::new(conn)?.append(e)
}

/// The root of the current tree.
pub fn root(conn: &Connection) -> Result<(u64, Hash), LogError> {
    let n = size(conn)?;
    Ok((n, merkle::root(&SqlNodes(conn), n)?))
}

/// Signs and stores a checkpoint of the current tree (once per size); returns the signed note.
pub fn checkpoint(
    conn: &Connection,
    origin: &str,
    signer: &dyn Signer,
    at_ms: i64,
) -> Result<String, LogError> {
    let (n, root) = root(conn)?;
    store_checkpoint(conn, n, root, origin, signer, at_ms)
}

fn store_checkpoint(
    conn: &Connection,
    n: u64,
    root: Hash,
    origin: &str,
    signer: &dyn Signer,
    at_ms: i64,
) -> Result<String, LogError> {
    if let Some(note) = conn
        .prepare_cached("SELECT note FROM audit_checkpoints WHERE size = ?1")?
        .query_row([n as i64], |r| r.get::<_, String>(0))
        .optional()?
    {
        return Ok(note);
    }
    let cp = Checkpoint {
        origin: origin.to_string(),
        size: n,
        root,
        extensions: vec![],
    };
    let note = NoteSigner::new(origin, signer)?.sign(&cp.to_text())?;
    conn.prepare_cached("INSERT INTO audit_checkpoints (size, at_ms, note) VALUES (?1, ?2, ?3)")?
        .execute(params![n as i64, at_ms, note])?;
    Ok(note)
}

/// The newest stored checkpoint note.
pub fn latest_checkpoint(conn: &Connection) -> Result<Option<String>, LogError> {
    Ok(conn
        .query_row(
            "SELECT note FROM audit_checkpoints ORDER BY size DESC LIMIT 1",
            [],
            |r| r.get(0),
        )
        .optional()?)
}

/// What a full verification saw.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VerifyReport {
    /// Entries checked.
    pub entries: u64,
    /// Personal (reviewer, key-rotation) signatures inside entries checked.
    pub signatures: u64,
    /// Device keys the log has had (1 + rotations).
    pub device_keys: u64,
    /// Stored subtree hashes checked.
    pub nodes: u64,
    /// Checkpoints whose signature and root checked.
    pub checkpoints: u64,
}

fn tampered(at: String, why: impl Into<String>, index: Option<u64>) -> LogError {
    LogError::Tampered {
        at,
        why: why.into(),
        index,
    }
}

/// Recomputes every leaf hash, every stored node, every personal signature inside entries and
/// every checkpoint root and signature (by the device key in force, starting from `genesis`
/// and following signed key rotations). Fails at the first bad place, naming it. `pinned`
/// (a checkpoint note seen earlier) must be consistent with the log: a truncated or rewritten
/// log is caught against it.
pub fn verify(
    conn: &Connection,
    genesis: &NoteVerifier,
    pinned: Option<&str>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport, LogError> {
    let total = size(conn)?;
    let mut tree = MemoryTree::default();
    let mut chain = Chain::new(genesis.clone());
    let mut report = VerifyReport::default();
    {
        let mut stmt = conn.prepare("SELECT idx, leaf, hash FROM audit_entries ORDER BY idx")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let idx: i64 = row.get(0)?;
            let leaf = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
            let stored = row.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?;
            let expect = tree.len();
            if idx as u64 != expect {
                return Err(tampered(
                    format!("entry {expect}"),
                    format!("entry {expect} is missing (next stored is {idx})"),
                    Some(expect),
                ));
            }
            check_leaf(expect, leaf)?;
            chain
                .entry(expect, leaf)
                .map_err(|why| tampered(format!("entry {expect}"), why, Some(expect)))?;
            tree.push(leaf);
            if stored != tree.node(0, expect)? {
                return Err(tampered(
                    format!("entry {expect}"),
                    "the leaf does not match its stored hash",
                    Some(expect),
                ));
            }
            report.entries += 1;
            if report.entries.is_multiple_of(65536) {
                progress(report.entries, total);
            }
        }
    }
    {
        let mut stmt =
            conn.prepare("SELECT level, idx, hash FROM audit_nodes ORDER BY level, idx")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let (level, idx): (u32, i64) = (row.get(0)?, row.get(1)?);
            let hash = row.get_ref(2)?.as_blob().map_err(rusqlite::Error::from)?;
            let want = tree.node(level, idx as u64).map_err(|_| {
                tampered(
                    format!("node (level {level}, index {idx})"),
                    "a node the entries do not produce",
                    None,
                )
            })?;
            if hash != want {
                let first = (idx as u64) << level;
                return Err(tampered(
                    format!("node (level {level}, index {idx})"),
                    format!(
                        "stored hash differs from the one its leaves give (leaves from {first})"
                    ),
                    Some(first),
                ));
            }
            report.nodes += 1;
        }
    }
    let expected_nodes: u64 = (1..64)
        .filter(|&l| is_stored_level(l))
        .map(|l| total >> l)
        .sum();
    if report.nodes != expected_nodes {
        return Err(tampered(
            "the node table".into(),
            format!(
                "{} stored nodes, the entries need {expected_nodes}",
                report.nodes
            ),
            None,
        ));
    }
    let mut stmt = conn.prepare("SELECT size, note FROM audit_checkpoints ORDER BY size")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let (size, note): (i64, String) = (row.get(0)?, row.get(1)?);
        let key = chain.checkpoint_key(size as u64).clone();
        check_checkpoint(&tree, size as u64, &note, &[key])
            .map_err(|why| tampered(format!("checkpoint of size {size}"), why, None))?;
        report.checkpoints += 1;
    }
    if let Some(pinned) = pinned {
        let keys: Vec<NoteVerifier> = chain.device_keys().cloned().collect();
        let named = pinned.lines().next().unwrap_or("");
        if named != genesis.name {
            return Err(tampered(
                "the pinned checkpoint".into(),
                format!(
                    "it is a checkpoint of log {named:?}, not of this log ({:?})",
                    genesis.name
                ),
                None,
            ));
        }
        let opened = note::open(pinned, &keys)
            .map_err(|e| tampered("the pinned checkpoint".into(), e.to_string(), None))?;
        let cp = Checkpoint::parse(&opened.text)?;
        if cp.size > tree.len() {
            return Err(tampered(
                format!("entry {}", tree.len()),
                format!(
                    "the log has {} entries but a pinned checkpoint saw {}: it was truncated",
                    tree.len(),
                    cp.size
                ),
                Some(tree.len()),
            ));
        }
        if merkle::root(&tree, cp.size)? != cp.root {
            return Err(tampered(
                "the pinned checkpoint".into(),
                format!(
                    "the first {} entries no longer match the pinned root: history was rewritten",
                    cp.size
                ),
                None,
            ));
        }
    }
    progress(total, total);
    report.signatures = chain.signatures();
    report.device_keys = chain.device_keys().count() as u64;
    Ok(report)
}

/// Cheap structural checks of a leaf; its bytes themselves are authenticated by the tree.
/// Canonical leaves sort their keys, so every v1 leaf ends with its own `seq` and `"v":1`.
pub fn check_leaf(index: u64, leaf: &[u8]) -> Result<(), LogError> {
    let bad = |why: &str| tampered(format!("entry {index}"), why, Some(index));
    if !leaf.starts_with(b"{\"actor\":") {
        return Err(bad("leaf is not a v1 canonical entry"));
    }
    let mut tail = [0u8; 48];
    let n = {
        use std::io::Write;
        let mut w = &mut tail[..];
        let _ = write!(w, ",\"seq\":{index},\"v\":{LEAF_VERSION}}}");
        48 - w.len()
    };
    if !leaf.ends_with(&tail[..n]) {
        // Say which: a newer encoding, or a leaf that sits at the wrong index.
        let text = String::from_utf8_lossy(leaf);
        let v = text
            .rsplit_once(",\"v\":")
            .and_then(|(_, v)| v.trim_end_matches('}').parse::<i64>().ok());
        return Err(match v {
            Some(v) if v > LEAF_VERSION => bad(&format!(
                "written by a newer Signoff (leaf encoding v{v}; this build reads v{LEAF_VERSION}): update Signoff to verify this log"
            )),
            _ => bad("the leaf's own sequence number does not match its place: entries were reordered or moved"),
        });
    }
    Ok(())
}

fn check_checkpoint(
    tree: &MemoryTree,
    size: u64,
    note_text: &str,
    verifiers: &[NoteVerifier],
) -> Result<(), String> {
    let named = note_text.lines().next().unwrap_or("");
    if let Some(v) = verifiers.first().filter(|v| v.name != named) {
        return Err(format!(
            "it is a checkpoint of log {named:?}, not of this log ({:?})",
            v.name
        ));
    }
    let opened = note::open(note_text, verifiers).map_err(|e| e.to_string())?;
    let cp = Checkpoint::parse(&opened.text).map_err(|e| e.to_string())?;
    if cp.size != size {
        return Err(format!(
            "note says size {} but is stored as {size}",
            cp.size
        ));
    }
    if size > tree.len() {
        return Err(format!(
            "checkpoint covers {size} entries but the log has {}",
            tree.len()
        ));
    }
    let root = merkle::root(tree, size).map_err(|e| e.to_string())?;
    if root != cp.root {
        return Err("root hash does not match the entries".into());
    }
    Ok(())
}
