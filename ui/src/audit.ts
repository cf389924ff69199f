// The audit view's state and the pure rules behind it: the filter form turned into a filter
// (local calendar days, "to" inclusive), leaves read generically (any payload fields), labels
// for entries, and the words for a verification result. No DOM here, so all of it is tested.
import { count, humanLabel } from "./format";
import type { AuditFilterDto, AuditRowDto, Backend, VerifyReportDto } from "./ipc";
import { KeysetList } from "./paged";

/** What the filter bar holds, as typed. */
export interface AuditForm {
  actor: string;
  from: string;
  to: string;
  disposition: string;
  band: string;
  kind: string;
  caseId: string;
}

export const EMPTY_FORM: AuditForm = { actor: "", from: "", to: "", disposition: "", band: "", kind: "", caseId: "" };

export const EMPTY_FILTER: AuditFilterDto = {
  actor: null,
  from_ms: null,
  to_ms: null,
  disposition: null,
  band: null,
  kind: null,
  case_id: null,
};

/** Local midnight of a `YYYY-MM-DD` day, `offset` days later; null when the text is no such day. */
export function dayStart(text: string, offset = 0): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text.trim());
  if (!m) return null;
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const date = new Date(y, mo - 1, d);
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d) return null;
  return new Date(y, mo - 1, d + offset).getTime();
}

/** The filter a form asks for, or what is wrong with it. Days are local; "to" includes its day. */
export function filterFromForm(f: AuditForm): { filter: AuditFilterDto } | { error: string } {
  const text = (s: string) => (s.trim() === "" ? null : s.trim());
  let from_ms: number | null = null;
  let to_ms: number | null = null;
  if (f.from.trim()) {
    from_ms = dayStart(f.from);
    if (from_ms === null) return { error: `"From" must be a day like 2026-11-25, not "${f.from.trim()}".` };
  }
  if (f.to.trim()) {
    to_ms = dayStart(f.to, 1);
    if (to_ms === null) return { error: `"To" must be a day like 2026-11-25, not "${f.to.trim()}".` };
  }
  if (from_ms !== null && to_ms !== null && from_ms >= to_ms) return { error: `"From" is after "To".` };
  return {
    filter: {
      actor: text(f.actor),
      from_ms,
      to_ms,
      disposition: text(f.disposition),
      band: text(f.band),
      kind: text(f.kind),
      case_id: text(f.caseId),
    },
  };
}

/** A leaf read generically: its fields, its payload, and an indented rendering for people. */
export interface LeafView {
  fields: Record<string, unknown> | null;
  payload: Record<string, unknown>;
  pretty: string;
}

/** Parses a canonical leaf; a leaf that is not JSON is shown as it is. */
export function readLeaf(leaf: string): LeafView {
  try {
    const v: unknown = JSON.parse(leaf);
    if (v && typeof v === "object" && !Array.isArray(v)) {
      const fields = v as Record<string, unknown>;
      const p = fields.payload;
      const payload = p && typeof p === "object" && !Array.isArray(p) ? (p as Record<string, unknown>) : {};
      return { fields, payload, pretty: JSON.stringify(v, null, 2) };
    }
  } catch {
    // Not JSON: fall through and show the bytes as they are.
  }
  return { fields: null, payload: {}, pretty: leaf };
}

const DISPOSITION_LABEL: Record<string, string> = {
  approve: "Approved",
  edit: "Approved with edits",
  reject: "Rejected",
  escalate: "Escalated",
  undo: "Undone",
};

/** What an entry records, in words: "Rejected (policy_conflict)", "Import", "Key rotation". */
export function entryLabel(kind: string, disposition: string | null, reason: string | null): string {
  const base = disposition ? (DISPOSITION_LABEL[disposition] ?? humanLabel(disposition)) : humanLabel(kind);
  return reason ? `${base} (${reason})` : base;
}

/** The disposition and reason code a leaf records, if it records them. */
export function leafCodes(kind: string, leaf: string): { disposition: string | null; reason: string | null } {
  const { payload } = readLeaf(leaf);
  const str = (v: unknown) => (typeof v === "string" ? v : null);
  return { disposition: kind === "undo" ? "undo" : str(payload.disposition), reason: str(payload.reason_code) };
}

/** The words for a verification result; a failure names the first bad index when there is one. */
export function verifyOutcome(r: VerifyReportDto): { ok: boolean; text: string } {
  if (r.ok) {
    return {
      ok: true,
      text:
        `✓ Log verified: ${count(r.entries)} entries, ${count(r.checkpoints)} signed checkpoints and ` +
        `${count(r.signatures)} reviewer and key signatures all check` +
        (r.device_keys > 1 ? ` (across ${count(r.device_keys)} device keys).` : "."),
    };
  }
  const where = r.first_bad_index !== null ? `first bad index ${r.first_bad_index}` : (r.at ?? "an unknown place");
  return { ok: false, text: `✗ Verification failed — ${where} (${r.at ?? "?"}): ${r.message ?? "no detail"}` };
}

/** The share of work done, 0…1. */
export function fraction(done: number, total: number): number {
  return total > 0 ? Math.min(1, done / total) : 0;
}

/** A default file name for an export made on `now`: `signoff-audit-2026-11-25.csv`. */
export function exportName(now: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `signoff-audit-${now.getFullYear()}-${p(now.getMonth() + 1)}-${p(now.getDate())}.csv`;
}

/** The audit table's rows: keyset pages of the log, newest first. */
export class AuditModel extends KeysetList<AuditRowDto, AuditFilterDto> {
  constructor(backend: Pick<Backend, "auditPage">, pageSize = 100) {
    super((f, after, limit) => backend.auditPage(f, after, limit), EMPTY_FILTER, pageSize);
  }
}
