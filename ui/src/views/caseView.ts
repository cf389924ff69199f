// The case pane: the customer's text (always as text), the AI draft, metadata and the
// disposition history. Nothing here decides anything; the controller does.
import { h } from "../dom";
import { entryLabel, leafCodes } from "../audit";
import { count, dueLabel, humanLabel, shortTime } from "../format";
import type { CaseAuditDto, CaseDto, DispositionDto } from "../ipc";

const VERB: Record<string, string> = {
  approve: "Approved",
  edit: "Approved with edits",
  reject: "Rejected",
  escalate: "Escalated",
  undo: "Undid the previous disposition",
};

function historyItem(d: DispositionDto): HTMLElement {
  return h(
    "li",
    { class: `history-item kind-${d.kind}` },
    h("div", { class: "history-head" }, h("strong", {}, VERB[d.kind] ?? d.kind), ` by ${d.reviewer_name} (${d.reviewer_id}) · ${shortTime(Date.parse(d.at))}`),
    d.reason_code ? h("div", { class: "history-reason" }, `Reason: ${d.reason_code}`) : null,
    d.rationale ? h("div", { class: "history-rationale" }, d.rationale) : null,
    d.diff ? h("pre", { class: "diff" }, d.diff) : null,
  );
}

/** Renders a whole case. */
export function caseView(c: CaseDto, now: number, onLabel: (label: string) => void): HTMLElement {
  const due = dueLabel(c.sla_due_at ? Date.parse(c.sla_due_at) : null, now);
  const decided = c.status !== "open";
  return h(
    "article",
    { class: "case", "data-testid": "case", "data-seq": String(c.seq) },
    h(
      "header",
      { class: "case-head" },
      h(
        "div",
        { class: "case-meta" },
        h("span", { class: "case-id", "data-testid": "case-id" }, c.id),
        h("span", { class: `status status-${c.status}` }, c.status),
        c.band ? h("span", { class: `band band-${c.band}` }, `${c.band} confidence`) : h("span", { class: "band band-none", title: "Intake has not classified this case yet" }, "not classified"),
        c.label
          ? h("button", { type: "button", class: "label-chip", title: "Show only cases with this label", onclick: () => onLabel(c.label as string) }, humanLabel(c.label))
          : null,
        c.priority > 0 ? h("span", { class: `prio prio-${Math.min(c.priority, 3)}` }, `P${c.priority}`) : null,
        h("span", { class: due.overdue ? "due overdue" : "due" }, due.text),
      ),
      h("h1", { class: "case-subject", "data-testid": "case-subject" }, c.subject),
      h("div", { class: "case-received" }, `Received ${shortTime(Date.parse(c.received_at))}`, ...c.metadata.map(([k, v]) => h("span", { class: "meta-pair" }, ` · ${k}: ${v}`))),
    ),
    h("section", { class: "case-body-section" }, h("h3", {}, "Customer message"), h("div", { class: "case-body", "data-testid": "case-body" }, c.body)),
    h("section", { class: "intake-section" }, h("h3", {}, "Intake"), h("div", { class: "intake-slot", "data-testid": "intake" }, h("p", { class: "muted" }, "Reading the classification…"))),
    h(
      "section",
      { class: "draft-section" },
      h("h3", {}, "AI draft"),
      // The stored draft shows at once; the checked draft with its citations replaces it.
      h(
        "div",
        { class: "draft-slot", "data-testid": "draft-slot" },
        c.draft ? h("div", { class: "draft", "data-testid": "draft" }, c.draft) : h("p", { class: "muted" }, "Drafting from the approved evidence…"),
      ),
    ),
    h("section", { class: "evidence-section" }, h("h3", {}, "Evidence"), h("div", { class: "evidence-slot", "data-testid": "evidence" }, h("p", { class: "muted" }, "Retrieving policy passages…"))),
    c.history.length
      ? h("section", { class: "history-section" }, h("h3", {}, decided ? "Decision" : "History"), h("ol", { class: "history" }, ...c.history.map(historyItem)))
      : null,
    c.history.length
      ? h("section", { class: "actions-section" }, h("h3", {}, "Outbound actions"), h("div", { class: "actions-slot", "data-testid": "actions" }, h("p", { class: "muted" }, "Reading the outbound actions…")))
      : null,
    h("section", { class: "timeline-section" }, h("h3", {}, "Audit trail"), h("div", { class: "timeline-slot", "data-testid": "timeline" }, h("p", { class: "muted" }, "Checking the audit log…"))),
  );
}

/** A case's audit trail, newest first: each entry with its kind, actor, time and proof mark. */
export function timelineView(a: CaseAuditDto, onOpen: (index: number) => void): HTMLElement {
  if (!a.entries.length) return h("p", { class: "muted" }, "No audit entries for this case yet.");
  return h(
    "ol",
    { class: "timeline" },
    ...a.entries.map((e) => {
      const codes = leafCodes(e.kind, e.leaf);
      return h(
        "li",
        { class: `timeline-item kind-${codes.disposition ?? e.kind}`, "data-testid": "timeline-item", "data-index": String(e.index) },
        h(
          "button",
          { type: "button", class: "timeline-entry", title: "Open the entry with its proof", onclick: () => onOpen(e.index) },
          h("span", { class: "timeline-kind" }, entryLabel(e.kind, codes.disposition, codes.reason)),
          h("span", { class: "timeline-meta" }, ` · ${e.actor} · ${shortTime(Date.parse(e.at))} · #${e.index}`),
        ),
        h(
          "span",
          { class: "proof-mark", title: `Inclusion proof (${e.proof_len} hashes) verified against the signed checkpoint of ${count(a.size)} entries` },
          `proof ✓ size ${count(a.size)}`,
        ),
      );
    }),
  );
}

/** The empty case pane. */
export function emptyCaseView(message: string): HTMLElement {
  return h("div", { class: "case-empty", "data-testid": "case-empty" }, message);
}
