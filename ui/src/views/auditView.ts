// The team lead's audit view: a filter bar, a virtualised table over keyset pages of the log,
// an entry dialog with the canonical leaf, its inclusion proof and the signed checkpoint,
// whole-log verification with a progress bar, and CSV export. Everything is rendered as text.
import { AuditModel, EMPTY_FORM, entryLabel, exportName, filterFromForm, fraction, leafCodes, readLeaf, verifyOutcome, type AuditForm } from "../audit";
import { h, replace } from "../dom";
import { count, shortTime } from "../format";
import type { AuditEntryDto, AuditFilterDto, AuditRowDto, Backend } from "../ipc";
import { auditActionFor } from "../keys";
import { helpDialog, modal } from "./dialogs";

const ROW_HEIGHT = 34;
const OVERSCAN = 8;
const DISPOSITIONS = ["approve", "edit", "reject", "escalate", "undo"];
const BANDS = ["high", "medium", "low"];
const KINDS = [
  "import", "sync", "classification", "threshold_change", "intake_model", "intake_rules", "disposition", "undo", "reviewer_key", "key_rotation",
  "claim_accept", "claim_edit", "claim_remove",
  // Outbound actions (replies posted upstream) and where they go.
  "upstream_set", "action_queued", "action_done", "action_failed", "action_cancelled", "action_compensation_queued", "action_compensated",
];

function select(label: string, testid: string, options: [string, string][]): HTMLSelectElement {
  const s = h("select", { class: "audit-input", "aria-label": label, "data-testid": testid });
  for (const [v, text] of options) s.appendChild(h("option", { value: v }, text));
  return s;
}

function field(label: string, control: HTMLElement): HTMLElement {
  return h("label", { class: "audit-field" }, h("span", {}, label), control);
}

export class AuditView {
  readonly el: HTMLElement;
  private readonly model: AuditModel;
  private readonly scroll: HTMLElement;
  private readonly spacer: HTMLElement;
  private readonly actor = select("Reviewer", "audit-actor", [["", "Anyone"]]);
  private readonly from = h("input", { type: "text", class: "audit-input date", placeholder: "YYYY-MM-DD", "aria-label": "From day", "data-testid": "audit-from" });
  private readonly to = h("input", { type: "text", class: "audit-input date", placeholder: "YYYY-MM-DD", "aria-label": "To day (inclusive)", "data-testid": "audit-to" });
  private readonly disposition = select("Disposition", "audit-disposition", [["", "Any"], ...DISPOSITIONS.map((d): [string, string] => [d, d])]);
  private readonly band = select("Band", "audit-band", [["", "Any"], ...BANDS.map((b): [string, string] => [b, b])]);
  private readonly kind = select("Entry kind", "audit-kind", [["", "Any"], ...KINDS.map((k): [string, string] => [k, k])]);
  private readonly caseId = h("input", { type: "text", class: "audit-input case", placeholder: "Case id", "aria-label": "Case id", "data-testid": "audit-case" });
  private readonly filterError = h("div", { class: "audit-filter-error", role: "alert" });
  private readonly summary = h("div", { class: "audit-summary", "data-testid": "audit-summary" });
  private readonly progress = h("progress", { max: "1", value: "0", class: "verify-progress", "data-testid": "verify-progress", hidden: true });
  private readonly result = h("div", { class: "verify-result", "data-testid": "verify-result", "aria-live": "polite" });
  private readonly verifyButton: HTMLButtonElement;
  private verifying = false;

