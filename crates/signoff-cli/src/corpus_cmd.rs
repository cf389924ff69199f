//! `signoff corpus add|approve|list|diff|allow`, `signoff search` and `signoff evidence`:
//! the curated context corpus from the terminal.

use crate::output::{clip, Out};
use crate::{open_read, open_write, Global};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use signoff_core::Clock;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// The corpus subcommands.
#[derive(Subcommand)]
pub enum CorpusCommand {
    /// Add (or re-add) policy and knowledge files: Markdown, text, HTML, JSON knowledge bases.
    /// A changed chunk set becomes a new, unapproved corpus version.
    Add {
        /// Files to add.
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Source name for all the files (default: each file's name without extension).
        #[arg(long)]
        source: Option<String>,
        /// Flag the source as stale when not re-added within N days.
        #[arg(long)]
        refresh_days: Option<u32>,
    },
    /// Approve a version (id prefix, or `head`) in the name of a subject-matter expert.
    Approve {
        /// Version id prefix, or `head`.
        version: String,
        /// The expert's name.
        #[arg(long)]
        by: String,
    },
    /// Versions (approval, chunk counts per source) and sources (cadence, staleness).
    List,
    /// Chunks added, removed and changed between two versions (default: the head's parent
    /// and the head).
    Diff {
        /// The older version (default: the parent of B).
        a: Option<String>,
        /// The newer version (default: the head).
        b: Option<String>,
    },
    /// Set the source allow-list per case label from a TOML file (see ARCHITECTURE.md).
    Allow {
        /// The TOML file.
        file: PathBuf,
    },
}

/// `signoff search`.
#[derive(Args)]
pub struct SearchArgs {
    /// What to look for (free text).
    query: String,
    /// Ranking: bm25, dense (MiniLM cosine), hybrid (fused with entity awareness), rerank
    /// (hybrid + the learned reranker). Dense needs the embedding model; hybrid and rerank run
    /// without its signal when it is missing (and say so).
    #[arg(long, default_value = "bm25", value_parser = ["bm25", "dense", "hybrid", "rerank"])]
    mode: String,
    /// How many passages.
    #[arg(long, default_value_t = 5)]
    k: usize,
    /// An approved version to search (default: the newest approved).
    #[arg(long)]
    version: Option<String>,
}

/// `signoff evidence`.
#[derive(Args)]
pub struct EvidenceArgs {
    /// Case id.
    case: String,
    /// How many passages.
    #[arg(long, default_value_t = 5)]
    k: usize,
}

/// Runs a corpus subcommand.
pub fn run(g: &Global, out: &Out, cmd: CorpusCommand, clock: &dyn Clock) -> Result<()> {
    match cmd {
        CorpusCommand::Add {
            paths,
            source,
            refresh_days,
        } => {
            let mut groups: BTreeMap<String, Vec<signoff_context::ingest::Document>> =
                BTreeMap::new();
            for p in &paths {
                let name = match &source {
                    Some(s) => s.clone(),
                    None => p
                        .file_stem()
                        .and_then(|s| s.to_str())
                        .with_context(|| {
                            format!(
                                "{}: no file name to name the source after; pass --source NAME",
                                p.display()
                            )
                        })?
                        .to_string(),
                };
                let doc = signoff_context::ingest::ingest_file(p, &name)?;
                groups.entry(name).or_default().push(doc);
            }
            let mut ws = open_write(g, clock)?;
            let mut reports = Vec::new();
            for (name, docs) in groups {
                let r = ws.corpus_add(&name, &docs, refresh_days, clock)?;
                out.line(&format!(
                    "{}: {} file(s), {} chunks; version {} ({}; +{} −{} ~{}); not approved until `signoff corpus approve {} --by NAME`",
                    r.source,
                    r.files.len(),
                    r.files.iter().map(|f| f.chunks).sum::<usize>(),
                    &r.version[..12],
                    if r.new_version { "new" } else { "unchanged" },
                    r.diff.added.len(),
                    r.diff.removed.len(),
                    r.diff.changed.len(),
                    &r.version[..12],
                ));
                reports.push(r);
            }
            // Index the head version now (with a progress bar while it is embedded), so its
            // first search does not wait for it.
            if let Some(r) = reports.last() {
                crate::eval_retrieval::show_embedding_progress();
                for note in ws.corpus_build_indexes(&r.version)? {
                    eprintln!("signoff: {note}");
                }
            }
            out.json(&reports);
        }
        CorpusCommand::Approve { version, by } => {
            let mut ws = open_write(g, clock)?;
            let v = ws.corpus_approve(&version, &by, clock)?;
            out.line(&format!(
                "version {} ({} chunks) approved by {}",
                &v.id[..12],
                v.chunks,
                by.trim()
            ));
            out.json(&v);
        }
        CorpusCommand::List => {
            let ws = open_read(g, clock)?;
            let versions = ws.corpus_versions()?;
            let sources = ws.corpus_sources(clock)?;
            if versions.is_empty() {
                out.line("the corpus is empty (add files with `signoff corpus add PATH…`)");
            }
            for v in &versions {
                let approval = match (&v.approved_by, &v.approved_at) {
                    (Some(b), Some(t)) => format!("approved by {b} at {t}"),
                    _ => "NOT APPROVED".into(),
                };
                let srcs: Vec<String> = v.sources.iter().map(|(s, n)| format!("{s}:{n}")).collect();
                out.line(&format!(
                    "{}{} {} {:>6} chunks  {}  [{}]",
                    if v.head { "*" } else { " " },
                    &v.id[..12],
                    v.at,
                    v.chunks,
                    approval,
                    srcs.join(" ")
                ));
            }
            for s in &sources {
                out.line(&format!(
                    "source {:<20} checked {}  cadence {}{}",
                    s.name,
                    s.checked_at,
                    s.refresh_days
                        .map_or("none".to_string(), |d| format!("{d} days")),
                    if s.stale { "  STALE: re-add it" } else { "" }
                ));
            }
            out.json(&serde_json::json!({"versions": versions, "sources": sources}));
        }
        CorpusCommand::Diff { a, b } => {
            let ws = open_read(g, clock)?;
            let (from, to, d) = ws.corpus_diff(a.as_deref(), b.as_deref())?;
            out.line(&format!(
                "{} → {}: {} added, {} removed, {} changed, {} unchanged",
                from.as_deref().map_or("(empty)", |f| &f[..12]),
                &to[..12],
                d.added.len(),
                d.removed.len(),
                d.changed.len(),
                d.unchanged
            ));
            for (mark, ids) in [("+", &d.added), ("-", &d.removed), ("~", &d.changed)] {
                for id in ids {
                    out.line(&format!("{mark} {id}"));
                }
            }
            out.json(&serde_json::json!({"from": from, "to": to, "added": d.added, "removed": d.removed, "changed": d.changed, "unchanged": d.unchanged}));
        }
        CorpusCommand::Allow { file } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let mut ws = open_write(g, clock)?;
            let list = ws.set_corpus_allow_list(&text, &file.display().to_string(), clock)?;
            out.line(&format!(
                "allow-list set: {} label(s); other labels: {}",
                list.labels.len(),
                list.default
                    .as_ref()
                    .map_or("every source".to_string(), |d| d
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "))
            ));
            out.json(&list);
        }
    }
    Ok(())
}

/// `signoff search "query"`: the newest approved version, in any mode (dense, hybrid and rerank
/// with the embedding model when it is installed; hybrid and rerank fall back to BM25 and
/// entities without it, and say so). Each search is recorded in the audit log like a
/// retrieval: the query's hash, version, mode, chunk ids, hashes and scores.
pub fn search(g: &Global, out: &Out, a: SearchArgs, clock: &dyn Clock) -> Result<()> {
    if a.k == 0 {
        bail!("--k must be at least 1");
    }
    let mut ws = open_write(g, clock)?;
    // The first search of a version embeds it (the dense index): show how far it is.
    crate::eval_retrieval::show_embedding_progress();
    let r = ws.corpus_search(&a.query, &a.mode, a.k, a.version.as_deref(), None)?;
    if let Some(n) = &r.index_note {
        eprintln!("signoff: {n}");
    }
    if r.query_truncated {
        eprintln!(
            "signoff: the query was cut to its first {} characters",
            signoff_store::corpus::MAX_QUERY_CHARS
        );
    }
    let audit_index = ws.record_search(&a.query, &r, clock)?;
    print_hits(out, &r);
    let mut json = serde_json::to_value(&r)?;
    json["audit_index"] = audit_index.into();
    out.json(&json);
    Ok(())
}

/// `signoff evidence CASE`: retrieval for a case, recorded in the audit log.
pub fn evidence(g: &Global, out: &Out, a: EvidenceArgs, clock: &dyn Clock) -> Result<()> {
    let mut ws = open_write(g, clock)?;
    crate::eval_retrieval::show_embedding_progress();
    let r = ws.retrieve_for_case(&a.case, a.k, clock)?;
    if let Some(n) = &r.result.index_note {
        eprintln!("signoff: {n}");
    }
    let red: Vec<String> = r
        .redactions
        .iter()
        .map(|(k, n)| format!("{k}:{n}"))
        .collect();
    out.line(&format!(
        "{}: {} passage(s) from version {} (audit entry #{}; redacted {})",
        r.case_id,
        r.result.hits.len(),
        &r.result.version[..12],
        r.audit_index,
        if red.is_empty() {
            "nothing".into()
        } else {
            red.join(" ")
        }
    ));
    print_hits(out, &r.result);
    out.json(&r);
    Ok(())
}

fn print_hits(out: &Out, r: &signoff_store::corpus::SearchResult) {
    if r.hits.is_empty() {
        out.line("no passage matches");
    }
    for (i, h) in r.hits.iter().enumerate() {
        out.line(&format!(
            "{:>2}. {:>7.3}  {}\n    {}\n    {}",
            i + 1,
            h.score as f64 / 1000.0,
            h.chunk.id,
            clip(&h.chunk.title, 100),
            clip(&h.chunk.text.replace('\n', " "), 160)
        ));
    }
}
