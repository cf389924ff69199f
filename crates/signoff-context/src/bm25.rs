//! The lexical half of context retrieval: a BM25 index over each passage's title and text
//! (one field, as BEIR's BM25 baselines index them), built with tantivy in memory or in a
//! directory. The index is derived data: it is built from
//! the passages in one pass and can always be rebuilt from them (a directory index is only
//! ever created empty and filled whole). Query text is case text, never query syntax: it goes
//! through the same analyzer as the passages and becomes a disjunction of term queries, so no
//! user text can fail to parse.

use crate::beir::Passage;
use crate::error::{ContextError, Result};
use std::collections::BTreeMap;
use std::path::Path;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, BoostQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, Schema, TextFieldIndexing, TextOptions, Value, STORED, STRING,
};
use tantivy::tokenizer::{
    Language, LowerCaser, RemoveLongFilter, SimpleTokenizer, Stemmer, StopWordFilter, TextAnalyzer,
};
use tantivy::{doc, Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

/// Stop words: the Snowball English list plus `could`, `would`, `please`. Queries are dialogue
/// turns full of pronouns and auxiliaries, which Lucene's shorter list (tantivy's `English`)
/// keeps: on the DSTC11 BEIR set a reference BM25 scored nDCG@10 0.10 with it, 0.15 with this.
/// (Title and text as two separately scored fields with Lucene's list scored 0.05 here.)
#[rustfmt::skip]
const STOP_WORDS: &[&str] = &[
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "yourself",
    "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its",
    "itself", "they", "them", "their", "theirs", "themselves", "what", "which", "who", "whom",
    "this", "that", "these", "those", "am", "is", "are", "was", "were", "be", "been", "being",
    "have", "has", "had", "having", "do", "does", "did", "doing", "a", "an", "the", "and", "but",
    "if", "or", "because", "as", "until", "while", "of", "at", "by", "for", "with", "about",
    "against", "between", "into", "through", "during", "before", "after", "above", "below", "to",
    "from", "up", "down", "in", "out", "on", "off", "over", "under", "again", "further", "then",
    "once", "here", "there", "when", "where", "why", "how", "all", "any", "both", "each", "few",
    "more", "most", "other", "some", "such", "no", "nor", "not", "only", "own", "same", "so",
    "than", "too", "very", "s", "t", "can", "will", "just", "don", "should", "now", "could",
    "would", "please",
];

/// The name the analyzer is registered under in the index schema.
const ANALYZER: &str = "signoff_en";
/// Indexing memory budget (tantivy's minimum per thread is 15 MB).
const WRITER_BUDGET: usize = 64 << 20;

/// A BM25 index over passages (title + text), searchable by free text.
pub struct Bm25Index {
    index: Index,
    reader: IndexReader,
    analyzer: TextAnalyzer,
    id: Field,
    /// Title and text, indexed as one field.
    body: Field,
}

/// English analysis: split on non-alphanumerics, drop overlong tokens, lowercase, drop
/// [`STOP_WORDS`], stem. Used for passages and queries alike.
fn analyzer() -> TextAnalyzer {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(StopWordFilter::remove(
            STOP_WORDS.iter().map(|w| w.to_string()),
        ))
        .filter(Stemmer::new(Language::English))
        .build()
}

fn schema() -> Schema {
    let mut b = Schema::builder();
    b.add_text_field("id", STRING | STORED);
    // Frequencies without positions: BM25 needs nothing more, and the index stays smaller.
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs),
    );
    b.add_text_field("body", text);
    b.build()
}

impl Bm25Index {
    /// Builds an index of `passages` in memory.
    pub fn build_in_ram(passages: &[Passage]) -> Result<Bm25Index> {
        let idx = Bm25Index::wrap(Index::create_in_ram(schema()))?;
        idx.fill(passages)?;
        Ok(idx)
    }

    /// Builds an index of `passages` in `dir`, which must be absent or empty (to rebuild an
    /// index, remove its directory and build again).
    pub fn build_in_dir(dir: &Path, passages: &[Passage]) -> Result<Bm25Index> {
        let io = |source| ContextError::Io {
            path: dir.to_path_buf(),
            source,
        };
        std::fs::create_dir_all(dir).map_err(io)?;
        if std::fs::read_dir(dir).map_err(io)?.next().is_some() {
            return Err(ContextError::IndexDir {
                path: dir.to_path_buf(),
                message: "not empty; an index is built into an empty directory".into(),
            });
        }
        let idx = Bm25Index::wrap(Index::create_in_dir(dir, schema())?)?;
        idx.fill(passages)?;
        Ok(idx)
    }

    /// Opens an index built earlier by [`Bm25Index::build_in_dir`].
    pub fn open_in_dir(dir: &Path) -> Result<Bm25Index> {
        let index = Index::open_in_dir(dir)?;
        if index.schema() != schema() {
            return Err(ContextError::IndexDir {
                path: dir.to_path_buf(),
                message: "built with another layout; remove it and build it again".into(),
            });
        }
        Bm25Index::wrap(index)
    }

