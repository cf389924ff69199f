// Signoff's window: wires the queue, the case pane, the decision bar and the audit view to the
// keyboard and the backend. Advancing after a decision shows the preloaded next case without a
// round trip; the case's audit trail arrives after it, proofs checked.
import { h, replace } from "./dom";
import { count, decidedText } from "./format";
import { BackendError, onIndexProgress, tauriBackend, type ActionDto, type Backend, type CaseDto, type DispositionDto, type DraftClaimDto, type DraftDto, type EvidenceDto, type FilterDto, type IndexProgressDto, type SessionDto, type StatusCountDto } from "./ipc";
import { actionFor, type Action } from "./keys";
import { CaseCache, emptyQueueText, QueueModel, undoableLast } from "./queue";
import { AuditView } from "./views/auditView";
import { caseView, emptyCaseView, timelineView } from "./views/caseView";
import { corpusDialog } from "./views/corpusView";
import { evidencePanel } from "./views/evidencePanel";
import { actionsPanel } from "./views/actionsPanel";
import { citedChunks, draftPanel, streamingDraft, type ClaimAction } from "./views/draftPanel";
import { intakePanel } from "./views/intakePanel";
import { calibrationDialog } from "./views/calibration";
import { aboutDialog } from "./views/about";
import { acceptClaimDialog, dialogOpen, editClaimDialog, editDialog, flaggedReplyDialog, helpDialog, importDialog, reasonDialog, reviewerDialog } from "./views/dialogs";
import { QueueList } from "./views/queueList";
import { IndexProgress } from "./views/indexProgress";

const STATUSES = ["open", "approved", "edited", "rejected", "escalated"];

interface Done {
  disposition: DispositionDto;
  caseId: string;
  at: number;
}

class App {
  private session!: SessionDto;
  private readonly model: QueueModel;
  private readonly cache: CaseCache;
  private readonly list: QueueList;
  private current: CaseDto | null = null;
  /** The evidence last shown, re-marked with what the draft cites once the draft arrives. */
  private lastEvidence: EvidenceDto | null = null;
  /** The draft last shown (an ungrounded one is no reply: editing starts from an empty text). */
  private lastDraft: DraftDto | null = null;
  private readonly undoStack: Done[] = [];
  private busy = false;
  private counts: StatusCountDto[] = [];
  private mode: "queue" | "audit" = "queue";
  private readonly audit: AuditView;

  private readonly root = document.getElementById("app") as HTMLElement;
  private readonly header = h("header", { class: "topbar" });
  private readonly indexing = new IndexProgress();
  private readonly tabs = h("nav", { class: "tabs", "aria-label": "Status" });
  private readonly search = h("input", { type: "search", class: "search", placeholder: "Search subject and body  ( / )", "aria-label": "Search", "data-testid": "search" });
  private readonly band = h("select", { class: "band-filter", "aria-label": "Band" });
  private label: string | null = null;
  private readonly labelChip = h("div", { class: "label-filter", hidden: true });
  private readonly filteredCount = h("div", { class: "filtered-count", "data-testid": "filtered-count" });
  private readonly casePane = h("main", { class: "case-pane", tabindex: -1 });
  private readonly bar = h("footer", { class: "decision-bar", "data-testid": "decision-bar" });
  private readonly toast = h("div", { class: "toast", role: "status", hidden: true, "data-testid": "toast" });
  private readonly banner = h("div", { class: "banner", hidden: true, role: "alert" });
  private readonly panes = h("div", { class: "panes" });

  constructor(private readonly backend: Backend) {
    this.model = new QueueModel(backend);
    this.cache = new CaseCache(backend);
    this.list = new QueueList(
      this.model,
      (i) => void this.select(i, true),
      () => void this.model.loadMore().then(() => this.list.render()),
    );
    this.audit = new AuditView(
      backend,
      () => this.session?.export_dir ?? "",
      () => this.closeAudit(),
      (e) => this.showError(e),
    );
    for (const [v, label] of [["", "All bands"], ["high", "High"], ["medium", "Medium"], ["low", "Low"]]) {
      this.band.appendChild(h("option", { value: v }, label));
    }
  }

  /** Shows a long embedding run's progress in the top bar. */
  indexProgress(p: IndexProgressDto): void {
    this.indexing.update(p);
  }

