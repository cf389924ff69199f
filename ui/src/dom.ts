// Building DOM nodes from data. Text always goes in as text (textContent / text nodes),
// never as markup: case text is data, and nothing here can turn it into HTML.

export type Child = Node | string | number | null | undefined | false;

export interface Attrs {
  class?: string;
  id?: string;
  title?: string;
  role?: string;
  type?: string;
  value?: string;
  placeholder?: string;
  tabindex?: number;
  disabled?: boolean;
  hidden?: boolean;
  "aria-label"?: string;
  "aria-selected"?: string;
  "aria-live"?: string;
  "data-seq"?: string;
  "data-key"?: string;
  "data-index"?: string;
  "data-testid"?: string;
  for?: string;
  max?: string;
  accept?: string;
  rows?: number;
  autocomplete?: string;
  spellcheck?: string;
  onclick?: (e: MouseEvent) => void;
  oninput?: (e: Event) => void;
  onchange?: (e: Event) => void;
}

/** Creates an element with attributes and children; strings become text nodes. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on") && typeof v === "function") {
      el.addEventListener(k.slice(2), v as EventListener);
    } else if (k === "value") {
      (el as HTMLInputElement).value = String(v);
    } else if (v === true) {
      el.setAttribute(k, "");
    } else {
      el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

/** Appends children, turning strings and numbers into text nodes. */
export function append(el: Node, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
  }
}

/** Replaces all children of `el`. */
export function replace(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}
