//! The desktop session: the open workspace, the reviewer at this workstation and files
//! staged for import. Hosts the calls the commands forward to.

use crate::dto::*;
use signoff_audit::log::LogError;
use signoff_core::{Clock, Reviewer};
use signoff_store::{Access, AuditFilter, Decision, ImportProgress, StoreError, Workspace};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Settings key: the reviewer who works at this workstation.
const REVIEWER_KEY: &str = "workstation_reviewer";

/// What the first stage of a streamed draft found.
pub enum DraftBegin {
    /// The newest stored draft (nothing to compose).
    Stored(Box<DraftDto>),
    /// A draft to compose: the prepared request and the claim check's encoder.
    Compose(
        Box<signoff_api::draft::Prepared>,
        Option<Arc<signoff_api::draft::Embedder>>,
    ),
}

/// One open workspace and who is reviewing in it.
pub struct Session {
    /// The workspace.
    pub ws: Workspace,
    is_demo: bool,
    clock: Arc<dyn Clock>,
    staged: HashMap<u64, (String, PathBuf)>,
    staging: tempfile::TempDir,
    next_token: u64,
    export_dir: PathBuf,
    /// Where the device and reviewer keys live.
    keys: signoff_api::keys::KeyPlace,
}

fn err(code: &str, message: impl Into<String>) -> ErrorDto {
    ErrorDto {
        code: code.into(),
        message: message.into(),
    }
}

/// The claim check's sentence encoder: the process's one copy (loaded on first use; `None`
/// when the model is absent, and the check then uses lexical features only).
fn claim_encoder() -> Option<Arc<signoff_api::draft::Embedder>> {
    signoff_api::intake::embedder(&signoff_api::intake::model_dir_from_env()).ok()
}

