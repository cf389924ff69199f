// The keyboard map: one table that drives both the handler and the `?` help overlay.

export type Action =
  | "down"
  | "up"
  | "open"
  | "approve"
  | "edit"
  | "reject"
  | "escalate"
  | "undo"
  | "search"
  | "import"
  | "help"
  | "close";

export interface KeyBinding {
  keys: string[];
  action: Action;
  help: string;
}

export const KEYMAP: KeyBinding[] = [
  { keys: ["j", "ArrowDown"], action: "down", help: "Next case in the queue" },
  { keys: ["k", "ArrowUp"], action: "up", help: "Previous case in the queue" },
  { keys: ["Enter"], action: "open", help: "Open the highlighted case" },
  { keys: ["a"], action: "approve", help: "Approve the draft and advance" },
  { keys: ["e"], action: "edit", help: "Edit the draft, then give a reason" },
  { keys: ["r"], action: "reject", help: "Reject, with a reason" },
  { keys: ["x"], action: "escalate", help: "Escalate to a supervisor, with a reason" },
  { keys: ["u"], action: "undo", help: "Undo your last disposition (within the grace period)" },
  { keys: ["/"], action: "search", help: "Search the queue" },
  { keys: ["i"], action: "import", help: "Import cases from a JSONL or CSV file" },
  { keys: ["?"], action: "help", help: "Show these keys" },
  { keys: ["Escape"], action: "close", help: "Close a dialog or leave the search box" },
];

/** The action bound to a key event, ignoring events with Ctrl, Alt or Meta held. */
export function actionFor(e: Pick<KeyboardEvent, "key" | "ctrlKey" | "altKey" | "metaKey">): Action | null {
  if (e.ctrlKey || e.altKey || e.metaKey) return null;
  const hit = KEYMAP.find((b) => b.keys.includes(e.key));
  return hit ? hit.action : null;
}

/** Display form of a key. */
export function keyLabel(k: string): string {
  return ({ ArrowDown: "↓", ArrowUp: "↑", Escape: "Esc" } as Record<string, string>)[k] ?? k;
}
