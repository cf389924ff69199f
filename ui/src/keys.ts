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
  | "about"
  | "audit"
  | "corpus"
  | "calibrate"
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
  { keys: ["L"], action: "audit", help: "Open the audit log (team lead view)" },
  { keys: ["C"], action: "corpus", help: "Policy corpus: versions, approval, staleness" },
  { keys: ["W"], action: "calibrate", help: "Calibration workbench: thresholds per band (team lead)" },
  { keys: ["?"], action: "help", help: "Show these keys" },
  { keys: ["V"], action: "about", help: "About Signoff: version and the licences of everything it ships" },
  { keys: ["Escape"], action: "close", help: "Close a dialog or leave the search box" },
];

/** What the keys do in the audit view (shown in its own section of the `?` overlay). */
export type AuditAction = "down" | "up" | "open" | "verify" | "export" | "filter" | "help" | "back";

export interface AuditKeyBinding {
  keys: string[];
  action: AuditAction;
  help: string;
}

export const AUDIT_KEYMAP: AuditKeyBinding[] = [
  { keys: ["j", "ArrowDown"], action: "down", help: "Next entry" },
  { keys: ["k", "ArrowUp"], action: "up", help: "Previous entry" },
  { keys: ["Enter"], action: "open", help: "Open the entry with its proof and checkpoint" },
  { keys: ["f", "/"], action: "filter", help: "Go to the filters (Enter applies, Esc leaves)" },
  { keys: ["v"], action: "verify", help: "Verify the whole log" },
  { keys: ["c"], action: "export", help: "Export the filtered entries as CSV" },
  { keys: ["?"], action: "help", help: "Show these keys" },
  { keys: ["Escape", "L"], action: "back", help: "Back to the queue" },
];

type KeyPress = Pick<KeyboardEvent, "key" | "ctrlKey" | "altKey" | "metaKey">;

function bound<A>(map: { keys: string[]; action: A }[], e: KeyPress): A | null {
  if (e.ctrlKey || e.altKey || e.metaKey) return null;
  const hit = map.find((b) => b.keys.includes(e.key));
  return hit ? hit.action : null;
}

/** The action bound to a key event, ignoring events with Ctrl, Alt or Meta held. */
export function actionFor(e: KeyPress): Action | null {
  return bound(KEYMAP, e);
}

/** The audit view's action for a key event, ignoring events with Ctrl, Alt or Meta held. */
export function auditActionFor(e: KeyPress): AuditAction | null {
  return bound(AUDIT_KEYMAP, e);
}

/** Display form of a key. */
export function keyLabel(k: string): string {
  return ({ ArrowDown: "↓", ArrowUp: "↑", Escape: "Esc" } as Record<string, string>)[k] ?? k;
}
