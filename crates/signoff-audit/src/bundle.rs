//! Audit bundles: the whole log as one streamable file that verifies without the workspace
//! (an auditor's machine, an air-gapped site, removable media).
//!
//! Format: UTF-8 JSON lines.
//! 1. a header `{"format":"signoff-audit-bundle","v":1,"origin","genesis_vkey","device_keys",
//!    "reviewer_keys","entries","checkpoints"}` — keys listed for convenience; the verifier
//!    recomputes them from the entries and refuses a header that disagrees;
//! 2. `{"entry":i,"leaf":"…"}` for every entry in order, each signed checkpoint
//!    `{"checkpoint":"<note>","size":n,"consistency":{"from":m,"proof":[hex…]}}` placed right
//!    after the entry that brings the log to its size (the proof links it to the previous one);
//! 3. a trailer `{"end":true,"entries","checkpoints","sha256"}` over every byte before it, so a
//!    bundle cut short is told apart from a short log.
//!
//! Both sides stream: export reads the tables in index order; verification keeps only the
//! tree's right edge (O(log n) memory) and checks each checkpoint as it is reached.

use crate::chain::Chain;
use crate::log::{self, SqlNodes};
use crate::merkle::{self, Hash, RightEdge};
use crate::note::{self, Checkpoint, NoteVerifier, MAX_NOTE_BYTES};
use rusqlite::Connection;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::io::{BufRead, Read, Write};

/// Format name in the header.
pub const FORMAT: &str = "signoff-audit-bundle";
/// Bundle format version this build writes and reads.
pub const VERSION: u64 = 1;
/// Longest line accepted (an entry's leaf is far smaller; a hostile file is stopped here).
pub const MAX_LINE: usize = 4 << 20;

/// Errors writing or checking a bundle; verification errors name the line.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    /// Reading or writing failed.
    #[error("bundle i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The workspace log could not be read.
    #[error(transparent)]
    Log(#[from] log::LogError),
    /// A line is wrong.
    #[error("bundle line {line}: {why}")]
    Line {
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        why: String,
    },
    /// The bundle stops before its trailer.
    #[error("bundle is cut short: it ends after line {after_line} without its end record (copy it again)")]
    Cut {
        /// The last complete line.
        after_line: u64,
    },
    /// The key the auditor trusts is not one of this log's keys.
    #[error("the trusted key {0} is not a device key of this log (wrong --vkey, or a bundle of another log)")]
    Untrusted(String),
}

/// What a bundle verification established.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BundleReport {
    /// The log's origin.
    pub origin: String,
    /// Entries checked.
    pub entries: u64,
    /// Signed checkpoints checked (signature, root, consistency proof).
    pub checkpoints: u64,
    /// Personal signatures inside entries checked.
    pub signatures: u64,
    /// The log's device keys, oldest first.
    pub device_keys: Vec<String>,
    /// Root of the whole log (base64, as in checkpoints).
    pub root: String,
}

/// A writer that hashes what passes through.
struct Hashing<W: Write> {
    inner: W,
    sha: Sha256,
}

impl<W: Write> Hashing<W> {
    fn line(&mut self, v: &Value) -> std::io::Result<()> {
        let mut b = serde_json::to_vec(v)?;
        b.push(b'\n');
        self.sha.update(&b);
        self.inner.write_all(&b)
    }
}

