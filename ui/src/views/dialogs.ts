// Modal dialogs: reason, edit, first-run reviewer, help and import (and the frame others use). Each returns a promise
// that resolves with the reviewer's answer, or null when cancelled with Esc.
import { h, replace } from "../dom";
import { bytes, count } from "../format";
import type { Backend, ImportReportDto, ReasonDto, ReplyCheckDto } from "../ipc";
import { BackendError } from "../ipc";
import { AUDIT_KEYMAP, KEYMAP, keyLabel } from "../keys";

let open: HTMLElement | null = null;

/** Whether a dialog is showing (the queue keys are off while one is). */
export function dialogOpen(): boolean {
  return open !== null;
}

/** Shows a modal dialog built by `build`; resolves with what it passes to `done`, or null on Esc. */
export function modal<T>(
  title: string,
  build: (done: (v: T | null) => void, box: HTMLElement) => HTMLElement[],
  testid: string,
): Promise<T | null> {
  return new Promise((resolve) => {
    const box = h("div", { class: "dialog", role: "dialog", "aria-label": title, "data-testid": testid });
    const backdrop = h("div", { class: "backdrop" }, box);
    const done = (v: T | null) => {
      backdrop.remove();
      document.removeEventListener("keydown", onKey, true);
      open = null;
      resolve(v);
    };
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        done(null);
      }
    };
    document.addEventListener("keydown", onKey, true);
    replace(box, h("h2", {}, title), ...build(done, box));
    document.body.appendChild(backdrop);
    open = backdrop;
    const first = box.querySelector<HTMLElement>("[data-autofocus]") ?? box.querySelector<HTMLElement>("input, textarea, select, button");
    first?.focus();
  });
}

export interface ReasonAnswer {
  code: string;
  rationale: string;
}

/** Whether a reason needs the rationale filled in (e.g. "Other (explain in the rationale)"). */
export function rationaleRequired(r: ReasonDto): boolean {
  return r.code === "other" || /explain in the rationale/i.test(r.label);
}

/**
 * Asks for a reason code (digits pick one) and a rationale: optional, unless `mustExplain`
 * says what the rationale has to answer (e.g. why flagged sentences may go out) or the reason
 * picked needs one. Nothing typed is lost: picking a reason moves the focus into the
 * rationale, and a character typed anywhere else in the dialog goes into the rationale too.
 */
export function reasonDialog(verb: string, reasons: ReasonDto[], mustExplain?: string): Promise<ReasonAnswer | null> {
  return modal<ReasonAnswer>(
    `${verb}: why?`,
    (done, box) => {
      let chosen: ReasonDto | null = null;
      const error = h("p", { class: "dialog-error", role: "alert", "data-testid": "reason-error" });
      const list = h("div", { class: "reasons", role: "listbox", "aria-label": "Reason" });
      const rationale = h("textarea", {
        class: "rationale",
        rows: 3,
        placeholder: mustExplain ? `Rationale (required): ${mustExplain}` : "Rationale (optional): what the next reader should know",
        "aria-label": "Rationale",
        "data-testid": "rationale",
      });
      const pick = (r: ReasonDto) => {
        chosen = r;
        for (const b of list.querySelectorAll("button")) {
          b.setAttribute("aria-selected", String(b.dataset.key === r.code));
        }
        error.textContent = "";
        if (!mustExplain) {
          rationale.placeholder = rationaleRequired(r) ? `Rationale (required for “${r.label}”)` : "Rationale (optional): what the next reader should know";
        }
        rationale.focus();
      };
      reasons.forEach((r, i) => {
        list.appendChild(
          h(
            "button",
            { type: "button", "data-key": r.code, "aria-selected": "false", tabindex: -1, onclick: () => pick(r) },
            h("kbd", {}, i < 9 ? String(i + 1) : ""),
            h("span", {}, r.label),
          ),
        );
      });
      const confirm = () => {
        if (!chosen) {
          error.textContent = rationale.value.trim() ? "Pick a reason (press its number); your rationale is kept." : "Pick a reason (press its number).";
          return;
        }
        const why = mustExplain ?? (rationaleRequired(chosen) ? `“${chosen.label}” needs a rationale` : null);
        if (why && !rationale.value.trim()) {
          error.textContent = `Write a rationale: ${why}.`;
          rationale.focus();
          return;
        }
        done({ code: chosen.code, rationale: rationale.value.trim() });
      };
      box.addEventListener("keydown", (e) => {
        const inText = e.target === rationale;
        const n = Number(e.key);
        const plain = !e.ctrlKey && !e.altKey && !e.metaKey;
        if (!inText && plain && Number.isInteger(n) && n >= 1 && n <= reasons.length && n <= 9) {
          e.preventDefault();
          pick(reasons[n - 1]);
        } else if (e.key === "Enter" && (!inText || e.ctrlKey)) {
          e.preventDefault();
          confirm();
        } else if (!inText && plain && e.key.length === 1 && e.key !== " ") {
          // A character typed outside the rationale belongs in it: never drop it.
          e.preventDefault();
          rationale.focus();
          const at = rationale.value.length;
          rationale.setRangeText(e.key, at, at, "end");
        }
      });
      list.setAttribute("data-autofocus", "");
      list.tabIndex = 0;
      return [
        list,
        rationale,
        error,
        h(
          "div",
          { class: "dialog-actions" },
          h("span", { class: "hint" }, "1–9 pick · Enter confirm · Ctrl+Enter confirm from the rationale · Esc cancel"),
          h("button", { type: "button", class: "primary", "data-testid": "reason-confirm", onclick: confirm }, verb),
        ),
      ];
    },
    "reason-dialog",
  );
}

