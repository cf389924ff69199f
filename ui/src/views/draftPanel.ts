// The grounded draft of the case view (and, while a model writes it, its streamed text with a
// cancel button): each claim with its citation markers as buttons that open the exact frozen passage (cited span marked), flagged claims
// highlighted with why, and for each flagged claim: accept with a reason, edit or remove
// (approval is refused while one is unresolved). Draft and passage text are data: text nodes only.
import { h } from "../dom";
import type { DraftCitationDto, DraftClaimDto, DraftDto, DraftPassageDto } from "../ipc";

/** A piece of a claim: text, or a citation marker. */
export type ClaimPart = { text: string } | { marker: number };

/** Splits a claim's text at its `[n]` markers; joining the parts gives the text back. */
export function claimParts(text: string): ClaimPart[] {
  const out: ClaimPart[] = [];
  let at = 0;
  for (const m of text.matchAll(/\[(\d{1,3})\]/g)) {
    const i = m.index ?? 0;
    if (i > at) out.push({ text: text.slice(at, i) });
    out.push({ marker: Number(m[1]) });
    at = i + m[0].length;
  }
  if (at < text.length) out.push({ text: text.slice(at) });
  return out;
}

/** Why a claim is flagged, for people. */
export function flagReason(status: string): string | null {
  switch (status) {
    case "supported":
      return null;
    case "uncited":
      return "cites no passage";
    case "unsupported":
      return "the cited passage does not support it";
    case "bad_citation":
      return "cites a passage or span that does not exist";
    default:
      return status;
  }
}

/** The frozen passage a marker points at, with its cited span. */
export function citedPassage(d: DraftDto, marker: number): { citation: DraftCitationDto; passage: DraftPassageDto } | null {
  const citation = d.citations.find((c) => c.marker === marker);
  const passage = citation && d.passages.find((p) => p.chunk_id === citation.chunk_id);
  return citation && passage ? { citation, passage } : null;
}

/** The passage text with the cited character span in a <mark> (characters, not UTF-16 units). */
export function spanNodes(text: string, start: number, end: number): Node[] {
  const chars = Array.from(text);
  const s = Math.max(0, Math.min(start, chars.length));
  const e = Math.max(s, Math.min(end, chars.length));
  const parts: Node[] = [];
  if (s > 0) parts.push(document.createTextNode(chars.slice(0, s).join("")));
  if (e > s) parts.push(h("mark", {}, chars.slice(s, e).join("")));
  if (e < chars.length) parts.push(document.createTextNode(chars.slice(e).join("")));
  return parts;
}

/** How a flagged claim is resolved (each is an audit entry). */
export type ClaimAction = "accept" | "edit" | "remove";

/** What the panel asks its host to do. */
export interface DraftActions {
  /** Resolve a flagged claim (the host asks for a reason or new text, then re-renders). */
  resolve(claim: DraftClaimDto, action: ClaimAction): void;
}

function claimView(d: DraftDto, c: DraftClaimDto, show: (marker: number) => void, actions: DraftActions): HTMLElement {
  const why = flagReason(c.status);
  const parts = claimParts(c.text).map((p) =>
    "marker" in p
      ? h("button", { type: "button", class: "cite", "data-testid": "cite", title: citedPassage(d, p.marker)?.passage.title ?? "unknown passage", onclick: () => show(p.marker) }, `[${p.marker}]`)
      : document.createTextNode(p.text),
  );
  const cls = why ? (c.unresolved ? "claim flagged" : "claim flagged resolved") : "claim";
  return h(
    "span",
    { class: cls, "data-testid": why ? "claim-flagged" : "claim" },
    ...parts,
    why
      ? h(
          "span",
          { class: "claim-flag" },
          c.unresolved ? ` ⚠ ${why} ` : ` ✓ resolved (${why}) `,
          ...(c.unresolved
            ? [
                h("button", { type: "button", class: "link", "data-testid": "accept-claim", onclick: () => actions.resolve(c, "accept") }, "accept with a reason"),
                " · ",
                h("button", { type: "button", class: "link", "data-testid": "edit-claim", onclick: () => actions.resolve(c, "edit") }, "edit"),
                " · ",
                h("button", { type: "button", class: "link", "data-testid": "remove-claim", onclick: () => actions.resolve(c, "remove") }, "remove"),
              ]
            : []),
        )
      : "",
    " ",
  );
}

/** Renders a draft: claims with clickable citations, flags, provenance and the passage viewer. */
export function draftPanel(d: DraftDto, actions: DraftActions): HTMLElement {
  const viewer = h("div", { class: "cite-view", "data-testid": "cite-view", hidden: true });
  const show = (marker: number) => {
    const found = citedPassage(d, marker);
    viewer.hidden = false;
    viewer.replaceChildren(
      found
        ? h(
            "div",
            {},
            h("div", { class: "cite-head" }, `[${marker}] ${found.passage.title}`),
            h("p", { class: "cite-text" }, ...spanNodes(found.passage.text, found.citation.start, found.citation.end)),
            h("div", { class: "evidence-meta" }, `${found.passage.source} · ${found.passage.chunk_id} · version ${found.passage.version.slice(0, 12)} · sha256 ${found.passage.sha256.slice(0, 12)} (frozen with the draft)`),
          )
        : h("p", { class: "dialog-error" }, `Marker [${marker}] points at no stored passage.`),
    );
  };
  const open = d.claims.filter((c) => c.unresolved).length;
  return h(
    "div",
    { class: "grounded-draft", "data-testid": "grounded-draft" },
    d.grounded ? "" : h("p", { class: "draft-warning" }, "No approved evidence matches this case: the draft has no grounding and its band is low."),
    h("p", { class: "draft draft-claims" }, ...d.claims.map((c) => claimView(d, c, show, actions))),
    viewer,
    h(
      "div",
      { class: "evidence-summary muted" },
      `draft band ${d.band} · ${d.model} · prompt ${d.prompt} · corpus ${d.corpus_version.slice(0, 12)} · draft entry #${d.audit_index}`,
      open ? ` · ${open} flagged claim${open === 1 ? "" : "s"} block approval` : "",
    ),
    d.route.includes(" skipped: ") ? h("p", { class: "draft-warning", "data-testid": "draft-route" }, `Fallback: ${d.route}`) : "",
  );
}

/** The chunk ids a draft cites (for the evidence panel's "cited by the draft" marks). */
export function citedChunks(d: DraftDto): Set<string> {
  return new Set(d.citations.map((c) => c.chunk_id));
}

/** A draft being written: the model's text as it arrives (unchecked, so marked as such) and a cancel button. */
export function streamingDraft(onCancel: () => void): { el: HTMLElement; push(text: string): void; cancelled(): void } {
  const text = document.createTextNode("");
  const status = h("span", { class: "muted", "data-testid": "draft-stream-status" }, "Drafting… the text below is not checked yet.");
  const cancel = h("button", { type: "button", class: "link", "data-testid": "cancel-draft", onclick: () => onCancel() }, "cancel");
  const el = h(
    "div",
    { class: "grounded-draft drafting", "data-testid": "draft-stream" },
    h("p", {}, status, " ", cancel),
    h("p", { class: "draft", "data-testid": "draft-stream-text" }, text),
  );
  return {
    el,
    push: (t: string) => {
      // When the first words were shown (epoch ms), for measuring stream latency end to end.
      if (!el.dataset.firstChunkAt) el.dataset.firstChunkAt = String(Date.now());
      text.appendData(t);
    },
    cancelled: () => {
      status.textContent = "Drafting cancelled: no draft was stored.";
      cancel.remove();
    },
  };
}