impl Session {
    /// Opens the workspace for writing; if another process holds it, read-only.
    pub fn open(
        dir: PathBuf,
        is_demo: bool,
        key_file: Option<PathBuf>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, ErrorDto> {
        let ws = match signoff_api::demo::open(&dir, is_demo, key_file.as_deref(), clock.as_ref()) {
            Ok(ws) => ws,
            Err(signoff_api::ApiError::Store(signoff_store::StoreError::Locked(_))) => {
                signoff_api::workspace::open(
                    &dir,
                    Access::Read,
                    &signoff_api::keys::KeyPlace::new(key_file.as_deref(), &dir, is_demo),
                )?
            }
            Err(e) => return Err(e.into()),
        };
        let staging = tempfile::tempdir()
            .map_err(|e| err("io", format!("cannot create a staging directory: {e}")))?;
        let keys = signoff_api::keys::KeyPlace::new(key_file.as_deref(), &dir, is_demo);
        let mut session = Self {
            keys,
            export_dir: dir,
            ws,
            is_demo,
            clock,
            staged: HashMap::new(),
            staging,
            next_token: 1,
        };
        session.load_reviewer_key()?;
        Ok(session)
    }

    /// Loads the workstation reviewer's own signing key (registering it on first use).
    fn load_reviewer_key(&mut self) -> Result<(), ErrorDto> {
        if self.ws.access() == Access::Read {
            return Ok(());
        }
        if let Some(r) = self.reviewer()? {
            signoff_api::keys::attach_reviewer_key(
                &mut self.ws,
                &self.keys,
                &r.id,
                self.clock.as_ref(),
            )?;
        }
        Ok(())
    }

    /// Sets where audit exports are suggested and where `~/` in an export path points.
    pub fn with_export_dir(mut self, dir: Option<PathBuf>) -> Self {
        if let Some(d) = dir {
            self.export_dir = d;
        }
        self
    }

    fn reviewer(&self) -> Result<Option<Reviewer>, ErrorDto> {
        match self.ws.setting(REVIEWER_KEY)? {
            Some(id) => Ok(self.ws.reviewer(&id)?),
            None => Ok(None),
        }
    }

    /// What the UI needs to start.
    pub fn info(&self) -> Result<SessionDto, ErrorDto> {
        Ok(SessionDto {
            workspace: self.ws.dir().display().to_string(),
            is_demo: self.is_demo,
            read_only: self.ws.access() == Access::Read,
            reviewer: self.reviewer()?.map(|r| ReviewerDto {
                id: r.id,
                name: r.name,
            }),
            reasons: self
                .ws
                .reason_codes()?
                .into_iter()
                .map(|r| ReasonDto {
                    code: r.code,
                    label: r.label,
                })
                .collect(),
            undo_grace_secs: self.ws.undo_grace_secs()?.clamp(0, u32::MAX as i64) as u32,
            export_dir: self.export_dir.display().to_string(),
            encrypted: self.ws.is_encrypted(),
            can_encrypt: self.can_encrypt()?,
        })
    }

    /// A new workspace (not the demo, writable, not encrypted, no cases yet) may be encrypted
    /// at first run.
    fn can_encrypt(&self) -> Result<bool, ErrorDto> {
        Ok(!self.is_demo
            && self.ws.access() == Access::Write
            && !self.ws.is_encrypted()
            && self.ws.status_counts()?.counts.iter().all(|(_, n)| *n == 0))
    }

    /// Registers the reviewer at this workstation; with `encrypt` (first run, a new
    /// workspace), encrypts the workspace first, its key kept where the device key is.
    pub fn set_reviewer(&mut self, r: Reviewer, encrypt: bool) -> Result<ReviewerDto, ErrorDto> {
        if encrypt && !self.ws.is_encrypted() {
            if !self.can_encrypt()? {
                return Err(err(
                    "not_encrypted",
                    "only a new, empty workspace can be encrypted; this one already holds cases or is the demo",
                ));
            }
            signoff_api::workspace::encrypt_new(&mut self.ws, &self.keys)?;
        }
        self.ws.upsert_reviewer(&r, self.clock.as_ref())?;
        self.ws.set_setting(REVIEWER_KEY, &r.id)?;
        self.load_reviewer_key()?;
        Ok(ReviewerDto {
            id: r.id,
            name: r.name,
        })
    }

    fn reviewer_id(&self) -> Result<String, ErrorDto> {
        self.reviewer()?
            .map(|r| r.id)
            .ok_or_else(|| err("no_reviewer", "set your name and reviewer id first"))
    }

    /// One case with its history.
    pub fn case(&self, seq: i64) -> Result<CaseDto, ErrorDto> {
        let c = self.ws.case(seq)?;
        let history = self.ws.dispositions_of(seq)?;
        Ok(CaseDto {
            seq: c.seq,
            id: c.id,
            subject: c.subject,
            body: c.body,
            received_at: c.received_at.to_rfc3339(),
            priority: c.priority,
            sla_due_at: c.sla_due_at.map(|t| t.to_rfc3339()),
            metadata: c
                .metadata
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| {
                    let text = match v {
                        serde_json::Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, text)
                })
                .collect(),
            label: c.label,
            band: c.band.map(|b| b.as_str().into()),
            status: c.status.as_str().into(),
            draft: c.draft,
            history: history.into_iter().map(DispositionDto::from).collect(),
        })
    }

