#!/usr/bin/env python3
"""Builds assets/demo/ from ../shared/data: customer messages from BANKING77 and CLINC150
(with their labels as upstream routing labels) and the ABCD guidelines as the policy corpus.

Deterministic (seeded), so the committed output only changes when this script does.
Usage: python3 scripts/build-demo.py [SHARED_DATA_DIR]
"""
import json
import random
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
OUT = ROOT / "assets" / "demo"
SEED = 20261125
BANKING_CASES = 180
CLINC_CASES = 36  # from CLINC150's banking and credit-card intents, plus a few out of scope
CLINC_DOMAINS = {
    "balance", "bill_balance", "bill_due", "card_declined", "credit_limit", "credit_limit_change",
    "credit_score", "damaged_card", "expiration_date", "freeze_account", "interest_rate",
    "min_payment", "new_card", "order_checks", "pay_bill", "pin_change", "redeem_rewards",
    "replacement_card_duration", "report_fraud", "report_lost_card", "rewards_balance",
    "routing", "spending_history", "transactions", "transfer", "account_blocked", "apr",
    "improve_credit_score", "application_status", "international_fees", "oos",
}
# The newest case arrives at ANCHOR; Signoff shifts every time by (now - ANCHOR) when it seeds
# the demo (crates/signoff-api/src/demo.rs), so the queue always looks current.
ANCHOR = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
START = ANCHOR - timedelta(days=3)


def rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def subject_for(label, text):
    if label == "oos":
        return "General enquiry"
    return label.replace("_", " ").capitalize()


def main():
    rng = random.Random(SEED)
    banking = rows(DATA / "banking77" / "train.jsonl")
    clinc = [r for r in rows(DATA / "clinc150" / "train.jsonl") if r["label"] in CLINC_DOMAINS]
    picked = [("banking77", r) for r in rng.sample(banking, BANKING_CASES)]
    picked += [("clinc150", r) for r in rng.sample(clinc, CLINC_CASES)]
    rng.shuffle(picked)
    OUT.mkdir(parents=True, exist_ok=True)
    channels = ["email", "chat", "web form", "phone transcript"]
    tiers = ["standard", "standard", "standard", "plus", "premium"]
    with open(OUT / "cases.jsonl", "w", encoding="utf-8") as f:
        for i, (source, r) in enumerate(picked, start=1):
            received = START + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
            priority = rng.choices([0, 1, 2, 3], weights=[50, 30, 15, 5])[0]
            # Most deadlines lie ahead of the anchor; a few are already overdue.
            due = ANCHOR + timedelta(minutes=rng.randrange(-8 * 60, 60 * 60))
            sla = max(due, received + timedelta(hours=2))
            text = r["text"].strip()
            body = text[0].upper() + text[1:]
            case = {
                "id": f"DEMO-{i:04d}",
                "subject": subject_for(r["label"], text),
                "body": body,
                "received_at": received.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "priority": priority,
                "sla_due_at": sla.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "metadata": {
                    "channel": rng.choice(channels),
                    "customer_tier": rng.choice(tiers),
                    "source": source,
                },
                "label": r["label"],
            }
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
        # One case whose text looks like markup: the app must show it as text, never run it.
        hostile = {
            "id": "DEMO-HTML",
            "subject": "Odd characters in my statement <b>bold</b>",
            "body": "My statement shows <script>alert('x')</script> and <img src=x onerror=alert(1)> next to a payment. What is this?",
            "received_at": "2026-11-25T09:15:00Z",
            "priority": 1,
            "sla_due_at": "2026-11-26T15:15:00Z",
            "metadata": {"channel": "email", "customer_tier": "standard", "source": "signoff"},
            "label": "unrecognised_statement_entry",
        }
        f.write(json.dumps(hostile, ensure_ascii=False) + "\n")
    policies = OUT / "policies"
    policies.mkdir(exist_ok=True)
    shutil.copyfile(DATA / "abcd" / "guidelines.json", policies / "abcd-guidelines.json")
    for name in ["banking77", "clinc150", "abcd"]:
        shutil.copyfile(DATA / name / "LICENSE", OUT / "licenses" / f"{name}.LICENSE")
    print(f"wrote {len(picked) + 1} cases to {OUT / 'cases.jsonl'}")


if __name__ == "__main__":
    main()
