// Intake wording: the chip, path, outcome and percentage texts, and the reliability bars.
import { describe, expect, it } from "vitest";
import type { IntakeDto } from "./ipc";
import { chipText, outcomeText, pathText, percent, reliabilityBars } from "./intake";

function dto(over: Partial<IntakeDto>): IntakeDto {
  return {
    case_id: "C-1",
    path: "model",
    rule_id: null,
    rules_version: null,
    model_id: "intake-0123456789abcdef",
    model_version: "minilm+lexical, encoder 53aa5117",
    threshold_version: 2,
    label: "card_arrival",
    band: "medium",
    escalate: false,
    confidence: 0.8734,
    why: null,
    neighbours: [],
    comparable: [],
    message: null,
    audit_index: 7,
    ...over,
  };
}

describe("intake wording", () => {
  it("rounds confidence to one decimal and marks a missing one", () => {
    expect(percent(0.8734)).toBe("87.3%");
    expect(percent(1)).toBe("100.0%");
    expect(percent(null)).toBe("—");
  });

  it("marks escalation on the chip", () => {
    expect(chipText(dto({}))).toBe("medium");
    expect(chipText(dto({ band: "low", escalate: true }))).toBe("low · escalate");
    expect(chipText(dto({ band: null, path: "none" }))).toBe("not classified");
  });

  it("names the path: rule id with its version, or model with versions", () => {
    expect(pathText(dto({}))).toBe("model intake-0123456789abcdef (minilm+lexical, encoder 53aa5117, thresholds v2)");
    expect(pathText(dto({ path: "rule", rule_id: "legal-threat", rules_version: "57ea6d3e4f9daf7f16c9" }))).toBe(
      "rule legal-threat (rules 57ea6d3e4f9d)",
    );
  });

  it("says how a comparable case ended", () => {
    expect(outcomeText("rejected", "reject", "wrong_label")).toBe("reject · wrong label");
    expect(outcomeText("approved", null, null)).toBe("approved");
  });
});

describe("reliability bars", () => {
  it("spans each filled bin and is as tall as its accuracy", () => {
    const bars = reliabilityBars(
      [
        { from: 0, to: 0.1, n: 0, accuracy: 0 },
        { from: 0.8, to: 0.9, n: 4, accuracy: 0.75 },
      ],
      200,
    );
    expect(bars).toHaveLength(1);
    expect(bars[0].x).toBeCloseTo(160);
    expect(bars[0].width).toBeCloseTo(20);
    expect(bars[0].height).toBeCloseTo(150);
    expect(bars[0].y).toBeCloseTo(50);
  });
});
