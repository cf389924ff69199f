// Generated from src-tauri/src/dto.rs by ts-rs; do not edit.
// Regenerate: SIGNOFF_BLESS=1 cargo test -p signoff-desktop bindings

export type ErrorDto = { 
/**
 * Stable machine-readable code (`locked`, `rule`, `import`, …).
 */
code: string, 
/**
 * What happened and what to do, for people.
 */
message: string, };

export type ReviewerDto = { 
/**
 * Stable id.
 */
id: string, 
/**
 * Printed name.
 */
name: string, };

export type ReasonDto = { 
/**
 * Stored code.
 */
code: string, 
/**
 * Human label.
 */
label: string, };

export type SessionDto = { 
/**
 * Workspace directory.
 */
workspace: string, 
/**
 * Whether this is the built-in demo.
 */
is_demo: boolean, 
/**
 * Whether another process holds the workspace (no decisions possible).
 */
read_only: boolean, 
/**
 * The reviewer, once set (first run asks).
 */
reviewer: ReviewerDto | null, 
/**
 * Reason codes, in display order.
 */
reasons: Array<ReasonDto>, 
/**
 * Undo window, seconds.
 */
undo_grace_secs: number, 
/**
 * Where audit exports are suggested (the home directory, else the workspace).
 */
export_dir: string, 
/**
 * Whether the workspace file is encrypted at rest.
 */
encrypted: boolean, 
/**
 * Whether the first-run dialog may offer encryption (a new, empty, writable workspace).
 */
can_encrypt: boolean, };

export type FilterDto = { 
/**
 * Status (default open).
 */
status: string | null, 
/**
 * Band.
 */
band: string | null, 
/**
 * Label.
 */
label: string | null, 
/**
 * Full-text query.
 */
text: string | null, };

export type CaseRowDto = { 
/**
 * Internal sequence number.
 */
seq: number, 
/**
 * Upstream id.
 */
id: string, 
/**
 * Subject.
 */
subject: string, 
/**
 * Start of the body.
 */
snippet: string, 
/**
 * Received, ms since the epoch.
 */
received_ms: number, 
/**
 * Priority.
 */
priority: number, 
/**
 * SLA due, ms since the epoch.
 */
sla_due_ms: number | null, 
/**
 * Label.
 */
label: string | null, 
/**
 * Band.
 */
band: string | null, 
/**
 * Status.
 */
status: string, 
/**
 * Opaque position for the next page.
 */
cursor: string, };

export type StatusCountDto = { 
/**
 * Status.
 */
status: string, 
/**
 * Count.
 */
n: number, };

export type DispositionDto = { 
/**
 * Sequence number.
 */
seq: number, 
/**
 * Case sequence number.
 */
case_seq: number, 
/**
 * approve, edit, reject, escalate or undo.
 */
kind: string, 
/**
 * Reviewer id.
 */
reviewer_id: string, 
/**
 * Reviewer name.
 */
reviewer_name: string, 
/**
 * RFC 3339 time.
 */
at: string, 
/**
 * Reason code.
 */
reason_code: string | null, 
/**
 * Rationale.
 */
rationale: string | null, 
/**
 * Diff from draft to final text.
 */
diff: string | null, 
/**
 * The disposition this one undoes.
 */
undoes: number | null, };

export type ReplyCheckDto = { 
/**
 * Sentences checked (not one of the draft's claims word for word).
 */
checked: number, 
/**
 * Draft claims kept verbatim (their check stands).
 */
kept: number, 
/**
 * The flagged sentences: they need changing, or a rationale saying why they may go out.
 */
flagged: Array<FlaggedSentenceDto>, 
/**
 * Which scorer ran.
 */
scorer: string, };

export type FlaggedSentenceDto = { 
/**
 * The sentence as written, markers included.
 */
text: string, 
/**
 * `unsupported`, `uncited` or `bad_citation`.
 */
status: string, 
/**
 * Probability it is unsupported, when scored.
 */
score: number | null, };

export type CaseDto = { 
/**
 * Internal sequence number.
 */
seq: number, 
/**
 * Upstream id.
 */
id: string, 
/**
 * Subject.
 */
subject: string, 
/**
 * Body, plain text.
 */
body: string, 
/**
 * Received, RFC 3339.
 */
received_at: string, 
/**
 * Priority.
 */
priority: number, 
/**
 * SLA due, RFC 3339.
 */
sla_due_at: string | null, 
/**
 * Metadata as key/value text pairs.
 */
metadata: Array<[string, string]>, 
/**
 * Label.
 */
label: string | null, 
/**
 * Band.
 */
band: string | null, 
/**
 * Status.
 */
status: string, 
/**
 * AI draft, if any.
 */
draft: string | null, 
/**
 * Dispositions, oldest first.
 */
history: Array<DispositionDto>, };

