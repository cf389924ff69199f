// The evidence panel: highlighting is text nodes and <mark> elements, never markup.
// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import type { EvidenceDto } from "../ipc";
import { evidencePanel, highlighted, segments } from "./evidencePanel";

describe("segments", () => {
  it("marks whole words, ignoring case, and joins back to the text", () => {
    const text = "Refunds: a refund is paid; refunded items, REFUND.";
    const s = segments(text, ["refund", "Refunds"]);
    expect(s.map((x) => x.text).join("")).toBe(text);
    expect(s.filter((x) => x.match).map((x) => x.text)).toEqual(["Refunds", "refund", "REFUND"]);
  });

  it("treats terms as words, not patterns", () => {
    const s = segments("a (b) c.*d", ["(b)", ".*"]);
    expect(s.map((x) => x.text).join("")).toBe("a (b) c.*d");
    expect(segments("abc", [])).toEqual([{ text: "abc", match: false }]);
    expect(segments("", ["x"])).toEqual([]);
  });
});

describe("evidencePanel", () => {
  const ev: EvidenceDto = {
    case_id: "C1",
    version: "0123456789abcdef",
    approved_by: "Dana Expert",
    hits: [
      {
        chunk_id: "p:f.md#refunds/p1",
        sha256: "aa",
        source: "p",
        file: "f.md",
        title: "Refunds",
        text: "<img src=x onerror=alert(1)> refund within 30 days",
        start: 0,
        end: 10,
        score: 1.5,
        matched_terms: ["refund", "Refunds"],
      },
    ],
    redactions: [["email", 1]],
    audit_index: 7,
    message: null,
  };

  it("highlights matches with mark elements and keeps hostile text as text", () => {
    const el = evidencePanel(ev, new Set(["p:f.md#refunds/p1"]));
    expect(el.querySelector("img")).toBeNull();
    const marks = [...el.querySelectorAll("mark")].map((m) => m.textContent);
    expect(marks).toEqual(["Refunds", "refund"]);
    expect(el.querySelector(".evidence-text")?.textContent).toBe(ev.hits[0].text);
    expect(el.querySelector("[data-testid=evidence-cited]")?.textContent).toBe("cited by the draft");
    expect(el.textContent).toContain("approved by Dana Expert");
    expect(el.textContent).toContain("1 email");
    expect(highlighted("x <b>y</b>", ["y"]).every((n) => n.nodeName === "#text" || n.nodeName === "MARK")).toBe(true);
  });

  it("says why there is no evidence", () => {
    const el = evidencePanel({ ...ev, version: null, hits: [], message: "No approved policy corpus yet" });
    expect(el.textContent).toBe("No approved policy corpus yet");
  });
});
