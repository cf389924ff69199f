// The case view's intake panel: the band chip (with the escalation mark), which path decided
// (rule id, or model id and versions), confidence, the reasoning (matched rule text, nearest
// labelled examples) and comparable prior cases with their dispositions. Text nodes only.
import { h } from "../dom";
import type { IntakeDto } from "../ipc";
import { chipText, humanise, outcomeText, pathText, percent } from "../intake";

/** Renders the panel for one case. */
export function intakePanel(d: IntakeDto): HTMLElement {
  const head = h(
    "div",
    { class: "intake-head" },
    h(
      "span",
      {
        class: `band band-${d.band ?? "none"}${d.escalate ? " band-escalate" : ""}`,
        "data-testid": "intake-chip",
        title: d.escalate ? "A person must decide: out of scope, below the lowest threshold, or routed by a rule" : "Calibrated confidence band",
      },
      chipText(d),
    ),
    d.label ? h("span", { class: "intake-label" }, humanise(d.label)) : null,
    d.confidence !== null ? h("span", { class: "intake-confidence" }, `confidence ${percent(d.confidence)}`) : null,
  );
  const parts: HTMLElement[] = [head];
  if (d.message) parts.push(h("p", { class: "muted", "data-testid": "intake-message" }, d.message));
  if (d.path !== "none") {
    parts.push(h("div", { class: "intake-path", "data-testid": "intake-path" }, `Decided by ${pathText(d)}`, d.audit_index !== null ? ` · audit #${d.audit_index}` : ""));
  }
  if (d.why) parts.push(h("div", { class: "intake-why" }, `Matched: ${d.why}`));
  if (d.neighbours.length) {
    parts.push(
      h("h4", {}, "Nearest labelled examples"),
      h(
        "ol",
        { class: "intake-neighbours", "data-testid": "intake-neighbours" },
        ...d.neighbours.map((n) =>
          h("li", {}, h("span", { class: "label-chip" }, humanise(n.label)), " ", n.text ?? "", h("span", { class: "muted" }, ` · similarity ${n.similarity.toFixed(2)}`)),
        ),
      ),
    );
  }
  parts.push(h("h4", {}, "Comparable prior cases"));
  if (d.comparable.length) {
    parts.push(
      h(
        "ol",
        { class: "intake-comparable", "data-testid": "intake-comparable" },
        ...d.comparable.map((c) =>
          h(
            "li",
            {},
            h("span", { class: "case-id" }, c.case_id),
            " ",
            c.subject,
            h("span", { class: `status status-${c.status}` }, outcomeText(c.status, c.disposition, c.reason_code)),
            h("span", { class: "muted" }, ` · similarity ${c.similarity.toFixed(2)}`),
          ),
        ),
      ),
    );
  } else {
    parts.push(h("p", { class: "muted", "data-testid": "intake-comparable" }, "No decided case is similar yet (or this case has no stored embedding)."));
  }
  return h("div", { class: "intake-panel" }, ...parts);
}
