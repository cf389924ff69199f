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
/// Payload field linking an entry about a case to the previous entry about the same case:
/// `{"index": N, "leaf_sha256": hex}` (the RFC 6962 leaf hash), or null for the case's first
/// entry. Logs written before the link existed have entries without it; once one entry of a
/// log carries it, every later entry about a case must.
pub const CASE_PREV: &str = "case_prev";
/// Checkpoint extension line recording when the checkpoint was sealed (RFC 3339, ms, UTC):
/// `sealed <time>`. The stored `audit_checkpoints.at_ms` must agree with it.
pub const SEALED_PREFIX: &str = "sealed ";

/// The value of [`CASE_PREV`] for a previous entry (index, leaf hash), or none.
pub fn case_link(prev: Option<(u64, Vec<u8>)>) -> Value {
    match prev {
        Some((i, h)) => {
            let mut m = Map::new();
            m.insert("index".into(), i.into());
            m.insert("leaf_sha256".into(), hex::encode(h).into());
            Value::Object(m)
        }
        None => Value::Null,
    }
}

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

/// The newest entry about a case. The case index is (case_id, at_ms): max(idx) reads the
/// case's few index entries (idx is the rowid they carry) with no sort, then one row by key.
const CASE_HEAD_SQL: &str = "SELECT idx, hash FROM audit_entries
     WHERE idx = (SELECT max(idx) FROM audit_entries WHERE case_id = ?1)";

/// Connection settings the log's speed relies on; the workspace applies them on open.
/// The query planner stability guarantee (QPSG) keeps plans independent of bound values:
/// without it SQLite re-prepares a cached statement on every bind when a parameter meets a
/// partial index's condition (as `case_id = ?` meets `audit_entries_case`), which costs more
/// than the query itself on every append.
pub fn tune(conn: &Connection) -> Result<(), LogError> {
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    Ok(())
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

    /// Adds the per-case link ([`CASE_PREV`]) to an entry about a case, unless it has one:
    /// the index and leaf hash of the previous entry about the same case (null for the first).
    /// Signed entries are linked before they are signed, so the signature covers the link.
    pub fn link_case(&self, e: &mut Entry) -> Result<(), LogError> {
        let Some(case) = e.case_id.as_deref() else {
            return Ok(());
        };
        if e.payload.contains_key(CASE_PREV) {
            return Ok(());
        }
        let prev = self
            .conn
            .prepare_cached(CASE_HEAD_SQL)?
            .query_row([case], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Vec<u8>>(1)?))
            })
            .optional()?;
        e.payload.insert(
            CASE_PREV.into(),
            case_link(prev.map(|(i, h)| (i as u64, h))),
        );
        Ok(())
    }

    /// Appends one entry (linked to the case's previous entry, see [`Appender::link_case`]);
    /// returns its leaf index.
    pub fn append(&mut self, e: &Entry) -> Result<u64, LogError> {
        let linked;
        let e = if e.case_id.is_some() && !e.payload.contains_key(CASE_PREV) {
            if e.payload.contains_key("signature") {
                return Err(LogError::Encoding(
                    "a signed entry about a case must be linked (Appender::link_case) before it is signed".into(),
                ));
            }
            let mut owned = e.clone();
            self.link_case(&mut owned)?;
            linked = owned;
            &linked
        } else {
            e
        };
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
        extensions: vec![format!("{SEALED_PREFIX}{}", rfc3339_ms(at_ms)?)],
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
    verify_with_copy(conn, genesis, pinned, None, progress)
}

