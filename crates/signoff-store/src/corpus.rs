//! The curated context corpus in the workspace: adding sources (a new version when the chunk
//! set changes), approval by a named subject-matter expert, the allow-list, search over an
//! approved version, and retrieval for a case recorded with its audit entry.
//!
//! A version is the set of chunk hashes of every source at one moment; `corpus_head` (a
//! setting) names the newest. Only approved versions are searched. Search indexes live under
//! `index/corpus/<version id>/` in the workspace directory: derived data, rebuilt from the
//! store whenever missing or unreadable.

use crate::{from_ms, ms, StoreError, Workspace};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use sha2::Digest;
use signoff_context::corpus::{self, AllowList, CorpusDiff};
use signoff_context::ingest::{ChunkFlags, Document};
use signoff_context::{Bm25Index, Embedder, Mode, Passage, Retriever};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The ingest side of the corpus (file formats, chunks), re-exported for hosts.
pub use signoff_context::ingest;
/// PII redaction, re-exported for hosts (case text is redacted before retrieval).
pub use signoff_context::redact;

const HEAD_KEY: &str = "corpus_head";
const ALLOW_KEY: &str = "corpus_allow";
/// The longest query text searched; longer text is cut (at a character boundary).
pub const MAX_QUERY_CHARS: usize = 4000;

/// The weakest cosine (query vs passage) that counts as evidence on its own, without a shared
/// word or a named entity; unrelated MiniLM pairs score below it.
pub const MIN_DENSE_COSINE: f32 = 0.3;

/// What adding a source did.
#[derive(Debug, Clone, Serialize)]
pub struct CorpusAddReport {
    /// The source.
    pub source: String,
    /// The files read, with their hashes and chunk counts.
    pub files: Vec<AddedFile>,
    /// The corpus version now at the head.
    pub version: String,
    /// The version before.
    pub parent: Option<String>,
    /// Whether the chunk set changed (a new version was made).
    pub new_version: bool,
    /// Chunks in the head version.
    pub chunks: usize,
    /// Chunk ids added, removed, changed against the parent.
    pub diff: CorpusDiff,
    /// The `corpus_add` audit entry.
    pub audit_index: u64,
}

/// One file of an add.
#[derive(Debug, Clone, Serialize)]
pub struct AddedFile {
    /// File name.
    pub file: String,
    /// Format read.
    pub format: String,
    /// SHA-256 of its bytes.
    pub file_sha256: String,
    /// Chunks cut from it.
    pub chunks: usize,
}

/// A corpus version as listed.
#[derive(Debug, Clone, Serialize)]
pub struct VersionInfo {
    /// The version id (SHA-256 over its chunk hashes).
    pub id: String,
    /// The version it was made from.
    pub parent: Option<String>,
    /// When it was made (RFC 3339).
    pub at: String,
    /// How many chunks it holds.
    pub chunks: u64,
    /// The subject-matter expert who approved it.
    pub approved_by: Option<String>,
    /// When (RFC 3339).
    pub approved_at: Option<String>,
    /// Whether it is the newest version.
    pub head: bool,
    /// Its sources with their chunk counts.
    pub sources: BTreeMap<String, u64>,
}

/// A source as listed, with its staleness.
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    /// The source name.
    pub name: String,
    /// Refresh cadence in days.
    pub refresh_days: Option<u32>,
    /// When it was last added (RFC 3339).
    pub checked_at: String,
    /// Whether it is past its cadence.
    pub stale: bool,
    /// Its files in the head version.
    pub files: Vec<String>,
}

/// A chunk as stored for a version.
#[derive(Debug, Clone, Serialize)]
pub struct StoredChunk {
    /// Content hash.
    pub sha256: String,
    /// Stable id.
    pub id: String,
    /// Source.
    pub source: String,
    /// File it came from.
    pub file: String,
    /// Title.
    pub title: String,
    /// Text.
    pub text: String,
    /// Character offsets into its document's extracted text.
    pub start: u64,
    /// End offset (exclusive).
    pub end: u64,
    /// Governance flags.
    pub flags: ChunkFlags,
}

/// One retrieved passage.
#[derive(Debug, Clone, Serialize)]
pub struct EvidenceHit {
    /// The chunk.
    #[serde(flatten)]
    pub chunk: StoredChunk,
    /// The mode's score in thousandths (× 1000, rounded): BM25 in `bm25` mode, cosine in
    /// `dense`, the fused (or reranked) score in `hybrid` (`rerank`).
    pub score: i64,
    /// Words of the title and text that match query terms (for highlighting).
    pub matched_terms: Vec<String>,
}

/// The result of a search over an approved version.
#[derive(Debug, Clone, Serialize)]
pub struct SearchResult {
    /// The version searched.
    pub version: String,
    /// How it was ranked.
    pub mode: String,
    /// The hits, best first.
    pub hits: Vec<EvidenceHit>,
    /// Set when the index had to be (re)built, saying why.
    pub index_note: Option<String>,
    /// Set when the query was cut to [`MAX_QUERY_CHARS`].
    pub query_truncated: bool,
}

/// Evidence retrieved for a case, as recorded.
#[derive(Debug, Clone, Serialize)]
pub struct Retrieval {
    /// The case.
    pub case_id: String,
    /// The search and its hits.
    #[serde(flatten)]
    pub result: SearchResult,
    /// SHA-256 of the redacted query text.
    pub query_sha256: String,
    /// The redacted case text that was searched (what a drafter may use); never stored,
    /// logged or serialised.
    #[serde(skip)]
    pub redacted_query: String,
    /// PII removed from the case text before searching, per kind.
    pub redactions: BTreeMap<String, u32>,
    /// The `retrieval` audit entry.
    pub audit_index: u64,
}

