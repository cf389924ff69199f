//! The retrieval API the rest of Signoff calls: [`Retriever::build`] over passages (with or
//! without the embedding model) and [`Retriever::search`] in one of four [`Mode`]s.
//!
//! The hybrid pipeline for a case text (turns one a line, oldest first):
//! 1. candidates: BM25 top-[`HybridParams::pool`] of the whole text, of its last turn (the
//!    question), dense top-`pool` of the last turn, and every passage of the entities the
//!    case names ([`crate::entity`], at most [`HybridParams::entities`] of them);
//! 2. each candidate gets BM25 scores for the whole text and the last turn, the exact cosine
//!    with the last turn (only the question is embedded at query time: embedding the whole
//!    three-turn text costs several times more, and once entities are matched the fusion tuned
//!    on DSTC11 dev gave it no weight) and its entity's match strength;
//! 3. fused score = α · lexical + (1 − α) · dense + β · entity, where lexical mixes whole text
//!    and last turn by λ, all min-max normalised over the candidates;
//! 4. `rerank` rescores the fused top-[`HybridParams::rerank_depth`] with the learned
//!    [`Reranker`] and keeps the fused order below it.
//!
//! Without the embedding model the dense parts are absent: `dense` is refused, `hybrid` and
//! `rerank` run lexical + entity only, and [`Retriever::dense_available`] says so.

use crate::beir::Passage;
use crate::bm25::Bm25Index;
use crate::dense::DenseIndex;
use crate::entity::{turns, EntityIndex, EntityMatch};
use crate::error::{ContextError, Result};
use crate::fusion::min_max;
use crate::rerank::{Reranker, FEATURES};
use signoff_embed::{Embedder, EmbeddingCache, Pooling};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

/// Longest query text searched, in characters; longer text keeps its last part (the
/// question is at the end of a case).
pub const MAX_QUERY_CHARS: usize = 4000;

/// A retrieval mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Lexical BM25 over title + text.
    Bm25,
    /// Exact cosine over MiniLM vectors.
    Dense,
    /// BM25 + dense + entity awareness, fused.
    Hybrid,
    /// Hybrid, then the learned reranker over the fused top-k.
    Rerank,
}

impl Mode {
    /// Its name on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Bm25 => "bm25",
            Mode::Dense => "dense",
            Mode::Hybrid => "hybrid",
            Mode::Rerank => "rerank",
        }
    }
}

/// One retrieved passage.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Hit {
    /// Passage id.
    pub id: String,
    /// The mode's score (higher is better; comparable only within one result list).
    pub score: f32,
    /// BM25 score of the whole query, when the passage was among the BM25 candidates.
    pub bm25: Option<f32>,
    /// Cosine with the query's vector (in `dense` mode the whole text; in `hybrid` and
    /// `rerank` its last turn, the question), when the embedding model is loaded.
    pub dense: Option<f32>,
    /// The entity (title) the query was found to name, when this passage belongs to it.
    pub entity: Option<String>,
    /// Analysed query terms that occur in the passage (for highlighting).
    pub matched_terms: Vec<String>,
}

/// The fusion weights. Defaults were tuned on the DSTC11 BEIR dev set (see `signoff eval
/// retrieval --tune`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct HybridParams {
    /// Lexical share α (dense gets 1 − α).
    pub alpha: f32,
    /// Last-turn share λ within lexical.
    pub last_turn: f32,
    /// Entity boost β.
    pub entity: f32,
    /// Depth of each BM25 and dense candidate list.
    pub pool: usize,
    /// Most entities whose passages join the candidates.
    pub entities: usize,
    /// How many fused candidates the reranker rescores.
    pub rerank_depth: usize,
}

impl Default for HybridParams {
    fn default() -> Self {
        // Tuned on DSTC11 BEIR dev (`--tune`): α 0.1, λ 1.0, β 1.0 scored nDCG@10 0.685 there
        // (the grid's best; a tuned-on-dev figure), against 0.578 for α 0.3, λ 0.5.
        HybridParams {
            alpha: 0.1,
            last_turn: 1.0,
            entity: 1.0,
            pool: 200,
            entities: 2,
            rerank_depth: 100,
        }
    }
}

