// Case text is data: markup in it must come out as text, never as elements.
import { describe, expect, it } from "vitest";
import { h } from "./dom";
import { actionFor, KEYMAP } from "./keys";

describe("h", () => {
  it("renders hostile markup as literal text", () => {
    const hostile = "<img src=x onerror=alert(1)><script>alert(2)</script>";
    const el = h("div", {}, hostile);
    expect(el.textContent).toBe(hostile);
    expect(el.querySelector("img")).toBeNull();
    expect(el.querySelector("script")).toBeNull();
  });
});

describe("keys", () => {
  it("binds every key the reviewer guide promises", () => {
    for (const [key, action] of [
      ["j", "down"],
      ["k", "up"],
      ["Enter", "open"],
      ["a", "approve"],
      ["e", "edit"],
      ["r", "reject"],
      ["x", "escalate"],
      ["u", "undo"],
      ["/", "search"],
      ["?", "help"],
    ]) {
      expect(actionFor({ key, ctrlKey: false, altKey: false, metaKey: false })).toBe(action);
    }
  });

  it("ignores keys pressed with modifiers and binds each key once", () => {
    expect(actionFor({ key: "a", ctrlKey: true, altKey: false, metaKey: false })).toBeNull();
    const keys = KEYMAP.flatMap((b) => b.keys);
    expect(new Set(keys).size).toBe(keys.length);
  });
});
