// The evidence panel of the case view: passages retrieved from the approved policy corpus,
// with source and version, the words that matched the case highlighted, and a mark for the
// passages the draft cites. Passage text is data: highlighting splits it into text nodes and
// <mark> elements built with the DOM API, never markup.
import { h } from "../dom";
import type { EvidenceDto, EvidenceHitDto } from "../ipc";

/** A piece of passage text: plain, or a match to highlight. */
export interface Segment {
  text: string;
  match: boolean;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Splits `text` into plain and matching segments: whole words equal (ignoring case) to one of
 * `terms`. Joining the segments' text gives `text` back unchanged.
 */
export function segments(text: string, terms: readonly string[]): Segment[] {
  const words = [...new Set(terms.map((t) => t.trim()).filter((t) => t.length > 0))];
  if (!words.length || !text) return text ? [{ text, match: false }] : [];
  words.sort((a, b) => b.length - a.length);
  const re = new RegExp(`(?<![\\p{L}\\p{N}])(?:${words.map(escapeRegExp).join("|")})(?![\\p{L}\\p{N}])`, "giu");
  const out: Segment[] = [];
  let at = 0;
  for (const m of text.matchAll(re)) {
    const i = m.index ?? 0;
    if (i > at) out.push({ text: text.slice(at, i), match: false });
    out.push({ text: m[0], match: true });
    at = i + m[0].length;
  }
  if (at < text.length) out.push({ text: text.slice(at), match: false });
  return out;
}

/** The nodes of `text` with matches wrapped in <mark>: text nodes only, never HTML. */
export function highlighted(text: string, terms: readonly string[]): Node[] {
  return segments(text, terms).map((s) => (s.match ? h("mark", {}, s.text) : document.createTextNode(s.text)));
}

function hitView(hit: EvidenceHitDto, rank: number, version: string, cited: boolean): HTMLElement {
  return h(
    "li",
    { class: cited ? "evidence-hit cited" : "evidence-hit", "data-testid": "evidence-hit", title: `${hit.chunk_id}\nsha256 ${hit.sha256}\ncharacters ${hit.start}–${hit.end}` },
    h(
      "div",
      { class: "evidence-head" },
      h("span", { class: "evidence-rank" }, `${rank}.`),
      h("span", { class: "evidence-title" }, ...highlighted(hit.title, hit.matched_terms)),
      h("span", { class: cited ? "evidence-cited" : "evidence-cited not-cited", "data-testid": "evidence-cited" }, cited ? "cited by the draft" : "not cited"),
    ),
    h("p", { class: "evidence-text" }, ...highlighted(hit.text, hit.matched_terms)),
    h("div", { class: "evidence-meta" }, `${hit.source} · ${hit.file} · version ${version.slice(0, 12)} · score ${hit.score.toFixed(2)}`),
  );
}

/**
 * Renders retrieved evidence. `cited` holds the chunk ids the draft cites (filled by the
 * drafting layer; empty until a draft exists).
 */
export function evidencePanel(ev: EvidenceDto, cited: ReadonlySet<string> = new Set()): HTMLElement {
  if (!ev.version || !ev.hits.length) {
    return h("p", { class: "muted", "data-testid": "evidence-empty" }, ev.message ?? "No evidence.");
  }
  const version = ev.version;
  const redacted = ev.redactions.map(([k, n]) => `${n} ${k.replace("_", " ")}`).join(", ");
  return h(
    "div",
    { class: "evidence", "data-testid": "evidence-list" },
    h(
      "div",
      { class: "evidence-summary muted" },
      `From corpus version ${version.slice(0, 12)}${ev.approved_by ? `, approved by ${ev.approved_by}` : ""}`,
      ev.audit_index !== null ? ` · retrieval #${ev.audit_index}` : "",
      redacted ? ` · redacted before search: ${redacted}` : "",
    ),
    h("ol", { class: "evidence-hits" }, ...ev.hits.map((hit, i) => hitView(hit, i + 1, version, cited.has(hit.chunk_id)))),
  );
}
