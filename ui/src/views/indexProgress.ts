// The indexing indicator in the top bar: while the encoder embeds a long run of passages (a
// corpus version indexed on first use), a progress bar with "Indexing n / N passages"; hidden
// when no run is going on.
import { h, replace } from "../dom";
import type { IndexProgressDto } from "../ipc";

/** A top-bar progress indicator fed by `index-progress` events. */
export class IndexProgress {
  /** The element to place in the top bar. */
  readonly el = h("div", { class: "index-progress", role: "status", "aria-live": "polite", "data-testid": "index-progress", hidden: true });
  private readonly bar = h("progress", { class: "index-bar" });
  private readonly label = h("span", { class: "index-label" });

  constructor() {
    replace(this.el, this.label, this.bar);
  }

  /** Shows a run's progress; a finished (or empty) run hides the indicator. */
  update(p: IndexProgressDto): void {
    const total = Math.max(0, p.total);
    const done = Math.min(Math.max(0, p.done), total);
    if (total === 0 || done >= total) {
      this.el.hidden = true;
      return;
    }
    this.bar.max = total;
    this.bar.value = done;
    this.label.textContent = `Indexing the policy corpus: ${done.toLocaleString("en")} / ${total.toLocaleString("en")} passages`;
    this.el.hidden = false;
  }
}
