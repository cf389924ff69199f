//! Import of case files (JSONL or CSV): all-or-nothing per file, idempotent on `id`.
//!
//! Every problem is reported with file:line and field; the first 100 are listed and the
//! rest counted. A changed case under an existing id is a conflict, never an overwrite.

use crate::{ms, LineError, StoreError, Workspace};
use chrono::{DateTime, NaiveDateTime, Utc};
use rusqlite::{params, OptionalExtension};
use sha2::Digest;
use signoff_core::case::{human_bytes, id_key, MAX_FIELD_BYTES};
use signoff_core::{Clock, NewCase};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The largest line (JSONL) or record (CSV) read at all; beyond it the row is refused unread.
pub const MAX_RECORD_BYTES: usize = 64 * 1024 * 1024;
const MAX_LISTED_ERRORS: usize = 100;
/// Every field a case file may carry.
pub const FIELDS: [&str; 8] = [
    "id",
    "subject",
    "body",
    "received_at",
    "priority",
    "sla_due_at",
    "metadata",
    "label",
];
const REQUIRED: [&str; 4] = ["id", "subject", "body", "received_at"];

/// What one import did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ImportReport {
    /// The file, as given.
    pub file: String,
    /// Cases added.
    pub new: u64,
    /// Cases already present with the same content.
    pub unchanged: u64,
    /// Cases whose id exists with different content (not overwritten).
    pub conflicts: u64,
    /// The first conflicting ids with their lines.
    pub conflict_ids: Vec<(u64, String)>,
}

/// Progress of an import, reported every few thousand rows.
#[derive(Debug, Clone, Copy)]
pub struct ImportProgress {
    /// Bytes read so far.
    pub bytes: u64,
    /// Size of the file.
    pub total: u64,
    /// Rows read so far.
    pub rows: u64,
}

/// The file formats import understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// Comma-separated with a header row.
    Csv,
}

impl Format {
    /// Picks the format from the extension, else from the first byte.
    pub fn detect(path: &Path, first: Option<u8>) -> Format {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(e) if e == "csv" => Format::Csv,
            Some(e) if e == "jsonl" || e == "ndjson" || e == "json" => Format::Jsonl,
            _ if first == Some(b'{') => Format::Jsonl,
            _ => Format::Csv,
        }
    }
}

/// Collects line errors, keeping the first 100.
struct Problems {
    file: String,
    list: Vec<LineError>,
    more: u64,
}

impl Problems {
    fn add(&mut self, line: u64, field: Option<&str>, message: impl Into<String>) {
        if self.list.len() < MAX_LISTED_ERRORS {
            self.list.push(LineError {
                file: self.file.clone(),
                line,
                field: field.map(str::to_string),
                message: message.into(),
            });
        } else {
            self.more += 1;
        }
    }
    fn is_empty(&self) -> bool {
        self.list.is_empty()
    }
}

/// Counts bytes as they are read, for the progress bar.
struct Counting<R> {
    inner: R,
    n: u64,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let k = self.inner.read(buf)?;
        self.n += k as u64;
        Ok(k)
    }
}

/// The buffered, counted input being imported (a file, or bytes held in memory).
type Source<R> = BufReader<Counting<R>>;

/// A raw row before validation: field name → text value, with where it came from.
type RawRow = (u64, Vec<(String, RawValue)>);