  constructor(
    private readonly backend: Backend,
    private readonly exportDir: () => string,
    private readonly onBack: () => void,
    private readonly onError: (e: unknown) => void,
  ) {
    this.model = new AuditModel(backend);
    this.spacer = h("div", { class: "audit-spacer" });
    this.scroll = h("div", { class: "audit-scroll", tabindex: -1, role: "grid", "aria-label": "Audit entries", "data-testid": "audit-table" }, this.spacer);
    this.scroll.addEventListener("scroll", () => this.render());
    this.verifyButton = h("button", { type: "button", class: "act", "data-testid": "audit-verify", onclick: () => void this.verify() }, h("kbd", {}, "v"), "Verify log");
    const inputs: HTMLElement[] = [this.actor, this.from, this.to, this.disposition, this.band, this.kind, this.caseId];
    for (const i of inputs) {
      i.addEventListener("change", () => void this.apply());
      i.addEventListener("keydown", (e) => {
        if (e.key === "Enter" || e.key === "Escape") {
          e.preventDefault();
          e.stopPropagation();
          if (e.key === "Enter") void this.apply();
          this.scroll.focus();
        }
      });
    }
    this.el = h(
      "section",
      { class: "audit-view", "data-testid": "audit-view", hidden: true },
      h(
        "div",
        { class: "audit-head" },
        h("h1", {}, "Audit log"),
        h("span", { class: "audit-sub" }, "Every import, decision and undo, sealed by signed checkpoints"),
        h("div", { class: "spacer" }),
        this.verifyButton,
        h("button", { type: "button", class: "act", "data-testid": "audit-export", onclick: () => void this.exportFlow() }, h("kbd", {}, "c"), "Export CSV"),
        h("button", { type: "button", class: "act", "data-testid": "audit-back", onclick: () => this.onBack() }, h("kbd", {}, "Esc"), "Queue"),
      ),
      h("div", { class: "verify-bar" }, this.progress, this.result),
      h(
        "div",
        { class: "audit-filters", "data-testid": "audit-filters" },
        field("Reviewer", this.actor),
        field("From", this.from),
        field("To", this.to),
        field("Disposition", this.disposition),
        field("Band", this.band),
        field("Kind", this.kind),
        field("Case", this.caseId),
        h("button", { type: "button", class: "ghost", onclick: () => void this.clear() }, "Clear"),
      ),
      this.filterError,
      h(
        "div",
        { class: "audit-table" },
        h("div", { class: "audit-row audit-header", role: "row" }, ...["#", "Time", "Entry", "Actor", "Case", "Band", "Leaf hash"].map((t) => h("span", { role: "columnheader" }, t))),
        this.scroll,
      ),
      this.summary,
    );
  }

  /** Shows the view and loads the first page with the current filters. */
  async open(): Promise<void> {
    this.el.hidden = false;
    this.scroll.focus();
    try {
      const actors = await this.backend.auditActors();
      const keep = this.actor.value;
      replace(this.actor, h("option", { value: "" }, "Anyone"), ...actors.map((a) => h("option", { value: a }, a)));
      this.actor.value = actors.includes(keep) ? keep : "";
    } catch (e) {
      this.onError(e);
    }
    await this.apply();
  }

  /** Hides the view. */
  close(): void {
    this.el.hidden = true;
  }

  private form(): AuditForm {
    return {
      actor: this.actor.value,
      from: this.from.value,
      to: this.to.value,
      disposition: this.disposition.value,
      band: this.band.value,
      kind: this.kind.value,
      caseId: this.caseId.value,
    };
  }

  private currentFilter(): AuditFilterDto | null {
    const f = filterFromForm(this.form());
    if ("error" in f) {
      this.filterError.textContent = f.error;
      return null;
    }
    this.filterError.textContent = "";
    return f.filter;
  }

  private async apply(): Promise<void> {
    const filter = this.currentFilter();
    if (!filter) return;
    try {
      await this.model.reset(filter);
      this.scroll.scrollTop = 0;
      this.render();
    } catch (e) {
      this.onError(e);
    }
  }

  private async clear(): Promise<void> {
    this.actor.value = EMPTY_FORM.actor;
    for (const i of [this.from, this.to, this.caseId]) i.value = "";
    for (const s of [this.disposition, this.band, this.kind]) s.value = "";
    await this.apply();
  }

  /** Handles a key while the view is showing (not while typing in a filter). */
  async onKey(e: KeyboardEvent): Promise<void> {
    const action = auditActionFor(e);
    if (!action) return;
    e.preventDefault();
    switch (action) {
      case "down":
      case "up":
        await this.model.move(action === "down" ? 1 : -1);
        this.reveal();
        this.render();
        return;
      case "open": {
        const row = this.model.current();
        if (row) await this.openEntry(row.index);
        return;
      }
      case "filter":
        this.actor.focus();
        return;
      case "verify":
        await this.verify();
        return;
      case "export":
        await this.exportFlow();
        return;
      case "help":
        await helpDialog();
        return;
      case "back":
        this.onBack();
        return;
    }
  }