/** Lets the reviewer edit the draft (starting from `start`, by default the draft); resolves with the final text. */
export function editDialog(draft: string, start: string = draft): Promise<string | null> {
  return modal<string>(
    "Edit the draft",
    (done) => {
      const area = h("textarea", { class: "editor", rows: 14, spellcheck: "true", "aria-label": "Final text", "data-testid": "edit-text" });
      area.value = start;
      area.setAttribute("data-autofocus", "");
      const error = h("p", { class: "dialog-error", role: "alert" });
      const save = () => {
        if (area.value.trim() === draft.trim()) {
          error.textContent = "The text is unchanged; approve with a instead, or change it.";
          return;
        }
        done(area.value);
      };
      area.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && e.ctrlKey) {
          e.preventDefault();
          save();
        }
      });
      return [
        area,
        error,
        h(
          "div",
          { class: "dialog-actions" },
          h("span", { class: "hint" }, "Ctrl+Enter continue · Esc cancel"),
          h("button", { type: "button", class: "primary", "data-testid": "edit-continue", onclick: save }, "Continue"),
        ),
      ];
    },
    "edit-dialog",
  );
}

/** What the reviewer does about flagged sentences in an edited reply. */
export type FlaggedChoice = "edit" | "send";

/**
 * Shows the sentences of an edited reply that no frozen passage supports (the same check the
 * draft's claims passed) and asks: back to editing, or send them as written (a rationale is
 * then required and recorded).
 */
export function flaggedReplyDialog(check: ReplyCheckDto): Promise<FlaggedChoice | null> {
  const why: Record<string, string> = {
    unsupported: "the passage it cites does not say this",
    uncited: "cites no passage",
    bad_citation: "cites a marker bound to no passage",
  };
  return modal<FlaggedChoice>(
    "Unsupported sentences in your reply",
    (done) => {
      const items = check.flagged.map((f) =>
        h("li", { "data-testid": "flagged-sentence" }, h("blockquote", { class: "claim-quote" }, f.text), h("span", { class: "hint" }, why[f.status] ?? f.status)),
      );
      const back = h("button", { type: "button", class: "primary", "data-testid": "flagged-edit", onclick: () => done("edit") }, "Back to editing");
      back.setAttribute("data-autofocus", "");
      return [
        h(
          "p",
          {},
          `${check.checked === 1 ? "The sentence you wrote is" : `${check.flagged.length} of the ${check.checked} sentences you wrote ${check.flagged.length === 1 ? "is" : "are"}`} not backed by the draft's passages (checked with ${check.scorer}). Cite a passage that says it, change or remove it — or send it as written and say why in the rationale (recorded in the audit log).`,
        ),
        h("ul", { class: "flagged-list" }, ...items),
        h(
          "div",
          { class: "dialog-actions" },
          h("span", { class: "hint" }, "Enter back to editing · Esc cancel"),
          h("button", { type: "button", "data-testid": "flagged-send", onclick: () => done("send") }, "Send as written…"),
          back,
        ),
      ];
    },
    "flagged-reply-dialog",
  );
}

