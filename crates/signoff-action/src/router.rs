//! The model router: the workspace's `models.toml` names models (the
//! built-in `offline` extractive drafter, OpenAI-compatible endpoints) and routes (a case's
//! label and band → a model, then fallbacks). [`draft_routed`] walks the chain: when a
//! remote model is unreachable or fails after its retries it tries the next entry and
//! finally the offline drafter, recording which model ran and why each fallback happened.
//! A `kind = "local"` model (SmolLM2-135M, [`crate::reword`]) rewords the offline draft
//! in-process; when its GGUF is missing or corrupt the chain moves on the same way.
//! Errors in the file name `file:line`.

use crate::bind::{bind, BindReport};
use crate::draft::{gazetteer_for, Composed, DraftRequest, Drafter, OfflineDrafter};
use crate::error::{ActionError, Result};
use crate::prompt::Rendered;
use crate::remote::{ApiKey, Cancel, Message, RemoteClient, RemoteConfig, RemoteError};
use crate::reword::{self, Rewriter};
use crate::support::{SupportModel, SupportScorer};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// The file name of the routing file in a workspace.
pub const MODELS_FILE: &str = "models.toml";

/// The name of the built-in offline drafter (always defined, always the last fallback).
pub const OFFLINE: &str = "offline";

/// What a fresh workspace gets: everything routed to the offline drafter, with a commented
/// example of a remote model and a route.
pub const DEFAULT_MODELS_TOML: &str = r#"# Signoff model routing: which model drafts which cases (docs/workspace.md).
#
# A draft goes to the first route whose label and band match the case (a route without a
# label or band matches any; the band is the intake band: high, medium or low). When a model
# is unreachable or fails after its retries, Signoff tries the route's fallbacks in order,
# then the built-in offline drafter, and records in the draft which model ran and why.
# `signoff draft CASE --model NAME` overrides the route. `signoff model list` shows this file.
#
# "offline" (Signoff's extractive drafter, always available) needs no entry. A remote
# OpenAI-compatible model; its API key lives in the OS key store under the key name
# (`signoff model key set fast` reads it from stdin):
#
# [models.fast]
# kind = "openai"
# base_url = "http://127.0.0.1:8080/v1"   # posts to {base_url}/chat/completions
# model = "gpt-4o-mini"
# key = "fast"                # omit for a server without authentication
# connect_timeout_ms = 5000
# idle_timeout_ms = 30000     # wait for the response head, then between streamed chunks
# total_timeout_ms = 120000   # the whole call, retries included
# max_attempts = 4            # 429 (Retry-After honoured), 408, 5xx and connection errors
# stream = true
#
# [[routes]]
# label = "billing"
# band = "low"
# model = "fast"
# fallbacks = ["offline"]
#
# The offline draft reworded in-process by SmolLM2-135M-Instruct (scripts/setup.sh installs
# it; off unless a route or --model names it). Citations stay Signoff's; a reworded sentence
# the claim check flags is replaced by the extractive one. Missing model: offline drafts.
#
# [models.smol]
# kind = "local"
# model = "smollm2-135m"
# total_timeout_ms = 5000     # rewording budget per draft; later sentences stay extractive

[[routes]]
model = "offline"
"#;

/// One model the routing file names.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelSpec {
    /// Its name in the file (`offline` for the built-in one).
    pub name: String,
    /// What it is.
    pub kind: ModelKind,
    /// The line it is defined on (0 for the built-in).
    pub line: usize,
}

/// The kinds of model.
#[derive(Debug, Clone, PartialEq)]
pub enum ModelKind {
    /// Signoff's extractive drafter.
    Offline,
    /// An OpenAI-compatible endpoint.
    OpenAi(RemoteSpec),
    /// The offline draft reworded by a local model.
    Local(LocalSpec),
}

