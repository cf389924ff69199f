// The top-bar indexing indicator: shown with counts while a run goes on, hidden when it ends.
import { describe, expect, it } from "vitest";
import { IndexProgress } from "./indexProgress";

describe("IndexProgress", () => {
  it("starts hidden", () => {
    expect(new IndexProgress().el.hidden).toBe(true);
  });

  it("shows the counts and the bar while a run goes on", () => {
    const p = new IndexProgress();
    p.update({ done: 120, total: 1310 });
    expect(p.el.hidden).toBe(false);
    expect(p.el.textContent).toContain("120 / 1,310 passages");
    const bar = p.el.querySelector("progress")!;
    expect(bar.max).toBe(1310);
    expect(bar.value).toBe(120);
  });

  it("hides when the run is done, and for nonsense counts", () => {
    const p = new IndexProgress();
    p.update({ done: 10, total: 300 });
    p.update({ done: 300, total: 300 });
    expect(p.el.hidden).toBe(true);
    p.update({ done: 5, total: 0 });
    expect(p.el.hidden).toBe(true);
  });
});