/// A fused candidate with its raw and normalised signals.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Passage index.
    pub passage: usize,
    /// BM25 of the whole query (0 when not among the BM25 candidates).
    pub bm25_full: f32,
    /// BM25 of the last turn.
    pub bm25_last: f32,
    /// Cosine with the last turn (0 without the model).
    pub cos_last: f32,
    /// Its entity's match strength over the strongest match (0..1; 0 when not named).
    pub entity: f32,
    /// Its entity's rank among the named ones (0 = strongest).
    pub entity_rank: Option<usize>,
    /// Whether the last turn names its entity.
    pub entity_in_last: bool,
    /// Whether the passage is a question/answer pair (text starting `Q:`).
    pub faq: bool,
    /// Words in the passage text.
    pub words: usize,
    /// Normalised signals: bm25_full, bm25_last, cos_last.
    pub norm: [f32; 3],
    /// Rank (from 0) among the candidates by cosine with the last turn.
    pub cos_last_rank: usize,
    /// Rank (from 0) among the candidates by BM25 of the last turn.
    pub bm25_last_rank: usize,
    /// The fused score.
    pub hybrid: f32,
}

impl Candidate {
    /// The reranker's features (names in [`FEATURES`]); `rank` is its fused rank from 0.
    pub fn features(&self, rank: usize) -> Vec<f32> {
        let top = if self.entity_rank == Some(0) {
            1.0
        } else {
            0.0
        };
        let f = vec![
            self.norm[0],
            self.norm[1],
            self.norm[2],
            self.cos_last,
            self.entity,
            top,
            if self.entity_in_last { 1.0 } else { 0.0 },
            if self.faq { 1.0 } else { 0.0 },
            self.hybrid,
            1.0 / (1.0 + rank as f32),
            top * self.norm[2],
            top * self.norm[1],
            (1.0 + self.words as f32).ln() / 5.0,
            1.0 / (1.0 + self.cos_last_rank as f32),
            1.0 / (1.0 + self.bm25_last_rank as f32),
            if self.faq { self.norm[2] } else { 0.0 },
        ];
        debug_assert_eq!(f.len(), FEATURES.len());
        f
    }
}

/// An index over passages: BM25, dense vectors (when the model is there), entities.
pub struct Retriever {
    passages: Vec<Passage>,
    pos: HashMap<String, usize>,
    bm25: Bm25Index,
    dense: Option<DenseIndex>,
    embedder: Option<Arc<Embedder>>,
    entities: EntityIndex,
    reranker: Reranker,
    /// The fusion weights in use.
    pub params: HybridParams,
}

impl std::fmt::Debug for Retriever {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Retriever")
            .field("passages", &self.passages.len())
            .field("dense", &self.dense.is_some())
            .field("entities", &self.entities.entities().len())
            .field("params", &self.params)
            .finish()
    }
}

/// The text a passage is embedded as: its title, then its text.
pub fn passage_text(p: &Passage) -> String {
    if p.title.is_empty() {
        p.text.clone()
    } else {
        format!("{}: {}", p.title, p.text)
    }
}

/// The last turn's vector (when the model is loaded) and its dense shortlist hits.
type QueryDense = (Option<Vec<f32>>, Vec<(usize, f32)>);

impl Retriever {
    /// Builds every index over `passages` (ids must be unique). With an embedder, passages
    /// are embedded (batched) and dense and hybrid search use them; without, search is
    /// lexical + entity only.
    pub fn build(passages: &[Passage], embedder: Option<Arc<Embedder>>) -> Result<Retriever> {
        Retriever::build_with_cache(passages, embedder, None)
    }

    /// As [`Retriever::build`], reusing passage vectors cached in `cache_dir` (keyed by model
    /// version and text hash) and adding the new ones there.
    pub fn build_with_cache(
        passages: &[Passage],
        embedder: Option<Arc<Embedder>>,
        cache_dir: Option<&Path>,
    ) -> Result<Retriever> {
        let vectors = match (&embedder, cache_dir) {
            (None, _) => None,
            (Some(e), dir) => {
                let texts: Vec<String> = passages.iter().map(passage_text).collect();
                let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
                Some(match dir {
                    Some(d) => {
                        EmbeddingCache::open(d, e.version(), Pooling::Mean)?.embed(e, &refs)?
                    }
                    None => e.embed(&refs)?,
                })
            }
        };
        Retriever::from_parts(passages, embedder, vectors)
    }