    /// How intake classified a case (path, label, band, confidence, why, nearest labelled
    /// examples) and the comparable decided cases; or why it is not classified.
    pub fn case_intake(&self, case_id: &str) -> Result<IntakeDto, ErrorDto> {
        let comparable = self
            .ws
            .comparable_cases(case_id, 5)?
            .into_iter()
            .map(|c| ComparableCaseDto {
                case_id: c.case_id,
                subject: c.subject,
                similarity: c.similarity,
                status: c.status,
                disposition: c.disposition,
                reason_code: c.reason_code,
                label: c.label,
            })
            .collect();
        let Some(k) = self.ws.classification(case_id)? else {
            let message = if self.ws.active_model()?.is_none() {
                "Not classified: this workspace has no intake model yet (train one with `signoff intake train --data FILE.jsonl`)."
            } else {
                "Not classified yet: run `signoff intake classify`."
            };
            return Ok(IntakeDto {
                case_id: case_id.into(),
                path: "none".into(),
                rule_id: None,
                rules_version: None,
                model_id: None,
                model_version: None,
                threshold_version: None,
                label: None,
                band: None,
                escalate: false,
                confidence: None,
                why: None,
                neighbours: vec![],
                comparable,
                message: Some(message.into()),
                audit_index: None,
            });
        };
        use signoff_store::intake::ClassificationPath as P;
        let (path, rule_id, rules_version, model_id, model_version, threshold_version) =
            match k.path {
                P::Rule {
                    rule_id,
                    rules_version,
                } => ("rule", Some(rule_id), Some(rules_version), None, None, None),
                P::Model {
                    model_id,
                    heads,
                    embedding_version,
                    threshold_version,
                } => (
                    "model",
                    None,
                    None,
                    Some(model_id),
                    Some(match embedding_version {
                        Some(v) => format!("{heads}, encoder {v}"),
                        None => heads,
                    }),
                    Some(threshold_version),
                ),
            };
        let e = &k.explanation;
        let why = e["path"]["why"].as_str().map(str::to_string);
        let neighbours = e["neighbours"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|n| IntakeNeighbourDto {
                        label: n["label"].as_str().unwrap_or_default().into(),
                        text: n["text"].as_str().map(str::to_string),
                        similarity: n["similarity"].as_f64().unwrap_or_default() as f32,
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(IntakeDto {
            case_id: k.case_id,
            path: path.into(),
            rule_id,
            rules_version,
            model_id,
            model_version,
            threshold_version,
            label: Some(k.label),
            band: Some(k.band.as_str().into()),
            escalate: k.escalate,
            confidence: Some(k.confidence_ppm as f64 / 1e6),
            why,
            neighbours,
            comparable,
            message: None,
            audit_index: Some(k.audit_idx),
        })
    }

    /// Thresholds meeting target precisions on the workspace's labelled cases (`decided` or
    /// `labelled`), with the reliability diagram and a replay over the open queue; `save`
    /// stores them as a new threshold version in the reviewer's name (audited).
    pub fn thresholds(
        &mut self,
        target_high: f64,
        target_medium: f64,
        set: &str,
        save: bool,
    ) -> Result<ThresholdProposalDto, ErrorDto> {
        use signoff_api::intake::LabelledSet;
        let set = match set {
            "decided" => LabelledSet::Decided,
            "labelled" => LabelledSet::AllLabelled,
            other => {
                return Err(err(
                    "request",
                    format!("unknown labelled set {other:?} (decided, labelled)"),
                ))
            }
        };
        let p = signoff_api::intake::propose(&self.ws, target_high, target_medium, &set)?;
        if !save {
            return Ok(ThresholdProposalDto::from_proposal(p, None));
        }
        if p.rows == 0 {
            return Err(err(
                "request",
                format!("no labelled rows to calibrate on ({})", p.basis),
            ));
        }
        let who = self.reviewer_id()?;
        let v = signoff_api::intake::save(&mut self.ws, &p, &who, self.clock.as_ref())?;
        Ok(ThresholdProposalDto::from_proposal(p, Some(v.version)))
    }

    /// Records a decision by the workstation's reviewer.
    pub fn decide(&mut self, d: &Decision) -> Result<DispositionDto, ErrorDto> {
        let id = self.reviewer_id()?;
        Ok(
            signoff_api::review::decide(
                &mut self.ws,
                &id,
                d,
                claim_encoder(),
                self.clock.as_ref(),
            )?
            .into(),
        )
    }

    /// Checks a reply (by default the case's current draft, what approve sends) against the
    /// case's frozen passages, as [`Session::decide`] will.
    pub fn check_reply(
        &self,
        case_seq: i64,
        text: Option<String>,
    ) -> Result<ReplyCheckDto, ErrorDto> {
        let text = match text {
            Some(t) => t,
            None => self.ws.case(case_seq)?.draft.unwrap_or_default(),
        };
        Ok(signoff_api::review::check_outgoing(&self.ws, case_seq, &text, claim_encoder())?.into())
    }

    /// Undoes a disposition within the grace period.
    pub fn undo(&mut self, disposition_seq: i64) -> Result<DispositionDto, ErrorDto> {
        let id = self.reviewer_id()?;
        let grace = self.ws.undo_grace_secs()?;
        Ok(self
            .ws
            .undo(&id, disposition_seq, grace, self.clock.as_ref())?
            .into())
    }

    /// Keeps the bytes of a file to import under a token.
    pub fn stage(&mut self, name: &str, bytes: &[u8]) -> Result<u64, ErrorDto> {
        let token = self.next_token;
        self.next_token += 1;
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_alphanumeric() || matches!(c, '.' | '-' | '_') {
                    c
                } else {
                    '_'
                }
            })
            .take(120)
            .collect();
        let path = self.staging.path().join(format!("{token}-{safe}"));
        std::fs::write(&path, bytes).map_err(|e| err("io", format!("cannot stage {name}: {e}")))?;
        self.staged.insert(token, (name.to_string(), path));
        Ok(token)
    }