export type DecideDto = { 
/**
 * Case sequence number.
 */
case_seq: number, 
/**
 * approve, edit, reject or escalate.
 */
kind: string, 
/**
 * Reason code.
 */
reason_code: string | null, 
/**
 * Rationale.
 */
rationale: string | null, 
/**
 * Final text (edit).
 */
final_text: string | null, };

export type ImportProgressDto = { 
/**
 * Bytes read.
 */
bytes: number, 
/**
 * File size.
 */
total: number, 
/**
 * Rows read.
 */
rows: number, };

export type IndexProgressDto = { 
/**
 * Passages embedded so far.
 */
done: number, 
/**
 * Passages in the run.
 */
total: number, };

export type ImportReportDto = { 
/**
 * File name.
 */
file: string, 
/**
 * Added.
 */
new: number, 
/**
 * Already present.
 */
unchanged: number, 
/**
 * Same id, different content (kept the stored case).
 */
conflicts: number, 
/**
 * The first conflicting ids with their lines.
 */
conflict_ids: Array<[number, string]>, };

export type AuditFilterDto = { 
/**
 * Reviewer id (or `device`).
 */
actor: string | null, 
/**
 * From this time, ms since the epoch (inclusive).
 */
from_ms: number | null, 
/**
 * Until this time, ms since the epoch (exclusive).
 */
to_ms: number | null, 
/**
 * approve, edit, reject, escalate or undo.
 */
disposition: string | null, 
/**
 * high, medium or low.
 */
band: string | null, 
/**
 * Entry kind (import, disposition, undo …).
 */
kind: string | null, 
/**
 * One case id.
 */
case_id: string | null, };

export type AuditRowDto = { 
/**
 * Leaf index.
 */
index: number, 
/**
 * When, RFC 3339 (UTC).
 */
at: string, 
/**
 * Entry kind.
 */
kind: string, 
/**
 * Who acted.
 */
actor: string, 
/**
 * The case concerned.
 */
case_id: string | null, 
/**
 * Disposition kind, from the leaf.
 */
disposition: string | null, 
/**
 * Reason code, from the leaf.
 */
reason_code: string | null, 
/**
 * The case's band now.
 */
band: string | null, 
/**
 * Leaf hash, hex.
 */
leaf_hash: string, 
/**
 * Opaque position for the next page.
 */
cursor: string, };

export type AuditEntryDto = { 
/**
 * Leaf index.
 */
index: number, 
/**
 * Entry kind.
 */
kind: string, 
/**
 * Who acted.
 */
actor: string, 
/**
 * The case concerned.
 */
case_id: string | null, 
/**
 * When, RFC 3339 (UTC).
 */
at: string, 
/**
 * The canonical leaf, exactly as hashed.
 */
leaf: string, 
/**
 * Leaf hash, hex.
 */
leaf_hash: string, 
/**
 * Inclusion proof, hex, leaf side first.
 */
proof: Array<string>, 
/**
 * The signed checkpoint note the proof leads to.
 */
checkpoint: string, 
/**
 * Its tree size.
 */
size: number, 
/**
 * Its root hash, hex.
 */
root: string, };

export type TimelineEntryDto = { 
/**
 * Leaf index.
 */
index: number, 
/**
 * Entry kind.
 */
kind: string, 
/**
 * Who acted.
 */
actor: string, 
/**
 * When, RFC 3339.
 */
at: string, 
/**
 * The canonical leaf, as text.
 */
leaf: string, 
/**
 * Number of hashes in its inclusion proof.
 */
proof_len: number, };

export type CaseAuditDto = { 
/**
 * The case id.
 */
case_id: string, 
/**
 * Entries, newest first.
 */
entries: Array<TimelineEntryDto>, 
/**
 * Tree size of the checkpoint every proof was verified against.
 */
size: number, };

export type VerifyProgressDto = { 
/**
 * Entries checked so far.
 */
done: number, 
/**
 * Entries in the log.
 */
total: number, };

export type VerifyReportDto = { 
/**
 * Whether every leaf, node, checkpoint and signature checked.
 */
ok: boolean, 
/**
 * Entries checked (on a pass).
 */
entries: number, 
/**
 * Stored subtree hashes checked (on a pass).
 */
nodes: number, 
/**
 * Checkpoints checked (on a pass).
 */
checkpoints: number, 
/**
 * Personal signatures inside entries checked (on a pass).
 */
signatures: number, 
/**
 * Device keys the log has had (on a pass): 1 + rotations.
 */
device_keys: number, 
/**
 * The first bad leaf index, when the fault is tied to one.
 */
first_bad_index: number | null, 
/**
 * Where verification failed (`entry 17`, `checkpoint of size 40` …).
 */
at: string | null, 
/**
 * What is wrong there.
 */
message: string | null, };