/// A local rewording model's settings.
#[derive(Debug, Clone, PartialEq)]
pub struct LocalSpec {
    /// The model (`smollm2-135m`).
    pub model: String,
    /// Its directory; None: `$SIGNOFF_MODEL_DIR/smollm2-135m` (default root
    /// `/var/cache/signoff-models`).
    pub dir: Option<PathBuf>,
    /// Rewording budget per draft (sentences not reached stay extractive).
    pub budget: Duration,
}

impl LocalSpec {
    /// The directory the GGUF is read from.
    pub fn model_dir(&self) -> PathBuf {
        self.dir.clone().unwrap_or_else(|| {
            let env = std::env::var(signoff_embed::embed::MODEL_DIR_ENV).ok();
            let mini = signoff_embed::embed::model_dir(env.as_deref());
            mini.parent()
                .unwrap_or(Path::new(signoff_embed::embed::DEFAULT_MODEL_ROOT))
                .join(reword::SMOLLM2_DIR)
        })
    }
}

/// An OpenAI-compatible model's settings (the key by name, never the key itself).
#[derive(Debug, Clone, PartialEq)]
pub struct RemoteSpec {
    /// Base URL (`{base_url}/chat/completions` is called).
    pub base_url: String,
    /// The model name sent.
    pub model: String,
    /// Name of the API key in the key store, if the server needs one.
    pub key: Option<String>,
    /// Connect timeout.
    pub connect_timeout: Duration,
    /// Idle timeout (response head, then between chunks).
    pub idle_timeout: Duration,
    /// Whole-call deadline.
    pub total_timeout: Duration,
    /// Most attempts.
    pub max_attempts: u32,
    /// Stream the reply.
    pub stream: bool,
    /// Most tokens to generate.
    pub max_tokens: u32,
}

impl RemoteSpec {
    /// The client configuration, with the key looked up by the caller.
    pub fn config(&self, key: Option<ApiKey>) -> RemoteConfig {
        let mut c = RemoteConfig::new(&self.base_url, &self.model);
        c.api_key = key;
        c.connect_timeout = self.connect_timeout;
        c.idle_timeout = self.idle_timeout;
        c.total_timeout = self.total_timeout;
        c.max_attempts = self.max_attempts;
        c.stream = self.stream;
        c.max_tokens = self.max_tokens;
        c
    }
}

/// One route: which cases, then the models to try in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// The intake label it applies to (None: any).
    pub label: Option<String>,
    /// The band it applies to (None: any).
    pub band: Option<String>,
    /// The model, then its fallbacks.
    pub models: Vec<String>,
    /// The line the route starts on.
    pub line: usize,
}

impl Route {
    fn matches(&self, label: Option<&str>, band: Option<&str>) -> bool {
        let ok = |want: &Option<String>, have: Option<&str>| match want.as_deref() {
            None | Some("*") => true,
            Some(w) => have.is_some_and(|h| h.eq_ignore_ascii_case(w)),
        };
        ok(&self.label, label) && ok(&self.band, band)
    }
}

