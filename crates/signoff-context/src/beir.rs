//! BEIR evaluation sets: `corpus.jsonl` (`{_id,title,text}`), `queries.jsonl` (`{_id,text}`)
//! and `qrels/<split>.tsv` (a header line `query-id corpus-id score`, then one judgement a
//! line). Loading is strict so a broken set fails loudly instead of scoring quietly wrong:
//! every error names `file:line`.

use crate::error::{ContextError, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, HashSet};
use std::path::Path;
#[cfg(test)]
use std::path::PathBuf;

/// A retrievable passage of the corpus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passage {
    /// The corpus id (`_id`).
    pub id: String,
    /// Its title (empty when the file has none).
    pub title: String,
    /// Its text.
    pub text: String,
}

/// A query to evaluate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The query id (`_id`).
    pub id: String,
    /// Its text.
    pub text: String,
}

/// Relevance judgements: query id → corpus id → graded score (> 0 means relevant).
pub type Qrels = BTreeMap<String, BTreeMap<String, i32>>;

/// A whole BEIR set, as loaded.
#[derive(Debug, Clone)]
pub struct BeirSet {
    /// The passages, in file order.
    pub corpus: Vec<Passage>,
    /// The queries, in file order.
    pub queries: Vec<Query>,
    /// The judgements of the chosen split.
    pub qrels: Qrels,
}

impl BeirSet {
    /// Loads `dir/corpus.jsonl`, `dir/queries.jsonl` and `dir/qrels/{split}.tsv`.
    pub fn load(dir: &Path, split: &str) -> Result<BeirSet> {
        let corpus = load_corpus(&dir.join("corpus.jsonl"))?;
        let queries = load_queries(&dir.join("queries.jsonl"))?;
        let known: HashSet<&str> = queries.iter().map(|q| q.id.as_str()).collect();
        let qrels = load_qrels(&dir.join("qrels").join(format!("{split}.tsv")), &known)?;
        Ok(BeirSet {
            corpus,
            queries,
            qrels,
        })
    }

    /// The queries that have at least one relevant passage in the qrels: the ones a BEIR
    /// evaluation averages over.
    pub fn judged_queries(&self) -> impl Iterator<Item = (&Query, &BTreeMap<String, i32>)> {
        self.queries.iter().filter_map(|q| {
            self.qrels
                .get(&q.id)
                .filter(|rels| rels.values().any(|&s| s > 0))
                .map(|rels| (q, rels))
        })
    }
}

fn read(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).map_err(|source| ContextError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn parse_err(path: &Path, line: usize, message: impl Into<String>) -> ContextError {
    ContextError::Parse {
        path: path.to_path_buf(),
        line,
        message: message.into(),
    }
}

/// Non-blank lines with their 1-based numbers.
fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            (
                i + 1,
                l.trim_start_matches('\u{feff}').trim_end_matches('\r'),
            )
        })
        .filter(|(_, l)| !l.trim().is_empty())
}

#[derive(Deserialize)]
struct CorpusRow {
    #[serde(rename = "_id")]
    id: String,
    #[serde(default)]
    title: String,
    text: String,
}

#[derive(Deserialize)]
struct QueryRow {
    #[serde(rename = "_id")]
    id: String,
    text: String,
}

/// Reads a BEIR `corpus.jsonl`; ids must be unique.
pub fn load_corpus(path: &Path) -> Result<Vec<Passage>> {
    let text = read(path)?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (n, line) in lines(&text) {
        let r: CorpusRow =
            serde_json::from_str(line).map_err(|e| parse_err(path, n, e.to_string()))?;
        if !seen.insert(r.id.clone()) {
            return Err(parse_err(path, n, format!("_id: duplicate id {:?}", r.id)));
        }
        out.push(Passage {
            id: r.id,
            title: r.title,
            text: r.text,
        });
    }
    Ok(out)
}

/// Reads a BEIR `queries.jsonl`; ids must be unique.
pub fn load_queries(path: &Path) -> Result<Vec<Query>> {
    let text = read(path)?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (n, line) in lines(&text) {
        let r: QueryRow =
            serde_json::from_str(line).map_err(|e| parse_err(path, n, e.to_string()))?;
        if !seen.insert(r.id.clone()) {
            return Err(parse_err(path, n, format!("_id: duplicate id {:?}", r.id)));
        }
        out.push(Query {
            id: r.id,
            text: r.text,
        });
    }
    Ok(out)
}