/// Writes the log sealed by its latest checkpoint as a bundle. `genesis` is the log's first
/// device key. Returns the number of entries written.
pub fn export(
    conn: &Connection,
    genesis: &NoteVerifier,
    out: impl Write,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64, BundleError> {
    // One read transaction: the export is a consistent snapshot even while others append.
    conn.execute_batch("BEGIN")?;
    let r = export_in_snapshot(conn, genesis, out, progress);
    let _ = conn.execute_batch("COMMIT");
    r
}

impl From<rusqlite::Error> for BundleError {
    fn from(e: rusqlite::Error) -> Self {
        BundleError::Log(log::LogError::Sqlite(e))
    }
}

fn export_in_snapshot(
    conn: &Connection,
    genesis: &NoteVerifier,
    out: impl Write,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64, BundleError> {
    let sealed: i64 = conn.query_row(
        "SELECT coalesce(max(size), 0) FROM audit_checkpoints",
        [],
        |r| r.get(0),
    )?;
    let n_checkpoints: i64 = conn.query_row(
        "SELECT count(*) FROM audit_checkpoints WHERE size <= ?1",
        [sealed],
        |r| r.get(0),
    )?;
    // The keys, replayed from the entries that introduce them (a small indexed subset).
    let mut chain = Chain::new(genesis.clone());
    let mut reviewer_keys = serde_json::Map::new();
    {
        let mut s = conn.prepare(
            "SELECT idx, actor, leaf FROM audit_entries
             WHERE kind IN ('key_rotation', 'reviewer_key') AND idx < ?1 ORDER BY idx",
        )?;
        let mut rows = s.query([sealed])?;
        while let Some(r) = rows.next()? {
            let (idx, actor, leaf): (i64, String, Vec<u8>) = (r.get(0)?, r.get(1)?, r.get(2)?);
            chain
                .entry(idx as u64, &leaf)
                .map_err(|why| log::LogError::Tampered {
                    at: format!("entry {idx}"),
                    why,
                    index: Some(idx as u64),
                })?;
            let v: Value = serde_json::from_slice(&leaf).unwrap_or(Value::Null);
            if let Some(k) = v.pointer("/payload/public_key") {
                reviewer_keys.insert(actor, k.clone());
            }
        }
    }
    let mut w = Hashing {
        inner: std::io::BufWriter::new(out),
        sha: Sha256::new(),
    };
    w.line(&json!({
        "format": FORMAT,
        "v": VERSION,
        "origin": genesis.name,
        "genesis_vkey": genesis.to_vkey(),
        "device_keys": chain.device_keys().map(NoteVerifier::to_vkey).collect::<Vec<_>>(),
        "reviewer_keys": reviewer_keys,
        "entries": sealed,
        "checkpoints": n_checkpoints,
    }))?;
    let nodes = SqlNodes(conn);
    let mut cps =
        conn.prepare("SELECT size, note FROM audit_checkpoints WHERE size <= ?1 ORDER BY size")?;
    let mut cps = cps.query([sealed])?;
    let mut next_cp = cps
        .next()?
        .map(|r| Ok::<_, rusqlite::Error>((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
        .transpose()?;
    let mut prev_size = 0u64;
    let mut write_checkpoints = |w: &mut Hashing<_>,
                                 upto: u64,
                                 next_cp: &mut Option<(i64, String)>,
                                 prev_size: &mut u64|
     -> Result<(), BundleError> {
        while let Some((size, note)) = next_cp.take() {
            if size as u64 > upto {
                *next_cp = Some((size, note));
                break;
            }
            let size = size as u64;
            let consistency = if *prev_size > 0 && *prev_size < size {
                let proof = merkle::consistency_proof(&nodes, *prev_size, size)
                    .map_err(log::LogError::from)?;
                json!({"from": prev_size, "proof": proof.iter().map(hex::encode).collect::<Vec<_>>()})
            } else {
                Value::Null
            };
            w.line(&json!({"checkpoint": note, "size": size, "consistency": consistency}))?;
            *prev_size = size;
            *next_cp = cps
                .next()?
                .map(|r| Ok::<_, rusqlite::Error>((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .transpose()?;
        }
        Ok(())
    };
    write_checkpoints(&mut w, 0, &mut next_cp, &mut prev_size)?;
    let mut stmt =
        conn.prepare("SELECT idx, leaf FROM audit_entries WHERE idx < ?1 ORDER BY idx")?;
    let mut rows = stmt.query([sealed])?;
    let mut n = 0u64;
    while let Some(r) = rows.next()? {
        let idx: i64 = r.get(0)?;
        let leaf = r.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        let leaf = std::str::from_utf8(leaf).map_err(|_| log::LogError::Tampered {
            at: format!("entry {idx}"),
            why: "leaf is not UTF-8".into(),
            index: Some(idx as u64),
        })?;
        w.line(&json!({"entry": idx, "leaf": leaf}))?;
        n += 1;
        write_checkpoints(&mut w, n, &mut next_cp, &mut prev_size)?;
        if n.is_multiple_of(65536) {
            progress(n, sealed as u64);
        }
    }
    let digest = hex::encode(w.sha.clone().finalize());
    w.line(&json!({"end": true, "entries": n, "checkpoints": n_checkpoints, "sha256": digest}))?;
    w.inner.flush()?;
    progress(n, sealed as u64);
    Ok(n)
}

/// Reads one line of at most [`MAX_LINE`] bytes (without its newline); `None` at the end.
fn read_line(r: &mut impl BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<bool>> {
    buf.clear();
    let n = r
        .by_ref()
        .take(MAX_LINE as u64 + 1)
        .read_until(b'\n', buf)?;
    if n == 0 {
        return Ok(None);
    }
    let complete = buf.last() == Some(&b'\n');
    if complete {
        buf.pop();
    }
    Ok(Some(complete))
}

/// Verifies a bundle without any workspace, trusting `trusted` (the log's genesis key, or any
/// later device key of its chain). Every leaf, signature, checkpoint and consistency proof is
/// checked; the first problem is reported with its line.
pub fn verify(
    input: impl Read,
    trusted: &NoteVerifier,
    progress: &mut dyn FnMut(u64),
) -> Result<BundleReport, BundleError> {
    let mut r = std::io::BufReader::new(input);
    let mut buf = Vec::new();
    let mut sha = Sha256::new();
    let mut line_no;
    let bad = |line: u64, why: String| BundleError::Line { line, why };

    // Header.
    let header: Value = match read_line(&mut r, &mut buf)? {
        None => return Err(bad(1, "the file is empty, not an audit bundle".into())),
        Some(complete) => {
            line_no = 1;
            if !complete {
                return Err(BundleError::Cut { after_line: 0 });
            }
            sha.update(&buf);
            sha.update(b"\n");
            serde_json::from_slice(&buf)
                .map_err(|e| bad(1, format!("not an audit bundle header ({e})")))?
        }
    };
    if header.get("format").and_then(Value::as_str) != Some(FORMAT) {
        return Err(bad(
            1,
            format!("not a {FORMAT} (no \"format\":\"{FORMAT}\")"),
        ));
    }
    match header.get("v").and_then(Value::as_u64) {
        Some(VERSION) => {}
        Some(v) => {
            return Err(bad(
                1,
                format!("bundle format version {v} is newer than this Signoff reads ({VERSION}); update Signoff"),
            ))
        }
        None => return Err(bad(1, "header has no format version".into())),
    }
    let genesis_text = header
        .get("genesis_vkey")
        .and_then(Value::as_str)
        .ok_or_else(|| bad(1, "header names no genesis key".into()))?;
    let genesis = NoteVerifier::parse(genesis_text).map_err(|e| bad(1, e.to_string()))?;
    if genesis.name != trusted.name {
        return Err(bad(
            1,
            format!(
                "this bundle is of log {:?}, the trusted key is for {:?}",
                genesis.name, trusted.name
            ),
        ));
    }
    let mut chain = Chain::new(genesis.clone());
    let mut frontier = RightEdge::default();
    let mut checkpoints = 0u64;
    let mut prev: Option<(u64, Hash)> = None;
    let mut reviewer_keys = serde_json::Map::new();
    let mut links = log::Columns::default();

    loop {
        let Some(complete) = read_line(&mut r, &mut buf)? else {
            return Err(BundleError::Cut {
                after_line: line_no,
            });
        };
        line_no += 1;
        if !complete {
            if buf.len() > MAX_LINE {
                return Err(bad(
                    line_no,
                    format!("line is longer than {MAX_LINE} bytes"),
                ));
            }
            return Err(BundleError::Cut {
                after_line: line_no - 1,
            });
        }
        let v: Value =
            serde_json::from_slice(&buf).map_err(|e| bad(line_no, format!("not JSON ({e})")))?;
        let keys: Vec<&str> = v
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect())
            .unwrap_or_default();
        if v.get("end").is_some() {
            let digest = hex::encode(sha.clone().finalize());
            if v.get("sha256").and_then(Value::as_str) != Some(digest.as_str()) {
                return Err(bad(
                    line_no,
                    "the bundle's checksum does not match its content (damaged in transit?)".into(),
                ));
            }
            let expected = json!({"end": true, "entries": frontier.size(), "checkpoints": checkpoints, "sha256": digest});
            // Byte for byte: the trailer is the one line its own checksum does not cover.
            if buf != serde_json::to_vec(&expected).unwrap_or_default() {
                return Err(bad(line_no, format!("the end record does not match the {} entries and {checkpoints} checkpoints present", frontier.size())));
            }
            if header.get("entries").and_then(Value::as_u64) != Some(frontier.size())
                || header.get("checkpoints").and_then(Value::as_u64) != Some(checkpoints)
            {
                return Err(bad(
                    1,
                    "the header's counts differ from the bundle's content".into(),
                ));
            }
            if !r.fill_buf()?.is_empty() {
                return Err(bad(line_no + 1, "content after the end record".into()));
            }
            break;
        }
        let shape_ok = matches!(
            keys.as_slice(),
            ["entry", "leaf"] | ["checkpoint", "consistency", "size"]
        );
        if !shape_ok {
            return Err(bad(line_no, format!("unexpected fields {keys:?} (an entry has entry, leaf; a checkpoint has checkpoint, size, consistency)")));
        }
        sha.update(&buf);
        sha.update(b"\n");
        if let Some(idx) = v.get("entry") {
            let idx = idx
                .as_u64()
                .ok_or_else(|| bad(line_no, "entry index is not a number".into()))?;
            if idx != frontier.size() {
                return Err(bad(
                    line_no,
                    format!(
                        "entry {idx} where entry {} was expected: entries are missing or reordered",
                        frontier.size()
                    ),
                ));
            }
            let leaf = v
                .get("leaf")
                .and_then(Value::as_str)
                .ok_or_else(|| bad(line_no, format!("entry {idx} has no leaf")))?;
            log::check_leaf(idx, leaf.as_bytes()).map_err(|e| bad(line_no, e.to_string()))?;
            chain
                .entry(idx, leaf.as_bytes())
                .map_err(|why| bad(line_no, format!("entry {idx}: {why}")))?;
            if leaf.contains("\"kind\":\"reviewer_key\",") {
                let lv: Value = serde_json::from_str(leaf).unwrap_or(Value::Null);
                if let (Some(a), Some(k)) = (lv.get("actor"), lv.pointer("/payload/public_key")) {
                    reviewer_keys.insert(a.as_str().unwrap_or("").to_string(), k.clone());
                }
            }
            let h = merkle::leaf_hash(leaf.as_bytes());
            let case_id = log::leaf_case_id(leaf.as_bytes())
                .map_err(|why| bad(line_no, format!("entry {idx}: {why}")))?;
            links
                .link(idx, case_id.as_deref(), leaf.as_bytes(), &h)
                .map_err(|e| bad(line_no, e.to_string()))?;
            frontier.push_leaf_hash(h);
            if frontier.size().is_multiple_of(65536) {
                progress(frontier.size());
            }
        } else if let Some(note_text) = v.get("checkpoint") {
            let note_text = note_text
                .as_str()
                .filter(|n| n.len() <= MAX_NOTE_BYTES)
                .ok_or_else(|| bad(line_no, "checkpoint is not a note".into()))?;
            let size = v.get("size").and_then(Value::as_u64);
            if size != Some(frontier.size()) {
                return Err(bad(
                    line_no,
                    format!(
                        "checkpoint placed after entry {} but says size {size:?}: reordered",
                        frontier.size() as i64 - 1
                    ),
                ));
            }
            let key = chain.checkpoint_key(frontier.size()).clone();
            let opened = note::open(note_text, std::slice::from_ref(&key)).map_err(|e| {
                bad(
                    line_no,
                    format!("checkpoint of size {}: {e}", frontier.size()),
                )
            })?;
            let cp = Checkpoint::parse(&opened.text).map_err(|e| bad(line_no, e.to_string()))?;
            if cp.origin != genesis.name {
                return Err(bad(
                    line_no,
                    format!("checkpoint for another log ({:?})", cp.origin),
                ));
            }
            let root = frontier.root();
            if cp.size != frontier.size() || cp.root != root {
                return Err(bad(
                    line_no,
                    format!(
                        "checkpoint of size {} does not match the entries before it",
                        cp.size
                    ),
                ));
            }
            let needs_proof = prev.is_some_and(|(old, _)| old > 0 && old < cp.size);
            if needs_proof && v.get("consistency").is_none_or(Value::is_null) {
                return Err(bad(
                    line_no,
                    "checkpoint lacks its consistency proof from the previous one".into(),
                ));
            }
            if let (true, Some((old, old_root)), Some(c)) =
                (needs_proof, prev, v.get("consistency"))
            {
                let from = c.get("from").and_then(Value::as_u64);
                let proof: Option<Vec<Hash>> =
                    c.get("proof").and_then(Value::as_array).and_then(|a| {
                        a.iter()
                            .map(|h| {
                                h.as_str()
                                    .and_then(|h| hex::decode(h).ok())
                                    .and_then(|h| h.try_into().ok())
                            })
                            .collect()
                    });
                match (from, proof) {
                    (Some(f), Some(p)) if f == old => merkle::verify_consistency(
                        old, cp.size, &p, &old_root, &root,
                    )
                    .map_err(|e| bad(line_no, format!("consistency proof from size {old}: {e}")))?,
                    _ => {
                        return Err(bad(
                            line_no,
                            format!(
                            "consistency proof must start at the previous checkpoint (size {old})"
                        ),
                        ))
                    }
                }
            }
            prev = Some((cp.size, root));
            checkpoints += 1;
        } else {
            return Err(bad(
                line_no,
                "neither an entry, a checkpoint nor the end record".into(),
            ));
        }
    }
    if frontier.size() > 0 && prev.map(|(s, _)| s) != Some(frontier.size()) {
        return Err(bad(
            line_no,
            format!(
                "the last {} entries are not sealed by any checkpoint",
                frontier.size() - prev.map_or(0, |p| p.0)
            ),
        ));
    }
    let device_keys: Vec<String> = chain.device_keys().map(NoteVerifier::to_vkey).collect();
    if !chain.device_keys().any(|k| k == trusted) {
        return Err(BundleError::Untrusted(trusted.to_vkey()));
    }
    if header.get("device_keys") != Some(&json!(device_keys))
        || header.get("reviewer_keys") != Some(&Value::Object(reviewer_keys))
    {
        return Err(bad(
            1,
            "the header's key lists differ from the keys the entries introduce".into(),
        ));
    }
    progress(frontier.size());
    use base64::Engine;
    Ok(BundleReport {
        origin: genesis.name,
        entries: frontier.size(),
        checkpoints,
        signatures: chain.signatures(),
        device_keys,
        root: base64::engine::general_purpose::STANDARD.encode(frontier.root()),
    })
}