    /// Imports a staged file.
    pub fn run_import(
        &mut self,
        token: u64,
        progress: &mut dyn FnMut(ImportProgress),
    ) -> Result<ImportReportDto, ErrorDto> {
        let (name, path) = self
            .staged
            .remove(&token)
            .ok_or_else(|| err("request", format!("no staged file {token}")))?;
        let result = self
            .ws
            .import_file_as(&path, &name, self.clock.as_ref(), progress);
        let _ = std::fs::remove_file(&path);
        let r = result?;
        // New cases are classified as they land (rules, then the model in force); without a
        // model they stay unclassified and the case view says why.
        signoff_api::intake::classify(
            &mut self.ws,
            &signoff_store::intake::Scope::Unclassified,
            &signoff_api::intake::model_dir_from_env(),
            self.clock.as_ref(),
        )
        .map_err(ErrorDto::from)?;
        Ok(ImportReportDto {
            file: name,
            new: r.new,
            unchanged: r.unchanged,
            conflicts: r.conflicts,
            conflict_ids: r
                .conflict_ids
                .into_iter()
                .map(|(l, id)| (l as u32, id))
                .collect(),
        })
    }

    /// One page of the audit table.
    pub fn audit_page(
        &self,
        filter: AuditFilterDto,
        after: Option<String>,
        limit: u32,
    ) -> Result<Vec<AuditRowDto>, ErrorDto> {
        let filter = AuditFilter::try_from(filter)?;
        let after = match after {
            Some(s) => Some(
                audit_cursor_from_string(&s)
                    .ok_or_else(|| err("request", format!("malformed audit cursor {s:?}")))?,
            ),
            None => None,
        };
        Ok(self
            .ws
            .audit_page(&filter, after, limit)?
            .into_iter()
            .map(AuditRowDto::from)
            .collect())
    }

    /// Evidence for a case from the newest approved corpus version, recorded as a retrieval
    /// in the audit log; with no approved version, a DTO saying so instead of an error.
    pub fn case_evidence(&mut self, case_id: &str, k: u32) -> Result<EvidenceDto, ErrorDto> {
        let approved = self.ws.approved_version()?;
        let Some((seq, _)) = approved else {
            return Ok(EvidenceDto {
                case_id: case_id.into(),
                version: None,
                approved_by: None,
                hits: Vec::new(),
                redactions: Vec::new(),
                audit_index: None,
                message: Some("No approved policy corpus yet: add files with `signoff corpus add` and approve a version (corpus screen, C).".into()),
            });
        };
        let approved_by: Option<String> = self
            .ws
            .conn()
            .query_row(
                "SELECT approved_by FROM corpus_versions WHERE seq = ?1",
                [seq],
                |r| r.get(0),
            )
            .map_err(signoff_store::StoreError::from)?;
        let r = self
            .ws
            .retrieve_for_case(case_id, k.clamp(1, 20) as usize, self.clock.as_ref())?;
        Ok(EvidenceDto {
            case_id: r.case_id,
            version: Some(r.result.version),
            approved_by,
            message: r.result.hits.is_empty().then(|| {
                "No passage of the approved corpus matches this case (or the allow-list excludes every source for its label).".to_string()
            }),
            hits: r.result.hits.into_iter().map(EvidenceHitDto::from).collect(),
            redactions: r.redactions.into_iter().collect(),
            audit_index: Some(r.audit_index),
        })
    }

    /// First stage of a streamed draft: the newest stored draft when there is one and
    /// `regenerate` is unset, else the retrieved evidence and rendered prompt (retrieval
    /// audited) and the claim check's encoder, so the model runs without the session lock.
    pub fn draft_begin(&mut self, case_id: &str, regenerate: bool) -> Result<DraftBegin, ErrorDto> {
        let seq = self.ws.case_seq(case_id)?;
        if !regenerate {
            if let Some(r) = self.ws.latest_draft(seq)? {
                return Ok(DraftBegin::Stored(Box::new(DraftDto::from_record(
                    case_id, r,
                ))));
            }
        }
        let encoder = claim_encoder();
        let p = signoff_api::draft::prepare(&mut self.ws, case_id, 5, self.clock.as_ref())?;
        Ok(DraftBegin::Compose(Box::new(p), encoder))
    }