export type ExportReportDto = { 
/**
 * The file written.
 */
path: string, 
/**
 * Data rows (without the header).
 */
rows: number, };

export type EvidenceHitDto = { 
/**
 * Stable chunk id (`source:file#path`).
 */
chunk_id: string, 
/**
 * Content hash of the chunk.
 */
sha256: string, 
/**
 * Corpus source.
 */
source: string, 
/**
 * File it came from.
 */
file: string, 
/**
 * Heading path or entry title.
 */
title: string, 
/**
 * The passage.
 */
text: string, 
/**
 * Character offsets into the source document.
 */
start: number, 
/**
 * End offset (exclusive).
 */
end: number, 
/**
 * BM25 score.
 */
score: number, 
/**
 * Words of the passage that match the case (for highlighting).
 */
matched_terms: Array<string>, };

export type EvidenceDto = { 
/**
 * The case.
 */
case_id: string, 
/**
 * The approved corpus version searched.
 */
version: string | null, 
/**
 * Who approved it.
 */
approved_by: string | null, 
/**
 * Passages, best first.
 */
hits: Array<EvidenceHitDto>, 
/**
 * PII removed from the case text before searching: (kind, count).
 */
redactions: Array<[string, number]>, 
/**
 * The `retrieval` audit entry.
 */
audit_index: number | null, 
/**
 * Why there is no evidence (no approved corpus …), when there is none.
 */
message: string | null, };

export type CorpusVersionDto = { 
/**
 * Version id.
 */
id: string, 
/**
 * When it was made (RFC 3339).
 */
at: string, 
/**
 * Chunks it holds.
 */
chunks: number, 
/**
 * Who approved it.
 */
approved_by: string | null, 
/**
 * When (RFC 3339).
 */
approved_at: string | null, 
/**
 * Whether it is the newest version.
 */
head: boolean, 
/**
 * Chunks per source.
 */
sources: Array<[string, number]>, };

export type IntakeNeighbourDto = { 
/**
 * Its label.
 */
label: string, 
/**
 * Its text.
 */
text: string | null, 
/**
 * Cosine similarity to the case.
 */
similarity: number, };

export type ComparableCaseDto = { 
/**
 * Case id.
 */
case_id: string, 
/**
 * Subject.
 */
subject: string, 
/**
 * Cosine similarity.
 */
similarity: number, 
/**
 * Status it ended in.
 */
status: string, 
/**
 * Latest disposition kind.
 */
disposition: string | null, 
/**
 * Its reason code.
 */
reason_code: string | null, 
/**
 * Its label.
 */
label: string | null, };

export type IntakeDto = { 
/**
 * The case.
 */
case_id: string, 
/**
 * `rule`, `model`, or `none` (not classified).
 */
path: string, 
/**
 * The rule's id (rule path).
 */
rule_id: string | null, 
/**
 * The rules file version (rule path).
 */
rules_version: string | null, 
/**
 * The model id (model path).
 */
model_id: string | null, 
/**
 * Heads that ran, with the encoder version when it ran.
 */
model_version: string | null, 
/**
 * Threshold version applied (model path).
 */
threshold_version: number | null, 
/**
 * Label.
 */
label: string | null, 
/**
 * Band (high, medium, low).
 */
band: string | null, 
/**
 * Escalated to a person.
 */
escalate: boolean, 
/**
 * Calibrated confidence in [0, 1].
 */
confidence: number | null, 
/**
 * Why (the matched rule text), for a rule.
 */
why: string | null, 
/**
 * Nearest labelled examples.
 */
neighbours: Array<IntakeNeighbourDto>, 
/**
 * Comparable prior (decided) cases.
 */
comparable: Array<ComparableCaseDto>, 
/**
 * Why the case is not classified, when it is not.
 */
message: string | null, 
/**
 * The `classification` audit entry.
 */
audit_index: number | null, };

export type ReliabilityBinDto = { 
/**
 * Lower edge.
 */
from: number, 
/**
 * Upper edge.
 */
to: number, 
/**
 * Rows in the bin.
 */
n: number, 
/**
 * Mean confidence.
 */
confidence: number, 
/**
 * Share right.
 */
accuracy: number, };

