// The corpus screen's tables: approval state, staleness, and the approve action's offer.
// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import type { CorpusDto } from "../ipc";
import { corpusTables } from "./corpusView";

const data: CorpusDto = {
  versions: [
    { id: "b".repeat(64), at: "2026-11-26T10:00:00Z", chunks: 12, approved_by: null, approved_at: null, head: true, sources: [["policy", 12]] },
    { id: "a".repeat(64), at: "2026-11-25T10:00:00Z", chunks: 10, approved_by: "Dana <b>Expert</b>", approved_at: "2026-11-25T11:00:00Z", head: false, sources: [["policy", 10]] },
  ],
  sources: [{ name: "policy", refresh_days: 7, checked_at: "2026-11-01T00:00:00Z", stale: true, files: ["p.md"] }],
};

describe("corpusTables", () => {
  it("shows approval, offers approval only for unapproved versions and flags stale sources", () => {
    const approved: string[] = [];
    const root = document.createElement("div");
    root.append(...corpusTables(data, (id) => approved.push(id)));
    const rows = root.querySelectorAll("[data-testid=corpus-version]");
    expect(rows.length).toBe(2);
    expect(rows[0].textContent).toContain("● bbbbbbbbbbbb");
    expect(rows[1].textContent).toContain("approved by Dana <b>Expert</b>");
    expect(root.querySelector("b")).toBeNull();
    const buttons = root.querySelectorAll<HTMLButtonElement>("[data-testid=corpus-approve]");
    expect(buttons.length).toBe(1);
    buttons[0].click();
    expect(approved).toEqual(["b".repeat(64)]);
    expect(root.querySelector(".corpus-source.stale")?.textContent).toContain("stale: re-add it");
  });

  it("keeps ids, dates, source names and approvers on one line each", () => {
    const root = document.createElement("div");
    root.append(...corpusTables(data, null));
    const version = root.querySelector("[data-testid=corpus-version]")!.children;
    for (const i of [0, 1, 4]) expect(version[i].classList.contains("nowrap")).toBe(true);
    const source = root.querySelector(".corpus-source")!.children;
    for (const i of [0, 2]) expect(source[i].classList.contains("nowrap")).toBe(true);
  });

  it("says how to fill an empty corpus", () => {
    const [el] = corpusTables({ versions: [], sources: [] }, null);
    expect(el.textContent).toContain("signoff corpus add");
  });
});