    fn wrap(index: Index) -> Result<Bm25Index> {
        index.tokenizers().register(ANALYZER, analyzer());
        let s = index.schema();
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Bm25Index {
            id: s.get_field("id")?,
            body: s.get_field("body")?,
            analyzer: analyzer(),
            reader,
            index,
        })
    }

    fn fill(&self, passages: &[Passage]) -> Result<()> {
        // One indexing thread: one segment, so equal scores always rank in the same order.
        let mut w: IndexWriter = self.index.writer_with_num_threads(1, WRITER_BUDGET)?;
        for p in passages {
            w.add_document(doc!(
                self.id => p.id.as_str(),
                self.body => format!("{}\n{}", p.title, p.text),
            ))?;
        }
        w.commit()?;
        w.wait_merging_threads()?;
        self.reader.reload()?;
        Ok(())
    }

    /// How many passages the index holds.
    pub fn len(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    /// Bytes the index's segments take (postings, term dictionary, stored ids).
    pub fn space_bytes(&self) -> usize {
        self.reader
            .searcher()
            .space_usage()
            .map_or(0, |u| u.total().get_bytes() as usize)
    }

    /// Whether the index holds no passage.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The analyzed terms of `text` with how often each occurs (what a query searches for).
    pub fn terms(&self, text: &str) -> BTreeMap<String, u32> {
        let mut a = self.analyzer.clone();
        let mut stream = a.token_stream(text);
        let mut out = BTreeMap::new();
        while stream.advance() {
            *out.entry(stream.token().text.clone()).or_insert(0) += 1;
        }
        out
    }

    /// The `k` best passages for free text `query`, as `(passage id, BM25 score)`, best first
    /// (equal scores by id). Each query term is weighted by how often it occurs in the query. A query with no searchable term finds nothing.
    pub fn search(&self, query: &str, k: usize) -> Result<Vec<(String, f32)>> {
        let terms = self.terms(query);
        if terms.is_empty() || k == 0 {
            return Ok(Vec::new());
        }
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::with_capacity(terms.len());
        for (term, n) in &terms {
            let q: Box<dyn Query> = Box::new(TermQuery::new(
                Term::from_field_text(self.body, term),
                IndexRecordOption::WithFreqs,
            ));
            let q = if *n > 1 {
                Box::new(BoostQuery::new(q, *n as f32))
            } else {
                q
            };
            clauses.push((Occur::Should, q));
        }
        let searcher = self.reader.searcher();
        let top = searcher.search(
            &BooleanQuery::new(clauses),
            &TopDocs::with_limit(k).order_by_score(),
        )?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let d: TantivyDocument = searcher.doc(addr)?;
            let id = d
                .get_first(self.id)
                .and_then(|v| v.as_str())
                .unwrap_or_default()
                .to_string();
            hits.push((id, score));
        }
        hits.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Ok(hits)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(id: &str, title: &str, text: &str) -> Passage {
        Passage {
            id: id.into(),
            title: title.into(),
            text: text.into(),
        }
    }

    fn corpus() -> Vec<Passage> {
        vec![
            p(
                "h1",
                "Lemon Tree Hotel",
                "Free parking is available for guests.",
            ),
            p("h2", "Lemon Tree Hotel", "Pets are not allowed."),
            p(
                "c1",
                "Blue Fox Cafe",
                "The cafe serves vegan breakfast every morning.",
            ),
            p("i1", "Harbour Inn", "Wifi is free in all rooms."),
        ]
    }

    fn ids(hits: &[(String, f32)]) -> Vec<&str> {
        hits.iter().map(|(id, _)| id.as_str()).collect()
    }

    #[test]
    fn search_matches_title_and_text_with_stemming() {
        let idx = Bm25Index::build_in_ram(&corpus()).unwrap();
        assert_eq!(idx.len(), 4);
        let hits = idx.search("Do they serve breakfasts?", 10).unwrap();
        assert_eq!(ids(&hits), ["c1"]);
        let hits = idx.search("pets at the lemon tree", 10).unwrap();
        assert_eq!(ids(&hits)[0], "h2");
        assert_eq!(hits.len(), 2, "both Lemon Tree passages match by title");
        assert!(hits[0].1 > hits[1].1);
    }

    #[test]
    fn query_syntax_in_user_text_is_just_text() {
        let idx = Bm25Index::build_in_ram(&corpus()).unwrap();
        for q in [
            "wifi AND (rooms\" OR -",
            "title:wifi^3 ~2 [a TO b} *",
            "\"unclosed",
            "",
            "   ",
            "the of and",
        ] {
            let hits = idx.search(q, 10).unwrap();
            if q.contains("wifi") {
                assert_eq!(ids(&hits)[0], "i1", "{q}");
            }
        }
        assert!(idx.search("the of and", 10).unwrap().is_empty());
    }

    #[test]
    fn k_limits_the_hits() {
        let idx = Bm25Index::build_in_ram(&corpus()).unwrap();
        assert_eq!(idx.search("free lemon hotel cafe inn", 2).unwrap().len(), 2);
        assert!(idx.search("free", 0).unwrap().is_empty());
    }

    #[test]
    fn a_directory_index_reopens_with_the_same_results_and_is_never_built_over() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("bm25");
        let built = Bm25Index::build_in_dir(&dir, &corpus()).unwrap();
        let want = built.search("free parking", 10).unwrap();
        drop(built);
        let reopened = Bm25Index::open_in_dir(&dir).unwrap();
        assert_eq!(reopened.search("free parking", 10).unwrap(), want);
        let ram = Bm25Index::build_in_ram(&corpus()).unwrap();
        assert_eq!(ram.search("free parking", 10).unwrap(), want);
        let e = Bm25Index::build_in_dir(&dir, &corpus()).err().unwrap();
        assert!(matches!(e, ContextError::IndexDir { .. }), "{e}");
    }
}
