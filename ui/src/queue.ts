// The queue as the UI holds it: keyset pages appended as the reviewer moves, a selection,
// and removal of decided cases. Pure state over a Backend, so it is tested without a window.
import type { Backend, CaseDto, CaseRowDto, FilterDto } from "./ipc";
import { KeysetList } from "./paged";

export class QueueModel extends KeysetList<CaseRowDto, FilterDto> {
  constructor(backend: Backend, pageSize = 100) {
    super((f, after, limit) => backend.queuePage(f, after, limit), { status: "open", band: null, label: null, text: null }, pageSize);
  }

  /** Removes a decided case; the selection stays on the case that took its place. */
  remove(seq: number): number {
    const i = this.rows.findIndex((r) => r.seq === seq);
    if (i < 0) return -1;
    this.rows.splice(i, 1);
    if (this.selected > i || this.selected >= this.rows.length) {
      this.selected = Math.max(0, Math.min(this.selected - (this.selected > i ? 1 : 0), this.rows.length - 1));
    }
    return i;
  }

  /** Index of a case by sequence number, or -1. */
  indexOf(seq: number): number {
    return this.rows.findIndex((r) => r.seq === seq);
  }
}

/** Whole cases fetched ahead of time, so advancing to the next case is instant. */
export class CaseCache {
  private cache = new Map<number, Promise<CaseDto>>();

  constructor(
    private readonly backend: Backend,
    private readonly capacity = 16,
  ) {}

  get(seq: number): Promise<CaseDto> {
    let p = this.cache.get(seq);
    if (!p) {
      p = this.backend.openCase(seq);
      p.catch(() => this.cache.delete(seq));
      this.cache.set(seq, p);
      while (this.cache.size > this.capacity) {
        const oldest = this.cache.keys().next().value as number;
        this.cache.delete(oldest);
      }
    }
    return p;
  }

  /** Fetches a case in the background. */
  preload(seq: number | undefined): void {
    if (seq !== undefined) void this.get(seq).catch(() => undefined);
  }

  /** Whether a case is already fetched or on its way. */
  has(seq: number): boolean {
    return this.cache.has(seq);
  }

  /** Forgets a case whose state changed. */
  invalidate(seq: number): void {
    this.cache.delete(seq);
  }
}

/** What the queue pane says when a filter leaves no case: a search that matched nothing says so. */
export function emptyQueueText(f: FilterDto): string {
  const text = f.text?.trim();
  if (text) return `No case matches “${text}”.`;
  if (f.band || f.label) return "No case matches these filters.";
  return (f.status ?? "open") === "open" ? "The queue is clear." : "No cases here.";
}

/** A disposition this window recorded and may still undo. */
export interface Undoable {
  /** When it was recorded (ms since the epoch, this window's clock). */
  at: number;
}

/**
 * The most recent disposition that can still be undone at `now` (the store allows an undo
 * within `graceSecs` of the decision), or null: the Undo button is enabled only then.
 */
export function undoableLast<T extends Undoable>(stack: readonly T[], now: number, graceSecs: number): T | null {
  const last = stack[stack.length - 1];
  return last && now - last.at < graceSecs * 1000 ? last : null;
}
