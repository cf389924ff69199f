// The calibration workbench: the diagram's axes carry values.
// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import type { ThresholdProposalDto } from "../ipc";
import { reliabilityDiagram } from "./calibration";

const p: ThresholdProposalDto = {
  model_id: "m",
  current_version: 1,
  current: [0.9, 0.7, 0.3],
  target_high: 0.95,
  target_medium: 0.85,
  high: 0.92,
  medium: 0.75,
  reject: 0.3,
  rows: 40,
  basis: "40 labelled cases of the workspace",
  precision_high: 0.96,
  precision_medium: 0.9,
  reliability: [{ from: 0.9, to: 1, n: 30, confidence: 0.95, accuracy: 0.93 }],
  open: 212,
  band_changes: 4,
  newly_escalated: 1,
  no_longer_escalated: 0,
  saved_version: null,
};

describe("reliabilityDiagram", () => {
  it("labels both axes with tick values", () => {
    const svg = reliabilityDiagram(p);
    const ticks = (axis: string) => [...svg.querySelectorAll(`[data-tick^=${axis}]`)].map((t) => t.textContent);
    expect(ticks("x")).toEqual(["0%", "25%", "50%", "75%", "100%"]);
    expect(ticks("y")).toEqual(["0%", "25%", "50%", "75%", "100%"]);
  });
});