    /// Last stage of a streamed draft: the claim check and the stored draft (audited).
    pub fn draft_end(
        &mut self,
        p: &signoff_api::draft::Prepared,
        routed: signoff_api::draft::Routed,
        compose: std::time::Duration,
        encoder: Option<Arc<signoff_api::draft::Embedder>>,
    ) -> Result<DraftDto, ErrorDto> {
        let d = signoff_api::draft::finish(
            &mut self.ws,
            p,
            routed,
            compose,
            encoder,
            self.clock.as_ref(),
        )?;
        Ok(DraftDto::from_record(&p.case_id, d.record))
    }

    /// Resolves a flagged claim of the case's newest draft (an audit entry each): `accept`
    /// with a reason, `edit` with replacement text, or `remove`.
    pub fn resolve_claim(
        &mut self,
        case_id: &str,
        index: u32,
        action: &str,
        text: &str,
    ) -> Result<DraftDto, ErrorDto> {
        use signoff_store::draft::ClaimResolution;
        let text = text.trim();
        let resolution = match action {
            "accept" if text.is_empty() => {
                return Err(err("request", "say why the claim may stand"))
            }
            "accept" => ClaimResolution::Accept {
                reason: text.to_string(),
            },
            "edit" if text.is_empty() => {
                return Err(err(
                    "request",
                    "give the claim's new text, or remove the claim instead",
                ))
            }
            "edit" => ClaimResolution::Edit {
                replacement: text.to_string(),
            },
            "remove" => ClaimResolution::Remove,
            other => {
                return Err(err(
                    "request",
                    format!("unknown claim resolution {other:?} (accept, edit, remove)"),
                ))
            }
        };
        let who = self.reviewer_id()?;
        let seq = self.ws.case_seq(case_id)?;
        let r =
            self.ws
                .resolve_claim(seq, index as usize, &resolution, &who, self.clock.as_ref())?;
        Ok(DraftDto::from_record(case_id, r))
    }

    /// The corpus screen: versions and sources with staleness.
    pub fn corpus(&self) -> Result<CorpusDto, ErrorDto> {
        Ok(CorpusDto {
            versions: self
                .ws
                .corpus_versions()?
                .into_iter()
                .map(CorpusVersionDto::from)
                .collect(),
            sources: self
                .ws
                .corpus_sources(self.clock.as_ref())?
                .into_iter()
                .map(CorpusSourceDto::from)
                .collect(),
        })
    }

    /// Approves a corpus version in the name of a subject-matter expert.
    pub fn corpus_approve(&mut self, version: &str, by: &str) -> Result<CorpusDto, ErrorDto> {
        self.ws.corpus_approve(version, by, self.clock.as_ref())?;
        self.corpus()
    }

    /// A case's outbound actions, newest first.
    pub fn case_actions(&self, case_id: &str) -> Result<Vec<ActionDto>, ErrorDto> {
        let seq = self.ws.case_seq(case_id)?;
        Ok(self
            .ws
            .actions(Some(seq))?
            .into_iter()
            .map(ActionDto::from)
            .collect())
    }

    /// The requests to make for a case's actions, each marked in flight: the one failed
    /// action `retry` names, or every due one (queued replies, pending compensations).
    pub fn begin_actions(
        &mut self,
        case_id: &str,
        retry: Option<i64>,
    ) -> Result<Vec<signoff_store::actions::ActionJob>, ErrorDto> {
        let case_seq = self.ws.case_seq(case_id)?;
        let due = match retry {
            Some(seq) if self.ws.action(seq)?.case_seq != case_seq => {
                return Err(err(
                    "request",
                    format!("action #{seq} is not one of case {case_id}'s"),
                ))
            }
            Some(seq) => vec![seq],
            None => signoff_api::actions::due_of_case(&self.ws, case_seq)?,
        };
        let mut jobs = Vec::new();
        for seq in due {
            jobs.push(
                self.ws
                    .begin_action(seq, retry.is_some(), self.clock.as_ref())?,
            );
        }
        Ok(jobs)
    }

    /// Records what came of a job sent by [`Session::begin_actions`].
    pub fn finish_action(
        &mut self,
        job: &signoff_store::actions::ActionJob,
        outcome: &signoff_store::actions::ActionOutcome,
    ) -> Result<ActionDto, ErrorDto> {
        Ok(self
            .ws
            .finish_action(job, outcome, self.clock.as_ref())?
            .into())
    }

