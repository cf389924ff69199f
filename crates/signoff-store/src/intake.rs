//! Intake in the workspace: the model artefacts (stored by content hash, so a workspace is
//! self-contained and replayable), the rules versions that were in force, versioned
//! thresholds, and the classifications themselves — appended, never rewritten, each with its
//! `classification` audit entry in the same transaction. The store knows nothing of how a
//! classification was computed: callers (`signoff-api`) run the classifier and hand the
//! results here.

use crate::{from_ms, ms, StoreError, Workspace};
use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;
use sha2::{Digest, Sha256};
use signoff_audit::log::{self, Entry};
use signoff_core::{Band, Clock};

/// Setting naming the model artefact in force.
const ACTIVE_MODEL_KEY: &str = "intake_model";

/// Parts per million of a confidence in [0, 1] (leaves hold no floats).
pub fn ppm(x: f64) -> i64 {
    (x.clamp(0.0, 1.0) * 1e6).round() as i64
}

/// Which path decided a classification.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum ClassificationPath {
    /// A rule of the workspace rules file.
    Rule {
        /// The rule's id.
        rule_id: String,
        /// SHA-256 (hex) of the rules file in force.
        rules_version: String,
    },
    /// The learned classifier.
    Model {
        /// Content-hashed model id (`intake-…`).
        model_id: String,
        /// Heads that ran (`minilm+lexical`, `lexical`, …).
        heads: String,
        /// Version of the sentence encoder, when it ran.
        embedding_version: Option<String>,
        /// The threshold version the band was read against.
        threshold_version: i64,
    },
}

/// A classification to record.
#[derive(Debug, Clone)]
pub struct NewClassification {
    /// The case.
    pub case_seq: i64,
    /// Which path decided.
    pub path: ClassificationPath,
    /// The label (`oos` when out of scope).
    pub label: String,
    /// The band.
    pub band: Band,
    /// Whether a person must decide (out of scope, below the lowest threshold, or a rule's route).
    pub escalate: bool,
    /// Calibrated confidence in [0, 1].
    pub confidence: f64,
    /// The explanation as JSON text; the audit entry commits to its SHA-256.
    pub explanation: String,
    /// The case's sentence embedding with the encoder version, kept for comparable cases.
    pub embedding: Option<(String, Vec<f32>)>,
}

/// A recorded classification.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// Row number.
    pub seq: i64,
    /// The case id.
    pub case_id: String,
    /// When (RFC 3339).
    pub at: String,
    /// Which path decided.
    pub path: ClassificationPath,
    /// The label.
    pub label: String,
    /// The band.
    pub band: Band,
    /// Whether it was escalated.
    pub escalate: bool,
    /// Calibrated confidence in parts per million.
    pub confidence_ppm: i64,
    /// The stored explanation.
    pub explanation: serde_json::Value,
    /// Its audit entry.
    pub audit_idx: i64,
}

/// A model artefact to store.
#[derive(Debug, Clone)]
pub struct NewModel<'a> {
    /// The artefact bytes.
    pub bytes: &'a [u8],
    /// Its model id (`intake-` + 16 hex digits of its SHA-256).
    pub id: &'a str,
    /// Artefact format version.
    pub format: u32,
    /// Heads (`minilm+lexical`, `lexical`, …).
    pub heads: &'a str,
    /// The sentence encoder it was trained with.
    pub embedding_version: Option<&'a str>,
    /// Number of labels.
    pub labels: usize,
    /// Number of training rows.
    pub train_rows: usize,
}

/// A stored model artefact.
#[derive(Clone, Serialize)]
pub struct StoredModel {
    /// Model id.
    pub id: String,
    /// SHA-256 of the bytes (hex).
    pub sha256: String,
    /// Artefact format version.
    pub format: u32,
    /// Heads.
    pub heads: String,
    /// The sentence encoder it was trained with.
    pub embedding_version: Option<String>,
    /// Number of labels.
    pub labels: i64,
    /// Number of training rows.
    pub train_rows: i64,
    /// When it was stored (RFC 3339).
    pub created: String,
    /// The artefact.
    #[serde(skip)]
    pub bytes: Vec<u8>,
}