/// A value as found in the file.
enum RawValue {
    Text(String),
    Int(i64),
    Object(serde_json::Map<String, serde_json::Value>),
    Null,
    Other(&'static str),
}

impl Workspace {
    /// Imports one file into the workspace, all or nothing.
    pub fn import_file(
        &mut self,
        path: &Path,
        clock: &dyn Clock,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportReport, StoreError> {
        self.import_file_as(path, &path.display().to_string(), clock, progress)
    }

    /// Imports `path`, naming it `display` in messages and records (a URL, an original name).
    pub fn import_file_as(
        &mut self,
        path: &Path,
        display: &str,
        clock: &dyn Clock,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportReport, StoreError> {
        self.import_with(path, display, None, clock, progress)
    }

    /// Imports a file pulled from `url` (a hub, or any HTTP(S) source). The audit entry is a
    /// `sync` entry committing to the source as well as to the content.
    pub fn import_pulled(
        &mut self,
        path: &Path,
        url: &str,
        clock: &dyn Clock,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportReport, StoreError> {
        self.import_with(path, url, Some(url), clock, progress)
    }

    fn import_with(
        &mut self,
        path: &Path,
        display: &str,
        source: Option<&str>,
        clock: &dyn Clock,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportReport, StoreError> {
        let display = display.to_string();
        let file = std::fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
        let total = file.metadata().map(|m| m.len()).unwrap_or(0);
        let mut reader = BufReader::with_capacity(1 << 20, Counting { inner: file, n: 0 });
        let mut problems = Problems {
            file: display.clone(),
            list: vec![],
            more: 0,
        };
        let format = match sniff(&mut reader, path, &mut problems)? {
            Some(f) => f,
            None => return Err(problems.into_error()),
        };
        let sha = file_sha256(path)?;
        let journal = self.journal()?;
        let conn = self.writable()?;
        let tx = conn.transaction()?;
        let now = ms(clock.now());
        tx.execute(
            "INSERT INTO imports (file_name, file_sha256, at_ms) VALUES (?1, ?2, ?3)",
            params![display, sha, now],
        )?;
        let import_seq = tx.last_insert_rowid();
        let mut report = ImportReport {
            file: display.clone(),
            ..Default::default()
        };
        let new_cases_sha256 = {
            let mut sink = Sink::new(&tx, import_seq)?;
            let mut on_case = |case: NewCase, line: u64, problems: &mut Problems| {
                if problems.is_empty() {
                    sink.put(&case, line, &mut report)?;
                }
                Ok(())
            };
            scan(
                &mut reader,
                format,
                total,
                &mut problems,
                progress,
                &mut on_case,
            )?;
            sink.new_cases_sha256()
        };
        if !problems.is_empty() {
            drop(tx);
            return Err(problems.into_error());
        }
        tx.execute(
            "UPDATE status_counts SET n = n + ?1 WHERE status = 'open'",
            [report.new as i64],
        )?;
        let idx = crate::audit::record(
            &tx,
            signoff_audit::log::Entry {
                kind: if source.is_some() { "sync" } else { "import" }.into(),
                case_id: None,
                actor: "device".into(),
                at_ms: now,
                payload: with_source(
                    source,
                    crate::audit::payload([
                        ("file_sha256", sha.clone().into()),
                        ("new", report.new.into()),
                        ("unchanged", report.unchanged.into()),
                        ("conflicts", report.conflicts.into()),
                        ("new_cases_sha256", new_cases_sha256.into()),
                        ("file_name_sha256", crate::audit::commit(&display).into()),
                        (
                            "conflicts_sha256",
                            conflicts_sha256(&tx, import_seq)?.into(),
                        ),
                    ]),
                ),
            },
        )?;
        tx.execute(
            "UPDATE imports SET new_cases = ?1, unchanged = ?2, conflicts = ?3, audit_idx = ?4 WHERE seq = ?5",
            params![report.new as i64, report.unchanged as i64, report.conflicts as i64, idx as i64, import_seq],
        )?;
        crate::audit::seal(&tx, &journal, now)?;
        tx.commit()?;
        Ok(report)
    }
}

/// The commitment an import's entry makes to its conflict rows: SHA-256 over one line per
/// conflict, in file order: `line`, the incoming id and the incoming content hash, joined by
/// tabs (ids hold no tabs or line breaks).
pub(crate) fn conflicts_sha256(
    conn: &rusqlite::Connection,
    import_seq: i64,
) -> Result<String, StoreError> {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    let mut stmt = conn.prepare_cached(
        "SELECT line, incoming_id, incoming_hash FROM import_conflicts WHERE import_seq = ?1 ORDER BY line, rowid",
    )?;
    let mut rows = stmt.query([import_seq])?;
    while let Some(r) = rows.next()? {
        let (line, id, hash): (i64, String, String) = (r.get(0)?, r.get(1)?, r.get(2)?);
        h.update(format!("{line}\t{id}\t{hash}\n"));
    }
    Ok(hex::encode(h.finalize()))
}

/// Reads the start of the input: refuses UTF-16, skips a UTF-8 byte order mark and picks the
/// format. `None` when the input was refused (the reason is in `problems`).
fn sniff<R: Read>(
    reader: &mut Source<R>,
    path: &Path,
    problems: &mut Problems,
) -> Result<Option<Format>, StoreError> {
    let head = reader
        .fill_buf()
        .map_err(|e| StoreError::io(path, e))?
        .to_vec();
    if head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]) {
        problems.add(
            1,
            None,
            "the file is UTF-16 encoded; save it as UTF-8 and import again",
        );
        return Ok(None);
    }
    if head.starts_with(&[0xEF, 0xBB, 0xBF]) {
        reader.consume(3);
    }
    let first = head
        .iter()
        .copied()
        .find(|b| !b.is_ascii_whitespace() && *b != 0xEF && *b != 0xBB && *b != 0xBF);
    Ok(Some(Format::detect(path, first)))
}

/// Reads every row of `reader`, validates it (fields, sizes, times, ids unique in the input)
/// and hands each valid case to `on_case`; problems are collected, not returned.
fn scan<R: Read>(
    reader: &mut Source<R>,
    format: Format,
    total: u64,
    problems: &mut Problems,
    progress: &mut dyn FnMut(ImportProgress),
    on_case: &mut dyn FnMut(NewCase, u64, &mut Problems) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut rows = 0u64;
    let mut on_row = |row: RawRow, problems: &mut Problems, bytes: u64| -> Result<(), StoreError> {
        rows += 1;
        if rows.is_multiple_of(4096) {
            progress(ImportProgress { bytes, total, rows });
        }
        let line = row.0;
        let Some(case) = to_case(row, problems) else {
            return Ok(());
        };
        if let Some(prev) = seen.insert(id_key(&case.id), line) {
            problems.add(
                    line,
                    Some("id"),
                    format!(
                        "id {:?} already appears on line {prev} of this file (ids that differ only in letter case are the same case)",
                        case.id
                    ),
                );
            return Ok(());
        }
        on_case(case, line, problems)
    };
    match format {
        Format::Jsonl => read_jsonl(reader, problems, &mut on_row)?,
        Format::Csv => read_csv(reader, problems, &mut on_row)?,
    }
    progress(ImportProgress {
        bytes: total,
        total,
        rows,
    });
    if rows == 0 && problems.is_empty() {
        problems.add(1, None, "the file holds no cases");
    }
    Ok(())
}

/// Validates a case file held in memory by the import's rules (JSONL or CSV, detected from
/// `display`'s extension or the first byte; every field, size, time and duplicate id checked)
/// and returns its cases with their line numbers. Nothing is stored: this is what a hub runs
/// on a posted case file before it keeps any of it. Errors name `display:line: field:`.
pub fn validate_cases(data: &[u8], display: &str) -> Result<Vec<(u64, NewCase)>, StoreError> {
    let mut problems = Problems {
        file: display.to_string(),
        list: vec![],
        more: 0,
    };
    let mut reader = BufReader::new(Counting { inner: data, n: 0 });
    let Some(format) = sniff(&mut reader, Path::new(display), &mut problems)? else {
        return Err(problems.into_error());
    };
    let mut cases = Vec::new();
    scan(
        &mut reader,
        format,
        data.len() as u64,
        &mut problems,
        &mut |_| {},
        &mut |case, line, problems| {
            if problems.is_empty() {
                cases.push((line, case));
            }
            Ok(())
        },
    )?;
    if !problems.is_empty() {
        return Err(problems.into_error());
    }
    Ok(cases)
}

impl Problems {
    fn into_error(self) -> StoreError {
        StoreError::Import {
            file: self.file,
            errors: self.list,
            more: self.more,
        }
    }
}

fn file_sha256(path: &Path) -> Result<String, StoreError> {
    use sha2::Sha256;
    let mut f = std::fs::File::open(path).map_err(|e| StoreError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let k = f.read(&mut buf).map_err(|e| StoreError::io(path, e))?;
        if k == 0 {
            break;
        }
        h.update(&buf[..k]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Writes validated cases into the open transaction.
struct Sink<'t> {
    insert: rusqlite::Statement<'t>,
    fts: rusqlite::Statement<'t>,
    existing: rusqlite::Statement<'t>,
    conflict: rusqlite::Statement<'t>,
    import_seq: i64,
    tx: &'t rusqlite::Transaction<'t>,
    /// SHA-256 over the content hashes of the cases this import added, in insertion order.
    new_cases: sha2::Sha256,
}

impl<'t> Sink<'t> {
    fn conn_last_rowid(&self) -> i64 {
        self.tx.last_insert_rowid()
    }

    fn new(tx: &'t rusqlite::Transaction<'t>, import_seq: i64) -> Result<Self, StoreError> {
        Ok(Self {
            tx,
            insert: tx.prepare(
                "INSERT INTO cases (id, subject, body, received_ms, priority, prio_key, sla_key,
                                    metadata, label, given_label, content_hash, import_seq)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?9, ?10, ?11)
                 ON CONFLICT (id) DO NOTHING",
            )?,
            fts: tx.prepare("INSERT INTO cases_fts (rowid, subject, body) VALUES (?1, ?2, ?3)")?,
            existing: tx.prepare("SELECT seq, content_hash, id FROM cases WHERE id = ?1")?,
            conflict: tx.prepare(
                "INSERT INTO import_conflicts (import_seq, line, case_seq, incoming_id, incoming_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?,
            import_seq,
            new_cases: sha2::Sha256::new(),
        })
    }

    /// The commitment to the cases this import added (what its audit entry records).
    fn new_cases_sha256(self) -> String {
        hex::encode(self.new_cases.finalize())
    }

    fn put(
        &mut self,
        case: &NewCase,
        line: u64,
        report: &mut ImportReport,
    ) -> Result<(), StoreError> {
        let hash = case.content_hash();
        let cursor = signoff_core::QueueCursor::of(
            case.sla_due_at.map(ms),
            case.priority,
            ms(case.received_at),
            0,
        );
        let meta = case
            .metadata
            .as_ref()
            .map(|m| serde_json::to_string(m).unwrap_or_default());
        let n = self.insert.execute(params![
            case.id,
            case.subject,
            case.body,
            cursor.received_ms,
            case.priority,
            cursor.neg_priority,
            cursor.sla_key,
            meta,
            case.label,
            hash,
            self.import_seq
        ])?;
        if n == 1 {
            let seq = self.conn_last_rowid();
            self.fts.execute(params![seq, case.subject, case.body])?;
            self.new_cases.update(hash.as_bytes());
            report.new += 1;
            return Ok(());
        }
        let (seq, old_hash, old_id): (i64, String, String) = self
            .existing
            .query_row([&case.id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?
            .ok_or_else(|| StoreError::UnknownCase(case.id.clone()))?;
        if old_hash == hash && old_id == case.id {
            report.unchanged += 1;
        } else {
            report.conflicts += 1;
            if report.conflict_ids.len() < MAX_LISTED_ERRORS {
                report.conflict_ids.push((line, case.id.clone()));
            }
            self.conflict
                .execute(params![self.import_seq, line as i64, seq, case.id, hash])?;
        }
        Ok(())
    }
}

/// Reads one line of at most `MAX_RECORD_BYTES`; `Ok(None)` at end of file.
/// An over-long line is skipped to its end and reported as `Err(len)`.
fn read_line_bounded<R: BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
) -> std::io::Result<Option<Result<(), usize>>> {
    buf.clear();
    let mut skipped = 0usize;
    loop {
        let avail = r.fill_buf()?;
        if avail.is_empty() {
            return Ok(if buf.is_empty() && skipped == 0 {
                None
            } else if skipped > 0 {
                Some(Err(skipped))
            } else {
                Some(Ok(()))
            });
        }
        let (chunk, done) = match avail.iter().position(|&b| b == b'\n') {
            Some(i) => (&avail[..=i], true),
            None => (avail, false),
        };
        let k = chunk.len();
        if skipped > 0 || buf.len() + k > MAX_RECORD_BYTES {
            skipped += buf.len() + k;
            buf.clear();
        } else {
            buf.extend_from_slice(chunk);
        }
        r.consume(k);
        if done {
            return Ok(Some(if skipped > 0 { Err(skipped) } else { Ok(()) }));
        }
    }
}

fn read_jsonl<R: Read>(
    r: &mut Source<R>,
    problems: &mut Problems,
    on_row: &mut dyn FnMut(RawRow, &mut Problems, u64) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut buf = Vec::new();
    let mut line = 0u64;
    loop {
        let got = read_line_bounded(r, &mut buf).map_err(|e| StoreError::Io {
            path: problems.file.clone().into(),
            source: e,
        })?;
        line += 1;
        let Some(got) = got else { break };
        if let Err(len) = got {
            problems.add(
                line,
                None,
                format!(
                    "line is {}, over the {} a case may take",
                    human_bytes(len),
                    human_bytes(MAX_RECORD_BYTES)
                ),
            );
            continue;
        }
        while matches!(buf.last(), Some(b'\n' | b'\r')) {
            buf.pop();
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let text = match std::str::from_utf8(&buf) {
            Ok(t) => t,
            Err(e) => {
                problems.add(
                    line,
                    None,
                    format!(
                        "invalid UTF-8 at byte {} of the line; save the file as UTF-8",
                        e.valid_up_to() + 1
                    ),
                );
                continue;
            }
        };
        let value: serde_json::Value = match serde_json::from_str(text) {
            Ok(v) => v,
            Err(e) => {
                problems.add(
                    line,
                    None,
                    format!(
                        "malformed JSON at column {}: {}",
                        e.column(),
                        strip_position(&e.to_string())
                    ),
                );
                continue;
            }
        };
        let serde_json::Value::Object(obj) = value else {
            problems.add(line, None, "each line must be a JSON object");
            continue;
        };
        let fields = obj
            .into_iter()
            .map(|(k, v)| {
                let rv = match v {
                    serde_json::Value::String(s) => RawValue::Text(s),
                    serde_json::Value::Number(n) => match n.as_i64() {
                        Some(i) => RawValue::Int(i),
                        None => RawValue::Other("a non-integer number"),
                    },
                    serde_json::Value::Object(m) => RawValue::Object(m),
                    serde_json::Value::Null => RawValue::Null,
                    serde_json::Value::Bool(_) => RawValue::Other("a boolean"),
                    serde_json::Value::Array(_) => RawValue::Other("an array"),
                };
                (k, rv)
            })
            .collect();
        let bytes = r.get_ref().n;
        on_row((line, fields), problems, bytes)?;
    }
    Ok(())
}

fn strip_position(msg: &str) -> String {
    match msg.rfind(" at line ") {
        Some(i) => msg[..i].to_string(),
        None => msg.to_string(),
    }
}

fn read_csv<R: Read>(
    r: &mut Source<R>,
    problems: &mut Problems,
    on_row: &mut dyn FnMut(RawRow, &mut Problems, u64) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(r);
    let mut record = csv::ByteRecord::new();
    let mut header: Option<Vec<String>> = None;
    loop {
        let ok = match rdr.read_byte_record(&mut record) {
            Ok(ok) => ok,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                problems.add(line, None, format!("unreadable CSV: {e}"));
                return Ok(());
            }
        };
        if !ok {
            break;
        }
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let Some(cols) = &header else {
            let mut names = Vec::new();
            for (i, f) in record.iter().enumerate() {
                let name = String::from_utf8_lossy(f).trim().to_string();
                if !FIELDS.contains(&name.as_str()) {
                    problems.add(
                        line,
                        Some(&name),
                        format!(
                            "unknown column (column {}); known columns are {}",
                            i + 1,
                            FIELDS.join(", ")
                        ),
                    );
                }
                names.push(name);
            }
            for req in REQUIRED {
                if !names.iter().any(|n| n == req) {
                    problems.add(
                        line,
                        Some(req),
                        "required column is missing from the header",
                    );
                }
            }
            if !problems.is_empty() {
                return Ok(());
            }
            header = Some(names);
            continue;
        };
        if record.len() == 1 && record.get(0) == Some(b"") {
            continue;
        }
        if record.len() != cols.len() {
            problems.add(
                line,
                None,
                format!(
                    "row has {} fields but the header has {} (a missing column or an unbalanced quote causes this)",
                    record.len(),
                    cols.len()
                ),
            );
            continue;
        }
        if record.as_slice().len() > MAX_RECORD_BYTES {
            problems.add(
                line,
                None,
                format!(
                    "row is {}, over the {} a case may take",
                    human_bytes(record.as_slice().len()),
                    human_bytes(MAX_RECORD_BYTES)
                ),
            );
            continue;
        }
        let mut fields = Vec::with_capacity(cols.len());
        let mut bad = false;
        for (name, raw) in cols.iter().zip(record.iter()) {
            match std::str::from_utf8(raw) {
                Ok(s) => {
                    let v = if s.is_empty() && !REQUIRED.contains(&name.as_str()) {
                        RawValue::Null
                    } else {
                        RawValue::Text(s.to_string())
                    };
                    fields.push((name.clone(), v));
                }
                Err(e) => {
                    problems.add(
                        line,
                        Some(name),
                        format!(
                            "invalid UTF-8 at byte {} of the field; save the file as UTF-8",
                            e.valid_up_to() + 1
                        ),
                    );
                    bad = true;
                }
            }
        }
        if !bad {
            let bytes = rdr.position().byte();
            on_row((line, fields), problems, bytes)?;
        }
    }
    Ok(())
}

/// Validates a raw row into a case, reporting each problem against its field.
fn to_case((line, fields): RawRow, problems: &mut Problems) -> Option<NewCase> {
    let before = problems.list.len() as u64 + problems.more;
    let mut id = None;
    let mut subject = None;
    let mut body = None;
    let mut received_at = None;
    let mut priority = 0i64;
    let mut sla_due_at = None;
    let mut metadata = None;
    let mut label = None;
    for (name, value) in fields {
        let field = name.as_str();
        if let RawValue::Text(s) = &value {
            if s.len() > MAX_FIELD_BYTES {
                problems.add(
                    line,
                    Some(field),
                    format!(
                        "{} is over the {} limit for a field",
                        human_bytes(s.len()),
                        human_bytes(MAX_FIELD_BYTES)
                    ),
                );
                continue;
            }
        }
        match (field, value) {
            (_, RawValue::Null) => {}
            ("id", RawValue::Text(s)) => id = Some(s),
            ("id", RawValue::Int(i)) => id = Some(i.to_string()),
            ("subject", RawValue::Text(s)) => subject = Some(s),
            ("body", RawValue::Text(s)) => body = Some(s),
            ("label", RawValue::Text(s)) => label = Some(s),
            ("received_at", RawValue::Text(s)) => {
                received_at = parse_time(&s, line, field, problems)
            }
            ("sla_due_at", RawValue::Text(s)) => sla_due_at = parse_time(&s, line, field, problems),
            ("priority", RawValue::Int(i)) => priority = i,
            ("priority", RawValue::Text(s)) => match s.trim().parse::<i64>() {
                Ok(i) => priority = i,
                Err(_) => problems.add(line, Some(field), format!("{s:?} is not an integer")),
            },
            ("metadata", RawValue::Object(m)) => metadata = Some(m),
            ("metadata", RawValue::Text(s)) => {
                match serde_json::from_str::<serde_json::Value>(&s) {
                    Ok(serde_json::Value::Object(m)) => metadata = Some(m),
                    _ => problems.add(line, Some(field), "must be a JSON object"),
                }
            }
            (f, v) if FIELDS.contains(&f) => {
                let got = match v {
                    RawValue::Int(_) => "an integer",
                    RawValue::Object(_) => "an object",
                    RawValue::Other(what) => what,
                    _ => "a string",
                };
                let want = match f {
                    "priority" => "an integer",
                    "metadata" => "a JSON object",
                    _ => "a string",
                };
                problems.add(line, Some(f), format!("must be {want}, found {got}"));
            }
            (f, _) => problems.add(
                line,
                Some(f),
                format!("unknown field; known fields are {}", FIELDS.join(", ")),
            ),
        }
    }
    for (req, present) in [
        ("id", id.is_some()),
        ("subject", subject.is_some()),
        ("body", body.is_some()),
        ("received_at", received_at.is_some()),
    ] {
        if !present
            && !problems
                .list
                .iter()
                .any(|p| p.line == line && p.field.as_deref() == Some(req))
        {
            problems.add(line, Some(req), "required field is missing");
        }
    }
    if problems.list.len() as u64 + problems.more > before {
        return None;
    }
    let case = NewCase {
        id: id?,
        subject: subject?,
        body: body?,
        received_at: received_at?,
        priority,
        sla_due_at,
        metadata,
        label,
    };
    match case.validate() {
        Ok(()) => Some(case),
        Err(signoff_core::CoreError::Invalid { field, reason }) => {
            problems.add(line, Some(field), reason);
            None
        }
    }
}

fn parse_time(s: &str, line: u64, field: &str, problems: &mut Problems) -> Option<DateTime<Utc>> {
    let t = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(t) {
        return Some(dt.with_timezone(&Utc));
    }
    let zoneless = NaiveDateTime::parse_from_str(t, "%Y-%m-%dT%H:%M:%S%.f").is_ok()
        || NaiveDateTime::parse_from_str(t, "%Y-%m-%d %H:%M:%S%.f").is_ok();
    let msg = if zoneless {
        format!("{t:?} has no time zone; add one, as in 2026-11-25T09:30:00Z or 2026-11-25T10:30:00+01:00")
    } else {
        format!("{t:?} is not an RFC 3339 timestamp (like 2026-11-25T09:30:00Z)")
    };
    problems.add(line, Some(field), msg);
    None
}

/// Adds the commitment to a pull's source (its URL hashed; the host in clear) to a payload.
fn with_source(
    source: Option<&str>,
    mut payload: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Map<String, serde_json::Value> {
    if let Some(url) = source {
        payload.insert("source_sha256".into(), crate::audit::commit(url).into());
        let host = url
            .split_once("://")
            .map_or(url, |(_, rest)| rest)
            .split(['/', '?', '#'])
            .next()
            .unwrap_or("")
            .rsplit('@')
            .next()
            .unwrap_or("");
        payload.insert("source_host".into(), host.into());
    }
    payload
}