    /// Builds from passages and their vectors computed elsewhere (`vectors[i]` for
    /// `passages[i]`, unit length); `embedder` embeds queries and must be the model that made
    /// the vectors.
    pub fn from_parts(
        passages: &[Passage],
        embedder: Option<Arc<Embedder>>,
        vectors: Option<Vec<Vec<f32>>>,
    ) -> Result<Retriever> {
        let mut pos = HashMap::with_capacity(passages.len());
        for (i, p) in passages.iter().enumerate() {
            if pos.insert(p.id.clone(), i).is_some() {
                return Err(ContextError::Input(format!(
                    "passage id {:?} appears twice",
                    p.id
                )));
            }
        }
        let dense = match (&embedder, vectors) {
            (Some(_), Some(v)) => {
                if v.len() != passages.len() {
                    return Err(ContextError::Dense(format!(
                        "{} vectors for {} passages",
                        v.len(),
                        passages.len()
                    )));
                }
                Some(DenseIndex::new(signoff_embed::DIM, &v)?)
            }
            (None, Some(_)) => {
                return Err(ContextError::Dense(
                    "passage vectors given without the embedder that made them".into(),
                ))
            }
            (_, None) => None,
        };
        Ok(Retriever {
            bm25: Bm25Index::build_in_ram(passages)?,
            entities: EntityIndex::build(passages),
            passages: passages.to_vec(),
            pos,
            embedder: if dense.is_some() { embedder } else { None },
            dense,
            reranker: Reranker::builtin()?,
            params: HybridParams::default(),
        })
    }

    /// Replaces the reranker (e.g. one loaded with [`Reranker::load`], or one being trained).
    pub fn set_reranker(&mut self, r: Reranker) {
        self.reranker = r;
    }

    /// Whether dense vectors (and so the `dense` mode) are available.
    pub fn dense_available(&self) -> bool {
        self.dense.is_some()
    }

    /// The passages, in build order.
    pub fn passages(&self) -> &[Passage] {
        &self.passages
    }

    /// The entity index.
    pub fn entities(&self) -> &EntityIndex {
        &self.entities
    }

    /// Approximate bytes held by the indexes (dense vectors, BM25 index, passage texts).
    pub fn index_bytes(&self) -> usize {
        let texts: usize = self
            .passages
            .iter()
            .map(|p| p.id.len() + p.title.len() + p.text.len())
            .sum();
        self.dense.as_ref().map_or(0, DenseIndex::bytes) + self.bm25.space_bytes() + texts
    }

    fn embed_query(&self, texts: &[&str]) -> Result<Option<Vec<Vec<f32>>>> {
        match &self.embedder {
            Some(e) => Ok(Some(e.embed(texts)?)),
            None => Ok(None),
        }
    }

    fn bm25_idx(&self, q: &str, k: usize) -> Result<Vec<(usize, f32)>> {
        Ok(self
            .bm25
            .search(q, k)?
            .into_iter()
            .filter_map(|(id, s)| self.pos.get(&id).map(|&i| (i, s)))
            .collect())
    }

    /// The fused candidates for `query`, best first by fused score.
    pub fn candidates(&self, query: &str) -> Result<Vec<Candidate>> {
        Ok(self.candidates_and_vector(query)?.0)
    }

