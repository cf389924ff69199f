// The queue list: a virtualised window over the loaded keyset pages, so a million cases
// scroll like a hundred. Rows have a fixed height; only the visible ones exist in the DOM.
import { h, replace } from "../dom";
import { dueLabel, humanLabel } from "../format";
import type { CaseRowDto } from "../ipc";
import { emptyQueueText, type QueueModel } from "../queue";

const ROW_HEIGHT = 68;
const OVERSCAN = 6;

export class QueueList {
  readonly el: HTMLElement;
  private readonly spacer: HTMLElement;
  private openedSeq: number | null = null;

  constructor(
    private readonly model: QueueModel,
    private readonly onClick: (index: number) => void,
    private readonly onNearEnd: () => void,
  ) {
    this.spacer = h("div", { class: "queue-spacer" });
    this.el = h("div", { class: "queue-list", role: "listbox", "aria-label": "Queue", tabindex: -1, "data-testid": "queue" }, this.spacer);
    this.el.addEventListener("scroll", () => this.render());
  }

  /** Marks the case shown in the case pane. */
  setOpened(seq: number | null): void {
    this.openedSeq = seq;
  }

  /** Scrolls so the selected row is visible. */
  reveal(): void {
    const top = this.model.selected * ROW_HEIGHT;
    const view = this.el.clientHeight || 600;
    if (top < this.el.scrollTop) this.el.scrollTop = top;
    else if (top + ROW_HEIGHT > this.el.scrollTop + view) this.el.scrollTop = top + ROW_HEIGHT - view;
  }

  render(): void {
    const rows = this.model.rows;
    const extra = this.model.exhausted ? 0 : 1;
    this.spacer.style.height = `${(rows.length + extra) * ROW_HEIGHT}px`;
    const view = this.el.clientHeight || 600;
    const first = Math.max(0, Math.floor(this.el.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((this.el.scrollTop + view) / ROW_HEIGHT) + OVERSCAN);
    const now = Date.now();
    const items: HTMLElement[] = [];
    for (let i = first; i < last; i++) items.push(this.row(rows[i], i, now));
    if (!rows.length) {
      items.push(h("div", { class: "queue-empty" }, this.model.exhausted ? emptyQueueText(this.model.filter) : "Loading…"));
    } else if (!this.model.exhausted && last >= rows.length) {
      const more = h("div", { class: "queue-row loading" }, "Loading more…");
      more.style.top = `${rows.length * ROW_HEIGHT}px`;
      items.push(more);
    }
    replace(this.spacer, ...items);
    if (!this.model.exhausted && last >= rows.length - OVERSCAN) this.onNearEnd();
  }

  private row(r: CaseRowDto, i: number, now: number): HTMLElement {
    const due = dueLabel(r.sla_due_ms, now);
    const classes = ["queue-row"];
    if (i === this.model.selected) classes.push("selected");
    if (r.seq === this.openedSeq) classes.push("opened");
    const el = h(
      "div",
      {
        class: classes.join(" "),
        role: "option",
        "aria-selected": String(i === this.model.selected),
        "data-seq": String(r.seq),
        onclick: () => this.onClick(i),
      },
      h(
        "div",
        { class: "row-top" },
        h("span", { class: "row-id" }, r.id),
        r.priority > 0 ? h("span", { class: `prio prio-${Math.min(r.priority, 3)}`, title: "Priority" }, `P${r.priority}`) : null,
        r.band ? h("span", { class: `band band-${r.band}` }, r.band) : null,
        h("span", { class: due.overdue ? "due overdue" : "due" }, due.text),
      ),
      h("div", { class: "row-subject" }, r.subject),
      h("div", { class: "row-snippet" }, r.label ? `${humanLabel(r.label)} · ${r.snippet}` : r.snippet),
    );
    el.style.top = `${i * ROW_HEIGHT}px`;
    return el;
  }
}
