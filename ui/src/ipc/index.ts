// The UI's only door to the backend: a Backend interface and its Tauri implementation.
// No other module imports @tauri-apps; tests use a fake Backend.
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type {
  ActionDto,
  AuditEntryDto,
  AuditFilterDto,
  AuditRowDto,
  CaseAuditDto,
  CaseDto,
  CaseRowDto,
  CorpusDto,
  DecideDto,
  DispositionDto,
  ReplyCheckDto,
  DraftChunkDto,
  DraftDto,
  ErrorDto,
  EvidenceDto,
  ExportReportDto,
  FilterDto,
  ImportProgressDto,
  ImportReportDto,
  IndexProgressDto,
  IntakeDto,
  ThresholdProposalDto,
  ReviewerDto,
  SessionDto,
  StatusCountDto,
  VerifyProgressDto,
  VerifyReportDto,
} from "./bindings";

export type * from "./bindings";

/** An error from the backend, with its stable code. */
export class BackendError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Everything the UI asks of Signoff's core. */
export interface Backend {
  session(): Promise<SessionDto>;
  /** Registers the reviewer; `encrypt` (first run, a new workspace) encrypts it first. */
  setReviewer(id: string, name: string, encrypt?: boolean): Promise<ReviewerDto>;
  queuePage(filter: FilterDto, after: string | null, limit: number): Promise<CaseRowDto[]>;
  queueCount(filter: FilterDto): Promise<number>;
  statusCounts(): Promise<StatusCountDto[]>;
  openCase(seq: number): Promise<CaseDto>;
  decide(req: DecideDto): Promise<DispositionDto>;
  /** Checks a reply (`null`: the case's current draft) as approve and edit will: the reviewer's own sentences, and those no frozen passage supports. */
  checkReply(caseSeq: number, text: string | null): Promise<ReplyCheckDto>;
  undo(dispositionSeq: number): Promise<DispositionDto>;
  importFile(
    name: string,
    bytes: Uint8Array,
    onProgress: (p: ImportProgressDto) => void,
  ): Promise<ImportReportDto>;
  /** One keyset page of the audit log, newest first. */
  auditPage(filter: AuditFilterDto, after: string | null, limit: number): Promise<AuditRowDto[]>;
  /** Everyone who appears in the audit log. */
  auditActors(): Promise<string[]>;
  /** One audit entry with its inclusion proof, verified against the latest checkpoint. */
  auditEntry(index: number): Promise<AuditEntryDto>;
  /** A case's audit timeline, newest first, with verified proofs. */
  caseAudit(caseId: string): Promise<CaseAuditDto>;
  /** A case's outbound actions (replies posted upstream), newest first. */
  caseActions(caseId: string): Promise<ActionDto[]>;
  /** Sends a case's due actions, or retries the failed action `retry`; returns them as recorded. */
  sendActions(caseId: string, retry: number | null): Promise<ActionDto[]>;
  /** Verifies the whole log, reporting progress; a failure is a result, not an exception. */
  auditVerify(onProgress: (p: VerifyProgressDto) => void): Promise<VerifyReportDto>;
  /** Writes the entries matching a filter as CSV to a new file. */
  auditExport(filter: AuditFilterDto, path: string): Promise<ExportReportDto>;
  /** Evidence for a case from the approved corpus (recorded as a retrieval in the audit log). */
  caseEvidence(caseId: string, k: number): Promise<EvidenceDto>;
  /** The case's newest grounded draft (drafted first when it has none, or on `regenerate`), with the routed model's text streamed to `onChunk` as it arrives. */
  caseDraftStream(caseId: string, regenerate: boolean, onChunk: (c: DraftChunkDto) => void): Promise<DraftDto>;
  /** Cancels the draft being written for a case (nothing is stored); false when none is. */
  cancelDraft(caseId: string): Promise<boolean>;
  /** Resolves a flagged claim of the case's newest draft (an audit entry): accept with a reason, edit with new text, or remove. */
  resolveClaim(caseId: string, index: number, action: "accept" | "edit" | "remove", text: string): Promise<DraftDto>;
  /** How intake classified a case and why, with comparable decided cases. */
  caseIntake(caseId: string): Promise<IntakeDto>;
  /** Calibration workbench: thresholds for target precisions; `save` stores a new version. */
  intakeThresholds(targetHigh: number, targetMedium: number, set: string, save: boolean): Promise<ThresholdProposalDto>;
  /** Corpus versions (approval, staleness) and sources. */
  corpus(): Promise<CorpusDto>;
  /** Approves a corpus version in a subject-matter expert's name. */
  corpusApprove(version: string, by: string): Promise<CorpusDto>;
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    const err = e as Partial<ErrorDto> | string;
    if (typeof err === "object" && err && typeof err.message === "string") {
      throw new BackendError(err.code ?? "unknown", err.message);
    }
    throw new BackendError("unknown", String(e));
  }
}