    /// A case's audit timeline, newest first, each proof verified against the latest checkpoint.
    pub fn case_audit(&self, case_id: &str) -> Result<CaseAuditDto, ErrorDto> {
        Ok(self.ws.audit_history(case_id, None)?.into())
    }

    /// Checks every leaf, node, checkpoint and signature; a failure is a result, not an error.
    pub fn audit_verify(
        &self,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<VerifyReportDto, ErrorDto> {
        match self.ws.audit_verify(None, progress) {
            Ok(w) => Ok(VerifyReportDto {
                ok: true,
                entries: w.log.entries,
                nodes: w.log.nodes,
                checkpoints: w.log.checkpoints,
                signatures: w.log.signatures,
                device_keys: w.log.device_keys,
                first_bad_index: None,
                at: None,
                message: None,
            }),
            Err(StoreError::Audit(LogError::Tampered { at, why, index })) => Ok(VerifyReportDto {
                ok: false,
                entries: 0,
                nodes: 0,
                checkpoints: 0,
                signatures: 0,
                device_keys: 0,
                first_bad_index: index,
                at: Some(at),
                message: Some(why),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// The file an export to `path` writes: `~/` is the export directory; relative paths are
    /// refused, as is an existing file (an export never overwrites).
    pub fn export_target(&self, path: &str) -> Result<PathBuf, ErrorDto> {
        let path = path.trim();
        let target = match path.strip_prefix("~/") {
            Some(rest) => self.export_dir.join(rest),
            None => PathBuf::from(path),
        };
        if path.is_empty() || !target.is_absolute() {
            return Err(err(
                "request",
                format!(
                    "give the export a full path (like {}/audit.csv)",
                    self.export_dir.display()
                ),
            ));
        }
        if target.exists() {
            return Err(err(
                "exists",
                format!("{} already exists; choose another name", target.display()),
            ));
        }
        Ok(target)
    }

    /// Writes the entries matching `filter` as CSV to `path`, whole or not at all: rows go to
    /// a temporary file beside it, which is renamed into place once complete.
    pub fn audit_export(
        &self,
        filter: AuditFilterDto,
        path: &str,
    ) -> Result<ExportReportDto, ErrorDto> {
        use std::io::Write;
        let filter = AuditFilter::try_from(filter)?;
        let target = self.export_target(path)?;
        let dir = target
            .parent()
            .ok_or_else(|| err("request", "the export path has no directory"))?;
        let io = |e: std::io::Error| err("io", format!("cannot write {}: {e}", target.display()));
        let tmp = tempfile::NamedTempFile::new_in(dir).map_err(io)?;
        let mut out = std::io::BufWriter::new(tmp);
        let rows = self.ws.audit_export_csv(&filter, &mut out)?;
        out.flush().map_err(io)?;
        let tmp = out.into_inner().map_err(|e| io(e.into_error()))?;
        tmp.as_file().sync_all().map_err(io)?;
        tmp.persist_noclobber(&target).map_err(|e| io(e.error))?;
        Ok(ExportReportDto {
            path: target.display().to_string(),
            rows,
        })
    }

    /// Reviewer ids (and `device`) that appear in the log, for the filter bar.
    pub fn audit_actors(&self) -> Result<Vec<String>, ErrorDto> {
        Ok(self.ws.audit_actors()?)
    }

    /// One audit entry with its verified proof.
    pub fn audit_entry(&self, index: u64) -> Result<AuditEntryDto, ErrorDto> {
        Ok(self.ws.audit_entry(index)?.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CASES: &str = "{\"id\":\"S-1\",\"subject\":\"s\",\"body\":\"b\",\"received_at\":\"2026-11-20T09:00:00Z\"}\n";

    fn session(dir: &std::path::Path) -> Session {
        let clock = Arc::new(signoff_core::FixedClock::new(
            "2026-11-25T08:00:00Z".parse().expect("time"),
        ));
        let mut s = Session::open(
            dir.join("ws"),
            false,
            Some(dir.join("device.key")),
            clock.clone(),
        )
        .expect("session")
        .with_export_dir(Some(dir.to_path_buf()));
        let file = dir.join("cases.jsonl");
        std::fs::write(&file, CASES).expect("cases");
        s.ws.import_file(&file, clock.as_ref(), &mut |_| {})
            .expect("import");
        s
    }

    #[test]
    fn the_first_run_choice_encrypts_a_new_workspace_and_it_reopens_with_its_key() {
        let t = tempfile::tempdir().expect("tmp");
        let clock = Arc::new(signoff_core::FixedClock::new(
            "2026-11-25T08:00:00Z".parse().expect("time"),
        ));
        let ws = t.path().join("ws");
        let key = t.path().join("device.key");
        let mut s =
            Session::open(ws.clone(), false, Some(key.clone()), clock.clone()).expect("session");
        let info = s.info().expect("info");
        assert!(info.can_encrypt && !info.encrypted);
        let r = Reviewer {
            id: "ada".into(),
            name: "Ada Lovelace".into(),
        };
        s.set_reviewer(r, true).expect("encrypt and register");
        let info = s.info().expect("info");
        assert!(info.encrypted && !info.can_encrypt);
        let file = t.path().join("cases.jsonl");
        std::fs::write(&file, CASES).expect("cases");
        s.ws.import_file(&file, clock.as_ref(), &mut |_| {})
            .expect("import");
        drop(s);
        let head = std::fs::read(ws.join(signoff_store::DB_FILE)).expect("file");
        assert!(!head.starts_with(b"SQLite format 3"));
        assert!(
            t.path().join("device.key.db").exists(),
            "key beside the key file"
        );
        let s = Session::open(ws, false, Some(key), clock).expect("reopen");
        let info = s.info().expect("info");
        assert!(info.encrypted);
        assert_eq!(info.reviewer.map(|r| r.id).as_deref(), Some("ada"));
        assert!(s.audit_verify(&mut |_, _| {}).expect("verify").ok);
    }

    #[test]
    fn a_workspace_with_cases_is_not_offered_encryption_and_refuses_it() {
        let t = tempfile::tempdir().expect("tmp");
        let mut s = session(t.path());
        assert!(!s.info().expect("info").can_encrypt);
        let r = Reviewer {
            id: "ada".into(),
            name: "Ada".into(),
        };
        let Err(e) = s.set_reviewer(r, true) else {
            panic!("a workspace with cases was encrypted")
        };
        assert_eq!(e.code, "not_encrypted");
        assert!(!s.ws.is_encrypted());
    }

    #[test]
    fn verify_passes_then_names_the_first_bad_index_once_a_leaf_is_rewritten() {
        let t = tempfile::tempdir().expect("tmp");
        let s = session(t.path());
        let mut seen = Vec::new();
        let ok = s
            .audit_verify(&mut |d, n| seen.push((d, n)))
            .expect("verify");
        assert!(ok.ok && ok.entries == 1 && ok.first_bad_index.is_none());
        assert_eq!(seen.last(), Some(&(1, 1)), "progress ends at the total");
        s.ws.conn()
            .execute_batch(
                "DROP TRIGGER audit_entries_append_only;
                 UPDATE audit_entries SET leaf = CAST(replace(CAST(leaf AS TEXT), 'device', 'mallory') AS BLOB);",
            )
            .expect("tamper");
        let bad = s
            .audit_verify(&mut |_, _| {})
            .expect("a failure is a result");
        assert!(!bad.ok);
        assert_eq!(bad.first_bad_index, Some(0));
        assert_eq!(bad.at.as_deref(), Some("entry 0"));
    }

    #[test]
    fn export_writes_a_new_file_and_never_overwrites_or_guesses_a_directory() {
        let t = tempfile::tempdir().expect("tmp");
        let s = session(t.path());
        let r = s
            .audit_export(AuditFilterDto::default(), "~/audit.csv")
            .expect("export");
        assert_eq!(r.rows, 1);
        let text = std::fs::read_to_string(t.path().join("audit.csv")).expect("csv");
        assert!(text.starts_with("index,at,kind,actor,"), "{text}");
        let again = s
            .audit_export(AuditFilterDto::default(), &r.path)
            .unwrap_err();
        assert_eq!(again.code, "exists");
        let relative = s
            .audit_export(AuditFilterDto::default(), "audit.csv")
            .unwrap_err();
        assert_eq!(relative.code, "request");
        let leftovers = std::fs::read_dir(t.path())
            .expect("dir")
            .filter(|e| {
                e.as_ref()
                    .map(|e| e.file_name().to_string_lossy().starts_with(".tmp"))
                    .unwrap_or(false)
            })
            .count();
        assert_eq!(leftovers, 0, "no partial files are left behind");
    }
}
