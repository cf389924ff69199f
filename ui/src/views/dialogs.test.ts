// The reason dialog keeps everything the reviewer types, and the `?` overlay opens at its top.
// @vitest-environment jsdom
import { afterEach, describe, expect, it } from "vitest";
import type { ReasonDto } from "../ipc";
import { helpDialog, rationaleRequired, reasonDialog, type ReasonAnswer } from "./dialogs";

const reasons: ReasonDto[] = [
  { code: "factual_error", label: "Draft states something wrong" },
  { code: "tone", label: "Tone or wording needs work" },
  { code: "other", label: "Other (explain in the rationale)" },
];

function key(target: EventTarget, k: string, extra: KeyboardEventInit = {}): void {
  target.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true, cancelable: true, ...extra }));
}

function dialog(): { box: HTMLElement; rationale: HTMLTextAreaElement; error: HTMLElement } {
  const box = document.querySelector<HTMLElement>("[data-testid=reason-dialog]")!;
  return {
    box,
    rationale: box.querySelector<HTMLTextAreaElement>("[data-testid=rationale]")!,
    error: box.querySelector<HTMLElement>("[data-testid=reason-error]")!,
  };
}

afterEach(() => {
  key(document, "Escape");
  document.body.replaceChildren();
});

describe("reasonDialog", () => {
  it("moves the focus into the rationale once a reason is picked with its digit", async () => {
    const answer = reasonDialog("Reject", reasons);
    const { rationale } = dialog();
    key(document.activeElement!, "2");
    expect(document.activeElement).toBe(rationale);
    rationale.value = "Too curt for a complaint";
    key(rationale, "Enter", { ctrlKey: true });
    expect(await answer).toEqual<ReasonAnswer>({ code: "tone", rationale: "Too curt for a complaint" });
  });

  it("puts characters typed outside the rationale into it instead of dropping them", async () => {
    const answer = reasonDialog("Reject", reasons);
    const { box, rationale } = dialog();
    key(document.activeElement!, "1");
    // The reviewer tabbed away (to a reason button) and went on typing.
    const button = box.querySelector<HTMLButtonElement>("[data-key=tone]")!;
    button.focus();
    for (const ch of "Wrong") key(button, ch);
    expect(rationale.value).toBe("Wrong");
    expect(document.activeElement).toBe(rationale);
    key(box.querySelector("[data-testid=reason-confirm]")!, "Enter");
    expect(await answer).toEqual<ReasonAnswer>({ code: "factual_error", rationale: "Wrong" });
  });

  it("skips the reason buttons on Tab: the list is one stop, the rationale the next", () => {
    void reasonDialog("Reject", reasons);
    const { box } = dialog();
    for (const b of box.querySelectorAll<HTMLButtonElement>(".reasons button")) expect(b.tabIndex).toBe(-1);
    expect(box.querySelector<HTMLElement>(".reasons")!.tabIndex).toBe(0);
  });

  it("blocks a reason that needs a rationale until one is written, saying so", async () => {
    let settled = false;
    const answer = reasonDialog("Reject", reasons).then((a) => {
      settled = true;
      return a;
    });
    const { rationale, error } = dialog();
    key(document.activeElement!, "3");
    key(rationale, "Enter", { ctrlKey: true });
    await Promise.resolve();
    expect(settled).toBe(false);
    expect(error.textContent).toContain("“Other (explain in the rationale)” needs a rationale");
    rationale.value = "Customer is a minor";
    key(rationale, "Enter", { ctrlKey: true });
    expect(await answer).toEqual<ReasonAnswer>({ code: "other", rationale: "Customer is a minor" });
  });

  it("keeps a rationale typed before any reason was picked", async () => {
    const answer = reasonDialog("Escalate", reasons);
    const { box, rationale, error } = dialog();
    for (const ch of "See") key(box.querySelector(".reasons")!, ch);
    key(rationale, "Enter", { ctrlKey: true });
    expect(error.textContent).toContain("your rationale is kept");
    expect(rationale.value).toBe("See");
    key(rationale, "1");
    // A digit typed inside the rationale is text, not a reason pick.
    expect(box.querySelector("[data-key=factual_error]")!.getAttribute("aria-selected")).toBe("false");
    box.querySelector<HTMLButtonElement>("[data-key=factual_error]")!.click();
    key(rationale, "Enter", { ctrlKey: true });
    expect(await answer).toEqual<ReasonAnswer>({ code: "factual_error", rationale: "See" });
  });

  it("knows which reasons need a rationale", () => {
    expect(reasons.map(rationaleRequired)).toEqual([false, false, true]);
  });
});

describe("helpDialog", () => {
  it("opens with the focus at the top of the key list, not on the Close button at the bottom", () => {
    void helpDialog();
    const box = document.querySelector<HTMLElement>("[data-testid=help-dialog]")!;
    const focused = document.activeElement as HTMLElement;
    expect(focused.tagName).not.toBe("BUTTON");
    expect(focused.textContent).toBe("Queue and case");
    expect(box.querySelector("h3")).toBe(focused);
  });
});