  private reveal(): void {
    const top = this.model.selected * ROW_HEIGHT;
    const view = this.scroll.clientHeight || 400;
    if (top < this.scroll.scrollTop) this.scroll.scrollTop = top;
    else if (top + ROW_HEIGHT > this.scroll.scrollTop + view) this.scroll.scrollTop = top + ROW_HEIGHT - view;
  }

  private render(): void {
    const rows = this.model.rows;
    const extra = this.model.exhausted ? 0 : 1;
    this.spacer.style.height = `${(rows.length + extra) * ROW_HEIGHT}px`;
    const view = this.scroll.clientHeight || 400;
    const first = Math.max(0, Math.floor(this.scroll.scrollTop / ROW_HEIGHT) - OVERSCAN);
    const last = Math.min(rows.length, Math.ceil((this.scroll.scrollTop + view) / ROW_HEIGHT) + OVERSCAN);
    const items: HTMLElement[] = [];
    for (let i = first; i < last; i++) items.push(this.row(rows[i], i));
    if (!rows.length) {
      items.push(h("div", { class: "audit-empty" }, this.model.exhausted ? "No entries match these filters." : "Loading…"));
    }
    replace(this.spacer, ...items);
    this.summary.textContent = rows.length
      ? `${count(rows.length)}${this.model.exhausted ? "" : "+"} ${rows.length === 1 ? "entry" : "entries"} · j/k move · Enter opens an entry with its proof · v verifies · c exports · Esc back`
      : "";
    if (!this.model.exhausted && last >= rows.length - OVERSCAN) void this.model.loadMore().then(() => this.render());
  }

  private row(r: AuditRowDto, i: number): HTMLElement {
    const selected = i === this.model.selected;
    const el = h(
      "div",
      {
        class: selected ? "audit-row selected" : "audit-row",
        role: "row",
        "aria-selected": String(selected),
        "data-testid": "audit-row",
        "data-index": String(r.index),
        onclick: () => {
          this.model.selected = i;
          this.render();
          void this.openEntry(r.index);
        },
      },
      h("span", { class: "mono" }, String(r.index)),
      h("span", { title: r.at }, shortTime(Date.parse(r.at))),
      h("span", { class: `entry-kind kind-${r.disposition ?? r.kind}` }, entryLabel(r.kind, r.disposition, r.reason_code)),
      h("span", {}, r.actor),
      h("span", { class: "mono" }, r.case_id ?? "—"),
      r.band ? h("span", {}, h("span", { class: `band band-${r.band}` }, r.band)) : h("span", { class: "muted" }, "—"),
      h("span", { class: "mono muted", title: r.leaf_hash }, r.leaf_hash.slice(0, 16) + "…"),
    );
    el.style.top = `${i * ROW_HEIGHT}px`;
    return el;
  }

  /** Opens one entry with its proof (also used by the case timeline). */
  async openEntry(index: number): Promise<void> {
    try {
      const entry = await this.backend.auditEntry(index);
      await entryDialog(entry);
    } catch (e) {
      this.onError(e);
    }
  }

  private async verify(): Promise<void> {
    if (this.verifying) return;
    this.verifying = true;
    this.verifyButton.disabled = true;
    this.progress.hidden = false;
    this.progress.value = 0;
    this.result.className = "verify-result";
    this.result.textContent = "Verifying every leaf, stored hash, checkpoint and signature…";
    try {
      const report = await this.backend.auditVerify((p) => {
        this.progress.value = fraction(p.done, p.total);
        this.result.textContent = `Verifying… ${count(p.done)} of ${count(p.total)} entries`;
      });
      const outcome = verifyOutcome(report);
      this.progress.value = outcome.ok ? 1 : this.progress.value;
      this.result.className = outcome.ok ? "verify-result pass" : "verify-result fail";
      this.result.textContent = outcome.text;
    } catch (e) {
      this.result.className = "verify-result fail";
      this.result.textContent = `Verification could not run: ${e instanceof Error ? e.message : String(e)}`;
    } finally {
      this.verifying = false;
      this.verifyButton.disabled = false;
    }
  }

  private async exportFlow(): Promise<void> {
    const filter = this.currentFilter();
    if (!filter) return;
    await exportDialog(this.backend, filter, `${this.exportDir().replace(/\/+$/, "")}/${exportName(new Date())}`);
    this.scroll.focus();
  }
}