/// [`verify`], also checking `copy`: a table of `(idx INTEGER PRIMARY KEY, kind, actor, at_ms)`
/// rows that copy entries' columns for a view (it may lag behind the log, never skip an entry,
/// run ahead or disagree). It is read in the same ordered pass as the entries.
pub fn verify_with_copy(
    conn: &Connection,
    genesis: &NoteVerifier,
    pinned: Option<&str>,
    copy: Option<&str>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<VerifyReport, LogError> {
    let total = size(conn)?;
    let mut chain = Chain::new(genesis.clone());
    let mut report = VerifyReport::default();
    let tree = entry_pass(conn, copy, &mut chain, &mut report, total, progress)?;
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
    let mut stmt = conn.prepare("SELECT size, at_ms, note FROM audit_checkpoints ORDER BY size")?;
    let mut rows = stmt.query([])?;
    let mut sealed_since: Option<i64> = None;
    while let Some(row) = rows.next()? {
        let (size, at_ms, note): (i64, i64, String) = (row.get(0)?, row.get(1)?, row.get(2)?);
        let key = chain.checkpoint_key(size as u64).clone();
        let cp = check_checkpoint(&tree, size as u64, &note, &[key])
            .map_err(|why| tampered(format!("checkpoint of size {size}"), why, None))?;
        let sealed = cp
            .extensions
            .iter()
            .find_map(|l| l.strip_prefix(SEALED_PREFIX));
        match (sealed, sealed_since) {
            (Some(t), _) => {
                if t != rfc3339_ms(at_ms)? {
                    return Err(tampered(
                        format!("checkpoint of size {size}"),
                        format!("audit_checkpoints.at_ms says {} but the signed checkpoint was sealed at {t}", rfc3339_ms(at_ms)?),
                        None,
                    ));
                }
                sealed_since.get_or_insert(size);
            }
            (None, Some(since)) => {
                return Err(tampered(
                    format!("checkpoint of size {size}"),
                    format!(
                        "it carries no sealing time, but checkpoints carry one since size {since}"
                    ),
                    None,
                ))
            }
            (None, None) => {}
        }
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

/// Leaves handed from the reading thread to the hashing thread.
#[derive(Default)]
struct Batch {
    first: u64,
    bytes: Vec<u8>,
    /// Per entry: end of its leaf, end of its case id (empty range: none) in `bytes`.
    ends: Vec<(usize, usize, bool)>,
    stored: Vec<Hash>,
}

const BATCH: usize = 1024;

/// The reader's ends of the two channels: full batches out, emptied ones back.
struct Pipe {
    to_hasher: std::sync::mpsc::SyncSender<Batch>,
    recycled: std::sync::mpsc::Receiver<Batch>,
}

/// The ordered pass over the entries. This thread reads the rows and checks each leaf's
/// shape, its columns, the copy table and the signing rules; a second thread hashes the
/// leaves, compares the stored hashes, checks the case links and builds the tree. The first
/// failure (lowest index) is reported.
fn entry_pass(
    conn: &Connection,
    copy: Option<&str>,
    chain: &mut Chain,
    report: &mut VerifyReport,
    total: u64,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<MemoryTree, LogError> {
    let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(8);
    // Emptied batches go back to the reader, so their buffers are reused rather than freed
    // and faulted in afresh for every 1024 entries.
    let (back_tx, back_rx) = std::sync::mpsc::sync_channel::<Batch>(10);
    std::thread::scope(|s| {
        let hasher = s.spawn(move || -> Result<MemoryTree, LogError> {
            let mut tree = MemoryTree::default();
            let mut links = Columns::default();
            for mut b in rx {
                let mut start = 0;
                for (k, &(leaf_end, case_end, has_case)) in b.ends.iter().enumerate() {
                    let index = b.first + k as u64;
                    let leaf = &b.bytes[start..leaf_end];
                    let case = has_case
                        .then(|| std::str::from_utf8(&b.bytes[leaf_end..case_end]).unwrap_or(""));
                    start = case_end;
                    let h = merkle::leaf_hash(leaf);
                    if b.stored[k] != h {
                        return Err(tampered(
                            format!("entry {index}"),
                            "the leaf does not match its stored hash",
                            Some(index),
                        ));
                    }
                    links.link(index, case, leaf, &h)?;
                    tree.push_hash(h);
                }
                b.bytes.clear();
                b.ends.clear();
                b.stored.clear();
                let _ = back_tx.try_send(b);
            }
            Ok(tree)
        });
        let pipe = Pipe {
            to_hasher: tx,
            recycled: back_rx,
        };
        let read = read_entries(conn, copy, chain, report, total, progress, &pipe);
        drop(pipe);
        let hashed = hasher
            .join()
            .unwrap_or_else(|_| Err(LogError::Encoding("the hashing thread panicked".into())));
        match (read, hashed) {
            (Ok(()), Ok(tree)) => Ok(tree),
            (Err(a), Err(b)) => Err(if tampered_index(&b) < tampered_index(&a) {
                b
            } else {
                a
            }),
            (Err(a), _) | (_, Err(a)) => Err(a),
        }
    })
}

fn tampered_index(e: &LogError) -> u64 {
    match e {
        LogError::Tampered { index: Some(i), .. } => *i,
        _ => u64::MAX,
    }
}

/// The reading side of [`entry_pass`].
fn read_entries(
    conn: &Connection,
    copy: Option<&str>,
    chain: &mut Chain,
    report: &mut VerifyReport,
    total: u64,
    progress: &mut dyn FnMut(u64, u64),
    pipe: &Pipe,
) -> Result<(), LogError> {
    let mut cols = Columns::default();
    let mut stmt = conn.prepare(
        "SELECT idx, kind, case_id, actor, at_ms, leaf, hash FROM audit_entries ORDER BY idx",
    )?;
    let mut rows = stmt.query([])?;
    let mut copy_stmt = match copy {
        Some(t) => Some(conn.prepare(&format!(
            "SELECT idx, kind, actor, at_ms FROM \"{t}\" ORDER BY idx"
        ))?),
        None => None,
    };
    let mut copy_rows = match copy_stmt.as_mut() {
        Some(s) => Some(s.query([])?),
        None => None,
    };
    let copy_name = copy.unwrap_or("");
    // The copy table's next row: (idx, kind, actor, at_ms), buffers reused.
    let mut copy_next: Option<(i64, String, String, i64)> = None;
    let advance = |rows: &mut Option<rusqlite::Rows<'_>>,
                   next: &mut Option<(i64, String, String, i64)>|
     -> Result<(), LogError> {
        let Some(r) = rows.as_mut() else {
            return Ok(());
        };
        match r.next()? {
            Some(row) => {
                let slot = next.get_or_insert_with(Default::default);
                slot.0 = row.get(0)?;
                slot.1.clear();
                slot.1
                    .push_str(row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?);
                slot.2.clear();
                slot.2
                    .push_str(row.get_ref(2)?.as_str().map_err(rusqlite::Error::from)?);
                slot.3 = row.get(3)?;
            }
            None => *next = None,
        }
        Ok(())
    };
    advance(&mut copy_rows, &mut copy_next)?;
    let mut batch = Batch::default();
    let mut expect = 0u64;
    while let Some(row) = rows.next()? {
        let idx: i64 = row.get(0)?;
        if idx as u64 != expect {
            return Err(tampered(
                format!("entry {expect}"),
                format!("entry {expect} is missing (next stored is {idx})"),
                Some(expect),
            ));
        }
        let leaf = row.get_ref(5)?.as_blob().map_err(rusqlite::Error::from)?;
        let stored = row.get_ref(6)?.as_blob().map_err(rusqlite::Error::from)?;
        check_leaf(expect, leaf)?;
        let case_id = match row.get_ref(2)? {
            rusqlite::types::ValueRef::Null => None,
            v => Some(v.as_str().map_err(rusqlite::Error::from)?),
        };
        let head = EntryColumns {
            kind: row.get_ref(1)?.as_str().map_err(rusqlite::Error::from)?,
            case_id,
            actor: row.get_ref(3)?.as_str().map_err(rusqlite::Error::from)?,
            at_ms: row.get(4)?,
        };
        cols.check(expect, &head, leaf)?;
        if let Some((ci, ck, ca, ct)) = copy_next.as_ref() {
            if *ci < idx {
                return Err(tampered(
                    format!("entry {ci} ({copy_name}.idx)"),
                    format!("{copy_name}.idx lists entry {ci}, which the log does not have"),
                    Some(*ci as u64),
                ));
            }
            if *ci > idx {
                // The copy is a prefix of the log: it may stop early, never skip an entry.
                return Err(tampered(
                    format!("entry {idx} ({copy_name}.idx)"),
                    format!("{copy_name} has no row for entry {idx} but lists entry {ci} after it"),
                    Some(idx as u64),
                ));
            }
            if *ci == idx {
                let differs = if ck != head.kind {
                    Some(("kind", format!("{ck:?}"), format!("{:?}", head.kind)))
                } else if ca != head.actor {
                    Some(("actor", format!("{ca:?}"), format!("{:?}", head.actor)))
                } else if *ct != head.at_ms {
                    Some(("at_ms", ct.to_string(), head.at_ms.to_string()))
                } else {
                    None
                };
                if let Some((col, said, is)) = differs {
                    return Err(tampered(
                        format!("entry {expect} ({copy_name}.{col})"),
                        format!("{copy_name}.{col} says {said} but the entry says {is}"),
                        Some(expect),
                    ));
                }
                advance(&mut copy_rows, &mut copy_next)?;
            }
        }
        chain
            .entry(expect, leaf)
            .map_err(|why| tampered(format!("entry {expect}"), why, Some(expect)))?;
        let stored: Hash = stored.try_into().unwrap_or([0; 32]);
        if batch.ends.is_empty() {
            batch.first = expect;
        }
        batch.bytes.extend_from_slice(leaf);
        let leaf_end = batch.bytes.len();
        if let Some(c) = case_id {
            batch.bytes.extend_from_slice(c.as_bytes());
        }
        batch
            .ends
            .push((leaf_end, batch.bytes.len(), case_id.is_some()));
        batch.stored.push(stored);
        if batch.ends.len() == BATCH
            && pipe
                .to_hasher
                .send(std::mem::replace(
                    &mut batch,
                    pipe.recycled.try_recv().unwrap_or_default(),
                ))
                .is_err()
        {
            // The hashing side stopped at a failure; it reports it.
            return Ok(());
        }
        expect += 1;
        report.entries += 1;
        if report.entries.is_multiple_of(65536) {
            progress(report.entries, total);
        }
    }
    if let Some((ci, ..)) = copy_next {
        return Err(tampered(
            format!("entry {ci} ({copy_name}.idx)"),
            format!("{copy_name}.idx lists entry {ci}, which the log does not have"),
            Some(ci as u64),
        ));
    }
    if !batch.ends.is_empty() {
        let _ = pipe.to_hasher.send(batch);
    }
    Ok(())
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
) -> Result<Checkpoint, String> {
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
    Ok(cp)
}

/// The columns stored beside a leaf in `audit_entries`.
#[derive(Debug, Clone, Copy)]
pub struct EntryColumns<'a> {
    /// `audit_entries.kind`.
    pub kind: &'a str,
    /// `audit_entries.case_id`.
    pub case_id: Option<&'a str>,
    /// `audit_entries.actor`.
    pub actor: &'a str,
    /// `audit_entries.at_ms`.
    pub at_ms: i64,
}

/// Checks the columns stored beside each leaf and the per-case links, entry by entry in order.
/// A canonical leaf starts with its actor, time, case and kind (keys sorted), so the columns
/// are checked by building that prefix and comparing bytes; the leaf is parsed only to say
/// which column disagrees.
#[derive(Debug, Default)]
pub struct Columns {
    head: Vec<u8>,
    /// Last entry about each case: (index, leaf hash).
    cases: std::collections::HashMap<Box<[u8]>, (u64, Hash), Fnv>,
    /// The first entry that carried a case link.
    linked_since: Option<u64>,
}

/// FNV-1a for the case map: case ids are short, and SipHash's DoS resistance buys nothing
/// for keys read from the workspace's own log.
#[derive(Debug, Default, Clone, Copy)]
struct Fnv;

/// The running FNV-1a state.
struct FnvHasher(u64);

impl std::hash::BuildHasher for Fnv {
    type Hasher = FnvHasher;
    fn build_hasher(&self) -> FnvHasher {
        FnvHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl std::hash::Hasher for FnvHasher {
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

impl Columns {
    /// Checks that `cols` are what leaf `index` says.
    pub fn check(
        &mut self,
        index: u64,
        cols: &EntryColumns<'_>,
        leaf: &[u8],
    ) -> Result<(), LogError> {
        leaf_head(&mut self.head, cols)?;
        if leaf.starts_with(&self.head) {
            return Ok(());
        }
        let v: Value = serde_json::from_slice(leaf).map_err(|e| {
            tampered(
                format!("entry {index}"),
                format!("leaf is not JSON: {e}"),
                Some(index),
            )
        })?;
        let leaf_at = v.get("at").and_then(Value::as_str).unwrap_or("");
        let stored_at = rfc3339_ms(cols.at_ms)?;
        let diffs = [
            ("kind", Value::from(cols.kind), v.get("kind").cloned()),
            (
                "case_id",
                cols.case_id.map_or(Value::Null, Value::from),
                v.get("case_id").cloned(),
            ),
            ("actor", Value::from(cols.actor), v.get("actor").cloned()),
            ("at_ms", Value::from(stored_at), Some(Value::from(leaf_at))),
        ];
        let (col, stored, said) = diffs
            .into_iter()
            .find(|(_, s, l)| Some(s) != l.as_ref())
            .unwrap_or(("leaf", Value::Null, None));
        Err(tampered(
            format!("entry {index}"),
            format!(
                "audit_entries.{col} says {stored} but the leaf says {}",
                said.unwrap_or(Value::Null)
            ),
            Some(index),
        ))
    }

    /// Checks the per-case link of leaf `index` (about `case_id`, hash `hash`) and records it
    /// as the case's latest entry.
    pub fn link(
        &mut self,
        index: u64,
        case_id: Option<&str>,
        leaf: &[u8],
        hash: &Hash,
    ) -> Result<(), LogError> {
        let Some(case) = case_id else {
            return Ok(());
        };
        let bad = |why: String| tampered(format!("entry {index}"), why, Some(index));
        let prev = self.cases.get(case.as_bytes()).copied();
        match parse_case_link(leaf) {
            Ok(Some(link)) => {
                self.linked_since.get_or_insert(index);
                if link != prev {
                    let want = prev.map_or("none".to_string(), |(i, _)| format!("entry {i}"));
                    let says = link.map_or("none".to_string(), |(i, _)| format!("entry {i}"));
                    return Err(bad(format!(
                        "its link to the previous entry about case {case:?} names {says}, but the log's previous entry about the case is {want} (an entry about the case was removed, moved or changed)"
                    )));
                }
            }
            Ok(None) => {
                if let Some(since) = self.linked_since {
                    return Err(bad(format!(
                        "it is about case {case:?} but carries no link to the case's previous entry (entries carry one since entry {since})"
                    )));
                }
            }
            Err(why) => return Err(bad(why)),
        }
        match self.cases.get_mut(case.as_bytes()) {
            Some(v) => *v = (index, *hash),
            None => {
                self.cases.insert(case.as_bytes().into(), (index, *hash));
            }
        }
        Ok(())
    }
}

/// The canonical prefix of a leaf with these columns, up to and including `"payload":`.
pub fn leaf_head(buf: &mut Vec<u8>, c: &EntryColumns<'_>) -> Result<(), LogError> {
    let json = |buf: &mut Vec<u8>, s: &str| {
        // serde_json escapes only controls, quotes and backslashes: most names need none.
        if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
            buf.push(b'"');
            buf.extend_from_slice(s.as_bytes());
            buf.push(b'"');
            return Ok(());
        }
        serde_json::to_writer(&mut *buf, s).map_err(|e| LogError::Encoding(e.to_string()))
    };
    buf.clear();
    buf.extend_from_slice(b"{\"actor\":");
    json(buf, c.actor)?;
    buf.extend_from_slice(b",\"at\":\"");
    push_rfc3339_ms(buf, c.at_ms)?;
    buf.extend_from_slice(b"\",\"case_id\":");
    match c.case_id {
        Some(id) => json(buf, id)?,
        None => buf.extend_from_slice(b"null"),
    }
    buf.extend_from_slice(b",\"kind\":");
    json(buf, c.kind)?;
    buf.extend_from_slice(b",\"payload\":");
    Ok(())
}

/// Appends `ms` as [`rfc3339_ms`] does, without going through a formatter (verify does this
/// once per entry).
fn push_rfc3339_ms(buf: &mut Vec<u8>, ms: i64) -> Result<(), LogError> {
    let days = ms.div_euclid(86_400_000);
    let rem = ms.rem_euclid(86_400_000);
    // Civil date from days since 1970-01-01 (H. Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    if !(0..=9999).contains(&y) {
        buf.extend_from_slice(rfc3339_ms(ms)?.as_bytes());
        return Ok(());
    }
    fn num(buf: &mut Vec<u8>, v: i64, width: usize) {
        let mut digits = [b'0'; 4];
        let mut v = v;
        for i in (0..width).rev() {
            digits[i] = b'0' + (v % 10) as u8;
            v /= 10;
        }
        buf.extend_from_slice(&digits[..width]);
    }
    num(buf, y, 4);
    buf.push(b'-');
    num(buf, m, 2);
    buf.push(b'-');
    num(buf, d, 2);
    buf.push(b'T');
    num(buf, rem / 3_600_000, 2);
    buf.push(b':');
    num(buf, rem / 60_000 % 60, 2);
    buf.push(b':');
    num(buf, rem / 1000 % 60, 2);
    buf.push(b'.');
    num(buf, rem % 1000, 3);
    buf.push(b'Z');
    Ok(())
}

/// The case a canonical leaf is about, read without parsing the whole leaf: keys are sorted
/// (actor, at, case_id …) and quotes inside strings are escaped, so the first `,"case_id":`
/// is the entry's own.
pub fn leaf_case_id(leaf: &[u8]) -> Result<Option<String>, String> {
    let bad = || "leaf has no case_id field".to_string();
    let at = find!(leaf, b",\"case_id\":").ok_or_else(bad)?;
    let rest = &leaf[at + 11..];
    if rest.starts_with(b"null") {
        return Ok(None);
    }
    if rest.first() != Some(&b'"') {
        return Err(bad());
    }
    let end = memchr::memchr(b'"', &rest[1..]).ok_or_else(bad)? + 1;
    let raw = &rest[..=end];
    if !raw.contains(&b'\\') {
        return std::str::from_utf8(&raw[1..end])
            .map(|s| Some(s.to_string()))
            .map_err(|_| bad());
    }
    // An escaped string: let the JSON reader decode it.
    let mut de = serde_json::Deserializer::from_slice(rest);
    <String as serde::Deserialize>::deserialize(&mut de)
        .map(Some)
        .map_err(|e| format!("leaf case_id is not a string: {e}"))
}

/// The [`CASE_PREV`] link of a canonical leaf: `Ok(None)` when the leaf has none,
/// `Ok(Some(None))` for a case's first entry, `Ok(Some(Some((index, leaf hash))))` otherwise.
/// Payload keys are sorted and no key written before `case_prev` holds an object, so the first
/// `"case_prev":` after `"payload":{` is the payload's own.
pub fn parse_case_link(leaf: &[u8]) -> Result<Option<Option<(u64, Hash)>>, String> {
    let Some(p) = find!(leaf, b"\"payload\":{") else {
        return Ok(None);
    };
    let Some(at) = find!(&leaf[p..], b"\"case_prev\":") else {
        return Ok(None);
    };
    let rest = &leaf[p + at + 12..];
    if rest.starts_with(b"null") {
        return Ok(Some(None));
    }
    let bad = || "its case link is malformed".to_string();
    let rest = rest.strip_prefix(b"{\"index\":").ok_or_else(bad)?;
    let end = rest
        .iter()
        .position(|b| !b.is_ascii_digit())
        .ok_or_else(bad)?;
    let index: u64 = std::str::from_utf8(&rest[..end])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)?;
    let rest = rest[end..]
        .strip_prefix(b",\"leaf_sha256\":\"")
        .ok_or_else(bad)?;
    if rest.len() < 66 || &rest[64..66] != b"\"}" {
        return Err(bad());
    }
    let h = unhex32(&rest[..64]).ok_or_else(bad)?;
    Ok(Some(Some((index, h))))
}

/// Lowercase hex of 32 bytes, as the log writes it (verify reads one per linked entry).
fn unhex32(text: &[u8]) -> Option<Hash> {
    const fn nibbles() -> [u8; 256] {
        let mut t = [0xffu8; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    }
    static NIBBLE: [u8; 256] = nibbles();
    let mut h = [0u8; 32];
    let mut bad = 0u8;
    for (out, pair) in h.iter_mut().zip(text.chunks_exact(2)) {
        let (hi, lo) = (NIBBLE[pair[0] as usize], NIBBLE[pair[1] as usize]);
        bad |= (hi | lo) & 0xf0;
        *out = (hi << 4) | lo;
    }
    (text.len() == 64 && bad == 0).then_some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Appends entries about many cases and reports how often the case-head statement (shared
    /// through the connection's statement cache) was re-prepared.
    fn case_head_reprepares(tuned: bool) -> u64 {
        let c = Connection::open_in_memory().unwrap();
        if tuned {
            tune(&c).unwrap();
        }
        c.execute_batch(SCHEMA).unwrap();
        let mut app = Appender::new(&c).unwrap();
        for i in 0..200u64 {
            app.append(&Entry {
                kind: "note".into(),
                case_id: Some(format!("c{}", i % 37)),
                actor: "t".into(),
                at_ms: i as i64,
                payload: Map::new(),
            })
            .unwrap();
        }
        drop(app);
        let n = c
            .prepare_cached(CASE_HEAD_SQL)
            .unwrap()
            .get_status(rusqlite::StatementStatus::RePrepare);
        n as u64
    }

    #[test]
    fn unhex32_reads_what_hex_encode_writes_and_nothing_else() {
        let h: Hash = std::array::from_fn(|i| (i * 37 + 5) as u8);
        let text = hex::encode(h);
        assert_eq!(unhex32(text.as_bytes()), Some(h));
        assert_eq!(unhex32(text.to_uppercase().as_bytes()), None);
        assert_eq!(unhex32(&text.as_bytes()[..62]), None);
        let mut bad = text.into_bytes();
        bad[17] = b'g';
        assert_eq!(unhex32(&bad), None);
    }

    #[test]
    fn appends_do_not_reprepare_on_a_tuned_connection() {
        assert_eq!(case_head_reprepares(true), 0);
        // The setting is what keeps it at zero: untuned, every bind re-prepares.
        assert!(case_head_reprepares(false) > 100);
    }

    #[test]
    fn fast_time_formatting_matches_chrono() {
        let mut buf = Vec::new();
        for ms in [
            0i64,
            1,
            999,
            86_399_999,
            951_782_400_000, // 2000-02-29
            1_795_000_000_123,
            -1,
            -86_400_001,
            253_402_300_799_999, // 9999-12-31T23:59:59.999Z
            -62_167_219_200_000, // 0000-01-01
        ] {
            buf.clear();
            push_rfc3339_ms(&mut buf, ms).unwrap();
            assert_eq!(
                std::str::from_utf8(&buf).unwrap(),
                rfc3339_ms(ms).unwrap(),
                "{ms}"
            );
        }
        let mut x: i64 = 12345;
        for _ in 0..20_000 {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let ms = x.rem_euclid(253_402_300_800_000);
            buf.clear();
            push_rfc3339_ms(&mut buf, ms).unwrap();
            assert_eq!(
                std::str::from_utf8(&buf).unwrap(),
                rfc3339_ms(ms).unwrap(),
                "{ms}"
            );
        }
    }

    #[test]
    fn leaf_head_is_the_start_of_the_encoded_leaf() {
        let e = Entry {
            kind: "disposition".into(),
            case_id: Some("C-\"1\u{e9}".into()),
            actor: "r\\1".into(),
            at_ms: 1_795_000_000_123,
            payload: Map::new(),
        };
        let leaf = encode_leaf(3, &e).unwrap();
        let mut head = Vec::new();
        let cols = EntryColumns {
            kind: &e.kind,
            case_id: e.case_id.as_deref(),
            actor: &e.actor,
            at_ms: e.at_ms,
        };
        leaf_head(&mut head, &cols).unwrap();
        assert!(leaf.starts_with(&head));
        let mut c = Columns::default();
        c.check(3, &cols, &leaf).unwrap();
        let moved = EntryColumns {
            case_id: Some("C-4"),
            ..cols
        };
        let err = c.check(3, &moved, &leaf).unwrap_err().to_string();
        assert!(err.contains("audit_entries.case_id"), "{err}");
        let later = EntryColumns {
            at_ms: cols.at_ms + 1,
            ..cols
        };
        let err = c.check(3, &later, &leaf).unwrap_err().to_string();
        assert!(err.contains("audit_entries.at_ms"), "{err}");
    }

    #[test]
    fn case_ids_read_from_bytes() {
        for id in [None, Some("C-1"), Some("a\"b\\c,\"case_id\":x"), Some("é")] {
            let e = Entry {
                kind: "x".into(),
                case_id: id.map(str::to_string),
                actor: ",\"case_id\":\"evil\"".into(),
                at_ms: 0,
                payload: Map::new(),
            };
            let leaf = encode_leaf(0, &e).unwrap();
            assert_eq!(leaf_case_id(&leaf).unwrap().as_deref(), id);
        }
    }

    #[test]
    fn case_links_parse() {
        let mut e = Entry {
            kind: "x".into(),
            case_id: Some("c".into()),
            actor: "a".into(),
            at_ms: 0,
            payload: Map::new(),
        };
        assert_eq!(parse_case_link(&encode_leaf(0, &e).unwrap()), Ok(None));
        e.payload.insert(CASE_PREV.into(), case_link(None));
        assert_eq!(
            parse_case_link(&encode_leaf(0, &e).unwrap()),
            Ok(Some(None))
        );
        e.payload
            .insert(CASE_PREV.into(), case_link(Some((7, vec![0xab; 32]))));
        e.payload.insert("case_sha256".into(), "x".into());
        e.payload.insert("action".into(), "y".into());
        assert_eq!(
            parse_case_link(&encode_leaf(0, &e).unwrap()),
            Ok(Some(Some((7, [0xab; 32]))))
        );
    }
}