    /// The fused candidates and the last turn's vector (when the model is loaded).
    fn candidates_and_vector(&self, query: &str) -> Result<(Vec<Candidate>, Option<Vec<f32>>)> {
        let query = clip_query(query);
        let ts = turns(query);
        let last = ts.last().copied().unwrap_or(query);
        let prm = self.params;
        // The last turn's embedding (the slowest step) runs beside the lexical searches and
        // the dense scan beside entity detection.
        let (bf, bl, embedded, named) = std::thread::scope(|s| {
            let embedding = s.spawn(|| -> Result<QueryDense> {
                let qv = self.embed_query(&[last])?.and_then(|mut v| v.pop());
                let hits = match (&self.dense, &qv) {
                    (Some(d), Some(v)) => d.search(v, prm.pool),
                    _ => Vec::new(),
                };
                Ok((qv, hits))
            });
            let bf = self.bm25_idx(query, prm.pool);
            let bl = self.bm25_idx(last, prm.pool);
            let named: Vec<EntityMatch> = self.entities.detect(query);
            let embedded = embedding
                .join()
                .expect("the query embedding thread panicked");
            (bf, bl, embedded, named)
        });
        let bf: HashMap<usize, f32> = bf?.into_iter().collect();
        let bl: HashMap<usize, f32> = bl?.into_iter().collect();
        let (qv, dense_hits) = embedded?;
        let mut cand: Vec<usize> = Vec::new();
        let mut seen = HashSet::new();
        let mut add = |i: usize, cand: &mut Vec<usize>| {
            if seen.insert(i) {
                cand.push(i);
            }
        };
        for &i in bf.keys().chain(bl.keys()) {
            add(i, &mut cand);
        }
        for (i, _) in dense_hits {
            add(i, &mut cand);
        }
        let top = named.first().map_or(0.0, |m| m.score);
        let mut ent_of: HashMap<usize, (usize, &EntityMatch)> = HashMap::new();
        for (r, m) in named.iter().take(prm.entities).enumerate() {
            ent_of.insert(m.entity, (r, m));
            for &i in &self.entities.entities()[m.entity].passages {
                add(i, &mut cand);
            }
        }
        cand.sort_unstable();
        let mut out: Vec<Candidate> = cand
            .iter()
            .map(|&i| {
                let cl = match (&self.dense, &qv) {
                    (Some(d), Some(v)) => d.cosine(i, v),
                    _ => 0.0,
                };
                let e = self.entities.of_passage(i).and_then(|e| ent_of.get(&e));
                let p = &self.passages[i];
                Candidate {
                    passage: i,
                    bm25_full: bf.get(&i).copied().unwrap_or(0.0),
                    bm25_last: bl.get(&i).copied().unwrap_or(0.0),
                    cos_last: cl,
                    entity: e.map_or(0.0, |(_, m)| if top > 0.0 { m.score / top } else { 0.0 }),
                    entity_rank: e.map(|(r, _)| *r),
                    entity_in_last: e.is_some_and(|(_, m)| m.in_last_turn),
                    faq: p.text.trim_start().starts_with("Q:"),
                    words: p.text.split_whitespace().count(),
                    norm: [0.0; 3],
                    cos_last_rank: 0,
                    bm25_last_rank: 0,
                    hybrid: 0.0,
                }
            })
            .collect();
        let col = |f: fn(&Candidate) -> f32| -> Vec<f32> {
            min_max(&out.iter().map(f).collect::<Vec<_>>())
        };
        let cols = [
            col(|c| c.bm25_full),
            col(|c| c.bm25_last),
            col(|c| c.cos_last),
        ];
        let dense = self.dense.is_some() && qv.is_some();
        for (k, c) in out.iter_mut().enumerate() {
            c.norm = [cols[0][k], cols[1][k], cols[2][k]];
        }
        for (sig, which) in [(2usize, 0usize), (1, 1)] {
            let mut order: Vec<usize> = (0..out.len()).collect();
            order.sort_by(|&a, &b| cols[sig][b].total_cmp(&cols[sig][a]).then(a.cmp(&b)));
            for (rank, &k) in order.iter().enumerate() {
                if which == 0 {
                    out[k].cos_last_rank = rank;
                } else {
                    out[k].bm25_last_rank = rank;
                }
            }
        }
        fuse(&mut out, &prm, dense);
        Ok((out, qv))
    }

    /// Reorders fused candidates with the reranker: the top `rerank_depth` by reranker score,
    /// the rest in fused order. Returns (candidate position, score) pairs.
    pub fn rerank(&self, cands: &[Candidate]) -> Vec<(usize, f32)> {
        self.rerank_with(&self.reranker, cands)
    }

    /// As [`Retriever::rerank`] with another reranker (cross-validation trains its own).
    pub fn rerank_with(&self, reranker: &Reranker, cands: &[Candidate]) -> Vec<(usize, f32)> {
        let depth = self.params.rerank_depth.min(cands.len());
        let mut top: Vec<(usize, f32)> = cands[..depth]
            .iter()
            .enumerate()
            .map(|(r, c)| (r, reranker.score(&c.features(r))))
            .collect();
        top.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let floor = top.iter().map(|t| t.1).fold(f32::INFINITY, f32::min);
        top.extend(cands[depth..].iter().enumerate().map(|(r, c)| {
            (
                depth + r,
                floor - 1.0 - (1.0 - c.hybrid.min(1.0)) - r as f32 * 1e-6,
            )
        }));
        top
    }

