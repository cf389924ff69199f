// QueueModel and CaseCache against a fake backend: paging, selection, removal, preloading.
import { describe, expect, it } from "vitest";
import type { Backend, CaseDto, CaseRowDto } from "./ipc";
import { CaseCache, emptyQueueText, QueueModel, undoableLast } from "./queue";

function row(seq: number): CaseRowDto {
  return {
    seq,
    id: `C-${seq}`,
    subject: `Subject ${seq}`,
    snippet: "",
    received_ms: seq,
    priority: 0,
    sla_due_ms: null,
    label: null,
    band: null,
    status: "open",
    cursor: String(seq),
  };
}

function fakeBackend(n: number, calls: string[] = []): Backend {
  const all = Array.from({ length: n }, (_, i) => row(i + 1));
  return {
    queuePage: async (_f, after, limit) => {
      calls.push(`page:${after}`);
      const start = after === null ? 0 : all.findIndex((r) => r.cursor === after) + 1;
      return all.slice(start, start + limit);
    },
    openCase: async (seq) => {
      calls.push(`case:${seq}`);
      return { seq, id: `C-${seq}` } as CaseDto;
    },
  } as Backend;
}

describe("QueueModel", () => {
  it("pages by cursor and stops when a page comes back short", async () => {
    const calls: string[] = [];
    const q = new QueueModel(fakeBackend(25, calls), 10);
    await q.reset(q.filter);
    expect(q.rows.length).toBe(10);
    await q.ensure(24);
    expect(q.rows.length).toBe(25);
    expect(q.exhausted).toBe(true);
    expect(calls).toEqual(["page:null", "page:10", "page:20"]);
  });

  it("keeps the selection on the case that takes a removed case's place", async () => {
    const q = new QueueModel(fakeBackend(5), 10);
    await q.reset(q.filter);
    await q.move(2);
    expect(q.current()?.seq).toBe(3);
    q.remove(3);
    expect(q.current()?.seq).toBe(4);
    await q.move(10);
    expect(q.current()?.seq).toBe(5);
    q.remove(5);
    expect(q.current()?.seq).toBe(4);
  });

  it("never moves above the first case", async () => {
    const q = new QueueModel(fakeBackend(3), 10);
    await q.reset(q.filter);
    expect(await q.move(-1)).toBe(0);
  });
});

describe("CaseCache", () => {
  it("fetches a preloaded case once", async () => {
    const calls: string[] = [];
    const c = new CaseCache(fakeBackend(3, calls));
    c.preload(2);
    expect(c.has(2)).toBe(true);
    await c.get(2);
    expect(calls.filter((x) => x === "case:2").length).toBe(1);
  });
});

describe("emptyQueueText", () => {
  const none = { status: "open", band: null, label: null, text: null };
  it("says a search matched nothing instead of calling the queue clear", () => {
    expect(emptyQueueText({ ...none, text: " DEMO-HTML " })).toBe("No case matches “DEMO-HTML”.");
    expect(emptyQueueText({ ...none, band: "high" })).toBe("No case matches these filters.");
    expect(emptyQueueText(none)).toBe("The queue is clear.");
    expect(emptyQueueText({ ...none, status: "rejected" })).toBe("No cases here.");
  });
});

describe("undoableLast", () => {
  it("offers the last disposition only within the grace period", () => {
    const stack = [{ at: 1_000 }, { at: 5_000 }];
    expect(undoableLast(stack, 5_000 + 9_999, 10)).toBe(stack[1]);
    expect(undoableLast(stack, 5_000 + 10_000, 10)).toBeNull();
    expect(undoableLast([], 0, 10)).toBeNull();
  });
});
