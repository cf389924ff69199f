// The case's outbound actions (a reply posted upstream when the case was approved or edited):
// each with its state, attempts and last status; a failed one has a retry button. Pure
// rendering: the controller sends and re-renders. Error text is shown as text.
import { h } from "../dom";
import { shortTime } from "../format";
import type { ActionDto } from "../ipc";

/** What each state means, for people. */
export const STATE_LABEL: Record<string, string> = {
  queued: "Queued",
  sent: "Sent",
  failed: "Failed",
  cancelled: "Cancelled",
  compensating: "Being withdrawn",
  compensated: "Withdrawn",
};

/** One line about an action: state, attempts, last HTTP status, and why it failed. */
export function actionSummary(a: ActionDto): string {
  const parts = [STATE_LABEL[a.state] ?? a.state];
  if (a.attempts > 0) parts.push(`${a.attempts} attempt${a.attempts === 1 ? "" : "s"}`);
  if (a.last_status !== null) parts.push(`HTTP ${a.last_status}`);
  if (a.in_flight) parts.push("in flight (a resend is safe)");
  if ((a.state === "failed" || a.state === "compensating") && a.last_error) parts.push(a.last_error);
  return parts.join(" · ");
}

/** Renders the actions; `onRetry` is called with a failed action's number. */
export function actionsPanel(actions: ActionDto[], onRetry: (seq: number) => void): HTMLElement {
  if (!actions.length) return h("p", { class: "muted" }, "No outbound actions: nothing was sent upstream for this case.");
  return h(
    "ul",
    { class: "actions-list" },
    ...actions.map((a) =>
      h(
        "li",
        { class: `action-item action-${a.state}`, "data-testid": "action", "data-seq": String(a.seq) },
        h("strong", {}, a.kind === "post_reply" ? "Reply upstream" : a.kind),
        ` #${a.seq} · `,
        h("span", { class: "action-state", "data-testid": "action-state" }, actionSummary(a)),
        h("span", { class: "muted", title: "Idempotency key: resending never posts twice" }, ` · key ${a.key_prefix}… · ${shortTime(Date.parse(a.updated_at))}`),
        a.state === "failed"
          ? h("button", { type: "button", class: "action-retry", "data-testid": "action-retry", onclick: () => onRetry(a.seq) }, "Retry")
          : null,
      ),
    ),
  );
}
