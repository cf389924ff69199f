// Intake wording, pure: how a classification's path, confidence and band read in the case view.
import type { IntakeDto } from "./ipc";

/** Confidence as a percentage with one decimal ("97.3%"), or "—". */
export function percent(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return `${(Math.round(x * 1000) / 10).toFixed(1)}%`;
}

/** The chip text: band, and "· escalate" when a person must decide. */
export function chipText(d: IntakeDto): string {
  if (!d.band) return "not classified";
  return d.escalate ? `${d.band} · escalate` : d.band;
}

/** Which path decided, in words: the rule id with its file version, or the model with its
 *  version and threshold version. */
export function pathText(d: IntakeDto): string {
  if (d.path === "rule") return `rule ${d.rule_id ?? "?"} (rules ${(d.rules_version ?? "").slice(0, 12)})`;
  if (d.path === "model") {
    const t = d.threshold_version === null ? "" : `, thresholds v${d.threshold_version}`;
    return `model ${d.model_id ?? "?"} (${d.model_version ?? "?"}${t})`;
  }
  return "not classified";
}

/** A label as people read it: underscores to spaces. */
export function humanise(label: string): string {
  return label.replace(/_/g, " ");
}

/** How a comparable case ended, in words ("approved", "rejected · wrong label"). */
export function outcomeText(status: string, disposition: string | null, reason: string | null): string {
  const what = disposition ?? status;
  return reason ? `${what} · ${humanise(reason)}` : what;
}

/** One bar of a reliability diagram in SVG user units (origin top-left). */
export interface Bar {
  x: number;
  y: number;
  width: number;
  height: number;
  /** Accuracy of the bin, for the tooltip. */
  accuracy: number;
  /** Rows in the bin. */
  n: number;
}

/** Bars for the filled bins of a reliability diagram drawn in a `size` × `size` plot: bin
 *  `[from, to)` spans x, its accuracy sets the height. Empty bins get no bar. */
export function reliabilityBars(bins: { from: number; to: number; n: number; accuracy: number }[], size: number): Bar[] {
  return bins
    .filter((b) => b.n > 0)
    .map((b) => ({
      x: b.from * size,
      y: size - b.accuracy * size,
      width: (b.to - b.from) * size,
      height: b.accuracy * size,
      accuracy: b.accuracy,
      n: b.n,
    }));
}