impl std::fmt::Debug for StoredModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredModel")
            .field("id", &self.id)
            .field("heads", &self.heads)
            .field("bytes", &self.bytes.len())
            .finish()
    }
}

/// Thresholds to save as a new version.
#[derive(Debug, Clone, PartialEq)]
pub struct NewThresholds {
    /// The model they apply to.
    pub model_id: String,
    /// Target precision of the high band (none when they came with the trained model).
    pub target_high: Option<f64>,
    /// Target precision of the medium band.
    pub target_medium: Option<f64>,
    /// High band from this calibrated confidence up.
    pub high: f64,
    /// Medium band from here up.
    pub medium: f64,
    /// Below this: out of scope, escalated.
    pub reject: f64,
    /// What they were computed on (e.g. `training calibration split`, `42 decided cases`).
    pub basis: String,
}

/// A saved threshold version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ThresholdVersion {
    /// Version number (increasing across the workspace).
    pub version: i64,
    /// The model they apply to.
    pub model_id: String,
    /// Target precision of the high band.
    pub target_high: Option<f64>,
    /// Target precision of the medium band.
    pub target_medium: Option<f64>,
    /// High threshold.
    pub high: f64,
    /// Medium threshold.
    pub medium: f64,
    /// Out-of-scope threshold.
    pub reject: f64,
    /// What they were computed on.
    pub basis: String,
    /// Who saved them.
    pub set_by: String,
    /// When (RFC 3339).
    pub at: String,
    /// Its audit entry.
    pub audit_idx: i64,
}

/// The text of a case, as the classifier needs it.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseText {
    /// Sequence number.
    pub seq: i64,
    /// Case id.
    pub id: String,
    /// Subject.
    pub subject: String,
    /// Body.
    pub body: String,
    /// Metadata (JSON object text), if any.
    pub metadata: Option<String>,
}

/// Which cases to (re)classify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Cases never classified.
    Unclassified,
    /// Every case.
    All,
    /// One case, by id.
    Case(String),
}

/// A case with a known label and its current classification: a row of the calibration set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LabelledOutcome {
    /// Case id.
    pub case_id: String,
    /// Review status.
    pub status: String,
    /// The label the case file gave (the truth).
    pub given_label: String,
    /// The classifier's label.
    pub label: String,
    /// Calibrated confidence in [0, 1].
    pub confidence: f64,
}

/// An open case's current model classification: what a what-if replay re-bands.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OpenVerdict {
    /// Case id.
    pub case_id: String,
    /// Label.
    pub label: String,
    /// Band now.
    pub band: Band,
    /// Escalated now.
    pub escalate: bool,
    /// Calibrated top in-scope probability (what thresholds apply to).
    pub top_probability: f64,
}

/// A decided case similar to the one being reviewed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparable {
    /// Case id.
    pub case_id: String,
    /// Subject line.
    pub subject: String,
    /// Cosine similarity of the sentence embeddings.
    pub similarity: f32,
    /// Its status (how it was decided).
    pub status: String,
    /// Its latest disposition kind and reason code.
    pub disposition: Option<String>,
    /// Reason code of that disposition.
    pub reason_code: Option<String>,
    /// Its current label.
    pub label: Option<String>,
}

