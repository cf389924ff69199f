// The actions panel: states in words with attempts and status, a retry button only on failed
// actions (calling back with the action's number), and error text kept as text.
// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import type { ActionDto } from "../ipc";
import { actionSummary, actionsPanel } from "./actionsPanel";

function action(over: Partial<ActionDto>): ActionDto {
  return {
    seq: 1,
    case_id: "C1",
    disposition_seq: 4,
    kind: "post_reply",
    state: "sent",
    attempts: 1,
    last_status: 201,
    last_error: null,
    in_flight: false,
    key_prefix: "0123456789abcdef",
    updated_at: "2026-11-25T10:00:00Z",
    ...over,
  };
}

describe("actionsPanel", () => {
  it("says what happened in words", () => {
    expect(actionSummary(action({}))).toBe("Sent · 1 attempt · HTTP 201");
    expect(actionSummary(action({ state: "queued", attempts: 0, last_status: null }))).toBe("Queued");
    expect(actionSummary(action({ state: "failed", attempts: 3, last_status: 503, last_error: "http://u answered 503" }))).toBe(
      "Failed · 3 attempts · HTTP 503 · http://u answered 503",
    );
    expect(actionSummary(action({ state: "queued", in_flight: true, attempts: 0, last_status: null }))).toContain("resend is safe");
    expect(actionSummary(action({ state: "compensated", last_status: 204 }))).toBe("Withdrawn · 1 attempt · HTTP 204");
  });

  it("offers a retry only for failed actions", () => {
    const retried: number[] = [];
    const el = actionsPanel(
      [action({ seq: 2, state: "failed", last_status: 422, last_error: "<b>bad</b>" }), action({ seq: 1 })],
      (seq) => retried.push(seq),
    );
    const items = el.querySelectorAll("[data-testid=action]");
    expect(items.length).toBe(2);
    const buttons = el.querySelectorAll<HTMLButtonElement>("[data-testid=action-retry]");
    expect(buttons.length).toBe(1);
    buttons[0].click();
    expect(retried).toEqual([2]);
    expect(el.querySelector("b")).toBeNull();
    expect(items[0].textContent).toContain("<b>bad</b>");
  });

  it("says when nothing was sent", () => {
    expect(actionsPanel([], () => {}).textContent).toContain("No outbound actions");
  });
});