  async start(): Promise<void> {
    this.layout();
    try {
      this.session = await this.backend.session();
    } catch (e) {
      this.fatal(e);
      return;
    }
    if (this.session.read_only) {
      this.banner.hidden = false;
      this.banner.textContent = "Read-only: another Signoff window is working in this workspace. You can browse, but decisions are off.";
    }
    this.renderHeader();
    this.renderBar();
    if (!this.session.reviewer && !this.session.read_only) {
      void this.reload();
      const r = await reviewerDialog(this.backend, this.session.can_encrypt);
      if (r) {
        this.session.reviewer = { id: r.id, name: r.name };
        if (r.encrypted) this.session = await this.backend.session();
      }
      this.renderHeader();
      this.renderBar();
    }
    document.addEventListener("keydown", (e) => void this.onKey(e));
    let timer: number | undefined;
    // The search text the list shows (or is loading), so Enter can wait for it or apply it.
    let applied = "";
    let loading: Promise<void> = Promise.resolve();
    const apply = (): Promise<void> => {
      window.clearTimeout(timer);
      applied = this.search.value;
      loading = this.reload();
      return loading;
    };
    this.search.addEventListener("input", () => {
      window.clearTimeout(timer);
      timer = window.setTimeout(() => void apply(), 150);
    });
    this.search.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        this.search.blur();
        this.list.el.focus();
        // Enter opens the first match at once, applying the search first if it is still waiting.
        if (e.key === "Enter") {
          void (async () => {
            await (applied !== this.search.value ? apply() : loading);
            if (this.model.rows.length) await this.select(this.model.selected, true);
          })();
        }
      }
    });
    this.band.addEventListener("change", () => void this.reload());
    await this.reload();
  }

  private layout(): void {
    replace(
      this.root,
      this.header,
      this.banner,
      this.panes,
      this.audit.el,
      this.toast,
    );
    replace(
      this.panes,
      h("aside", { class: "queue-pane" }, this.tabs, h("div", { class: "filters" }, this.search, this.band), this.labelChip, this.filteredCount, this.list.el),
      h("div", { class: "work-pane" }, this.casePane, this.bar),
    );
    replace(this.casePane, emptyCaseView("Loading the queue…"));
  }

  private filter(): FilterDto {
    return {
      status: this.model.filter.status ?? "open",
      band: this.band.value || null,
      label: this.label,
      text: this.search.value.trim() || null,
    };
  }

  private async reload(keepSeq?: number): Promise<void> {
    const filter = this.filter();
    try {
      await this.model.reset(filter);
      if (keepSeq !== undefined) {
        const i = this.model.indexOf(keepSeq);
        if (i >= 0) this.model.selected = i;
      }
      this.list.render();
      await this.refreshCounts();
      const narrowed = filter.text || filter.band || filter.label;
      this.filteredCount.textContent = narrowed ? `${count(await this.backend.queueCount(filter))} matching` : "";
      if (!this.current && this.model.rows.length) {
        replace(this.casePane, emptyCaseView("Press Enter to open the highlighted case · j/k to move · ? for all keys"));
      } else if (!this.model.rows.length && !this.current) {
        replace(this.casePane, emptyCaseView(emptyQueueText(filter)));
      }
      this.cache.preload(this.model.current()?.seq);
    } catch (e) {
      this.showError(e);
    }
  }

  private async refreshCounts(): Promise<void> {
    this.counts = await this.backend.statusCounts();
    const active = this.model.filter.status ?? "open";
    replace(
      this.tabs,
      ...STATUSES.map((s) => {
        const n = this.counts.find((c) => c.status === s)?.n ?? 0;
        return h(
          "button",
          {
            type: "button",
            class: s === active ? "tab active" : "tab",
            "data-testid": `tab-${s}`,
            onclick: () => {
              this.model.filter.status = s;
              this.current = null;
              void this.reload();
            },
          },
          h("span", {}, s),
          h("span", { class: "tab-count", "data-testid": `count-${s}` }, count(n)),
        );
      }),
    );
  }

  private renderHeader(): void {
    const s = this.session;
    replace(
      this.header,
      h("div", { class: "brand" }, "Signoff"),
      h("div", { class: "workspace", title: s.workspace }, s.is_demo ? "Demo workspace" : s.workspace),
      h("div", { class: "spacer" }),
      this.indexing.el,
      h("button", { type: "button", class: "ghost", "data-testid": "open-audit", onclick: () => void this.openAudit() }, "Audit log  (L)"),
      h("button", { type: "button", class: "ghost", onclick: () => void this.importFlow() }, "Import  (i)"),
      h("button", { type: "button", class: "ghost", onclick: () => void helpDialog(() => void aboutDialog()) }, "Keys  (?)"),
      h("div", { class: "reviewer", "data-testid": "reviewer" }, s.reviewer ? `${s.reviewer.name} · ${s.reviewer.id}` : "no reviewer"),
    );
  }

  private renderBar(): void {
    const c = this.current;
    const off = !c || c.status !== "open" || this.session.read_only || !this.session.reviewer;
    const button = (key: string, label: string, action: Action, cls = "") =>
      h("button", { type: "button", class: `act ${cls}`, disabled: off, "data-testid": `act-${action}`, onclick: () => void this.run(action) }, h("kbd", {}, key), label);
    replace(
      this.bar,
      button("a", "Approve", "approve", "approve"),
      button("e", "Edit", "edit"),
      button("r", "Reject", "reject", "reject"),
      button("x", "Escalate", "escalate"),
      h("div", { class: "spacer" }),
      h(
        "button",
        { type: "button", class: "act", "data-testid": "act-undo", disabled: !this.undoable(), onclick: () => void this.run("undo") },
        h("kbd", {}, "u"),
        "Undo",
      ),
    );
    // The button turns off when the grace period of the last disposition ends.
    window.clearTimeout(this.undoTimer);
    const last = this.undoable();
    if (last) this.undoTimer = window.setTimeout(() => this.renderBar(), last.at + this.session.undo_grace_secs * 1000 - Date.now() + 50);
  }

  private undoTimer: number | undefined;

  /** The last disposition of this window, while it can still be undone. */
  private undoable(): Done | null {
    return this.session ? undoableLast(this.undoStack, Date.now(), this.session.undo_grace_secs) : null;
  }

  private async onKey(e: KeyboardEvent): Promise<void> {
    if (dialogOpen()) return;
    const target = e.target as HTMLElement | null;
    const typing = target && (target.tagName === "INPUT" || target.tagName === "TEXTAREA" || target.tagName === "SELECT");
    if (typing) return;
    if (this.mode === "audit") {
      await this.audit.onKey(e);
      return;
    }
    const action = actionFor(e);
    if (!action) return;
    e.preventDefault();
    await this.run(action);
  }

  private async run(action: Action): Promise<void> {
    if (this.busy) return;
    switch (action) {
      case "down":
      case "up":
        await this.model.move(action === "down" ? 1 : -1);
        this.list.reveal();
        this.list.render();
        this.cache.preload(this.model.current()?.seq);
        return;
      case "open":
        await this.select(this.model.selected, true);
        return;
      case "search":
        this.search.focus();
        this.search.select();
        return;
      case "help":
        await helpDialog(() => void aboutDialog());
        return;
      case "about":
        await aboutDialog();
        return;
      case "import":
        await this.importFlow();
        return;
      case "audit":
        await this.openAudit();
        return;
      case "corpus":
        await corpusDialog(this.backend);
        return;
      case "calibrate":
        await calibrationDialog(this.backend);
        return;
      case "close":
        return;
      case "undo":
        await this.undo();
        return;
      default:
        await this.decide(action);
    }
  }

  private async select(index: number, open: boolean): Promise<void> {
    this.model.selected = index;
    const row = this.model.current();
    this.list.render();
    if (!row || !open) return;
    try {
      const c = await this.cache.get(row.seq);
      this.show(c);
      this.cache.preload(this.model.rows[index + 1]?.seq);
    } catch (e) {
      this.showError(e);
    }
  }

  private show(c: CaseDto): void {
    this.current = c;
    this.list.setOpened(c.seq);
    this.list.render();
    replace(this.casePane, caseView(c, Date.now(), (label) => void this.filterLabel(label)));
    this.casePane.scrollTop = 0;
    this.renderBar();
    // Evidence first: its retrieval is an audit entry the timeline then shows.
    void this.loadIntake(c);
    void this.loadEvidence(c)
      .then(() => this.loadDraft(c, false))
      .then(() => this.loadTimeline(c));
    if (c.history.length) void this.loadActions(c);
  }

  /** Fills the draft slot with the case's grounded draft (drafting it first if needed). */
  private async loadDraft(c: CaseDto, regenerate: boolean): Promise<void> {
    let content: HTMLElement;
    let draft: DraftDto | null = null;
    // A routed remote model streams its text here first; the checked draft replaces it.
    // It (and its cancel button) shows at the first chunk, or after 300 ms without an answer.
    const live = streamingDraft(() => void this.backend.cancelDraft(c.id));
    let shown = false;
    const showLive = () => {
      if (shown || this.current?.seq !== c.seq) return;
      const at = this.casePane.querySelector<HTMLElement>("[data-testid=draft-slot]");
      if (at) replace(at, live.el);
      shown = true;
    };
    const timer = setTimeout(showLive, 300);
    try {
      draft = await this.backend.caseDraftStream(c.id, regenerate, (chunk) => {
        showLive();
        live.push(chunk.text);
      });
      content = draftPanel(draft, { resolve: (claim, action) => void this.resolveClaim(c, claim, action) });
    } catch (e) {
      if (e instanceof BackendError && e.code === "cancelled") {
        live.cancelled();
        content = live.el;
      } else {
        content = h("p", { class: "muted" }, `No grounded draft: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
    clearTimeout(timer);
    if (this.current?.seq !== c.seq) return;
    this.lastDraft = draft;
    const slot = this.casePane.querySelector<HTMLElement>("[data-testid=draft-slot]");
    if (slot) replace(slot, content);
    if (draft && this.lastEvidence?.case_id === c.id) {
      const ev = this.casePane.querySelector<HTMLElement>("[data-testid=evidence]");
      if (ev) replace(ev, evidencePanel(this.lastEvidence, citedChunks(draft)));
    }
  }

  /** Resolves a flagged claim (asking for the reason or the new text), then shows the draft again. */
  private async resolveClaim(c: CaseDto, claim: DraftClaimDto, action: ClaimAction): Promise<void> {
    let text = "";
    if (action === "accept") {
      const reason = await acceptClaimDialog(claim.text);
      if (reason === null) return;
      text = reason;
    } else if (action === "edit") {
      const edited = await editClaimDialog(claim.text);
      if (edited === null) return;
      text = edited;
    }
    try {
      const d = await this.backend.resolveClaim(c.id, claim.index, action, text);
      if (this.current?.seq !== c.seq) return;
      const slot = this.casePane.querySelector<HTMLElement>("[data-testid=draft-slot]");
      if (slot) replace(slot, draftPanel(d, { resolve: (next, how) => void this.resolveClaim(c, next, how) }));
      void this.loadTimeline(c);
      if (action === "edit") {
        // The new wording is checked now, as approval will check it: say so at once.
        const check = await this.backend.checkReply(c.seq, null);
        if (this.current?.seq === c.seq && check.flagged.length > 0) {
          this.notify(`Your edit is not backed by its passage («${check.flagged[0].text}»): approving will ask why, or edit the reply with e.`, true);
        }
      }
    } catch (e) {
      this.showError(e);
    }
  }

  /** Fills the intake panel: band chip, path, confidence, reasoning, comparable cases. */
  private async loadIntake(c: CaseDto): Promise<void> {
    let content: HTMLElement;
    try {
      content = intakePanel(await this.backend.caseIntake(c.id));
    } catch (e) {
      content = h("p", { class: "muted" }, `The classification is unavailable: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (this.current?.seq !== c.seq) return;
    const slot = this.casePane.querySelector<HTMLElement>("[data-testid=intake]");
    if (slot) replace(slot, content);
  }

  /** Fills the evidence panel with passages from the approved corpus (a recorded retrieval). */
  private async loadEvidence(c: CaseDto): Promise<void> {
    let content: HTMLElement;
    try {
      const ev = await this.backend.caseEvidence(c.id, 5);
      this.lastEvidence = ev;
      content = evidencePanel(ev);
    } catch (e) {
      content = h("p", { class: "muted" }, `Evidence is unavailable: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (this.current?.seq !== c.seq) return;
    const slot = this.casePane.querySelector<HTMLElement>("[data-testid=evidence]");
    if (slot) replace(slot, content);
  }

  /** Fills the case's audit trail once its proofs are checked (after the case shows). */
  private async loadTimeline(c: CaseDto): Promise<void> {
    let content: HTMLElement;
    try {
      const audit = await this.backend.caseAudit(c.id);
      content = timelineView(audit, (index) => void this.audit.openEntry(index));
    } catch (e) {
      content = h("p", { class: "muted" }, `The audit trail is unavailable: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (this.current?.seq !== c.seq) return;
    const slot = this.casePane.querySelector<HTMLElement>("[data-testid=timeline]");
    if (slot) replace(slot, content);
  }

  /** Fills the case's outbound-actions panel (replies posted upstream), with retry on failures. */
  private async loadActions(c: CaseDto, actions?: ActionDto[]): Promise<void> {
    let content: HTMLElement;
    try {
      content = actionsPanel(actions ?? (await this.backend.caseActions(c.id)), (seq) => void this.sendActions(c, seq));
    } catch (e) {
      content = h("p", { class: "muted" }, `The outbound actions are unavailable: ${e instanceof Error ? e.message : String(e)}`);
    }
    if (this.current?.seq !== c.seq) return;
    const slot = this.casePane.querySelector<HTMLElement>("[data-testid=actions]");
    if (slot) replace(slot, content);
  }

  /** Sends what a decision or undo queued for a case (or retries one failed action); says when it failed. */
  private async sendActions(c: { id: string; seq: number }, retry: number | null): Promise<void> {
    try {
      const done = await this.backend.sendActions(c.id, retry);
      const stuck = done.filter((a) => a.state === "failed" || a.state === "compensating");
      if (stuck.length) this.notify(`${c.id}: outbound action #${stuck[0].seq} ${stuck[0].state === "failed" ? "failed" : "is not withdrawn yet"}: ${stuck[0].last_error ?? "no answer"}.`);
      if (this.current?.seq === c.seq) {
        await this.loadActions(this.current);
        void this.loadTimeline(this.current);
      }
    } catch (e) {
      this.showError(e);
    }
  }

  /** The team lead's audit view replaces the panes until Esc. */
  private async openAudit(): Promise<void> {
    if (this.mode === "audit") return;
    this.mode = "audit";
    this.panes.hidden = true;
    this.toast.hidden = true;
    await this.audit.open();
  }

  private closeAudit(): void {
    this.mode = "queue";
    this.audit.close();
    this.panes.hidden = false;
    this.list.el.focus();
    if (this.current) void this.loadTimeline(this.current);
  }

  /**
   * Records a disposition. `explainFlagged` (approve only): the re-check flagged sentences of
   * the reply and the reviewer chose to send them, so a reason and rationale are asked first.
   */
  private async decide(kind: "approve" | "edit" | "reject" | "escalate", explainFlagged = false): Promise<void> {
    const c = this.current;
    if (!c || c.status !== "open" || this.session.read_only || !this.session.reviewer) return;
    let finalText: string | null = null;
    let reason: { code: string; rationale: string } | null = null;
    let mustExplain: string | undefined = explainFlagged ? "why the flagged sentences may go out as written" : undefined;
    if (kind === "edit") {
      // The reviewer's own sentences pass the same claim check as the draft's: flagged ones go
      // back to the editor, or out with a rationale.
      const ungrounded = this.lastDraft?.case_id === c.id && !this.lastDraft.grounded;
      let start = ungrounded ? "" : (c.draft ?? "");
      for (;;) {
        finalText = await editDialog(c.draft ?? "", start);
        if (finalText === null) return;
        let check;
        try {
          check = await this.backend.checkReply(c.seq, finalText);
        } catch (e) {
          this.showError(e);
          return;
        }
        if (check.flagged.length === 0) break;
        const choice = await flaggedReplyDialog(check);
        if (choice === null) return;
        if (choice === "send") {
          mustExplain = "why the flagged sentences may go out as written";
          break;
        }
        start = finalText;
      }
    }
    if (kind !== "approve" || explainFlagged) {
      const verb = { approve: "Approve", edit: "Save edit", reject: "Reject", escalate: "Escalate" }[kind];
      reason = await reasonDialog(verb, this.session.reasons, mustExplain);
      if (!reason) return;
    }
    this.busy = true;
    try {
      const d = await this.backend.decide({
        case_seq: c.seq,
        kind,
        reason_code: reason?.code ?? null,
        rationale: reason?.rationale || null,
        final_text: finalText,
      });
      this.undoStack.push({ disposition: d, caseId: c.id, at: Date.now() });
      void this.sendActions(c, null);
      this.cache.invalidate(c.seq);
      this.advanceAfter(c.seq);
      this.notify(`${c.id}: ${decidedText(kind)}. u to undo.`);
      this.renderBar();
      void this.refreshCounts();
    } catch (e) {
      if (kind === "approve" && !explainFlagged && e instanceof BackendError && e.code === "unsupported_reply") {
        // The reply changed since the draft's check (an edited claim): show what the re-check
        // flagged, then edit it, or approve with a rationale.
        this.busy = false;
        void this.approveFlagged(c);
        return;
      }
      this.showError(e);
    } finally {
      this.busy = false;
    }
  }

  /** An approval the re-check refused: the flagged sentences, then back to editing or approve with a rationale. */
  private async approveFlagged(c: CaseDto): Promise<void> {
    let check;
    try {
      check = await this.backend.checkReply(c.seq, null);
    } catch (e) {
      this.showError(e);
      return;
    }
    if (this.current?.seq !== c.seq) return;
    const choice = await flaggedReplyDialog(check);
    if (choice === "edit") await this.decide("edit");
    else if (choice === "send") await this.decide("approve", true);
  }

  /** Removes a decided case and opens the one that took its place, from the preload cache. */
  private advanceAfter(seq: number): void {
    this.model.remove(seq);
    const next = this.model.current();
    if (!next) {
      this.current = null;
      this.list.setOpened(null);
      this.list.render();
      replace(this.casePane, emptyCaseView("The queue is clear. Well done."));
      this.renderBar();
      void this.model.loadMore().then(() => this.list.render());
      return;
    }
    void this.select(this.model.selected, true);
    this.list.reveal();
    if (this.model.rows.length - this.model.selected < 20) void this.model.loadMore().then(() => this.list.render());
  }

  private async undo(): Promise<void> {
    const last = this.undoable();
    if (!last) {
      const expired = this.undoStack[this.undoStack.length - 1];
      this.notify(expired ? `${expired.caseId}: the ${this.session.undo_grace_secs} s to undo it have passed.` : "Nothing to undo in this session.");
      return;
    }
    this.undoStack.pop();
    this.busy = true;
    try {
      await this.backend.undo(last.disposition.seq);
      void this.sendActions({ id: last.caseId, seq: last.disposition.case_seq }, null);
      this.cache.invalidate(last.disposition.case_seq);
      this.current = null;
      await this.reload(last.disposition.case_seq);
      const i = this.model.indexOf(last.disposition.case_seq);
      this.busy = false;
      if (i >= 0) await this.select(i, true);
      else this.show(await this.cache.get(last.disposition.case_seq));
      this.list.reveal();
      this.notify(`${last.caseId}: undone; the case is back in the queue.`);
    } catch (e) {
      this.showError(e);
    } finally {
      this.busy = false;
      this.renderBar();
    }
  }

  /** Narrows the queue to one label (null clears it). */
  private async filterLabel(label: string | null): Promise<void> {
    this.label = label;
    this.labelChip.hidden = label === null;
    replace(
      this.labelChip,
      label ? h("button", { type: "button", class: "label-chip", title: "Clear the label filter", onclick: () => void this.filterLabel(null) }, `label: ${label}  ×`) : null,
    );
    await this.reload(this.current?.seq);
  }

  private async importFlow(): Promise<void> {
    const report = await importDialog(this.backend);
    if (report && report.new > 0) await this.reload(this.current?.seq);
  }

  private toastTimer: number | undefined;

  private notify(message: string, error = false): void {
    this.toast.textContent = message;
    this.toast.className = error ? "toast error" : "toast";
    this.toast.hidden = false;
    window.clearTimeout(this.toastTimer);
    this.toastTimer = window.setTimeout(() => (this.toast.hidden = true), error ? 8000 : 4000);
  }

  private showError(e: unknown): void {
    const msg = e instanceof BackendError || e instanceof Error ? e.message : String(e);
    this.notify(msg, true);
  }

  private fatal(e: unknown): void {
    replace(this.root, h("div", { class: "fatal" }, h("h1", {}, "Signoff cannot start"), h("pre", {}, e instanceof Error ? e.message : String(e))));
  }
}

const app = new App(tauriBackend);
onIndexProgress((p) => app.indexProgress(p));
void app.start();