/** Asks why a flagged draft claim may stand; resolves with the reason. */
export function acceptClaimDialog(claim: string): Promise<string | null> {
  return modal<string>(
    "Accept a flagged claim",
    (done) => {
      const area = h("textarea", { class: "editor", rows: 3, spellcheck: "true", "aria-label": "Reason", "data-testid": "accept-reason" });
      area.setAttribute("data-autofocus", "");
      const error = h("p", { class: "dialog-error", role: "alert" });
      const save = () => {
        if (!area.value.trim()) {
          error.textContent = "Say why the claim may stand (it is recorded in the audit log).";
          return;
        }
        done(area.value.trim());
      };
      area.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && e.ctrlKey) {
          e.preventDefault();
          save();
        }
      });
      return [
        h("blockquote", { class: "claim-quote" }, claim),
        area,
        error,
        h(
          "div",
          { class: "dialog-actions" },
          h("span", { class: "hint" }, "Ctrl+Enter accept · Esc cancel"),
          h("button", { type: "button", class: "primary", "data-testid": "accept-save", onclick: save }, "Accept"),
        ),
      ];
    },
    "accept-claim-dialog",
  );
}

/** Lets the reviewer rewrite a flagged claim; resolves with the new text. */
export function editClaimDialog(claim: string): Promise<string | null> {
  return modal<string>(
    "Edit a flagged claim",
    (done) => {
      const area = h("textarea", { class: "editor", rows: 4, spellcheck: "true", "aria-label": "New text", "data-testid": "claim-text" });
      area.value = claim;
      area.setAttribute("data-autofocus", "");
      const error = h("p", { class: "dialog-error", role: "alert" });
      const save = () => {
        const text = area.value.trim();
        if (!text) {
          error.textContent = "The claim would be empty; remove it instead.";
          return;
        }
        if (text === claim.trim()) {
          error.textContent = "The text is unchanged; accept the claim with a reason instead.";
          return;
        }
        done(text);
      };
      area.addEventListener("keydown", (e) => {
        if (e.key === "Enter" && e.ctrlKey) {
          e.preventDefault();
          save();
        }
      });
      return [
        area,
        error,
        h("div", { class: "dialog-actions" }, h("span", { class: "hint" }, "Ctrl+Enter save · Esc cancel"), h("button", { type: "button", class: "primary", onclick: save }, "Save")),
      ];
    },
    "edit-claim-dialog",
  );
}

/** First run: who is reviewing at this workstation, and (for a new, empty workspace) whether
 * to encrypt it on disk. */
export function reviewerDialog(
  backend: Backend,
  canEncrypt = false,
): Promise<{ id: string; name: string; encrypted: boolean } | null> {
  return modal(
    "Welcome to Signoff",
    (done) => {
      const name = h("input", { id: "reviewer-name", type: "text", autocomplete: "name", placeholder: "Ada Lovelace" });
      const id = h("input", { id: "reviewer-id", type: "text", autocomplete: "username", placeholder: "alovelace" });
      const encrypt = h("input", { id: "encrypt-workspace", type: "checkbox" });
      const error = h("p", { class: "dialog-error", role: "alert" });
      const submit = async () => {
        try {
          const wanted = canEncrypt && encrypt.checked;
          const r = await backend.setReviewer(id.value, name.value, wanted);
          done({ id: r.id, name: r.name, encrypted: wanted });
        } catch (e) {
          error.textContent = e instanceof Error ? e.message : String(e);
        }
      };
      for (const input of [name, id]) {
        input.addEventListener("keydown", (e) => {
          if (e.key === "Enter") {
            e.preventDefault();
            void submit();
          }
        });
      }
      const encryption = canEncrypt
        ? [
            h(
              "label",
              { for: "encrypt-workspace", class: "checkbox" },
              encrypt,
              " Encrypt this workspace on disk",
            ),
            h(
              "p",
              { class: "hint" },
              "The key is kept in your system's key store. Without it the workspace cannot be opened: see the workspace guide for keeping a copy.",
            ),
          ]
        : [];
      return [
        h("p", {}, "Every disposition you record carries your name and reviewer id. Enter them once; Signoff remembers them for this workspace."),
        h("label", { for: "reviewer-name" }, "Printed name"),
        name,
        h("label", { for: "reviewer-id" }, "Reviewer id"),
        id,
        ...encryption,
        error,
        h("div", { class: "dialog-actions" }, h("button", { type: "button", class: "primary", onclick: () => void submit() }, "Start reviewing")),
      ];
    },
    "reviewer-dialog",
  );
}

