// The corpus screen (key C): policy corpus versions with their approval, sources with their
// refresh cadence and staleness, and the approve action for a subject-matter expert. Only an
// approved version feeds evidence and drafts.
import { h, replace } from "../dom";
import type { Backend, CorpusDto, CorpusVersionDto } from "../ipc";
import { modal } from "./dialogs";

function versionRow(v: CorpusVersionDto, onApprove: ((id: string) => void) | null): HTMLElement {
  return h(
    "tr",
    { class: v.approved_by ? "corpus-version approved" : "corpus-version", "data-testid": "corpus-version" },
    h("td", { class: "mono nowrap", title: v.id }, `${v.head ? "● " : ""}${v.id.slice(0, 12)}`),
    h("td", { class: "nowrap" }, v.at.slice(0, 16).replace("T", " ")),
    h("td", {}, String(v.chunks)),
    h("td", {}, v.sources.map(([s, n]) => `${s} (${n})`).join(", ")),
    h(
      "td",
      { class: "nowrap" },
      v.approved_by
        ? `approved by ${v.approved_by}${v.approved_at ? ` · ${v.approved_at.slice(0, 10)}` : ""}`
        : onApprove
          ? h("button", { type: "button", class: "ghost", "data-testid": "corpus-approve", onclick: () => onApprove(v.id) }, "Approve…")
          : "not approved",
    ),
  );
}

/** The corpus tables; `onApprove` (when given) offers approval of unapproved versions. */
export function corpusTables(c: CorpusDto, onApprove: ((id: string) => void) | null): HTMLElement[] {
  if (!c.versions.length) {
    return [h("p", { class: "muted", "data-testid": "corpus-empty" }, "The policy corpus is empty. Add files with `signoff corpus add PATH…`.")];
  }
  return [
    h("h3", { class: "keys-section" }, "Versions (newest first; ● is the head)"),
    h(
      "table",
      { class: "corpus-table", "data-testid": "corpus-versions" },
      h("tr", {}, h("th", {}, "Version"), h("th", {}, "Made"), h("th", {}, "Chunks"), h("th", {}, "Sources"), h("th", {}, "Approval")),
      ...c.versions.map((v) => versionRow(v, onApprove)),
    ),
    h("h3", { class: "keys-section" }, "Sources"),
    h(
      "table",
      { class: "corpus-table", "data-testid": "corpus-sources" },
      h("tr", {}, h("th", {}, "Source"), h("th", {}, "Files"), h("th", {}, "Last added"), h("th", {}, "Cadence")),
      ...c.sources.map((s) =>
        h(
          "tr",
          { class: s.stale ? "corpus-source stale" : "corpus-source" },
          h("td", { class: "nowrap" }, s.name),
          h("td", {}, s.files.join(", ")),
          h("td", { class: "nowrap" }, s.checked_at.slice(0, 10)),
          h("td", {}, s.refresh_days === null ? "none" : `${s.refresh_days} days`, s.stale ? h("strong", { class: "stale-mark" }, " · stale: re-add it") : ""),
        ),
      ),
    ),
  ];
}

/** Opens the corpus screen; approval asks for the expert's name and records it. */
export async function corpusDialog(backend: Backend): Promise<null> {
  let data = await backend.corpus();
  return modal<null>(
    "Policy corpus",
    (done, box) => {
      const body = h("div", { class: "corpus-body" });
      const status = h("p", { class: "muted", "aria-live": "polite" });
      const render = () => replace(body, ...corpusTables(data, approve));
      const approve = (id: string) => {
        const name = h("input", { type: "text", placeholder: "Subject-matter expert's full name", "data-testid": "corpus-approver" });
        const confirm = h("button", {
          type: "button",
          onclick: () => {
            const by = name.value.trim();
            if (!by) {
              status.textContent = "An approval needs the expert's name.";
              return;
            }
            backend.corpusApprove(id, by).then(
              (d) => {
                data = d;
                status.textContent = `Version ${id.slice(0, 12)} approved by ${by}.`;
                render();
              },
              (e: unknown) => {
                status.textContent = e instanceof Error ? e.message : String(e);
              },
            );
          },
        }, "Approve");
        replace(body, h("p", {}, `Approve version ${id.slice(0, 12)}: its passages will feed evidence and drafts.`), name, confirm);
        name.focus();
      };
      render();
      box.classList.add("dialog-wide");
      return [body, status, h("div", { class: "dialog-actions" }, h("button", { type: "button", onclick: () => done(null) }, "Close"))];
    },
    "corpus-dialog",
  );
}