/// A parsed routing file.
#[derive(Debug, Clone)]
pub struct Models {
    /// Where it was read from.
    pub path: PathBuf,
    /// Models by name (the built-in `offline` included).
    pub models: BTreeMap<String, ModelSpec>,
    /// Routes in file order (first match wins).
    pub routes: Vec<Route>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    models: BTreeMap<String, Spanned<RawModel>>,
    #[serde(default)]
    routes: Vec<Spanned<RawRoute>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModel {
    kind: String,
    base_url: Option<String>,
    model: Option<String>,
    key: Option<String>,
    connect_timeout_ms: Option<u64>,
    idle_timeout_ms: Option<u64>,
    total_timeout_ms: Option<u64>,
    max_attempts: Option<u32>,
    stream: Option<bool>,
    max_tokens: Option<u32>,
    model_dir: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRoute {
    label: Option<String>,
    band: Option<String>,
    model: String,
    #[serde(default)]
    fallbacks: Vec<String>,
}

/// 1-based line of a byte offset (which may fall inside a character: a TOML error can point
/// into one).
fn line_at(text: &str, byte: usize) -> usize {
    let before = &text.as_bytes()[..byte.min(text.len())];
    before.iter().filter(|b| **b == b'\n').count() + 1
}

impl Models {
    /// Reads `dir/models.toml`, writing the default file first when there is none.
    pub fn load_or_seed(dir: &Path) -> Result<Self> {
        let path = dir.join(MODELS_FILE);
        if !path.exists() {
            std::fs::write(&path, DEFAULT_MODELS_TOML).map_err(|source| ActionError::Io {
                path: path.clone(),
                source,
            })?;
        }
        let text = std::fs::read_to_string(&path).map_err(|source| ActionError::Io {
            path: path.clone(),
            source,
        })?;
        Self::parse(&path, &text)
    }

    /// Parses a routing file's text; every error names `path:line`.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let err = |line: usize, message: String| ActionError::Parse {
            path: path.to_path_buf(),
            line,
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map(|s| line_at(text, s.start)).unwrap_or(1);
            err(line, e.message().trim().to_string())
        })?;
        let mut models = BTreeMap::new();
        models.insert(
            OFFLINE.to_string(),
            ModelSpec {
                name: OFFLINE.into(),
                kind: ModelKind::Offline,
                line: 0,
            },
        );
        for (name, m) in raw.models {
            let line = line_at(text, m.span().start);
            let m = m.into_inner();
            if name == OFFLINE && m.kind != "offline" {
                // Every chain ends with "offline": it must stay a drafter that always answers.
                return Err(err(
                    line,
                    format!("model \"{OFFLINE}\" is the built-in offline drafter; its kind must be \"offline\" (give this model another name)"),
                ));
            }
            let kind = match m.kind.as_str() {
                "offline" => ModelKind::Offline,
                "openai" => {
                    let need = |v: Option<String>, field: &str| {
                        v.filter(|s| !s.trim().is_empty()).ok_or_else(|| {
                            err(
                                line,
                                format!("model {name:?}: kind \"openai\" needs {field}"),
                            )
                        })
                    };
                    let base_url = need(m.base_url, "base_url")?;
                    if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
                        return Err(err(
                            line,
                            format!("model {name:?}: base_url {base_url:?} must start with http:// or https://"),
                        ));
                    }
                    let ms = |v: Option<u64>, default: u64, field: &str| match v {
                        Some(0) => Err(err(line, format!("model {name:?}: {field} must be > 0"))),
                        v => Ok(Duration::from_millis(v.unwrap_or(default))),
                    };
                    ModelKind::OpenAi(RemoteSpec {
                        base_url: base_url.trim_end_matches('/').to_string(),
                        model: need(m.model, "model")?,
                        key: m.key.filter(|k| !k.trim().is_empty()),
                        connect_timeout: ms(m.connect_timeout_ms, 5_000, "connect_timeout_ms")?,
                        idle_timeout: ms(m.idle_timeout_ms, 30_000, "idle_timeout_ms")?,
                        total_timeout: ms(m.total_timeout_ms, 120_000, "total_timeout_ms")?,
                        max_attempts: match m.max_attempts {
                            Some(0) => {
                                return Err(err(
                                    line,
                                    format!("model {name:?}: max_attempts must be at least 1"),
                                ))
                            }
                            v => v.unwrap_or(4),
                        },
                        stream: m.stream.unwrap_or(true),
                        max_tokens: m.max_tokens.unwrap_or(512),
                    })
                }
                "local" => {
                    let model = m.model.unwrap_or_else(|| reword::SMOLLM2.to_string());
                    if model != reword::SMOLLM2 {
                        return Err(err(
                            line,
                            format!("model {name:?}: local model {model:?} is unknown (the only one is \"{}\")", reword::SMOLLM2),
                        ));
                    }
                    ModelKind::Local(LocalSpec {
                        model,
                        dir: m.model_dir.filter(|d| !d.trim().is_empty()).map(PathBuf::from),
                        budget: Duration::from_millis(match m.total_timeout_ms {
                            Some(0) => {
                                return Err(err(
                                    line,
                                    format!("model {name:?}: total_timeout_ms must be > 0"),
                                ))
                            }
                            v => v.unwrap_or(5_000),
                        }),
                    })
                }
                other => {
                    return Err(err(
                        line,
                        format!("model {name:?}: kind {other:?} is not \"offline\", \"openai\" or \"local\""),
                    ))
                }
            };
            models.insert(name.clone(), ModelSpec { name, kind, line });
        }
        let mut routes = Vec::new();
        for r in raw.routes {
            let line = line_at(text, r.span().start);
            let r = r.into_inner();
            let mut chain = vec![r.model];
            chain.extend(r.fallbacks);
            for m in &chain {
                if !models.contains_key(m) {
                    return Err(err(
                        line,
                        format!(
                            "route names model {m:?}, which is not defined (known: {})",
                            models.keys().cloned().collect::<Vec<_>>().join(", ")
                        ),
                    ));
                }
            }
            if let Some(b) = r.band.as_deref() {
                if !matches!(b, "high" | "medium" | "low" | "*") {
                    return Err(err(
                        line,
                        format!("route band {b:?} is not high, medium, low or *"),
                    ));
                }
            }
            routes.push(Route {
                label: r.label,
                band: r.band,
                models: chain,
                line,
            });
        }
        Ok(Models {
            path: path.to_path_buf(),
            models,
            routes,
        })
    }

    /// The models to try for a case, in order, always ending with `offline`: the override
    /// when given, else the first matching route's model and fallbacks.
    pub fn chain(
        &self,
        label: Option<&str>,
        band: Option<&str>,
        override_model: Option<&str>,
    ) -> Result<Vec<&ModelSpec>> {
        let names: Vec<&str> = match override_model {
            Some(m) => {
                if !self.models.contains_key(m) {
                    return Err(ActionError::Input(format!(
                        "model {m:?} is not defined in {} (known: {})",
                        self.path.display(),
                        self.models.keys().cloned().collect::<Vec<_>>().join(", ")
                    )));
                }
                vec![m]
            }
            None => self
                .routes
                .iter()
                .find(|r| r.matches(label, band))
                .map(|r| r.models.iter().map(String::as_str).collect())
                .unwrap_or_default(),
        };
        let mut out: Vec<&ModelSpec> = Vec::new();
        for n in names.into_iter().chain(std::iter::once(OFFLINE)) {
            let spec = &self.models[n];
            if !out.iter().any(|s| s.name == spec.name) {
                out.push(spec);
            }
            if spec.kind == ModelKind::Offline {
                break;
            }
        }
        Ok(out)
    }
}