/** The backend inside the Tauri window. */
export const tauriBackend: Backend = {
  session: () => call("session_info"),
  setReviewer: (id, name, encrypt) => call("set_reviewer", { id, name, encrypt: encrypt ?? false }),
  queuePage: (filter, after, limit) => call("queue_page", { filter, after, limit }),
  queueCount: (filter) => call("queue_count", { filter }),
  statusCounts: () => call("status_counts"),
  openCase: (seq) => call("open_case", { seq }),
  decide: (req) => call("decide", { req }),
  checkReply: (caseSeq, text) => call("check_reply", { caseSeq, text }),
  undo: (dispositionSeq) => call("undo", { dispositionSeq }),
  async importFile(name, bytes, onProgress) {
    let token: number;
    try {
      token = await invoke<number>("stage_import", bytes, {
        headers: { "x-file-name": name.replace(/[^\x20-\x7e]/g, "_") },
      });
    } catch (e) {
      const err = e as Partial<ErrorDto>;
      throw new BackendError(err.code ?? "unknown", err.message ?? String(e));
    }
    const channel = new Channel<ImportProgressDto>();
    channel.onmessage = onProgress;
    return call("run_import", { token, onProgress: channel });
  },
  auditPage: (filter, after, limit) => call("audit_page", { filter, after, limit }),
  auditActors: () => call("audit_actors"),
  auditEntry: (index) => call("audit_entry", { index }),
  caseAudit: (caseId) => call("case_audit", { caseId }),
  caseActions: (caseId) => call("case_actions", { caseId }),
  sendActions: (caseId, retry) => call("send_actions", { caseId, retry }),
  auditVerify(onProgress) {
    const channel = new Channel<VerifyProgressDto>();
    channel.onmessage = onProgress;
    return call("audit_verify", { onProgress: channel });
  },
  auditExport: (filter, path) => call("audit_export", { filter, path }),
  caseEvidence: (caseId, k) => call("case_evidence", { caseId, k }),
  caseDraftStream(caseId, regenerate, onChunk) {
    const channel = new Channel<DraftChunkDto>();
    channel.onmessage = onChunk;
    return call("case_draft_stream", { caseId, regenerate, onChunk: channel });
  },
  cancelDraft: (caseId) => call("cancel_draft", { caseId }),
  resolveClaim: (caseId, index, action, text) => call("resolve_claim", { caseId, index, action, text }),
  caseIntake: (caseId) => call("case_intake", { caseId }),
  intakeThresholds: (targetHigh, targetMedium, set, save) => call("intake_thresholds", { targetHigh, targetMedium, set, save }),
  corpus: () => call("corpus_overview"),
  corpusApprove: (version, by) => call("corpus_approve", { version, by }),
};

/** Calls `onProgress` for each `index-progress` event (a long embedding run in the core). */
export function onIndexProgress(onProgress: (p: IndexProgressDto) => void): void {
  void listen<IndexProgressDto>("index-progress", (e) => onProgress(e.payload));
}
