// Wording of times, counts and decisions shown to reviewers.
import { describe, expect, it } from "vitest";
import { decidedText, type DecisionKind } from "./format";

describe("decidedText", () => {
  it("puts every disposition kind in the past tense", () => {
    const kinds: DecisionKind[] = ["approve", "edit", "reject", "escalate"];
    expect(kinds.map(decidedText)).toEqual(["approved", "approved with edits", "rejected", "escalated"]);
  });
});