/// A model the chain tried that did not produce the draft, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// The model's name.
    pub model: String,
    /// Why Signoff moved on.
    pub reason: String,
}

/// What the routed drafting produced.
#[derive(Debug, Clone)]
pub struct Routed {
    /// The draft text and the citations Signoff bound.
    pub composed: Composed,
    /// The routing file's name of the model that ran.
    pub model_name: String,
    /// Its model id (`signoff-extractive`, or the remote model name).
    pub model_id: String,
    /// Its version (the extractive drafter's, or what the server reported).
    pub model_version: String,
    /// Models tried before it, with the reasons.
    pub skipped: Vec<Skipped>,
    /// For a remote model: what binding found (unknown passages…).
    pub bind: Option<BindReport>,
    /// Text chunks streamed to the callback.
    pub chunks: usize,
    /// For a local rewording model: what rewording did (sentences reworded, rejected by the
    /// claim check…).
    pub reword: Option<reword::RewordReport>,
}

impl Routed {
    /// One line saying which model ran and why any fallback happened.
    pub fn route_note(&self) -> String {
        let mut s = format!("{} ran", self.model_name);
        if let Some(r) = &self.reword {
            s += &format!(" ({})", r.note());
        }
        for k in &self.skipped {
            s += &format!("; {} skipped: {}", k.model, k.reason);
        }
        s
    }
}