export type ThresholdProposalDto = { 
/**
 * The model.
 */
model_id: string, 
/**
 * The version in force now.
 */
current_version: number, 
/**
 * Its thresholds: high, medium, reject.
 */
current: [number, number, number], 
/**
 * Target precision, high band.
 */
target_high: number, 
/**
 * Target precision, medium band.
 */
target_medium: number, 
/**
 * Proposed high threshold.
 */
high: number, 
/**
 * Proposed medium threshold.
 */
medium: number, 
/**
 * Out-of-scope threshold (kept).
 */
reject: number, 
/**
 * Labelled rows used.
 */
rows: number, 
/**
 * What they were.
 */
basis: string, 
/**
 * Precision reached in the proposed high band.
 */
precision_high: number | null, 
/**
 * Precision reached in the proposed medium band.
 */
precision_medium: number | null, 
/**
 * Reliability diagram (10 bins).
 */
reliability: Array<ReliabilityBinDto>, 
/**
 * Open cases the model classified.
 */
open: number, 
/**
 * Of which would change band.
 */
band_changes: number, 
/**
 * Would become escalated.
 */
newly_escalated: number, 
/**
 * Would no longer be escalated.
 */
no_longer_escalated: number, 
/**
 * Saved as this version (after a save).
 */
saved_version: number | null, };

export type CorpusSourceDto = { 
/**
 * Source name.
 */
name: string, 
/**
 * Refresh cadence in days.
 */
refresh_days: number | null, 
/**
 * When last added (RFC 3339).
 */
checked_at: string, 
/**
 * Past its cadence.
 */
stale: boolean, 
/**
 * Files in the head version.
 */
files: Array<string>, };

export type CorpusDto = { 
/**
 * Versions, newest first.
 */
versions: Array<CorpusVersionDto>, 
/**
 * Sources by name.
 */
sources: Array<CorpusSourceDto>, };

export type DraftCitationDto = { 
/**
 * The marker number as written in the draft (`[1]`).
 */
marker: number, 
/**
 * The cited chunk.
 */
chunk_id: string, 
/**
 * SHA-256 of the frozen passage text.
 */
passage_sha256: string, 
/**
 * Start of the cited span in the passage (characters).
 */
start: number, 
/**
 * End of the cited span in the passage (characters, exclusive).
 */
end: number, };

export type DraftClaimDto = { 
/**
 * Position in the draft (what `resolve` takes).
 */
index: number, 
/**
 * The claim's text, markers included.
 */
text: string, 
/**
 * `supported`, `unsupported`, `uncited` or `bad_citation`.
 */
status: string, 
/**
 * Support score of the best cited passage, when one was scored.
 */
score: number | null, 
/**
 * Whether the claim is flagged and still blocks approval.
 */
unresolved: boolean, };

export type DraftPassageDto = { 
/**
 * SHA-256 of the text.
 */
sha256: string, 
/**
 * The chunk id.
 */
chunk_id: string, 
/**
 * Corpus source.
 */
source: string, 
/**
 * Corpus version.
 */
version: string, 
/**
 * Title.
 */
title: string, 
/**
 * Text.
 */
text: string, };

export type DraftDto = { 
/**
 * The case.
 */
case_id: string, 
/**
 * Draft sequence number.
 */
seq: number, 
/**
 * The `draft` audit entry.
 */
audit_index: number, 
/**
 * The draft's own band (low without grounding or with mostly flagged claims).
 */
band: string, 
/**
 * Whether any evidence grounds it.
 */
grounded: boolean, 
/**
 * Drafter model id and version.
 */
model: string, 
/**
 * Which routed model wrote it and why any model before it was skipped ('' for old drafts).
 */
route: string, 
/**
 * Prompt id and the first 16 hex digits of its fingerprint.
 */
prompt: string, 
/**
 * Corpus version it was drafted from.
 */
corpus_version: string, 
/**
 * The claims in order (their texts joined by spaces make the draft).
 */
claims: Array<DraftClaimDto>, 
/**
 * Citation markers and their spans.
 */
citations: Array<DraftCitationDto>, 
/**
 * The cited passages.
 */
passages: Array<DraftPassageDto>, 
/**
 * The text after claim edits and removals.
 */
effective_text: string, };

export type DraftChunkDto = { 
/**
 * The text that arrived.
 */
text: string, };

export type ActionDto = { 
/**
 * Action sequence number.
 */
seq: number, 
/**
 * The case.
 */
case_id: string, 
/**
 * The disposition that queued it.
 */
disposition_seq: number, 
/**
 * `post_reply`.
 */
kind: string, 
/**
 * `queued`, `sent`, `failed`, `cancelled`, `compensating` or `compensated`.
 */
state: string, 
/**
 * HTTP attempts so far.
 */
attempts: number, 
/**
 * The last HTTP status, if an answer came.
 */
last_status: number | null, 
/**
 * The last failure, for people.
 */
last_error: string | null, 
/**
 * A request went out whose outcome is not recorded yet.
 */
in_flight: boolean, 
/**
 * The first 16 hex digits of the idempotency key.
 */
key_prefix: string, 
/**
 * When its state last changed (RFC 3339).
 */
updated_at: string, };