    /// The `k` best passages for `query` in `mode`. `dense` without the embedding model is an
    /// error naming the model; `hybrid` and `rerank` then run without dense signals.
    pub fn search(&self, query: &str, mode: Mode, k: usize) -> Result<Vec<Hit>> {
        let query = clip_query(query);
        // (passage, score, bm25, cosine)
        let scored: Vec<(usize, f32, Option<f32>, Option<f32>)> = match mode {
            Mode::Bm25 => self
                .bm25_idx(query, k)?
                .into_iter()
                .map(|(i, s)| (i, s, Some(s), None))
                .collect(),
            Mode::Dense => {
                let (Some(d), Some(v)) = (&self.dense, self.embed_query(&[query])?) else {
                    return Err(ContextError::Dense(
                        "dense search needs the embedding model, which is not loaded (run \
                         scripts/setup.sh or set SIGNOFF_MODEL_DIR); use bm25 or hybrid"
                            .into(),
                    ));
                };
                d.search(&v[0], k)
                    .into_iter()
                    .map(|(i, s)| (i, s, None, Some(s)))
                    .collect()
            }
            Mode::Hybrid | Mode::Rerank => {
                let (cands, qv) = self.candidates_and_vector(query)?;
                let order: Vec<(usize, f32)> = if mode == Mode::Rerank {
                    self.rerank(&cands)
                } else {
                    cands
                        .iter()
                        .enumerate()
                        .map(|(r, c)| (r, c.hybrid))
                        .collect()
                };
                order
                    .into_iter()
                    .take(k)
                    .map(|(r, s)| {
                        let c = &cands[r];
                        let bm = (c.bm25_full > 0.0).then_some(c.bm25_full);
                        (c.passage, s, bm, qv.as_ref().map(|_| c.cos_last))
                    })
                    .collect()
            }
        };
        let named = if matches!(mode, Mode::Hybrid | Mode::Rerank) {
            self.entities.detect(query).first().map(|m| m.entity)
        } else {
            None
        };
        let qterms = self.bm25.terms(query);
        Ok(scored
            .into_iter()
            .map(|(i, score, bm25, dense)| {
                let p = &self.passages[i];
                let pterms = self.bm25.terms(&format!("{}\n{}", p.title, p.text));
                let ent = self.entities.of_passage(i);
                Hit {
                    id: p.id.clone(),
                    score,
                    bm25,
                    dense,
                    entity: ent
                        .filter(|e| Some(*e) == named)
                        .map(|e| self.entities.entities()[e].name.clone()),
                    matched_terms: qterms
                        .keys()
                        .filter(|t| pterms.contains_key(*t))
                        .cloned()
                        .collect(),
                }
            })
            .collect())
    }

    /// Ranked passage ids only (what evaluation needs; no per-hit extras).
    pub fn rank_ids(&self, query: &str, mode: Mode, k: usize) -> Result<Vec<String>> {
        let ids: Vec<usize> = match mode {
            Mode::Bm25 => self
                .bm25_idx(clip_query(query), k)?
                .into_iter()
                .map(|x| x.0)
                .collect(),
            Mode::Dense => {
                return Ok(self
                    .search(query, mode, k)?
                    .into_iter()
                    .map(|h| h.id)
                    .collect())
            }
            Mode::Hybrid => self
                .candidates(query)?
                .into_iter()
                .take(k)
                .map(|c| c.passage)
                .collect(),
            Mode::Rerank => {
                let c = self.candidates(query)?;
                self.rerank(&c)
                    .into_iter()
                    .take(k)
                    .map(|(r, _)| c[r].passage)
                    .collect()
            }
        };
        Ok(ids
            .into_iter()
            .map(|i| self.passages[i].id.clone())
            .collect())
    }

    /// Ids of passages by candidate list (for evaluation of precomputed candidates).
    pub fn id(&self, passage: usize) -> &str {
        &self.passages[passage].id
    }
}

/// Recomputes the fused score of every candidate with `prm` (dense signals used only when
/// `dense`) and sorts them best first (equal scores by passage index).
pub fn fuse(cands: &mut [Candidate], prm: &HybridParams, dense: bool) {
    for c in cands.iter_mut() {
        let lam = prm.last_turn;
        let lex = (1.0 - lam) * c.norm[0] + lam * c.norm[1];
        let den = c.norm[2];
        let mix = if dense {
            prm.alpha * lex + (1.0 - prm.alpha) * den
        } else {
            lex
        };
        c.hybrid = mix + prm.entity * c.entity;
    }
    cands.sort_by(|a, b| {
        b.hybrid
            .total_cmp(&a.hybrid)
            .then(a.passage.cmp(&b.passage))
    });
}

/// A query clipped to its last [`MAX_QUERY_CHARS`] characters (on a char boundary).
fn clip_query(q: &str) -> &str {
    if q.len() <= MAX_QUERY_CHARS {
        return q;
    }
    let mut start = q.len() - MAX_QUERY_CHARS;
    while !q.is_char_boundary(start) {
        start += 1;
    }
    &q[start..]
}