fn band_col(r: &Row<'_>, i: usize) -> rusqlite::Result<Band> {
    let s: String = r.get(i)?;
    Band::parse(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(i, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn vec_bytes(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn bytes_vec(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

const THRESHOLD_COLS: &str = "version, model_id, target_high, target_medium, high, medium,
     reject, basis, set_by, at_ms, audit_idx";

fn threshold_row(r: &Row<'_>) -> rusqlite::Result<ThresholdVersion> {
    Ok(ThresholdVersion {
        version: r.get(0)?,
        model_id: r.get(1)?,
        target_high: r.get(2)?,
        target_medium: r.get(3)?,
        high: r.get(4)?,
        medium: r.get(5)?,
        reject: r.get(6)?,
        basis: r.get(7)?,
        set_by: r.get(8)?,
        at: from_ms(r.get(9)?).to_rfc3339(),
        audit_idx: r.get(10)?,
    })
}

const CLASSIFICATION_COLS: &str = "k.seq, c.id, k.at_ms, k.path, k.rule_id, k.rules_version,
     k.model_id, k.heads, k.embedding_version, k.threshold_version, k.label, k.band, k.escalate,
     k.confidence_ppm, k.explanation, k.audit_idx";

fn classification_row(r: &Row<'_>) -> rusqlite::Result<Classification> {
    let kind: String = r.get(3)?;
    let path = if kind == "rule" {
        ClassificationPath::Rule {
            rule_id: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
            rules_version: r.get::<_, Option<String>>(5)?.unwrap_or_default(),
        }
    } else {
        ClassificationPath::Model {
            model_id: r.get::<_, Option<String>>(6)?.unwrap_or_default(),
            heads: r.get::<_, Option<String>>(7)?.unwrap_or_default(),
            embedding_version: r.get(8)?,
            threshold_version: r.get::<_, Option<i64>>(9)?.unwrap_or_default(),
        }
    };
    let explanation: String = r.get(14)?;
    Ok(Classification {
        seq: r.get(0)?,
        case_id: r.get(1)?,
        at: from_ms(r.get(2)?).to_rfc3339(),
        path,
        label: r.get(10)?,
        band: band_col(r, 11)?,
        escalate: r.get::<_, i64>(12)? != 0,
        confidence_ppm: r.get(13)?,
        explanation: serde_json::from_str(&explanation).unwrap_or(serde_json::Value::Null),
        audit_idx: r.get(15)?,
    })
}

/// The `classification` audit entry of one classification (commitments, ids and integers only).
fn classification_entry(case_id: &str, c: &NewClassification, at_ms: i64) -> Entry {
    let mut p = serde_json::Map::new();
    match &c.path {
        ClassificationPath::Rule {
            rule_id,
            rules_version,
        } => {
            p.insert("path".into(), "rule".into());
            p.insert("rule_id".into(), rule_id.clone().into());
            p.insert("rules_sha256".into(), rules_version.clone().into());
        }
        ClassificationPath::Model {
            model_id,
            heads,
            embedding_version,
            threshold_version,
        } => {
            p.insert("path".into(), "model".into());
            p.insert("model_id".into(), model_id.clone().into());
            p.insert("heads".into(), heads.clone().into());
            p.insert(
                "embedding_version".into(),
                embedding_version
                    .clone()
                    .map_or(serde_json::Value::Null, Into::into),
            );
            p.insert("threshold_version".into(), (*threshold_version).into());
        }
    }
    p.insert("label".into(), c.label.clone().into());
    p.insert("band".into(), c.band.as_str().into());
    p.insert("escalate".into(), c.escalate.into());
    p.insert("confidence_ppm".into(), ppm(c.confidence).into());
    p.insert(
        "explanation_sha256".into(),
        crate::audit::commit(&c.explanation).into(),
    );
    Entry {
        kind: "classification".into(),
        case_id: Some(case_id.to_string()),
        actor: "device".into(),
        at_ms,
        payload: p,
    }
}

fn opt_ppm(x: Option<f64>) -> serde_json::Value {
    x.map_or(serde_json::Value::Null, |v| ppm(v).into())
}

impl Workspace {
    /// Stores a model artefact (once per content hash), puts it in force, and saves its
    /// trained thresholds as a new threshold version: one transaction with an `intake_model`
    /// and a `threshold_change` entry. Returns the threshold version.
    pub fn install_model(
        &mut self,
        m: NewModel<'_>,
        thresholds: NewThresholds,
        actor: &str,
        clock: &dyn Clock,
    ) -> Result<ThresholdVersion, StoreError> {
        let sha = hex::encode(Sha256::digest(m.bytes));
        if !sha.starts_with(m.id.trim_start_matches("intake-")) || !m.id.starts_with("intake-") {
            return Err(StoreError::Rule(format!(
                "model id {} does not match the artefact's SHA-256 {sha}",
                m.id
            )));
        }
        if thresholds.model_id != m.id {
            return Err(StoreError::Rule(format!(
                "thresholds are for {} but the model is {}",
                thresholds.model_id, m.id
            )));
        }
        let j = self.journal()?;
        let at = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        let known: bool = tx
            .query_row("SELECT 1 FROM intake_models WHERE id = ?1", [m.id], |_| {
                Ok(())
            })
            .optional()?
            .is_some();
        let mut app = log::Appender::new(&tx)?;
        let idx = app.append(&Entry {
            kind: "intake_model".into(),
            case_id: None,
            actor: actor.into(),
            at_ms: at,
            payload: crate::audit::payload([
                ("model_id", m.id.into()),
                ("sha256", sha.clone().into()),
                ("format", m.format.into()),
                ("heads", m.heads.into()),
                (
                    "embedding_version",
                    m.embedding_version
                        .map_or(serde_json::Value::Null, Into::into),
                ),
                ("labels", m.labels.into()),
                ("train_rows", m.train_rows.into()),
                ("new", (!known).into()),
            ]),
        })?;
        drop(app);
        if !known {
            tx.execute(
                "INSERT INTO intake_models (id, sha256, format, heads, embedding_version, labels,
                                            train_rows, bytes, created_ms, audit_idx)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
                params![
                    m.id,
                    sha,
                    m.format,
                    m.heads,
                    m.embedding_version,
                    m.labels as i64,
                    m.train_rows as i64,
                    m.bytes,
                    at,
                    idx as i64
                ],
            )?;
        }
        tx.execute(
            "INSERT INTO settings (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            params![ACTIVE_MODEL_KEY, m.id],
        )?;
        let v = insert_thresholds(&tx, &thresholds, actor, at)?;
        crate::audit::seal(&tx, &j, at)?;
        tx.commit()?;
        Ok(v)
    }

    /// The model artefact in force, if one was installed.
    pub fn active_model(&self) -> Result<Option<StoredModel>, StoreError> {
        let Some(id) = self.setting(ACTIVE_MODEL_KEY)? else {
            return Ok(None);
        };
        self.model(&id)
    }

    /// A stored model artefact by id.
    pub fn model(&self, id: &str) -> Result<Option<StoredModel>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, sha256, format, heads, embedding_version, labels, train_rows,
                        created_ms, bytes FROM intake_models WHERE id = ?1",
                [id],
                |r| {
                    Ok(StoredModel {
                        id: r.get(0)?,
                        sha256: r.get(1)?,
                        format: r.get(2)?,
                        heads: r.get(3)?,
                        embedding_version: r.get(4)?,
                        labels: r.get(5)?,
                        train_rows: r.get(6)?,
                        created: from_ms(r.get(7)?).to_rfc3339(),
                        bytes: r.get(8)?,
                    })
                },
            )
            .optional()?)
    }

    /// Saves thresholds as a new version (a `threshold_change` audit entry in the same
    /// transaction). The model must be stored in the workspace.
    pub fn save_thresholds(
        &mut self,
        t: &NewThresholds,
        set_by: &str,
        clock: &dyn Clock,
    ) -> Result<ThresholdVersion, StoreError> {
        if self.model(&t.model_id)?.is_none() {
            return Err(StoreError::Rule(format!(
                "model {} is not stored in this workspace",
                t.model_id
            )));
        }
        let j = self.journal()?;
        let at = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        let v = insert_thresholds(&tx, t, set_by, at)?;
        crate::audit::seal(&tx, &j, at)?;
        tx.commit()?;
        Ok(v)
    }

    /// The threshold version in force for a model (its newest).
    pub fn thresholds_in_force(
        &self,
        model_id: &str,
    ) -> Result<Option<ThresholdVersion>, StoreError> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {THRESHOLD_COLS} FROM threshold_versions WHERE model_id = ?1
                     ORDER BY version DESC LIMIT 1"
                ),
                [model_id],
                threshold_row,
            )
            .optional()?)
    }

    /// Every threshold version, newest first.
    pub fn threshold_versions(&self) -> Result<Vec<ThresholdVersion>, StoreError> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {THRESHOLD_COLS} FROM threshold_versions ORDER BY version DESC"
        ))?;
        let rows = stmt.query_map([], threshold_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Records a rules file as in force (once per version, with an `intake_rules` entry).
    pub fn record_rules(
        &mut self,
        version: &str,
        text: &str,
        clock: &dyn Clock,
    ) -> Result<(), StoreError> {
        let newest = self.rules_in_force()?;
        if newest.as_ref().map(|(v, _)| v.as_str()) == Some(version) {
            return Ok(());
        }
        let j = self.journal()?;
        let at = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        log::append(
            &tx,
            &Entry {
                kind: "intake_rules".into(),
                case_id: None,
                actor: "device".into(),
                at_ms: at,
                payload: crate::audit::payload([("rules_sha256", version.into())]),
            },
        )?;
        tx.execute(
            "INSERT INTO intake_rules (version, text, loaded_ms) VALUES (?1, ?2, ?3)
             ON CONFLICT (version) DO UPDATE SET loaded_ms = excluded.loaded_ms",
            params![version, text, at],
        )?;
        crate::audit::seal(&tx, &j, at)?;
        tx.commit()?;
        Ok(())
    }

    /// The rules last put in force: (version, text).
    pub fn rules_in_force(&self) -> Result<Option<(String, String)>, StoreError> {
        Ok(self
            .conn
            .query_row(
                "SELECT version, text FROM intake_rules ORDER BY loaded_ms DESC, rowid DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The cases in `scope`, in arrival order.
    pub fn cases_to_classify(&self, scope: &Scope) -> Result<Vec<CaseText>, StoreError> {
        self.cases_to_classify_page(scope, 0, i64::MAX)
    }

    /// Up to `limit` cases in `scope` after sequence number `after`, in arrival order: a
    /// classifier walks a large import page by page instead of holding it in memory.
    pub fn cases_to_classify_page(
        &self,
        scope: &Scope,
        after: i64,
        limit: i64,
    ) -> Result<Vec<CaseText>, StoreError> {
        let (sql, arg): (&str, Option<String>) = match scope {
            Scope::Unclassified => (
                "SELECT seq, id, subject, body, metadata FROM cases
                 WHERE classification_seq IS NULL AND seq > ?1 ORDER BY seq LIMIT ?2",
                None,
            ),
            Scope::All => (
                "SELECT seq, id, subject, body, metadata FROM cases
                 WHERE seq > ?1 ORDER BY seq LIMIT ?2",
                None,
            ),
            Scope::Case(id) => (
                "SELECT seq, id, subject, body, metadata FROM cases
                 WHERE seq > ?1 AND id = ?3 LIMIT ?2",
                Some(id.clone()),
            ),
        };
        let mut stmt = self.conn.prepare_cached(sql)?;
        let map = |r: &Row<'_>| {
            Ok(CaseText {
                seq: r.get(0)?,
                id: r.get(1)?,
                subject: r.get(2)?,
                body: r.get(3)?,
                metadata: r.get(4)?,
            })
        };
        let rows: Vec<CaseText> = match &arg {
            Some(a) => stmt
                .query_map(params![after, limit, a], map)?
                .collect::<Result<_, _>>()?,
            None => stmt
                .query_map(params![after, limit], map)?
                .collect::<Result<_, _>>()?,
        };
        if let (Scope::Case(id), true, 0) = (scope, rows.is_empty(), after) {
            return Err(StoreError::UnknownCase(id.clone()));
        }
        Ok(rows)
    }

    /// Records a batch of classifications in one transaction: each row, its `classification`
    /// audit entry, the case's current label/band/escalation, and its embedding. Returns how
    /// many were recorded.
    pub fn record_classifications(
        &mut self,
        batch: &[NewClassification],
        clock: &dyn Clock,
    ) -> Result<usize, StoreError> {
        if batch.is_empty() {
            return Ok(0);
        }
        let j = self.journal()?;
        let at = ms(clock.now());
        let tx = self.writable()?.transaction()?;
        {
            let mut id_of = tx.prepare_cached("SELECT id FROM cases WHERE seq = ?1")?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO classifications (case_seq, at_ms, path, rule_id, rules_version,
                     model_id, heads, embedding_version, threshold_version, label, band, escalate,
                     confidence_ppm, explanation, audit_idx)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?;
            let mut update = tx.prepare_cached(
                "UPDATE cases SET label = ?1, band = ?2, escalate = ?3, classification_seq = ?4
                 WHERE seq = ?5",
            )?;
            let mut embed = tx.prepare_cached(
                "INSERT INTO case_embeddings (case_seq, embedding_version, vec) VALUES (?1, ?2, ?3)
                 ON CONFLICT (case_seq) DO UPDATE SET embedding_version = excluded.embedding_version,
                     vec = excluded.vec",
            )?;
            let mut app = log::Appender::new(&tx)?;
            for c in batch {
                let case_id: String = id_of
                    .query_row([c.case_seq], |r| r.get(0))
                    .optional()?
                    .ok_or_else(|| StoreError::UnknownCase(format!("#{}", c.case_seq)))?;
                let idx = app.append(&classification_entry(&case_id, c, at))?;
                let (kind, rule_id, rules_version, model_id, heads, ev, tv) = match &c.path {
                    ClassificationPath::Rule {
                        rule_id,
                        rules_version,
                    } => (
                        "rule",
                        Some(rule_id.as_str()),
                        Some(rules_version.as_str()),
                        None,
                        None,
                        None,
                        None,
                    ),
                    ClassificationPath::Model {
                        model_id,
                        heads,
                        embedding_version,
                        threshold_version,
                    } => (
                        "model",
                        None,
                        None,
                        Some(model_id.as_str()),
                        Some(heads.as_str()),
                        embedding_version.as_deref(),
                        Some(*threshold_version),
                    ),
                };
                insert.execute(params![
                    c.case_seq,
                    at,
                    kind,
                    rule_id,
                    rules_version,
                    model_id,
                    heads,
                    ev,
                    tv,
                    c.label,
                    c.band.as_str(),
                    c.escalate as i64,
                    ppm(c.confidence),
                    c.explanation,
                    idx as i64
                ])?;
                let seq = tx.last_insert_rowid();
                update.execute(params![
                    c.label,
                    c.band.as_str(),
                    c.escalate as i64,
                    seq,
                    c.case_seq
                ])?;
                if let Some((version, v)) = &c.embedding {
                    embed.execute(params![c.case_seq, version, vec_bytes(v)])?;
                }
            }
            app.checkpoint(&j.origin, j.signer.as_ref(), at)?;
        }
        tx.commit()?;
        Ok(batch.len())
    }

    /// The latest classification of a case, if it has one.
    pub fn classification(&self, case_id: &str) -> Result<Option<Classification>, StoreError> {
        let seq = self.case_seq(case_id)?;
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {CLASSIFICATION_COLS} FROM cases c
                     JOIN classifications k ON k.seq = c.classification_seq WHERE c.seq = ?1"
                ),
                [seq],
                classification_row,
            )
            .optional()?)
    }

    /// Every classification of a case, oldest first.
    pub fn classification_history(&self, case_id: &str) -> Result<Vec<Classification>, StoreError> {
        let seq = self.case_seq(case_id)?;
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {CLASSIFICATION_COLS} FROM classifications k
             JOIN cases c ON c.seq = k.case_seq WHERE k.case_seq = ?1 ORDER BY k.seq"
        ))?;
        let rows = stmt.query_map([seq], classification_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// How many cases have no classification yet.
    pub fn unclassified_count(&self) -> Result<i64, StoreError> {
        Ok(self.conn.query_row(
            "SELECT count(*) FROM cases WHERE classification_seq IS NULL",
            [],
            |r| r.get(0),
        )?)
    }

    /// Cases with a label from their file and a current model classification: the labelled
    /// set thresholds are calibrated on. `decided_only` keeps cases a reviewer has decided.
    pub fn labelled_outcomes(
        &self,
        decided_only: bool,
    ) -> Result<Vec<LabelledOutcome>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT c.id, c.status, c.given_label, k.label, k.explanation, k.confidence_ppm
             FROM cases c JOIN classifications k ON k.seq = c.classification_seq
             WHERE c.given_label IS NOT NULL AND k.path = 'model'
               AND (?1 = 0 OR c.status <> 'open')
             ORDER BY c.seq",
        )?;
        let rows = stmt.query_map([decided_only as i64], |r| {
            let explanation: String = r.get(4)?;
            Ok(LabelledOutcome {
                case_id: r.get(0)?,
                status: r.get(1)?,
                given_label: r.get(2)?,
                label: r.get(3)?,
                confidence: top_probability(&explanation)
                    .unwrap_or(r.get::<_, i64>(5)? as f64 / 1e6),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Open cases whose current classification came from the model (what a threshold change
    /// can re-band), with the top in-scope probability recorded in their explanation.
    pub fn open_model_verdicts(&self) -> Result<Vec<OpenVerdict>, StoreError> {
        let mut stmt = self.conn.prepare(
            "SELECT c.id, k.label, k.band, k.escalate, k.explanation, k.confidence_ppm
             FROM cases c JOIN classifications k ON k.seq = c.classification_seq
             WHERE c.status = 'open' AND k.path = 'model' ORDER BY c.seq",
        )?;
        let rows = stmt.query_map([], |r| {
            let explanation: String = r.get(4)?;
            Ok(OpenVerdict {
                case_id: r.get(0)?,
                label: r.get(1)?,
                band: band_col(r, 2)?,
                escalate: r.get::<_, i64>(3)? != 0,
                top_probability: top_probability(&explanation)
                    .unwrap_or(r.get::<_, i64>(5)? as f64 / 1e6),
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// The `k` decided cases most similar to `case_id` (cosine of stored sentence embeddings
    /// of the same encoder version), with their dispositions. Empty when the case has no
    /// stored embedding.
    pub fn comparable_cases(&self, case_id: &str, k: usize) -> Result<Vec<Comparable>, StoreError> {
        let seq = self.case_seq(case_id)?;
        let Some((version, blob)): Option<(String, Vec<u8>)> = self
            .conn
            .query_row(
                "SELECT embedding_version, vec FROM case_embeddings WHERE case_seq = ?1",
                [seq],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?
        else {
            return Ok(vec![]);
        };
        let query = bytes_vec(&blob);
        let mut stmt = self.conn.prepare(
            "SELECT e.case_seq, e.vec FROM case_embeddings e JOIN cases c ON c.seq = e.case_seq
             WHERE c.status <> 'open' AND e.embedding_version = ?1 AND e.case_seq <> ?2",
        )?;
        let mut scored: Vec<(f32, i64)> = stmt
            .query_map(params![version, seq], |r| {
                let v: Vec<u8> = r.get(1)?;
                Ok((r.get::<_, i64>(0)?, v))
            })?
            .map(|row| {
                row.map(|(s, v)| {
                    let sim: f32 = bytes_vec(&v).iter().zip(&query).map(|(a, b)| a * b).sum();
                    (sim, s)
                })
            })
            .collect::<Result<_, _>>()?;
        scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        scored.truncate(k);
        let mut info = self.conn.prepare_cached(
            "SELECT c.id, c.subject, c.status, c.label,
                    (SELECT kind FROM dispositions d WHERE d.case_seq = c.seq ORDER BY seq DESC LIMIT 1),
                    (SELECT reason_code FROM dispositions d WHERE d.case_seq = c.seq ORDER BY seq DESC LIMIT 1)
             FROM cases c WHERE c.seq = ?1",
        )?;
        let mut out = Vec::with_capacity(scored.len());
        for (similarity, s) in scored {
            out.push(info.query_row([s], |r| {
                Ok(Comparable {
                    case_id: r.get(0)?,
                    subject: r.get(1)?,
                    similarity,
                    status: r.get(2)?,
                    label: r.get(3)?,
                    disposition: r.get(4)?,
                    reason_code: r.get(5)?,
                })
            })?);
        }
        Ok(out)
    }
}

/// The `top_probability` an explanation recorded (model path), if any.
fn top_probability(explanation: &str) -> Option<f64> {
    serde_json::from_str::<serde_json::Value>(explanation)
        .ok()?
        .get("top_probability")?
        .as_f64()
}

/// Inserts a threshold version with its `threshold_change` entry in the caller's transaction.
fn insert_thresholds(
    tx: &rusqlite::Transaction<'_>,
    t: &NewThresholds,
    set_by: &str,
    at: i64,
) -> Result<ThresholdVersion, StoreError> {
    for (name, v) in [("high", t.high), ("medium", t.medium), ("reject", t.reject)]
        .into_iter()
        .chain(t.target_high.map(|v| ("target high", v)))
        .chain(t.target_medium.map(|v| ("target medium", v)))
    {
        if !(0.0..=1.0).contains(&v) {
            return Err(StoreError::Rule(format!(
                "threshold {name} must be in [0, 1], got {v}"
            )));
        }
    }
    if !(t.reject <= t.medium && t.medium <= t.high) {
        return Err(StoreError::Rule(format!(
            "thresholds must satisfy reject ≤ medium ≤ high, got {} / {} / {}",
            t.reject, t.medium, t.high
        )));
    }
    let version: i64 = tx.query_row(
        "SELECT coalesce(max(version), 0) + 1 FROM threshold_versions",
        [],
        |r| r.get(0),
    )?;
    let idx = log::append(
        tx,
        &Entry {
            kind: "threshold_change".into(),
            case_id: None,
            actor: set_by.into(),
            at_ms: at,
            payload: crate::audit::payload([
                ("version", version.into()),
                ("model_id", t.model_id.clone().into()),
                ("target_high_ppm", opt_ppm(t.target_high)),
                ("target_medium_ppm", opt_ppm(t.target_medium)),
                ("high_ppm", ppm(t.high).into()),
                ("medium_ppm", ppm(t.medium).into()),
                ("reject_ppm", ppm(t.reject).into()),
                ("basis_sha256", crate::audit::commit(&t.basis).into()),
            ]),
        },
    )?;
    tx.execute(
        "INSERT INTO threshold_versions (version, model_id, target_high, target_medium, high,
             medium, reject, basis, set_by, at_ms, audit_idx)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            version,
            t.model_id,
            t.target_high,
            t.target_medium,
            t.high,
            t.medium,
            t.reject,
            t.basis,
            set_by,
            at,
            idx as i64
        ],
    )?;
    Ok(ThresholdVersion {
        version,
        model_id: t.model_id.clone(),
        target_high: t.target_high,
        target_medium: t.target_medium,
        high: t.high,
        medium: t.medium,
        reject: t.reject,
        basis: t.basis.clone(),
        set_by: set_by.into(),
        at: from_ms(at).to_rfc3339(),
        audit_idx: idx as i64,
    })
}
