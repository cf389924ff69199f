// Formatting times and counts for reviewers: short, relative where it helps.

/** "in 3 h", "2 d overdue", "in 25 min" relative to `now`. */
export function dueLabel(dueMs: number | null, now: number): { text: string; overdue: boolean } {
  if (dueMs === null) return { text: "no SLA", overdue: false };
  const diff = dueMs - now;
  const abs = Math.abs(diff);
  const minutes = Math.round(abs / 60000);
  let span: string;
  if (minutes < 60) span = `${minutes} min`;
  else if (minutes < 48 * 60) span = `${Math.round(minutes / 60)} h`;
  else span = `${Math.round(minutes / 1440)} d`;
  return diff < 0 ? { text: `${span} overdue`, overdue: true } : { text: `due in ${span}`, overdue: false };
}

/** A local date-time like "25 Nov 14:05". */
export function shortTime(ms: number): string {
  const d = new Date(ms);
  const month = d.toLocaleString("en-GB", { month: "short" });
  const hh = String(d.getHours()).padStart(2, "0");
  const mm = String(d.getMinutes()).padStart(2, "0");
  return `${d.getDate()} ${month} ${hh}:${mm}`;
}

/** 12,345 with thousands separators. */
export function count(n: number): string {
  return n.toLocaleString("en-US");
}

/** A byte size like "1.2 MB". */
export function bytes(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}

/** Snake-case labels for people: "card_arrival" → "Card arrival". */
export function humanLabel(label: string): string {
  if (label === "oos") return "Out of scope";
  const s = label.replace(/_/g, " ");
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/** The kinds of disposition a reviewer records. */
export type DecisionKind = "approve" | "edit" | "reject" | "escalate";

/** What a disposition did, for the toast: "approved", "approved with edits", "rejected", "escalated". */
export function decidedText(kind: DecisionKind): string {
  return { approve: "approved", edit: "approved with edits", reject: "rejected", escalate: "escalated" }[kind];
}