/** The `?` overlay: every key, from the one keymap. */
export function helpDialog(onAbout?: () => void): Promise<null> {
  // Focus (and so the scroll position) starts at the top of the list, not on Close.
  const top = h("h3", { class: "keys-section", tabindex: -1 }, "Queue and case");
  top.setAttribute("data-autofocus", "");
  return modal<null>(
    "Keyboard",
    (done) => [
      top,
      h(
        "table",
        { class: "keys" },
        ...KEYMAP.map((b) => h("tr", {}, h("td", {}, ...b.keys.map((k) => h("kbd", {}, keyLabel(k)))), h("td", {}, b.help))),
      ),
      h("h3", { class: "keys-section" }, "Audit log"),
      h(
        "table",
        { class: "keys" },
        ...AUDIT_KEYMAP.map((b) => h("tr", {}, h("td", {}, ...b.keys.map((k) => h("kbd", {}, keyLabel(k)))), h("td", {}, b.help))),
      ),
      h(
        "div",
        { class: "dialog-actions" },
        onAbout &&
          h(
            "button",
            {
              type: "button",
              class: "ghost",
              "data-testid": "open-about",
              onclick: () => {
                done(null);
                onAbout();
              },
            },
            "About and licences  (V)",
          ),
        h("button", { type: "button", onclick: () => done(null) }, "Close"),
      ),
    ],
    "help-dialog",
  );
}

/** Imports a JSONL or CSV file with a progress bar; shows the report or every error. */
export function importDialog(backend: Backend): Promise<ImportReportDto | null> {
  return modal<ImportReportDto>(
    "Import cases",
    (done) => {
      const input = h("input", { type: "file", accept: ".jsonl,.ndjson,.json,.csv,text/csv", "aria-label": "Case file", "data-testid": "import-file" });
      const bar = h("progress", { max: "1", value: "0", hidden: true });
      const status = h("p", { class: "import-status", "aria-live": "polite" });
      const errors = h("pre", { class: "import-errors", hidden: true });
      let last: ImportReportDto | null = null;
      const run = async () => {
        const file = input.files?.[0];
        if (!file) {
          status.textContent = "Choose a file first.";
          return;
        }
        errors.hidden = true;
        bar.hidden = false;
        bar.value = 0;
        status.textContent = `Reading ${file.name} (${bytes(file.size)})…`;
        try {
          const data = new Uint8Array(await file.arrayBuffer());
          const report = await backend.importFile(file.name, data, (p) => {
            bar.value = p.total ? p.bytes / p.total : 0;
            status.textContent = `Importing ${file.name}: ${count(p.rows)} rows…`;
          });
          bar.value = 1;
          last = report;
          status.textContent = `${report.file}: ${count(report.new)} new, ${count(report.unchanged)} unchanged, ${count(report.conflicts)} conflicting.`;
          if (report.conflict_ids.length) {
            errors.hidden = false;
            errors.textContent = report.conflict_ids
              .map(([line, id]) => `line ${line}: ${id} exists with different content; the stored case was kept`)
              .join("\n");
          }
        } catch (e) {
          bar.hidden = true;
          status.textContent = e instanceof BackendError && e.code === "import" ? "Nothing was imported from this file:" : "Import failed:";
          errors.hidden = false;
          errors.textContent = e instanceof Error ? e.message : String(e);
        }
      };
      return [
        h("p", {}, "JSONL or CSV with id, subject, body, received_at (RFC 3339) and optionally priority, sla_due_at, metadata, label. Each file is imported whole or not at all; re-importing is safe."),
        input,
        bar,
        status,
        errors,
        h(
          "div",
          { class: "dialog-actions" },
          h("button", { type: "button", onclick: () => done(last) }, "Close"),
          h("button", { type: "button", class: "primary", onclick: () => void run() }, "Import"),
        ),
      ];
    },
    "import-dialog",
  );
}