/// Reads a BEIR qrels TSV. The first line must be the header `query-id corpus-id score`; every
/// judgement must name a query in `known` and appear once.
pub fn load_qrels(path: &Path, known: &HashSet<&str>) -> Result<Qrels> {
    let text = read(path)?;
    let mut rows = lines(&text);
    let header: Vec<&str> = match rows.next() {
        Some((_, l)) => l.split_whitespace().collect(),
        None => {
            return Err(parse_err(
                path,
                1,
                "empty file: expected the header `query-id corpus-id score`",
            ))
        }
    };
    if header != ["query-id", "corpus-id", "score"] {
        return Err(parse_err(
            path,
            1,
            "expected the header `query-id corpus-id score`",
        ));
    }
    let mut qrels = Qrels::new();
    for (n, line) in rows {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [q, d, s] = f[..] else {
            return Err(parse_err(
                path,
                n,
                format!(
                    "expected 3 fields (query-id corpus-id score), found {}",
                    f.len()
                ),
            ));
        };
        let score: i32 = s
            .parse()
            .map_err(|_| parse_err(path, n, format!("score: not an integer: {s:?}")))?;
        if !known.contains(q) {
            return Err(parse_err(
                path,
                n,
                format!("query-id: {q:?} is not in queries.jsonl"),
            ));
        }
        let prev = qrels
            .entry(q.to_string())
            .or_default()
            .insert(d.to_string(), score);
        if prev.is_some() {
            return Err(parse_err(
                path,
                n,
                format!("duplicate judgement for {q} {d}"),
            ));
        }
    }
    Ok(qrels)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn a_malformed_corpus_row_is_reported_with_file_and_line() {
        let t = tempfile::tempdir().unwrap();
        let p = write(
            t.path(),
            "corpus.jsonl",
            "{\"_id\":\"a\",\"title\":\"\",\"text\":\"x\"}\n\n{\"_id\":\"b\",\"title\":\"t\"}\n",
        );
        let e = load_corpus(&p).unwrap_err().to_string();
        assert!(e.contains("corpus.jsonl:3:") && e.contains("text"), "{e}");
    }

    #[test]
    fn a_duplicate_query_id_is_refused() {
        let t = tempfile::tempdir().unwrap();
        let p = write(
            t.path(),
            "queries.jsonl",
            "{\"_id\":\"q\",\"text\":\"a\"}\n{\"_id\":\"q\",\"text\":\"b\"}\n",
        );
        let e = load_queries(&p).unwrap_err().to_string();
        assert!(
            e.contains("queries.jsonl:2:") && e.contains("duplicate"),
            "{e}"
        );
    }

    #[test]
    fn qrels_need_the_header_and_known_queries() {
        let t = tempfile::tempdir().unwrap();
        let known: HashSet<&str> = ["q1"].into_iter().collect();
        let p = write(t.path(), "a.tsv", "q1\td1\t1\n");
        let e = load_qrels(&p, &known).unwrap_err().to_string();
        assert!(e.contains("a.tsv:1:") && e.contains("header"), "{e}");
        let p = write(
            t.path(),
            "b.tsv",
            "query-id\tcorpus-id\tscore\nq1\td1\t1\nq9\td1\t1\n",
        );
        let e = load_qrels(&p, &known).unwrap_err().to_string();
        assert!(e.contains("b.tsv:3:") && e.contains("q9"), "{e}");
        let p = write(
            t.path(),
            "c.tsv",
            "query-id\tcorpus-id\tscore\nq1\td1\tyes\n",
        );
        let e = load_qrels(&p, &known).unwrap_err().to_string();
        assert!(e.contains("c.tsv:2:") && e.contains("score"), "{e}");
    }

    #[test]
    fn qrels_keep_graded_scores_and_judged_queries_skip_unjudged_ones() {
        let t = tempfile::tempdir().unwrap();
        write(
            t.path(),
            "corpus.jsonl",
            "{\"_id\":\"d1\",\"title\":\"T\",\"text\":\"x\"}\n{\"_id\":\"d2\",\"text\":\"y\"}\n",
        );
        write(
            t.path(),
            "queries.jsonl",
            "{\"_id\":\"q1\",\"text\":\"a\"}\n{\"_id\":\"q2\",\"text\":\"b\"}\n{\"_id\":\"q3\",\"text\":\"c\"}\n",
        );
        write(
            t.path(),
            "qrels/test.tsv",
            "query-id\tcorpus-id\tscore\nq1\td1\t2\nq1\td2\t1\nq2\td1\t0\n",
        );
        let set = BeirSet::load(t.path(), "test").unwrap();
        assert_eq!(set.corpus[1].title, "");
        assert_eq!(set.qrels["q1"]["d1"], 2);
        let judged: Vec<&str> = set.judged_queries().map(|(q, _)| q.id.as_str()).collect();
        assert_eq!(judged, ["q1"]);
    }
}