/// Looks up an API key by its name in the routing file.
pub type KeyLookup<'a> = &'a dyn Fn(&str) -> std::result::Result<Option<ApiKey>, String>;

/// Drafts with the first model of `chain` that succeeds. A remote model gets the rendered
/// prompt (redacted case text and numbered passages only); its reply is bound to the
/// evidence by [`bind`]. With no evidence no remote model is asked (nothing to ground on).
/// A cancel ends everything (no fallback): the caller stores nothing. A local rewording
/// model checks its sentences with the support scorer the draft's own check uses, with
/// `check_embedder` (MiniLM) when given, so a sentence accepted here is not flagged later;
/// without it, with the lexical features.
#[allow(clippy::too_many_arguments)]
pub fn draft_routed(
    chain: &[&ModelSpec],
    req: &DraftRequest<'_>,
    prompt: &Rendered,
    keys: KeyLookup<'_>,
    on_delta: &mut (dyn FnMut(&str) + Send),
    cancel: &Cancel,
    check_embedder: Option<std::sync::Arc<signoff_embed::Embedder>>,
) -> Result<Routed> {
    let mut skipped = Vec::new();
    for spec in chain {
        if cancel.is_cancelled() {
            return Err(RemoteError::Cancelled.into());
        }
        let remote = match &spec.kind {
            ModelKind::Offline => {
                let d = OfflineDrafter::default();
                return Ok(Routed {
                    composed: d.compose(req, prompt)?,
                    model_name: spec.name.clone(),
                    model_id: d.model_id().into(),
                    model_version: d.model_version().into(),
                    skipped,
                    bind: None,
                    chunks: 0,
                    reword: None,
                });
            }
            ModelKind::Local(l) => {
                match reword_local(l, req, prompt, cancel, check_embedder.clone()) {
                    Ok((composed, version, report)) => {
                        return Ok(Routed {
                            composed,
                            model_name: spec.name.clone(),
                            model_id: reword::MODEL_ID.into(),
                            model_version: version,
                            skipped,
                            bind: None,
                            chunks: 0,
                            reword: Some(report),
                        })
                    }
                    Err(ActionError::Remote(e)) if e.is_cancel() => return Err(e.into()),
                    Err(e) => {
                        skipped.push(Skipped {
                            model: spec.name.clone(),
                            reason: e.to_string(),
                        });
                        continue;
                    }
                }
            }
            ModelKind::OpenAi(r) => r,
        };
        if req.evidence.is_empty() {
            skipped.push(Skipped {
                model: spec.name.clone(),
                reason: "no evidence to ground a reply on".into(),
            });
            continue;
        }
        let key = match &remote.key {
            None => None,
            Some(k) => match keys(k) {
                Ok(Some(key)) => Some(key),
                Ok(None) => {
                    skipped.push(Skipped {
                        model: spec.name.clone(),
                        reason: format!("no API key named {k:?} (signoff model key set {k})"),
                    });
                    continue;
                }
                Err(e) => {
                    skipped.push(Skipped {
                        model: spec.name.clone(),
                        reason: format!("API key {k:?}: {e}"),
                    });
                    continue;
                }
            },
        };
        let client = RemoteClient::new(remote.config(key))?;
        let messages = [Message {
            role: "user".into(),
            content: prompt.text.clone(),
        }];
        match client.complete_blocking(&messages, on_delta, cancel) {
            Ok(c) => {
                let (composed, report) = bind(&c.text, req.evidence);
                return Ok(Routed {
                    composed,
                    model_name: spec.name.clone(),
                    model_id: remote.model.clone(),
                    model_version: c.model,
                    skipped,
                    bind: Some(report),
                    chunks: c.chunks,
                    reword: None,
                });
            }
            Err(e) if e.is_cancel() => return Err(e.into()),
            Err(e) => skipped.push(Skipped {
                model: spec.name.clone(),
                reason: e.to_string(),
            }),
        }
    }
    Err(ActionError::Input(format!(
        "no model could draft: {}",
        skipped
            .iter()
            .map(|s| format!("{}: {}", s.model, s.reason))
            .collect::<Vec<_>>()
            .join("; ")
    )))
}