/** One entry: what it records, the exact canonical leaf, the proof hashes and the checkpoint. */
export function entryDialog(e: AuditEntryDto): Promise<null> {
  const leaf = readLeaf(e.leaf);
  const payloadRows = Object.entries(leaf.payload).map(([k, v]) =>
    h("tr", {}, h("td", { class: "muted" }, k), h("td", { class: "mono wrap" }, typeof v === "string" ? v : JSON.stringify(v))),
  );
  const codes = leafCodes(e.kind, e.leaf);
  return modal<null>(
    `Audit entry ${e.index}`,
    (done) => {
      const parts: (HTMLElement | null)[] = [
        h("p", { class: "entry-line", tabindex: -1 }, h("strong", {}, entryLabel(e.kind, codes.disposition, codes.reason)), ` · ${e.actor} · ${shortTime(Date.parse(e.at))} (${e.at})`, e.case_id ? ` · case ${e.case_id}` : ""),
        h(
          "p",
          { class: "proof-ok", "data-testid": "entry-proof" },
          `Proof ✓ — entry ${e.index} is included in the log of ${count(e.size)} entries whose signed checkpoint is below (the proof and the signature were checked).`,
        ),
        payloadRows.length ? h("table", { class: "payload" }, ...payloadRows) : null,
        h("h3", {}, "Canonical leaf (the exact bytes hashed)"),
        h("pre", { class: "leaf", "data-testid": "entry-leaf" }, e.leaf),
        h("h3", {}, "Leaf hash"),
        h("pre", { class: "hash" }, e.leaf_hash),
        h("h3", {}, `Inclusion proof · ${e.proof.length} ${e.proof.length === 1 ? "hash" : "hashes"}, leaf side first`),
        e.proof.length ? h("ol", { class: "proof" }, ...e.proof.map((p) => h("li", { class: "hash" }, p))) : h("p", { class: "muted" }, "None needed: the entry is the whole tree."),
        h("h3", {}, `Checkpoint · size ${count(e.size)} · root`),
        h("pre", { class: "hash" }, e.root),
        h("pre", { class: "note", "data-testid": "entry-checkpoint" }, e.checkpoint),
        h("div", { class: "dialog-actions" }, h("span", { class: "hint" }, "Esc close"), h("button", { type: "button", onclick: () => done(null) }, "Close")),
      ];
      // Open at the top (the verdict and what the entry records), not at the Close button.
      parts[0]?.setAttribute("data-autofocus", "");
      return parts.filter((p): p is HTMLElement => p !== null);
    },
    "entry-dialog",
  );
}

/** Asks where to write the CSV (a plain path) and writes it with the current filters. */
function exportDialog(backend: Backend, filter: AuditFilterDto, suggested: string): Promise<null> {
  return modal<null>(
    "Export the audit log as CSV",
    (done) => {
      const path = h("input", { type: "text", id: "export-path", value: suggested, "aria-label": "File", "data-testid": "export-path", spellcheck: "false" });
      path.setAttribute("data-autofocus", "");
      const status = h("p", { class: "import-status", "aria-live": "polite", "data-testid": "export-status" });
      let running = false;
      const run = async () => {
        if (running) return;
        running = true;
        status.textContent = "Writing…";
        try {
          const r = await backend.auditExport(filter, path.value);
          status.textContent = `Wrote ${count(r.rows)} ${r.rows === 1 ? "entry" : "entries"} to ${r.path}.`;
        } catch (e) {
          status.textContent = e instanceof Error ? e.message : String(e);
        } finally {
          running = false;
        }
      };
      path.addEventListener("keydown", (e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          void run();
        }
      });
      return [
        h("p", {}, "Writes the entries the current filters select, oldest first: index, time, kind, actor, case, disposition, reason code, band, leaf hash and the canonical leaf. The log holds commitments (hashes), never case text. An existing file is never overwritten."),
        h("label", { for: "export-path" }, "File"),
        path,
        status,
        h(
          "div",
          { class: "dialog-actions" },
          h("span", { class: "hint" }, "Enter export · Esc close"),
          h("button", { type: "button", onclick: () => done(null) }, "Close"),
          h("button", { type: "button", class: "primary", onclick: () => void run() }, "Export"),
        ),
      ];
    },
    "export-dialog",
  );
}
