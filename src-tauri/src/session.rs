//! The desktop session: the open workspace, the reviewer at this workstation and files
//! staged for import. Hosts the calls the commands forward to.

use crate::dto::*;
use signoff_core::{Clock, Reviewer};
use signoff_store::{Access, Decision, ImportProgress, Workspace};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

/// Settings key: the reviewer who works at this workstation.
const REVIEWER_KEY: &str = "workstation_reviewer";

/// One open workspace and who is reviewing in it.
pub struct Session {
    /// The workspace.
    pub ws: Workspace,
    is_demo: bool,
    clock: Arc<dyn Clock>,
    staged: HashMap<u64, (String, PathBuf)>,
    staging: tempfile::TempDir,
    next_token: u64,
}

fn err(code: &str, message: impl Into<String>) -> ErrorDto {
    ErrorDto {
        code: code.into(),
        message: message.into(),
    }
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
                Workspace::open(&dir, Access::Read)?
            }
            Err(e) => return Err(e.into()),
        };
        let staging = tempfile::tempdir()
            .map_err(|e| err("io", format!("cannot create a staging directory: {e}")))?;
        Ok(Self {
            ws,
            is_demo,
            clock,
            staged: HashMap::new(),
            staging,
            next_token: 1,
        })
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
        })
    }

    /// Registers the reviewer at this workstation.
    pub fn set_reviewer(&mut self, r: Reviewer) -> Result<ReviewerDto, ErrorDto> {
        self.ws.upsert_reviewer(&r, self.clock.as_ref())?;
        self.ws.set_setting(REVIEWER_KEY, &r.id)?;
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

    /// Records a decision by the workstation's reviewer.
    pub fn decide(&mut self, d: &Decision) -> Result<DispositionDto, ErrorDto> {
        let id = self.reviewer_id()?;
        Ok(self.ws.decide(&id, d, self.clock.as_ref())?.into())
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
}