/// The offline draft reworded by the local model: (draft, model version, report). The
/// version names the Q8_0 file, the pinned GGUF and the rewording prompt's fingerprint.
fn reword_local(
    l: &LocalSpec,
    req: &DraftRequest<'_>,
    prompt: &Rendered,
    cancel: &Cancel,
    check_embedder: Option<std::sync::Arc<signoff_embed::Embedder>>,
) -> Result<(Composed, String, reword::RewordReport)> {
    let base = OfflineDrafter::default().compose(req, prompt)?;
    if base.citations.is_empty() {
        return Err(ActionError::Input("no grounding: nothing to reword".into()));
    }
    let model = reword::shared(&l.model_dir())?;
    let mut model = model.lock().unwrap_or_else(|p| p.into_inner());
    let scorer = SupportScorer::new(
        SupportModel::default_model(),
        check_embedder,
        gazetteer_for(req.evidence, &[]),
    );
    let (composed, report) =
        reword::reword_draft(&base, req.evidence, &mut *model, &scorer, l.budget, cancel)?;
    let version = format!(
        "{} gguf:{} prompt:{}:{}",
        model.version(),
        &reword::SMOLLM2_SHA256[..16],
        reword::REWORD_PROMPT_ID,
        &reword::reword_prompt_fingerprint()[..16]
    );
    Ok((composed, version, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Models> {
        Models::parse(Path::new("/w/models.toml"), text)
    }

    const FILE: &str = r#"
[models.fast]
kind = "openai"
base_url = "http://127.0.0.1:9/v1/"
model = "m-small"

[models.premium]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
model = "m-large"
key = "prem"
max_attempts = 2

[[routes]]
label = "billing"
band = "low"
model = "premium"
fallbacks = ["fast"]

[[routes]]
band = "high"
model = "fast"

[[routes]]
model = "offline"
"#;

    fn names(c: Vec<&ModelSpec>) -> Vec<&str> {
        c.into_iter().map(|s| s.name.as_str()).collect()
    }

    #[test]
    fn routes_pick_by_label_and_band_and_end_offline() {
        let m = parse(FILE).unwrap();
        assert_eq!(
            names(m.chain(Some("billing"), Some("low"), None).unwrap()),
            ["premium", "fast", "offline"]
        );
        assert_eq!(
            names(m.chain(Some("billing"), Some("high"), None).unwrap()),
            ["fast", "offline"]
        );
        assert_eq!(names(m.chain(None, None, None).unwrap()), ["offline"]);
        assert_eq!(
            names(m.chain(Some("x"), Some("low"), Some("premium")).unwrap()),
            ["premium", "offline"]
        );
        assert!(m.chain(None, None, Some("nope")).is_err());
        match &m.models["fast"].kind {
            ModelKind::OpenAi(r) => {
                assert_eq!(r.base_url, "http://127.0.0.1:9/v1");
                assert_eq!(r.max_attempts, 4);
            }
            k => panic!("{k:?}"),
        }
    }

    #[test]
    fn the_default_file_routes_everything_offline() {
        let dir = tempfile::tempdir().unwrap();
        let m = Models::load_or_seed(dir.path()).unwrap();
        assert!(dir.path().join(MODELS_FILE).exists());
        assert_eq!(
            names(m.chain(Some("a"), Some("high"), None).unwrap()),
            ["offline"]
        );
        // The commented example parses once uncommented.
        let example: String = DEFAULT_MODELS_TOML
            .lines()
            .map(|l| l.strip_prefix("# ").unwrap_or(l))
            .filter(|l| l.starts_with('[') || l.contains(" = "))
            .map(|l| format!("{l}\n"))
            .collect();
        let m = parse(&example).unwrap();
        assert_eq!(
            names(m.chain(Some("billing"), Some("low"), None).unwrap()),
            ["fast", "offline"]
        );
    }

    #[test]
    fn a_missing_or_corrupt_local_model_falls_back_to_offline_naming_path_and_setup() {
        let dir = tempfile::tempdir().unwrap();
        let file = format!(
            "[models.smol]\nkind = \"local\"\nmodel = \"smollm2-135m\"\nmodel_dir = {:?}\n\n[[routes]]\nmodel = \"smol\"\n",
            dir.path().display().to_string()
        );
        let m = parse(&file).unwrap();
        let chain = m.chain(None, None, None).unwrap();
        assert_eq!(names(chain.clone()), ["smol", "offline"]);
        let evidence = vec![crate::evidence::Evidence::new(
            "c1",
            "faq",
            "v1",
            "Acorn",
            "Parking is free on site.",
        )];
        let req = DraftRequest {
            subject: "",
            body: "Is parking free?",
            evidence: &evidence,
        };
        let prompt = crate::prompt::render("t.v1", "x", &Default::default()).unwrap();
        let gguf = dir.path().join(reword::SMOLLM2_GGUF);
        for corrupt in [false, true] {
            if corrupt {
                std::fs::write(&gguf, b"GGUF\x03\0\0\0 truncated").unwrap();
            }
            let r = draft_routed(
                &chain,
                &req,
                &prompt,
                &|_| Ok(None),
                &mut |_| {},
                &Cancel::new(),
                None,
            )
            .unwrap();
            assert_eq!(r.model_name, "offline");
            assert_eq!(r.composed.citations.len(), 1, "{}", r.composed.text);
            let note = r.route_note();
            assert!(
                note.contains("smol skipped")
                    && note.contains(&gguf.display().to_string())
                    && note.contains("scripts/setup.sh"),
                "{note}"
            );
            assert_eq!(
                note.contains("does not match the pinned SHA-256"),
                corrupt,
                "{note}"
            );
        }
        // A local model name Signoff cannot run is a file error, not a silent fallback.
        let e = parse("[models.x]\nkind = \"local\"\nmodel = \"llama-70b\"\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/w/models.toml:1: ") && e.contains("llama-70b"),
            "{e}"
        );
        // The default file's commented example names the local model too.
        assert!(DEFAULT_MODELS_TOML.contains("kind = \"local\""));
    }

    #[test]
    fn errors_name_file_and_line() {
        let cases = [
            ("[models.a]\nkind = \"gpt\"\n", 1, "kind \"gpt\""),
            (
                "[models.a]\nkind = \"openai\"\nmodel = \"x\"\n",
                1,
                "needs base_url",
            ),
            (
                "\n[[routes]]\nmodel = \"ghost\"\n",
                2,
                "\"ghost\", which is not defined",
            ),
            (
                "[[routes]]\nmodel = \"offline\"\nband = \"hi\"\n",
                1,
                "band \"hi\"",
            ),
            (
                "[[routes]]\nmodel = \"offline\"\ncolour = 1\n",
                3,
                "unknown field",
            ),
            ("\n\n[models.a\n", 3, ""),
            (
                "[models.a]\nkind = \"openai\"\nbase_url = \"ftp://x\"\nmodel = \"m\"\n",
                1,
                "http://",
            ),
        ];
        for (text, line, want) in cases {
            let e = parse(text).unwrap_err().to_string();
            assert!(
                e.starts_with(&format!("/w/models.toml:{line}: ")) && e.contains(want),
                "{text:?} -> {e}"
            );
        }
    }
}
