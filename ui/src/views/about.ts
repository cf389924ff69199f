// The About dialog: Signoff's version and licence, and the licence of everything it ships
// (models, the UI's npm packages, every Rust crate), from the checked-in licenses.json that a
// Rust test regenerates from cargo metadata and package-lock.json. Names go in as text only.
import { h } from "../dom";
import licenses from "../licenses.json";
import { modal } from "./dialogs";

/** One shipped component and its licence. */
export interface Component {
  name: string;
  version?: string | null;
  license: string;
}

/** The shape of licenses.json. */
export interface LicenseList {
  signoff: { version: string | null; license: string };
  models: (Component & { by: string; use: string; source: string })[];
  npm: Component[];
  crates: Component[];
}

/** How many components carry each licence expression, most common first. */
export function licenseCounts(list: LicenseList): [string, number][] {
  const counts = new Map<string, number>();
  for (const c of [...list.models, ...list.npm, ...list.crates]) counts.set(c.license, (counts.get(c.license) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

function rows(items: Component[], testid: string): HTMLElement {
  return h(
    "table",
    { class: "licenses", "data-testid": testid },
    ...items.map((c) => h("tr", {}, h("td", {}, c.name), h("td", {}, c.version ?? ""), h("td", {}, c.license))),
  );
}

/** The dialog's body for a licence list. */
export function aboutBody(list: LicenseList): HTMLElement[] {
  const total = list.models.length + list.npm.length + list.crates.length;
  return [
    h("p", {}, `Signoff ${list.signoff.version ?? ""} — ${list.signoff.license}.`),
    h("p", { class: "muted" }, `It ships ${total} third-party components under these licences:`),
    h(
      "table",
      { class: "licenses", "data-testid": "license-counts" },
      ...licenseCounts(list).map(([l, n]) => h("tr", {}, h("td", {}, l), h("td", {}, n))),
    ),
    h("h3", {}, "Models"),
    h(
      "table",
      { class: "licenses", "data-testid": "license-models" },
      ...list.models.map((m) => h("tr", {}, h("td", {}, m.name, h("br"), h("span", { class: "muted" }, `${m.by}; ${m.use}; ${m.source}`)), h("td", {}, m.license))),
    ),
    h("h3", {}, "User interface (npm)"),
    rows(list.npm, "license-npm"),
    h("h3", {}, `Rust crates (${list.crates.length})`),
    rows(list.crates, "license-crates"),
  ];
}

/** Shows the About dialog. */
export function aboutDialog(list: LicenseList = licenses as LicenseList): Promise<null> {
  return modal<null>(
    "About Signoff",
    (done) => [...aboutBody(list), h("div", { class: "dialog-actions" }, h("button", { type: "button", onclick: () => done(null) }, "Close"))],
    "about-dialog",
  );
}