/// The commitment a `corpus_add` entry makes to where each chunk of its version sits: SHA-256
/// over one line per chunk, sorted by chunk hash: the chunk hash, the document's sequence
/// number and the character span, joined by tabs.
pub(crate) fn positions_sha256<'a>(rows: impl Iterator<Item = (&'a str, i64, i64, i64)>) -> String {
    use sha2::Digest;
    let mut v: Vec<_> = rows.collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = sha2::Sha256::new();
    for (c, d, s, e) in v {
        h.update(format!("{c}\t{d}\t{s}\t{e}\n"));
    }
    hex::encode(h.finalize())
}

fn rule(msg: impl Into<String>) -> StoreError {
    StoreError::Rule(msg.into())
}

fn setting(c: &Connection, key: &str) -> Result<Option<String>, StoreError> {
    Ok(
        c.query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

fn put_setting(c: &Connection, key: &str, value: &str) -> Result<(), StoreError> {
    c.execute(
        "INSERT INTO settings (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        [key, value],
    )?;
    Ok(())
}

fn version_seq(c: &Connection, id: &str) -> Result<Option<i64>, StoreError> {
    Ok(
        c.query_row("SELECT seq FROM corpus_versions WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()?,
    )
}

/// (chunk id, hash) pairs of a version.
fn id_pairs(c: &Connection, seq: Option<i64>) -> Result<Vec<(String, String)>, StoreError> {
    let Some(seq) = seq else {
        return Ok(Vec::new());
    };
    let mut stmt = c.prepare_cached(
        "SELECT ch.id, ch.sha256 FROM corpus_version_chunks v
         JOIN corpus_chunks ch ON ch.sha256 = v.chunk_sha256 WHERE v.version_seq = ?1",
    )?;
    let rows = stmt.query_map([seq], |r| Ok((r.get(0)?, r.get(1)?)))?;
    Ok(rows.collect::<Result<_, _>>()?)
}

impl Workspace {
    /// Adds (or re-adds) the files of `source`: its chunks replace the source's chunks of the
    /// head version; a changed set becomes a new, unapproved version. One transaction with a
    /// `corpus_add` audit entry (file hashes, version, counts, a commitment to the added
    /// chunk hashes), also when nothing changed (the source's refresh clock restarts).
    pub fn corpus_add(
        &mut self,
        source: &str,
        docs: &[Document],
        refresh_days: Option<u32>,
        clock: &dyn signoff_core::Clock,
    ) -> Result<CorpusAddReport, StoreError> {
        if docs.is_empty() {
            return Err(rule("no files to add"));
        }
        if let Some(d) = docs.iter().find(|d| d.source != source) {
            return Err(rule(format!(
                "{} was read for source {:?}, not {source:?}",
                d.file, d.source
            )));
        }
        let mut seen = std::collections::HashSet::new();
        for d in docs {
            if !seen.insert(&d.file) {
                return Err(rule(format!(
                    "two files named {} in one add to source {source:?}; chunk ids include the file name, so rename one",
                    d.file
                )));
            }
        }
        let journal = self.journal()?;
        let now = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        let parent = setting(&tx, HEAD_KEY)?;
        let parent_seq = match &parent {
            Some(p) => version_seq(&tx, p)?,
            None => None,
        };
        tx.execute(
            "INSERT INTO corpus_sources (name, refresh_days, checked_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (name) DO UPDATE SET checked_ms = excluded.checked_ms,
               refresh_days = coalesce(excluded.refresh_days, corpus_sources.refresh_days)",
            params![source, refresh_days, now],
        )?;
        // (sha256, doc_seq, start, end) of the new set.
        let mut rows: Vec<(String, i64, u64, u64)> = Vec::new();
        if let Some(seq) = parent_seq {
            let mut stmt = tx.prepare_cached(
                "SELECT v.chunk_sha256, v.doc_seq, v.start_char, v.end_char
                 FROM corpus_version_chunks v JOIN corpus_chunks ch ON ch.sha256 = v.chunk_sha256
                 WHERE v.version_seq = ?1 AND ch.source <> ?2",
            )?;
            let kept = stmt.query_map(params![seq, source], |r| {
                Ok((
                    r.get(0)?,
                    r.get(1)?,
                    r.get::<_, i64>(2)? as u64,
                    r.get::<_, i64>(3)? as u64,
                ))
            })?;
            for k in kept {
                rows.push(k?);
            }
        }
        let mut files = Vec::new();
        let mut new_pairs: Vec<(String, String)> = Vec::new();
        for d in docs {
            let existing: Option<i64> = tx
                .query_row(
                    "SELECT seq FROM corpus_documents WHERE source = ?1 AND file = ?2 AND file_sha256 = ?3 AND text = ?4",
                    params![source, d.file, d.file_sha256, d.text],
                    |r| r.get(0),
                )
                .optional()?;
            let doc_seq = match existing {
                Some(s) => s,
                None => {
                    tx.execute(
                        "INSERT INTO corpus_documents (source, file, format, file_sha256, text, at_ms)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![source, d.file, d.format.as_str(), d.file_sha256, d.text, now],
                    )?;
                    tx.last_insert_rowid()
                }
            };
            let mut put = tx.prepare_cached(
                "INSERT OR IGNORE INTO corpus_chunks (sha256, id, source, title, text, flags)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?;
            for c in &d.chunks {
                let flags = serde_json::to_string(&c.flags).expect("flags serialise");
                put.execute(params![c.sha256, c.id, source, c.title, c.text, flags])?;
                rows.push((c.sha256.clone(), doc_seq, c.start as u64, c.end as u64));
                new_pairs.push((c.id.clone(), c.sha256.clone()));
            }
            files.push(AddedFile {
                file: d.file.clone(),
                format: d.format.as_str().into(),
                file_sha256: d.file_sha256.clone(),
                chunks: d.chunks.len(),
            });
        }
        rows.sort_by(|a, b| a.0.cmp(&b.0));
        rows.dedup_by(|a, b| a.0 == b.0);
        let version = corpus::version_id(rows.iter().map(|r| r.0.as_str()));
        let old_pairs = id_pairs(&tx, parent_seq)?;
        let mut all_pairs: Vec<(String, String)> = old_pairs
            .iter()
            .filter(|(id, _)| !id.starts_with(&format!("{source}:")))
            .cloned()
            .collect();
        all_pairs.extend(new_pairs);
        let diff = corpus::diff(&old_pairs, &all_pairs);
        let new_version = parent.as_deref() != Some(version.as_str());
        let added_hashes: Vec<&str> = all_pairs
            .iter()
            .filter(|(id, _)| {
                diff.added.binary_search(id).is_ok() || diff.changed.binary_search(id).is_ok()
            })
            .map(|(_, h)| h.as_str())
            .collect();
        let idx = crate::audit::record(
            &tx,
            signoff_audit::log::Entry {
                kind: "corpus_add".into(),
                case_id: None,
                actor: "device".into(),
                at_ms: now,
                payload: crate::audit::payload([
                    ("source", source.into()),
                    (
                        "files",
                        serde_json::to_value(
                            files
                                .iter()
                                .zip(docs.iter())
                                .map(|(f, d)| {
                                    serde_json::json!({
                                        "file_sha256": f.file_sha256,
                                        "format": f.format,
                                        "chunks": f.chunks,
                                        "file_name_sha256": crate::audit::commit(&d.file),
                                        "text_sha256": crate::audit::commit(&d.text),
                                    })
                                })
                                .collect::<Vec<_>>(),
                        )
                        .expect("json"),
                    ),
                    ("version", version.clone().into()),
                    (
                        "parent",
                        parent.clone().map_or(serde_json::Value::Null, Into::into),
                    ),
                    ("new_version", new_version.into()),
                    ("chunks", rows.len().into()),
                    ("added", diff.added.len().into()),
                    ("removed", diff.removed.len().into()),
                    ("changed", diff.changed.len().into()),
                    ("added_sha256", corpus::version_id(added_hashes).into()),
                    (
                        "refresh_days",
                        refresh_days.map_or(serde_json::Value::Null, Into::into),
                    ),
                    (
                        "positions_sha256",
                        positions_sha256(
                            rows.iter()
                                .map(|(c, d, s, e)| (c.as_str(), *d, *s as i64, *e as i64)),
                        )
                        .into(),
                    ),
                ]),
            },
        )?;
        if new_version && version_seq(&tx, &version)?.is_none() {
            tx.execute(
                "INSERT INTO corpus_versions (id, parent, at_ms, chunks, audit_idx) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![version, parent, now, rows.len() as i64, idx as i64],
            )?;
            let vseq = tx.last_insert_rowid();
            let mut put = tx.prepare_cached(
                "INSERT INTO corpus_version_chunks (version_seq, chunk_sha256, doc_seq, start_char, end_char)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for (sha, doc, s, e) in &rows {
                put.execute(params![vseq, sha, doc, *s as i64, *e as i64])?;
            }
        }
        put_setting(&tx, HEAD_KEY, &version)?;
        crate::audit::seal(&tx, &journal, now)?;
        tx.commit()?;
        Ok(CorpusAddReport {
            source: source.into(),
            files,
            version,
            parent,
            new_version,
            chunks: rows.len(),
            diff,
            audit_index: idx,
        })
    }

    /// Finds a version by `head`, `approved`, or a unique prefix (at least 4 hex digits) of
    /// its id; returns (seq, id).
    pub fn corpus_version(&self, which: &str) -> Result<(i64, String), StoreError> {
        let which = which.trim();
        let found: Option<(i64, String)> = match which {
            "head" | "latest" => match self.setting(HEAD_KEY)? {
                Some(id) => version_seq(&self.conn, &id)?.map(|s| (s, id)),
                None => None,
            },
            "approved" => {
                return self.approved_version()?.ok_or_else(|| {
                    rule("no corpus version is approved yet; approve one with `signoff corpus approve VERSION --by NAME`")
                })
            }
            p if p.len() >= 4 && p.chars().all(|c| c.is_ascii_hexdigit()) => {
                let mut stmt = self.conn.prepare_cached(
                    "SELECT seq, id FROM corpus_versions WHERE id >= ?1 AND id < ?1 || 'g' ORDER BY seq LIMIT 2",
                )?;
                let hits: Vec<(i64, String)> = stmt
                    .query_map([p.to_ascii_lowercase()], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect::<Result<_, _>>()?;
                if hits.len() > 1 {
                    return Err(rule(format!("version prefix {p} is ambiguous; give more digits")));
                }
                hits.into_iter().next()
            }
            p => {
                return Err(rule(format!(
                    "{p:?} is not a corpus version: give `head`, `approved` or at least 4 hex digits of a version id"
                )))
            }
        };
        found.ok_or_else(|| {
            rule(format!(
                "no corpus version {which:?} in this workspace (see `signoff corpus list`)"
            ))
        })
    }

    /// The newest approved version, if any: (seq, id).
    pub fn approved_version(&self) -> Result<Option<(i64, String)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT seq, id FROM corpus_versions WHERE approved_by IS NOT NULL ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// Approves a version in the name of a subject-matter expert: a `corpus_approve` audit
    /// entry in the same transaction. Approving twice is refused.
    pub fn corpus_approve(
        &mut self,
        version: &str,
        by: &str,
        clock: &dyn signoff_core::Clock,
    ) -> Result<VersionInfo, StoreError> {
        let by = by.trim();
        if by.is_empty() {
            return Err(rule(
                "an approval needs the name of the subject-matter expert (--by NAME)",
            ));
        }
        let (seq, id) = self.corpus_version(version)?;
        let (prev, chunks): (Option<String>, i64) = self.conn.query_row(
            "SELECT approved_by, chunks FROM corpus_versions WHERE seq = ?1",
            [seq],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        if let Some(p) = prev {
            return Err(rule(format!(
                "corpus version {} is already approved by {p}",
                &id[..12]
            )));
        }
        let journal = self.journal()?;
        let now = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        let idx = crate::audit::record(
            &tx,
            signoff_audit::log::Entry {
                kind: "corpus_approve".into(),
                case_id: None,
                actor: "device".into(),
                at_ms: now,
                payload: crate::audit::payload([
                    ("version", id.clone().into()),
                    ("approved_by", by.into()),
                    ("chunks", chunks.into()),
                ]),
            },
        )?;
        tx.execute(
            "UPDATE corpus_versions SET approved_by = ?1, approved_ms = ?2, approve_idx = ?3 WHERE seq = ?4",
            params![by, now, idx as i64, seq],
        )?;
        crate::audit::seal(&tx, &journal, now)?;
        tx.commit()?;
        let v = self.corpus_versions()?;
        Ok(v.into_iter().find(|x| x.id == id).expect("just approved"))
    }

    /// Every version, newest first.
    pub fn corpus_versions(&self) -> Result<Vec<VersionInfo>, StoreError> {
        let head = self.setting(HEAD_KEY)?;
        let mut stmt = self.conn.prepare(
            "SELECT seq, id, parent, at_ms, chunks, approved_by, approved_ms FROM corpus_versions ORDER BY seq DESC",
        )?;
        let rows: Vec<(i64, VersionInfo)> = stmt
            .query_map([], |r| {
                let id: String = r.get(1)?;
                Ok((
                    r.get(0)?,
                    VersionInfo {
                        head: head.as_deref() == Some(id.as_str()),
                        id,
                        parent: r.get(2)?,
                        at: from_ms(r.get(3)?).to_rfc3339(),
                        chunks: r.get::<_, i64>(4)? as u64,
                        approved_by: r.get(5)?,
                        approved_at: r.get::<_, Option<i64>>(6)?.map(|t| from_ms(t).to_rfc3339()),
                        sources: BTreeMap::new(),
                    },
                ))
            })?
            .collect::<Result<_, _>>()?;
        let mut per = self.conn.prepare_cached(
            "SELECT ch.source, count(*) FROM corpus_version_chunks v JOIN corpus_chunks ch ON ch.sha256 = v.chunk_sha256
             WHERE v.version_seq = ?1 GROUP BY ch.source",
        )?;
        let mut out = Vec::with_capacity(rows.len());
        for (seq, mut v) in rows {
            for row in
                per.query_map([seq], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?
            {
                let (s, n) = row?;
                v.sources.insert(s, n as u64);
            }
            out.push(v);
        }
        Ok(out)
    }

    /// Every source with its cadence and whether it is stale at `now`.
    pub fn corpus_sources(
        &self,
        clock: &dyn signoff_core::Clock,
    ) -> Result<Vec<SourceInfo>, StoreError> {
        let now = ms(clock.now());
        let head_seq = match self.setting(HEAD_KEY)? {
            Some(h) => version_seq(&self.conn, &h)?,
            None => None,
        };
        let mut stmt = self
            .conn
            .prepare("SELECT name, refresh_days, checked_ms FROM corpus_sources ORDER BY name")?;
        let rows: Vec<(String, Option<u32>, i64)> = stmt
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
            .collect::<Result<_, _>>()?;
        let mut files = self.conn.prepare_cached(
            "SELECT DISTINCT d.file FROM corpus_version_chunks v JOIN corpus_documents d ON d.seq = v.doc_seq
             WHERE v.version_seq = ?1 AND d.source = ?2 ORDER BY d.file",
        )?;
        let mut out = Vec::new();
        for (name, refresh_days, checked) in rows {
            let f: Vec<String> = match head_seq {
                Some(seq) => files
                    .query_map(params![seq, name], |r| r.get(0))?
                    .collect::<Result<_, _>>()?,
                None => Vec::new(),
            };
            out.push(SourceInfo {
                stale: corpus::is_stale(checked, refresh_days, now),
                name,
                refresh_days,
                checked_at: from_ms(checked).to_rfc3339(),
                files: f,
            });
        }
        Ok(out)
    }

    /// The diff from version `a` to `b` (defaults: `b` the head, `a` its parent).
    pub fn corpus_diff(
        &self,
        a: Option<&str>,
        b: Option<&str>,
    ) -> Result<(Option<String>, String, CorpusDiff), StoreError> {
        let (b_seq, b_id) = self.corpus_version(b.unwrap_or("head"))?;
        let (a_seq, a_id) = match a {
            Some(a) => {
                let (s, i) = self.corpus_version(a)?;
                (Some(s), Some(i))
            }
            None => {
                let parent: Option<String> = self.conn.query_row(
                    "SELECT parent FROM corpus_versions WHERE seq = ?1",
                    [b_seq],
                    |r| r.get(0),
                )?;
                match parent {
                    Some(p) => (version_seq(&self.conn, &p)?, Some(p)),
                    None => (None, None),
                }
            }
        };
        let old = id_pairs(&self.conn, a_seq)?;
        let new = id_pairs(&self.conn, Some(b_seq))?;
        Ok((a_id, b_id, corpus::diff(&old, &new)))
    }

    /// The chunks of a version, in id order.
    pub fn corpus_chunks(&self, version_seq: i64) -> Result<Vec<StoredChunk>, StoreError> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT ch.sha256, ch.id, ch.source, d.file, ch.title, ch.text, v.start_char, v.end_char, ch.flags
             FROM corpus_version_chunks v
             JOIN corpus_chunks ch ON ch.sha256 = v.chunk_sha256
             JOIN corpus_documents d ON d.seq = v.doc_seq
             WHERE v.version_seq = ?1 ORDER BY ch.id",
        )?;
        let rows = stmt.query_map([version_seq], |r| {
            let flags: String = r.get(8)?;
            Ok(StoredChunk {
                sha256: r.get(0)?,
                id: r.get(1)?,
                source: r.get(2)?,
                file: r.get(3)?,
                title: r.get(4)?,
                text: r.get(5)?,
                start: r.get::<_, i64>(6)? as u64,
                end: r.get::<_, i64>(7)? as u64,
                flags: serde_json::from_str(&flags).unwrap_or(ChunkFlags {
                    restricted: true,
                    ..Default::default()
                }),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The allow-list in force (empty: every source feeds every case).
    pub fn corpus_allow_list(&self) -> Result<AllowList, StoreError> {
        match self.setting(ALLOW_KEY)? {
            Some(t) => {
                AllowList::parse(&t, "setting corpus_allow").map_err(|e| rule(e.to_string()))
            }
            None => Ok(AllowList::default()),
        }
    }

    /// Replaces the allow-list with the TOML `text` (read from `file`), with a `corpus_allow`
    /// audit entry committing to it.
    pub fn set_corpus_allow_list(
        &mut self,
        text: &str,
        file: &str,
        clock: &dyn signoff_core::Clock,
    ) -> Result<AllowList, StoreError> {
        let list = AllowList::parse(text, file).map_err(|e| rule(e.to_string()))?;
        let journal = self.journal()?;
        let now = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        crate::audit::record(
            &tx,
            signoff_audit::log::Entry {
                kind: "corpus_allow".into(),
                case_id: None,
                actor: "device".into(),
                at_ms: now,
                payload: crate::audit::payload([
                    ("allow_sha256", crate::audit::commit(text).into()),
                    ("labels", list.labels.len().into()),
                    ("default_restricted", list.default.is_some().into()),
                ]),
            },
        )?;
        put_setting(&tx, ALLOW_KEY, text)?;
        crate::audit::seal(&tx, &journal, now)?;
        tx.commit()?;
        Ok(list)
    }

    /// The version a search reads: `version` (`None`: the newest approved), refused unless
    /// it is approved.
    fn searchable_version(&self, version: Option<&str>) -> Result<(i64, String), StoreError> {
        let (seq, id) = match version {
            None => self.corpus_version("approved")?,
            Some(v) => self.corpus_version(v)?,
        };
        let approved: Option<String> = self.conn.query_row(
            "SELECT approved_by FROM corpus_versions WHERE seq = ?1",
            [seq],
            |r| r.get(0),
        )?;
        if approved.is_none() {
            return Err(rule(format!(
                "corpus version {} is not approved; only approved versions are searched (signoff corpus approve {} --by NAME)",
                &id[..12],
                &id[..12]
            )));
        }
        Ok((seq, id))
    }

    /// Searches an approved version (`version`: `None` for the newest approved) for `query`,
    /// keeping only retrievable chunks (not restricted, consent not withdrawn) of the sources
    /// `allowed` (None: all). Unapproved versions are refused.
    pub fn corpus_search(
        &self,
        query: &str,
        mode: &str,
        k: usize,
        version: Option<&str>,
        allowed: Option<&std::collections::BTreeSet<String>>,
    ) -> Result<SearchResult, StoreError> {
        let mode = match mode {
            "bm25" => Mode::Bm25,
            "dense" => Mode::Dense,
            "hybrid" => Mode::Hybrid,
            "rerank" => Mode::Rerank,
            other => {
                return Err(rule(format!(
                    "search mode {other:?} is not one of bm25, dense, hybrid, rerank"
                )))
            }
        };
        if mode != Mode::Bm25 {
            return self.corpus_search_dense(query, mode, k, version, allowed);
        }
        let mode = mode.as_str();
        let (seq, id) = self.searchable_version(version)?;
        let chunks = self.corpus_chunks(seq)?;
        let (index, index_note) = self.corpus_index(&id, &chunks)?;
        let (query, query_truncated) = clip_query(query);
        let by_sha: std::collections::HashMap<&str, &StoredChunk> =
            chunks.iter().map(|c| (c.sha256.as_str(), c)).collect();
        let keep = |c: &StoredChunk| {
            c.flags.retrievable() && allowed.is_none_or(|a| a.contains(&c.source))
        };
        let eligible = chunks.iter().filter(|c| keep(c)).count();
        let mut want = (k * 4).max(50);
        let mut hits = Vec::new();
        if k > 0 && eligible > 0 {
            loop {
                let raw = index
                    .search(query, want)
                    .map_err(|e| rule(format!("search failed: {e}")))?;
                let exhausted = raw.len() < want;
                hits = raw
                    .into_iter()
                    .filter_map(|(sha, score)| by_sha.get(sha.as_str()).map(|c| (*c, score)))
                    .filter(|(c, _)| keep(c))
                    .take(k)
                    .collect::<Vec<_>>();
                if hits.len() >= k || exhausted || want >= chunks.len() {
                    break;
                }
                want = (want * 4).min(chunks.len());
            }
        }
        let terms = index.terms(query);
        let hits = hits
            .into_iter()
            .map(|(c, score)| EvidenceHit {
                matched_terms: matched_terms(&index, &terms, &c.title, &c.text),
                chunk: c.clone(),
                score: (f64::from(score) * 1000.0).round() as i64,
            })
            .collect();
        Ok(SearchResult {
            version: id,
            mode: mode.into(),
            hits,
            index_note,
            query_truncated,
        })
    }

    /// Dense, hybrid or reranked search of an approved version with the process's embedding
    /// model ([`signoff_context::encoder::shared`]) over the retrievable chunks of the
    /// `allowed` sources. The version's passage vectors come from its dense index on disk
    /// (built, or rebuilt when unreadable, with a note). Without the model `dense` is refused
    /// and `hybrid`/`rerank` rank by BM25 and entities, saying so in the note.
    fn corpus_search_dense(
        &self,
        query: &str,
        mode: Mode,
        k: usize,
        version: Option<&str>,
        allowed: Option<&std::collections::BTreeSet<String>>,
    ) -> Result<SearchResult, StoreError> {
        let (seq, id) = self.searchable_version(version)?;
        let (query, query_truncated) = clip_query(query);
        let chunks = self.corpus_chunks(seq)?;
        let mut notes: Vec<String> = Vec::new();
        let (embedder, vectors) = match signoff_context::encoder::shared() {
            Ok(e) => {
                let (v, note) = self.corpus_vectors(&id, &chunks, &e)?;
                notes.extend(note);
                (Some(e), Some(v))
            }
            Err(why) if mode == Mode::Dense => {
                return Err(rule(format!(
                    "dense search needs the embedding model: {why}"
                )))
            }
            Err(why) => {
                notes.push(format!(
                    "no embedding model ({why}); {} ranked by BM25 and entities only",
                    mode.as_str()
                ));
                (None, None)
            }
        };
        let keep: Vec<usize> = (0..chunks.len())
            .filter(|&i| {
                let c = &chunks[i];
                c.flags.retrievable() && allowed.is_none_or(|a| a.contains(&c.source))
            })
            .collect();
        let passages: Vec<Passage> = keep
            .iter()
            .map(|&i| Passage {
                id: chunks[i].sha256.clone(),
                title: chunks[i].title.clone(),
                text: chunks[i].text.clone(),
            })
            .collect();
        // The version's BM25 index analyses the query, so matched words are found the same
        // way in every mode (the original spellings, for highlighting).
        let (index, index_note) = self.corpus_index(&id, &chunks)?;
        notes.splice(0..0, index_note);
        let terms = index.terms(query);
        let mut hits = Vec::new();
        if k > 0 && !passages.is_empty() {
            let vecs = vectors.map(|v| keep.iter().map(|&i| v[i].clone()).collect());
            let r = Retriever::from_parts(&passages, embedder, vecs)
                .map_err(|e| rule(format!("building the {} index: {e}", mode.as_str())))?;
            let by_sha: std::collections::HashMap<&str, &StoredChunk> =
                chunks.iter().map(|c| (c.sha256.as_str(), c)).collect();
            // Ask for more than k: the floor below may drop some of the best-ranked.
            hits = r
                .search(query, mode, k.saturating_mul(4).max(20))
                .map_err(|e| rule(format!("{} search failed: {e}", mode.as_str())))?
                .into_iter()
                // Dense search always finds a nearest passage: one with no shared word, no
                // named entity and a weak cosine is not evidence.
                .filter(|h| {
                    h.bm25.is_some_and(|b| b > 0.0)
                        || h.entity.is_some()
                        || h.dense.is_some_and(|c| c >= MIN_DENSE_COSINE)
                })
                .filter_map(|h| {
                    by_sha.get(h.id.as_str()).map(|c| EvidenceHit {
                        matched_terms: matched_terms(&index, &terms, &c.title, &c.text),
                        chunk: (*c).clone(),
                        score: (f64::from(h.score) * 1000.0).round() as i64,
                    })
                })
                .take(k)
                .collect();
        }
        Ok(SearchResult {
            version: id,
            mode: mode.as_str().into(),
            hits,
            index_note: (!notes.is_empty()).then(|| notes.join("; ")),
            query_truncated,
        })
    }

    /// The passage vectors of a version (one per chunk, in `chunks` order) from its dense
    /// index, `index/corpus/<version>/dense-<model version>.vec`: a JSON header line (model
    /// version, dimension, count, SHA-256 over the chunk hashes), the vectors as little-endian
    /// f32, and the SHA-256 of everything before it. Derived data: built when missing and
    /// rebuilt when it does not check out, with a note saying which.
    fn corpus_vectors(
        &self,
        version: &str,
        chunks: &[StoredChunk],
        embedder: &Embedder,
    ) -> Result<(Vec<Vec<f32>>, Option<String>), StoreError> {
        if self.is_encrypted() {
            return self.memory_vectors(version, chunks, embedder);
        }
        let root = self.dir().join("index").join("corpus").join(version);
        let path = root.join(format!("dense-{}.vec", embedder.version()));
        let mut h = sha2::Sha256::new();
        for c in chunks {
            sha2::Digest::update(&mut h, c.sha256.as_bytes());
        }
        let chunks_sha = hex::encode(sha2::Digest::finalize(h));
        let header = serde_json::json!({
            "model": embedder.version(),
            "dim": signoff_context::DIM,
            "count": chunks.len(),
            "chunks_sha256": chunks_sha,
        })
        .to_string();
        let note = match std::fs::read(&path) {
            Ok(bytes) => match read_vectors(&bytes, &header, chunks.len()) {
                Ok(v) => return Ok((v, None)),
                Err(why) => format!(
                    "the dense index {} was unusable ({why}); rebuilt it from the store",
                    path.display()
                ),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => format!(
                "built the dense index for version {} ({} passages embedded)",
                &version[..12.min(version.len())],
                chunks.len()
            ),
            Err(e) => format!(
                "the dense index {} could not be read ({e}); rebuilt it from the store",
                path.display()
            ),
        };
        let vectors = embed_chunks(chunks, embedder)?;
        let mut bytes = Vec::with_capacity(header.len() + 33 + vectors.len() * 4 * 384);
        bytes.extend_from_slice(header.as_bytes());
        bytes.push(b'\n');
        for v in &vectors {
            for x in v {
                bytes.extend_from_slice(&x.to_le_bytes());
            }
        }
        let sum = sha2::Sha256::digest(&bytes);
        bytes.extend_from_slice(&sum);
        let io = |p: &PathBuf, e| StoreError::io(p, e);
        std::fs::create_dir_all(&root).map_err(|e| io(&root, e))?;
        let tmp = root.join(format!("dense.tmp-{}", std::process::id()));
        std::fs::write(&tmp, &bytes).map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))?;
        Ok((vectors, Some(note)))
    }

    /// An encrypted workspace's passage vectors: computed once per open workspace and kept in
    /// memory, never written beside the encrypted file.
    fn memory_vectors(
        &self,
        version: &str,
        chunks: &[StoredChunk],
        embedder: &Embedder,
    ) -> Result<(Vec<Vec<f32>>, Option<String>), StoreError> {
        let key = format!("{version}/{}", embedder.version());
        let mut cache = self
            .memory_indexes
            .vectors
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(v) = cache.get(&key).filter(|v| v.len() == chunks.len()) {
            return Ok((v.as_ref().clone(), None));
        }
        let vectors = std::sync::Arc::new(embed_chunks(chunks, embedder)?);
        cache.insert(key, vectors.clone());
        Ok((
            vectors.as_ref().clone(),
            Some(format!(
                "embedded version {} in memory ({} passages; an encrypted workspace keeps no index on disk)",
                &version[..12.min(version.len())],
                chunks.len()
            )),
        ))
    }

    /// Builds the search indexes of a version (`version`: an id prefix or `head`) ahead of its
    /// first search: BM25 always, the dense index when the embedding model is installed.
    /// Returns what was done (empty when both were already there and sound).
    pub fn corpus_build_indexes(&self, version: &str) -> Result<Vec<String>, StoreError> {
        let (seq, id) = self.corpus_version(version)?;
        let chunks = self.corpus_chunks(seq)?;
        let mut notes: Vec<String> = self.corpus_index(&id, &chunks)?.1.into_iter().collect();
        match signoff_context::encoder::shared() {
            Ok(e) => notes.extend(self.corpus_vectors(&id, &chunks, &e)?.1),
            Err(why) => notes.push(format!(
                "no embedding model ({why}); no dense index, searches rank by BM25 and entities"
            )),
        }
        Ok(notes)
    }

    /// Records a search of the workspace corpus (not for a case) in the audit log, as a
    /// retrieval is: the query's hash, version, mode, chunk ids, hashes and scores — never the
    /// query text. Returns the entry's index.
    pub fn record_search(
        &mut self,
        query: &str,
        result: &SearchResult,
        clock: &dyn signoff_core::Clock,
    ) -> Result<u64, StoreError> {
        let (query, _) = clip_query(query);
        self.record_event(signoff_audit::log::Entry {
            kind: "search".into(),
            case_id: None,
            actor: "device".into(),
            at_ms: ms(clock.now()),
            payload: crate::audit::payload([
                ("query_sha256", crate::audit::commit(query).into()),
                ("version", result.version.clone().into()),
                ("mode", result.mode.clone().into()),
                ("hits", hits_json(result).into()),
            ]),
        })
    }

    /// Opens the BM25 index of a version, building it when missing and rebuilding it when it
    /// cannot be opened or does not hold the version's chunks (the note says which).
    fn corpus_index(
        &self,
        version: &str,
        chunks: &[StoredChunk],
    ) -> Result<(std::sync::Arc<Bm25Index>, Option<String>), StoreError> {
        if self.is_encrypted() {
            return self.memory_index(version, chunks);
        }
        let root = self.dir().join("index").join("corpus").join(version);
        let dir = root.join("bm25");
        let note = if dir.exists() {
            match Bm25Index::open_in_dir(&dir) {
                Ok(idx) if idx.len() == chunks.len() as u64 => {
                return Ok((std::sync::Arc::new(idx), None))
            }
                Ok(idx) => Some(format!(
                    "the search index held {} passages, not the version's {}; rebuilt it from the store",
                    idx.len(),
                    chunks.len()
                )),
                Err(e) => Some(format!(
                    "the search index could not be opened ({e}); rebuilt it from the store"
                )),
            }
        } else {
            Some(format!(
                "built the search index for version {}",
                &version[..12]
            ))
        };
        let passages: Vec<Passage> = chunks
            .iter()
            .map(|c| Passage {
                id: c.sha256.clone(),
                title: c.title.clone(),
                text: c.text.clone(),
            })
            .collect();
        let io = |p: &PathBuf, e| StoreError::io(p, e);
        let tmp = root.join(format!("bm25.tmp-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| io(&tmp, e))?;
        }
        std::fs::create_dir_all(&root).map_err(|e| io(&root, e))?;
        let built = Bm25Index::build_in_dir(&tmp, &passages)
            .map_err(|e| rule(format!("building the search index: {e}")))?;
        drop(built);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).map_err(|e| io(&dir, e))?;
        }
        std::fs::rename(&tmp, &dir).map_err(|e| io(&dir, e))?;
        let idx = Bm25Index::open_in_dir(&dir)
            .map_err(|e| rule(format!("opening the rebuilt search index: {e}")))?;
        Ok((std::sync::Arc::new(idx), note))
    }

    /// An encrypted workspace's BM25 index: built in memory once per open workspace (tantivy's
    /// RAM directory), never written beside the encrypted file.
    fn memory_index(
        &self,
        version: &str,
        chunks: &[StoredChunk],
    ) -> Result<(std::sync::Arc<Bm25Index>, Option<String>), StoreError> {
        let mut cache = self
            .memory_indexes
            .bm25
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if let Some(idx) = cache
            .get(version)
            .filter(|i| i.len() == chunks.len() as u64)
        {
            return Ok((idx.clone(), None));
        }
        let passages: Vec<Passage> = chunks
            .iter()
            .map(|c| Passage {
                id: c.sha256.clone(),
                title: c.title.clone(),
                text: c.text.clone(),
            })
            .collect();
        let idx = std::sync::Arc::new(
            Bm25Index::build_in_ram(&passages)
                .map_err(|e| rule(format!("building the search index: {e}")))?,
        );
        cache.insert(version.to_string(), idx.clone());
        Ok((
            idx,
            Some(format!(
                "built the search index for version {} in memory",
                &version[..12.min(version.len())]
            )),
        ))
    }

    /// Retrieves evidence for a case: redacts its subject and body, searches the newest
    /// approved version under the allow-list for the case's label and the chunk flags (in
    /// `hybrid` mode when the embedding model is installed, else `bm25` with a note), and
    /// records a `retrieval` row with its audit entry in one transaction (query hash, version,
    /// chunk ids and hashes, integer scores, redaction counts — no text).
    pub fn retrieve_for_case(
        &mut self,
        case_id: &str,
        k: usize,
        clock: &dyn signoff_core::Clock,
    ) -> Result<Retrieval, StoreError> {
        let seq = self.case_seq(case_id)?;
        let case = self.case(seq)?;
        let red = signoff_context::redact::redact(&format!("{}\n\n{}", case.subject, case.body));
        let allow = self.corpus_allow_list()?;
        let allowed = allow.allowed(case.label.as_deref()).cloned();
        // The full hybrid pipeline when the embedding model is installed; BM25 otherwise,
        // with a note saying why.
        let mode = if signoff_context::encoder::shared().is_ok() {
            "hybrid"
        } else {
            "bm25"
        };
        // The retriever takes the last line as the question: not the sign-off or the name.
        let query = signoff_context::entity::without_sign_off(&red.text);
        let mut result = self.corpus_search(query, mode, k, None, allowed.as_ref())?;
        if let (Err(why), "bm25") = (signoff_context::encoder::shared(), mode) {
            let note = format!("no embedding model ({why}); evidence ranked by BM25 only");
            result.index_note = Some(match result.index_note.take() {
                Some(n) => format!("{n}; {note}"),
                None => note,
            });
        }
        let query_sha256 = crate::audit::commit(&red.text);
        let redactions = red.counts_by_name();
        let hits_json = hits_json(&result);
        let hits_text = serde_json::Value::from(hits_json.clone()).to_string();
        // The same redacted query against the same version, allow-list outcome and mode gives
        // the same hits: opening a case again reuses its recorded retrieval instead of
        // appending an identical entry each time a reviewer looks.
        let recorded: Option<i64> = self
            .conn()
            .query_row(
                "SELECT audit_idx FROM retrievals
                 WHERE case_seq = ?1 AND query_sha256 = ?2 AND version_id = ?3 AND mode = ?4
                   AND hits = ?5
                 ORDER BY rowid DESC LIMIT 1",
                params![seq, query_sha256, result.version, result.mode, hits_text],
                |r| r.get(0),
            )
            .optional()?;
        if let Some(idx) = recorded {
            return Ok(Retrieval {
                case_id: case.id,
                result,
                query_sha256,
                redactions,
                audit_index: idx as u64,
                redacted_query: red.text,
            });
        }
        let journal = self.journal()?;
        let now = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        let idx = crate::audit::record(
            &tx,
            signoff_audit::log::Entry {
                kind: "retrieval".into(),
                case_id: Some(case.id.clone()),
                actor: "device".into(),
                at_ms: now,
                payload: crate::audit::payload([
                    ("query_sha256", query_sha256.clone().into()),
                    ("version", result.version.clone().into()),
                    ("mode", result.mode.clone().into()),
                    ("hits", hits_json.clone().into()),
                    (
                        "redactions",
                        serde_json::to_value(&redactions).expect("json"),
                    ),
                ]),
            },
        )?;
        tx.execute(
            "INSERT INTO retrievals (case_seq, query_sha256, version_id, mode, hits, redactions, at_ms, audit_idx)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                seq,
                query_sha256,
                result.version,
                result.mode,
                hits_text,
                serde_json::to_string(&redactions).expect("json"),
                now,
                idx as i64
            ],
        )?;
        crate::audit::seal(&tx, &journal, now)?;
        tx.commit()?;
        Ok(Retrieval {
            case_id: case.id,
            result,
            query_sha256,
            redactions,
            audit_index: idx,
            redacted_query: red.text,
        })
    }
}

/// The vectors of a dense index file, if it has the expected header, size and checksum.
fn read_vectors(bytes: &[u8], header: &str, count: usize) -> Result<Vec<Vec<f32>>, String> {
    let dim = signoff_context::DIM;
    let body = header.len() + 1 + count * dim * 4;
    if bytes.len() != body + 32 {
        return Err(format!("{} bytes, expected {}", bytes.len(), body + 32));
    }
    if &bytes[..header.len()] != header.as_bytes() || bytes[header.len()] != b'\n' {
        return Err("its header names another model or chunk set".into());
    }
    if sha2::Sha256::digest(&bytes[..body]).as_slice() != &bytes[body..] {
        return Err("checksum mismatch".into());
    }
    Ok(bytes[header.len() + 1..body]
        .chunks_exact(dim * 4)
        .map(|v| {
            v.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                .collect()
        })
        .collect())
}

/// What the audit log keeps of a search's hits: chunk ids, their hashes and scores (no text).
fn hits_json(result: &SearchResult) -> Vec<serde_json::Value> {
    result
        .hits
        .iter()
        .map(|h| serde_json::json!({"chunk_id": h.chunk.id, "sha256": h.chunk.sha256, "score": h.score}))
        .collect()
}

/// The query cut to [`MAX_QUERY_CHARS`] characters, and whether it was cut.
fn clip_query(query: &str) -> (&str, bool) {
    match query.char_indices().nth(MAX_QUERY_CHARS) {
        Some((at, _)) => (&query[..at], true),
        None => (query, false),
    }
}

/// The distinct words of `title` and `text` whose analysed form is one of the query's terms.
fn matched_terms(
    index: &Bm25Index,
    terms: &BTreeMap<String, u32>,
    title: &str,
    text: &str,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for w in title
        .split(|c: char| !c.is_alphanumeric())
        .chain(text.split(|c: char| !c.is_alphanumeric()))
    {
        if w.is_empty() || !seen.insert(w.to_lowercase()) {
            continue;
        }
        if index.terms(w).keys().any(|t| terms.contains_key(t)) {
            out.push(w.to_string());
        }
    }
    out
}

/// Search indexes of an encrypted workspace, kept in memory for as long as it is open: BM25
/// by version, passage vectors by version and model.
#[derive(Default)]
pub(crate) struct MemoryIndexes {
    bm25: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<Bm25Index>>>,
    vectors: std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<Vec<Vec<f32>>>>>,
}

/// The passage vectors of `chunks` (title and text, as the retriever embeds them).
fn embed_chunks(chunks: &[StoredChunk], embedder: &Embedder) -> Result<Vec<Vec<f32>>, StoreError> {
    let texts: Vec<String> = chunks
        .iter()
        .map(|c| {
            signoff_context::retriever::passage_text(&Passage {
                id: String::new(),
                title: c.title.clone(),
                text: c.text.clone(),
            })
        })
        .collect();
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    embedder
        .embed(&refs)
        .map_err(|e| rule(format!("embedding the corpus version: {e}")))
}
