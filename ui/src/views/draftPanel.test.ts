// The draft panel: markers become buttons that show the frozen passage with its cited span,
// flagged claims carry their reason and an accept action, and text stays text.
// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import type { DraftDto } from "../ipc";
import { citedChunks, claimParts, draftPanel, flagReason, spanNodes, streamingDraft } from "./draftPanel";

const draft: DraftDto = {
  case_id: "C1",
  seq: 3,
  audit_index: 42,
  band: "medium",
  grounded: true,
  model: "offline-extractive 1",
  route: "offline ran",
  prompt: "draft_reply.v1 0123456789abcdef",
  corpus_version: "fedcba9876543210",
  claims: [
    { index: 0, text: "Refunds: a refund is paid within 5 days [1].", status: "supported", score: 0.93, unresolved: false },
    { index: 1, text: "<img src=x onerror=alert(1)> we pay twice [2].", status: "unsupported", score: 0.2, unresolved: true },
  ],
  citations: [
    { marker: 1, chunk_id: "p:f.md#refunds/p1", passage_sha256: "aa".repeat(32), start: 2, end: 8 },
    { marker: 2, chunk_id: "p:f.md#refunds/p2", passage_sha256: "bb".repeat(32), start: 0, end: 3 },
  ],
  passages: [
    { sha256: "aa".repeat(32), chunk_id: "p:f.md#refunds/p1", source: "policy", version: "fedcba9876543210", title: "Refunds", text: "A refund is issued within 5 days." },
    { sha256: "bb".repeat(32), chunk_id: "p:f.md#refunds/p2", source: "policy", version: "fedcba9876543210", title: "Returns", text: "Returns are free." },
  ],
  effective_text: "",
};

describe("claimParts", () => {
  it("splits at markers and joins back", () => {
    const parts = claimParts("a [1] b [12].");
    expect(parts).toEqual([{ text: "a " }, { marker: 1 }, { text: " b " }, { marker: 12 }, { text: "." }]);
    expect(claimParts("no markers")).toEqual([{ text: "no markers" }]);
  });
});

describe("spanNodes", () => {
  it("marks the cited characters, counting characters not UTF-16 units", () => {
    const p = document.createElement("p");
    p.append(...spanNodes("😀 refund now", 2, 8));
    expect(p.textContent).toBe("😀 refund now");
    expect(p.querySelector("mark")?.textContent).toBe("refund");
    const q = document.createElement("p");
    q.append(...spanNodes("short", 3, 99));
    expect(q.querySelector("mark")?.textContent).toBe("rt");
  });
});

describe("draftPanel", () => {
  it("renders claims as text, markers as buttons, and shows the frozen passage on click", () => {
    const asked: string[] = [];
    const el = draftPanel(draft, { resolve: (c, action) => asked.push(`${action} ${c.index}`) });
    expect(el.querySelectorAll("img").length).toBe(0);
    expect(el.textContent).toContain("<img src=x onerror=alert(1)>");
    const cites = el.querySelectorAll<HTMLButtonElement>("[data-testid=cite]");
    expect(cites.length).toBe(2);
    const viewer = el.querySelector<HTMLElement>("[data-testid=cite-view]")!;
    expect(viewer.hidden).toBe(true);
    cites[0].click();
    expect(viewer.hidden).toBe(false);
    expect(viewer.querySelector("mark")?.textContent).toBe("refund");
    expect(viewer.textContent).toContain("Refunds");
    expect(el.querySelectorAll("[data-testid=claim-flagged]").length).toBe(1);
    el.querySelector<HTMLButtonElement>("[data-testid=accept-claim]")!.click();
    el.querySelector<HTMLButtonElement>("[data-testid=edit-claim]")!.click();
    el.querySelector<HTMLButtonElement>("[data-testid=remove-claim]")!.click();
    expect(asked).toEqual(["accept 1", "edit 1", "remove 1"]);
    expect(el.textContent).toContain("1 flagged claim block approval");
  });

  it("says when the draft has no grounding and names unknown markers", () => {
    const bare = { ...draft, grounded: false, band: "low", claims: [{ index: 0, text: "Nothing [7].", status: "bad_citation", score: null, unresolved: true }] };
    const el = draftPanel(bare, { resolve: () => undefined });
    expect(el.textContent).toContain("no grounding");
    el.querySelector<HTMLButtonElement>("[data-testid=cite]")!.click();
    expect(el.querySelector("[data-testid=cite-view]")!.textContent).toContain("[7] points at no stored passage");
    expect(flagReason("uncited")).toBe("cites no passage");
    expect(citedChunks(draft)).toEqual(new Set(["p:f.md#refunds/p1", "p:f.md#refunds/p2"]));
  });
});

describe("streamingDraft", () => {
  it("shows streamed text as text, cancels, and says nothing was stored", () => {
    let cancels = 0;
    const live = streamingDraft(() => cancels++);
    live.push("Parking is <b>free</b> ");
    live.push("[1].");
    const text = live.el.querySelector("[data-testid=draft-stream-text]")!;
    expect(text.textContent).toBe("Parking is <b>free</b> [1].");
    expect(text.querySelector("b")).toBeNull();
    expect(Number(live.el.dataset.firstChunkAt)).toBeGreaterThan(0);
    live.el.querySelector<HTMLButtonElement>("[data-testid=cancel-draft]")!.click();
    expect(cancels).toBe(1);
    live.cancelled();
    expect(live.el.querySelector("[data-testid=draft-stream-status]")!.textContent).toContain("no draft was stored");
    expect(live.el.querySelector("[data-testid=cancel-draft]")).toBeNull();
  });
});

describe("draftPanel route", () => {
  it("says when the router fell back, and is quiet otherwise", () => {
    expect(draftPanel(draft, { resolve: () => {} }).querySelector("[data-testid=draft-route]")).toBeNull();
    const fell = { ...draft, route: "offline ran; fast skipped: cannot reach http://127.0.0.1:9/v1/chat/completions" };
    const el = draftPanel(fell, { resolve: () => {} }).querySelector("[data-testid=draft-route]");
    expect(el?.textContent).toContain("fast skipped: cannot reach");
  });
});
