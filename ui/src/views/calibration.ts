// The calibration workbench (key W, team lead): pick a target precision per band on the
// workspace's labelled cases, see the reliability diagram and what the thresholds would do to
// the open queue, and save them as a new threshold version (an audited threshold_change).
// The diagram is SVG built with createElementNS; all text goes in as text nodes.
import { h, replace } from "../dom";
import type { Backend, ThresholdProposalDto } from "../ipc";
import { percent, reliabilityBars } from "../intake";
import { modal } from "./dialogs";

const SVG = "http://www.w3.org/2000/svg";
const SIZE = 200;
/** Where both axes are labelled (confidence and accuracy). */
const TICKS = [0, 0.25, 0.5, 0.75, 1];

function svg<K extends keyof SVGElementTagNameMap>(tag: K, attrs: Record<string, string | number>, text?: string): SVGElementTagNameMap[K] {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  if (text !== undefined) el.textContent = text;
  return el;
}

/** The reliability diagram: accuracy per confidence bin against the diagonal. */
export function reliabilityDiagram(p: ThresholdProposalDto): SVGSVGElement {
  const pad = 48;
  const root = svg("svg", { viewBox: `0 0 ${SIZE + pad + 8} ${SIZE + pad + 8}`, width: SIZE + pad + 8, height: SIZE + pad + 8, role: "img", "data-testid": "reliability" });
  root.appendChild(svg("title", {}, `Reliability of ${p.rows} labelled cases`));
  const g = svg("g", { transform: `translate(${pad},4)` });
  g.appendChild(svg("rect", { x: 0, y: 0, width: SIZE, height: SIZE, class: "rel-frame" }));
  for (const b of reliabilityBars(p.reliability, SIZE)) {
    const bar = svg("rect", { x: b.x + 1, y: b.y, width: Math.max(b.width - 2, 1), height: b.height, class: "rel-bar" });
    bar.appendChild(svg("title", {}, `${b.n} cases, ${percent(b.accuracy)} right`));
    g.appendChild(bar);
  }
  g.appendChild(svg("line", { x1: 0, y1: SIZE, x2: SIZE, y2: 0, class: "rel-diagonal" }));
  for (const [t, cls] of [
    [p.high, "rel-high"],
    [p.medium, "rel-medium"],
  ] as const) {
    g.appendChild(svg("line", { x1: t * SIZE, y1: 0, x2: t * SIZE, y2: SIZE, class: `rel-threshold ${cls}` }));
  }
  for (const t of TICKS) {
    const at = t * SIZE;
    g.appendChild(svg("line", { x1: at, y1: SIZE, x2: at, y2: SIZE + 3, class: "rel-tick" }));
    g.appendChild(svg("text", { x: at, y: SIZE + 12, "text-anchor": "middle", class: "rel-tick-label", "data-tick": `x${t}` }, `${Math.round(t * 100)}%`));
    g.appendChild(svg("line", { x1: -3, y1: SIZE - at, x2: 0, y2: SIZE - at, class: "rel-tick" }));
    g.appendChild(svg("text", { x: -5, y: SIZE - at + 3, "text-anchor": "end", class: "rel-tick-label", "data-tick": `y${t}` }, `${Math.round(t * 100)}%`));
  }
  g.appendChild(svg("text", { x: SIZE / 2, y: SIZE + 26, "text-anchor": "middle", class: "rel-axis" }, "confidence"));
  g.appendChild(svg("text", { x: -SIZE / 2, y: -34, transform: "rotate(-90)", "text-anchor": "middle", class: "rel-axis" }, "accuracy"));
  root.appendChild(g);
  return root;
}

function summary(p: ThresholdProposalDto): HTMLElement {
  const [h0, m0, r0] = p.current;
  return h(
    "div",
    { class: "calibration-summary", "data-testid": "calibration-summary" },
    h("p", {}, `On ${p.basis}: ${p.rows} rows.`),
    h(
      "table",
      { class: "corpus-table" },
      h("tr", {}, h("th", {}, ""), h("th", {}, "high from"), h("th", {}, "medium from"), h("th", {}, "escalate below")),
      h("tr", {}, h("td", {}, `in force (v${p.current_version})`), h("td", {}, percent(h0)), h("td", {}, percent(m0)), h("td", {}, percent(r0))),
      h("tr", {}, h("td", {}, "proposed"), h("td", {}, percent(p.high)), h("td", {}, percent(p.medium)), h("td", {}, percent(p.reject))),
    ),
    h("p", {}, `Precision on the labelled rows: high ${percent(p.precision_high)}, medium and above ${percent(p.precision_medium)}.`),
    h(
      "p",
      { "data-testid": "calibration-replay" },
      `What if: ${p.band_changes} of ${p.open} open cases change band, ${p.newly_escalated} newly escalated, ${p.no_longer_escalated} no longer escalated.`,
    ),
  );
}

/** Opens the workbench. */
export async function calibrationDialog(backend: Backend): Promise<null> {
  return modal<null>(
    "Calibration workbench",
    (done) => {
      const high = h("input", { type: "text", value: "0.95", "aria-label": "Target precision, high band", "data-testid": "target-high" });
      const medium = h("input", { type: "text", value: "0.85", "aria-label": "Target precision, medium band", "data-testid": "target-medium" });
      const set = h("select", { "aria-label": "Labelled set", "data-testid": "calibration-set" }, h("option", { value: "labelled" }, "all labelled cases"), h("option", { value: "decided" }, "decided cases"));
      const body = h("div", { class: "calibration-body" });
      const status = h("p", { class: "muted", "aria-live": "polite", "data-testid": "calibration-status" });
      const targets = (): [number, number] | null => {
        const th = Number(high.value);
        const tm = Number(medium.value);
        if (!(th >= 0 && th <= 1 && tm >= 0 && tm <= 1)) {
          status.textContent = "Target precisions are numbers between 0 and 1 (e.g. 0.95).";
          return null;
        }
        return [th, tm];
      };
      const run = (save: boolean) => {
        const t = targets();
        if (!t) return;
        status.textContent = save ? "Saving…" : "Computing…";
        backend.intakeThresholds(t[0], t[1], set.value, save).then(
          (p) => {
            replace(body, reliabilityDiagram(p), summary(p));
            status.textContent = p.saved_version !== null ? `Saved as threshold version ${p.saved_version} (in the audit log as threshold_change).` : "Preview: nothing saved yet.";
          },
          (e: unknown) => {
            status.textContent = e instanceof Error ? e.message : String(e);
          },
        );
      };
      const form = h(
        "div",
        { class: "calibration-form" },
        h("label", {}, "High band precision ", high),
        h("label", {}, " Medium band precision ", medium),
        h("label", {}, " on ", set),
        h("button", { type: "button", "data-testid": "calibration-preview", onclick: () => run(false) }, "Preview"),
      );
      run(false);
      return [
        form,
        body,
        status,
        h(
          "div",
          { class: "dialog-actions" },
          h("button", { type: "button", "data-testid": "calibration-save", onclick: () => run(true) }, "Save as new version"),
          h("button", { type: "button", class: "ghost", onclick: () => done(null) }, "Close"),
        ),
      ];
    },
    "calibration-dialog",
  );
}
