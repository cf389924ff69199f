// The queue as the UI holds it: keyset pages appended as the reviewer moves, a selection,
// and removal of decided cases. Pure state over a Backend, so it is tested without a window.
import type { Backend, CaseDto, CaseRowDto, FilterDto } from "./ipc";

export class QueueModel {
  rows: CaseRowDto[] = [];
  selected = 0;
  exhausted = false;
  filter: FilterDto = { status: "open", band: null, label: null, text: null };
  private loading: Promise<void> | null = null;
  private generation = 0;

  constructor(
    private readonly backend: Backend,
    readonly pageSize = 100,
  ) {}

  /** Starts over with a new filter and loads the first page. */
  async reset(filter: FilterDto): Promise<void> {
    this.generation += 1;
    this.filter = filter;
    this.rows = [];
    this.selected = 0;
    this.exhausted = false;
    this.loading = null;
    await this.loadMore();
  }

  /** Loads the next keyset page, once at a time. */
  loadMore(): Promise<void> {
    if (this.exhausted) return Promise.resolve();
    if (this.loading) return this.loading;
    const gen = this.generation;
    const after = this.rows.length ? this.rows[this.rows.length - 1].cursor : null;
    this.loading = this.backend
      .queuePage(this.filter, after, this.pageSize)
      .then((page) => {
        if (gen !== this.generation) return;
        this.rows.push(...page);
        if (page.length < this.pageSize) this.exhausted = true;
      })
      .finally(() => {
        if (gen === this.generation) this.loading = null;
      });
    return this.loading;
  }

  /** Makes sure row `index` is loaded if it exists. */
  async ensure(index: number): Promise<void> {
    while (index >= this.rows.length && !this.exhausted) {
      const before = this.rows.length;
      await this.loadMore();
      if (this.rows.length === before) break;
    }
  }

  /** Moves the selection by `delta`, loading more rows when needed. Returns the new index. */
  async move(delta: number): Promise<number> {
    const target = Math.max(0, this.selected + delta);
    await this.ensure(target + 20);
    this.selected = Math.min(target, Math.max(0, this.rows.length - 1));
    return this.selected;
  }

  /** The selected row, if any. */
  current(): CaseRowDto | undefined {
    return this.rows[this.selected];
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
