// A list fed by keyset pages: rows are appended a page at a time as the reader moves, with a
// selection. Pure state over a page-fetching function, so it is tested without a window.

/** Fetches the page after `after` (null = the first page) for `filter`. */
export type PageFetch<R, F> = (filter: F, after: string | null, limit: number) => Promise<R[]>;

export class KeysetList<R extends { cursor: string }, F> {
  rows: R[] = [];
  selected = 0;
  exhausted = false;
  private loading: Promise<void> | null = null;
  private generation = 0;

  constructor(
    private readonly fetch: PageFetch<R, F>,
    public filter: F,
    readonly pageSize = 100,
  ) {}

  /** Starts over with a new filter and loads the first page. */
  async reset(filter: F): Promise<void> {
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
    this.loading = this.fetch(this.filter, after, this.pageSize)
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
  current(): R | undefined {
    return this.rows[this.selected];
  }
}
