#!/usr/bin/env python3
"""Builds assets/demo/ from ../shared/data: the queue of one organisation, ABCD's online
clothing retailer, whose agent guidelines are the demo's approved policy corpus.

The queue holds
- Signoff-written customer messages for ABCD's 55 subflows (`scripts/demo_phrasings.py`,
  `CASES`), slots filled from ABCD's ontology values and synthetic ids, a few carrying a
  synthetic e-mail address, phone or card number so redaction shows; labelled with the ABCD
  subflow id (the upstream router's label);
- a minority of public BANKING77 and CLINC150 customer messages that a retailer's queue
  plausibly receives, chosen by label (`PUBLIC`) and without bank-only wording (`NOT_RETAIL`),
  labelled with the ABCD subflow they belong to (their dataset label kept in metadata);
- a handful of CLINC150 out-of-scope messages (label `oos`; intake escalates them);
- `DEMO-HTML`, whose text looks like markup (the app must show it as text).

Deterministic (seeded), so the committed output only changes when this script does.
Usage: python3 scripts/build-demo.py [SHARED_DATA_DIR]
"""
import json
import random
import re
import shutil
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import demo_phrasings  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "data"
OUT = ROOT / "assets" / "demo"
SEED = 20261126
# The newest case arrives at ANCHOR; Signoff shifts every time by (now - ANCHOR) when it seeds
# the demo (crates/signoff-api/src/demo.rs), so the queue always looks current.
ANCHOR = datetime(2026, 11, 26, 8, 0, tzinfo=timezone.utc)
START = ANCHOR - timedelta(days=3)

# Public rows a clothing retailer's queue plausibly receives: (dataset, label) -> ABCD subflow,
# how many to take. `edit_personal_details` splits by what the message asks to change.
PUBLIC = {
    ("banking77", "declined_card_payment"): ("credit_card", 4),
    ("banking77", "Refund_not_showing_up"): ("refund_status", 5),
    ("banking77", "request_refund"): ("refund_initiate", 4),
    ("banking77", "transaction_charged_twice"): ("manage_dispute_bill", 4),
    ("banking77", "card_payment_not_recognised"): ("mistimed_billing_never_bought", 4),
    ("banking77", "extra_charge_on_statement"): ("status_mystery_fee", 3),
    ("banking77", "passcode_forgotten"): ("recover_password", 3),
    ("banking77", "edit_personal_details/address"): ("manage_change_address", 3),
    ("banking77", "edit_personal_details/name"): ("manage_change_name", 2),
    ("clinc150", "order_status"): ("status", 4),
    ("clinc150", "card_declined"): ("credit_card", 2),
}
OOS_CASES = 6
# Words that make a message a bank's (or another shop's) rather than the retailer's.
NOT_RETAIL = re.compile(
    r"\b(app|apps|atm|top[- ]?up|topped|transfer\w*|exchange|cash|withdraw\w*|pin|passcode|"
    r"pass-code|apple|google|amazon|walmart|target|nespresso|tutor|bank\w*|merchant|seller|"
    r"vendor|shop|shops|store|restaurant|abroad|country|currenc\w*|visa|mastercard|"
    r"contactless|cheque|check|direct debit|statement|pound|euro|mortgage|utilities|business)\b|"
    r"money in my account|coffee|[£€]",
    re.I,
)
# Out-of-scope rows that mention the retailer's business are not out of scope for it (CLINC150's
# `oos` holds e.g. "how do i change my billing address"); they are left out.
RETAIL = re.compile(
    r"\b(address|order\w*|card|bill\w*|account|ship\w*|refund\w*|return\w*|password|pay\w*|"
    r"price\w*|deliver\w*|package|parcel|subscri\w*|promo|coupon|store|shop\w*|buy|bought|"
    r"purchase\w*|credit|charge\w*|cloth\w*|jeans|shirt|jacket|boots|size|remov\w*|"
    r"stain\w*|blemish|wash\w*|wear\w*)\b",
    re.I,
)
PUBLIC_MUST = {
    "edit_personal_details/address": re.compile(r"\baddress|adress\b", re.I),
    "edit_personal_details/name": re.compile(r"\bname\b", re.I),
    "passcode_forgotten": re.compile(r"\bpassword\b", re.I),
    "request_refund": re.compile(r"\b(order|item|product|purchase|bought|return)", re.I),
    "order_status": re.compile(r"\b(order|package|parcel|shipped)", re.I),
}
# Rows of a mapped label that belong to another subflow (a question about the return policy is
# the Policy FAQ, not a refund request).
PUBLIC_NOT = {"request_refund": re.compile(r"\bpolicy\b", re.I)}
CHANNELS = ["email", "chat", "web form", "phone transcript"]
STREETS = ["Maple Avenue", "Elm Street", "Harbor Road", "Cedar Lane", "Willow Drive", "Park Place"]
CITIES = ["Springfield, IL 62704", "Riverton, WY 82501", "Fairview, OR 97024", "Madison, WI 53703"]


def rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def norm(text):
    """How texts are compared for equality (here and in build-demo-intake.py)."""
    return " ".join(text.strip().lower().split())


def abcd():
    """ABCD's subflows in ontology order: subflow id -> (flow id, guideline title), where the
    title is what the corpus's chunks of that subflow are titled with ("Flow › Subflow")."""
    onto = json.load(open(DATA / "abcd" / "ontology.json", encoding="utf-8"))["intents"]
    guide = json.load(open(DATA / "abcd" / "guidelines.json", encoding="utf-8"))
    out = {}
    for flow_name, fv in guide.items():
        flow = flow_name.lower().replace(" ", "_").replace("-", "_")
        for i, name in enumerate(fv["subflows"]):
            out[onto["subflows"][flow][i]] = (flow, f"{flow_name} › {name}")
    assert len(out) == 55, len(out)
    return out


def product_name(p):
    """An ontology product as a customer writes it, countable: "calvin klein boots" ->
    "pair of Calvin Klein boots", "guess shirt" -> "Guess shirt"."""
    *brand, kind = p.split()
    name = " ".join(w.capitalize() for w in brand) + " " + kind
    return f"pair of {name}" if kind in ("boots", "jeans") else name


def item_name(p):
    """The kind of an ontology product, countable ("pair of boots", "shirt")."""
    kind = p.split()[-1]
    return f"pair of {kind}" if kind in ("boots", "jeans") else kind


def luhn_card(rng):
    digits = [4, 1, 1, 1] + [rng.randrange(10) for _ in range(11)]
    total = 0
    for i, d in enumerate(reversed(digits)):
        d = d * 2 if i % 2 == 0 else d
        total += d - 9 if d > 9 else d
    digits.append((10 - total % 10) % 10)
    s = "".join(map(str, digits))
    return " ".join(s[i : i + 4] for i in range(0, 16, 4))


class Slots:
    """Seeded slot values: ABCD ontology values and synthetic ids and contact details."""

    def __init__(self, rng, onto_values):
        self.rng = rng
        self.v = onto_values

    def fill(self, template):
        rng, v = self.rng, self.v
        products = rng.sample(v["product"], 2)
        name = rng.choice(v["customer_name"])
        first, last = name.lower().split()[0], name.lower().split()[-1]
        level = rng.choice(v["membership_level"][1:])  # guests have no membership to name
        values = {
            "product_a": product_name(products[0]),
            "product_b": product_name(products[1]),
            "item": item_name(products[0]),
            "brand": rng.choice(["Calvin Klein", "Guess", "Michael Kors", "Tommy Hilfiger"]),
            "name": name,
            "username": f"{first[0]}{last}{rng.randrange(10, 99)}",
            "email": f"{first}.{last}{rng.randrange(1, 99)}@example.com",
            "phone": f"({rng.randrange(201, 989)}) 555-01{rng.randrange(10, 99)}",
            "card": luhn_card(rng),
            "order": str(rng.randrange(1_000_000, 9_999_999)),
            "account": "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(10)),
            "amount": str(rng.choice([9, 12, 15, 18, 24, 29, 35, 40, 60, 85])),
            "code": rng.choice(["SPRING", "WELCOME", "SAVE", "FALL", "VIP"]) + str(rng.choice([10, 15, 20, 25])),
            "level": level,
            "shipping": rng.choice(v["shipping_option"]),
            "address": f"{rng.randrange(2, 980)} {rng.choice(STREETS)}, {rng.choice(CITIES)}",
        }
        used = set(re.findall(r"\{(\w+)\}", template))
        unknown = used - values.keys()
        assert not unknown, f"unknown slots {unknown} in {template!r}"
        return template.format(**values), values, used


def wrap(rng, body, values):
    """Some messages come with a greeting and a sign-off (a name the redactor can find)."""
    if len(body) < 60 or body[0].islower() or body.startswith(("Hi", "Hello")) or rng.random() < 0.6:
        return body
    greeting = rng.choice(["Hi,", "Hello,", "Hi there,", "Good morning,"])
    sign = rng.choice(["Thanks,", "Thank you,", "Regards,", "Best,"])
    return f"{greeting}\n\n{body}\n\n{sign}\n{values['name']}"


def written_cases(rng, slots, subflows):
    missing = set(subflows) - set(demo_phrasings.CASES)
    assert not missing, f"no case phrasings for {sorted(missing)}"
    out = []
    for sub, (flow, title) in subflows.items():
        for subject, template in demo_phrasings.CASES[sub]:
            body, values, used = slots.fill(template)
            body = wrap(rng, body, values)
            meta = {"source": "signoff", "abcd_flow": flow, "abcd_subflow": title}
            if "level" in used:
                meta["customer_tier"] = values["level"]
            out.append((subject, body, sub, meta))
    return out


def public_cases(rng, subflows):
    out = []
    by = {}
    for source in ("banking77", "clinc150"):
        for r in rows(DATA / source / "train.jsonl"):
            by.setdefault((source, r["label"]), []).append(r["text"].strip())
    for (source, key), (sub, k) in PUBLIC.items():
        label = key.split("/")[0]
        must = PUBLIC_MUST.get(key) or PUBLIC_MUST.get(label)
        pool = sorted(
            t for t in set(by[(source, label)])
            if not NOT_RETAIL.search(t)
            and (must is None or must.search(t))
            and not (label in PUBLIC_NOT and PUBLIC_NOT[label].search(t))
            and len(t) > 12
        )
        # A message asking to change both name and address would fit two keys; keep it out.
        if label == "edit_personal_details":
            pool = [t for t in pool if not (PUBLIC_MUST["edit_personal_details/address"].search(t) and PUBLIC_MUST["edit_personal_details/name"].search(t))]
        assert len(pool) >= k, (source, key, len(pool))
        flow, title = subflows[sub]
        for t in rng.sample(pool, k):
            subject = sub_subject(sub)
            meta = {"source": source, "source_label": label, "abcd_flow": flow, "abcd_subflow": title}
            out.append((subject, t[0].upper() + t[1:], sub, meta))
    oos = sorted(t for t in set(by[("clinc150", "oos")]) if not RETAIL.search(t))
    for t in rng.sample(oos, OOS_CASES):
        out.append(("General enquiry", t[0].upper() + t[1:], "oos", {"source": "clinc150", "source_label": "oos"}))
    return out


def sub_subject(sub):
    """Subjects for public rows (the datasets have none): what a web form's topic menu says."""
    return {
        "credit_card": "Payment problem",
        "refund_status": "Refund",
        "refund_initiate": "Refund",
        "manage_dispute_bill": "Billing",
        "mistimed_billing_never_bought": "Billing",
        "status_mystery_fee": "Billing",
        "recover_password": "Account access",
        "manage_change_address": "My account",
        "manage_change_name": "My account",
        "status": "Order status",
    }[sub]


def main():
    rng = random.Random(SEED)
    onto_values = json.load(open(DATA / "abcd" / "ontology.json", encoding="utf-8"))["values"]["enumerable"]
    subflows = abcd()
    slots = Slots(rng, onto_values)
    picked = written_cases(rng, slots, subflows) + public_cases(rng, subflows)
    texts = [norm(b) for _, b, _, _ in picked]
    assert len(set(texts)) == len(texts), "two demo cases share a text"
    rng.shuffle(picked)
    OUT.mkdir(parents=True, exist_ok=True)
    with open(OUT / "cases.jsonl", "w", encoding="utf-8") as f:
        for i, (subject, body, label, meta) in enumerate(picked, start=1):
            received = START + timedelta(minutes=rng.randrange(0, 3 * 24 * 60))
            priority = rng.choices([0, 1, 2, 3], weights=[50, 30, 15, 5])[0]
            # Most deadlines lie ahead of the anchor; a few are already overdue.
            due = ANCHOR + timedelta(minutes=rng.randrange(-8 * 60, 60 * 60))
            sla = max(due, received + timedelta(hours=2))
            metadata = {"channel": rng.choice(CHANNELS)}
            metadata["customer_tier"] = meta.pop("customer_tier", None) or rng.choice(
                ["guest", "bronze", "bronze", "silver", "gold"]
            )
            metadata.update(meta)
            case = {
                "id": f"DEMO-{i:04d}",
                "subject": subject,
                "body": body,
                "received_at": received.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "priority": priority,
                "sla_due_at": sla.strftime("%Y-%m-%dT%H:%M:%SZ"),
                "metadata": metadata,
                "label": label,
            }
            f.write(json.dumps(case, ensure_ascii=False) + "\n")
        # One case whose text looks like markup: the app must show it as text, never run it.
        flow, title = subflows["status_mystery_fee"]
        hostile = {
            "id": "DEMO-HTML",
            "subject": "Odd characters on my order confirmation <b>bold</b>",
            "body": "My order confirmation shows <script>alert('x')</script> and <img src=x onerror=alert(1)> next to an extra fee on my order. What is this charge?",
            "received_at": "2026-11-25T09:15:00Z",
            "priority": 1,
            "sla_due_at": "2026-11-26T15:15:00Z",
            "metadata": {"channel": "email", "customer_tier": "silver", "source": "signoff", "abcd_flow": flow, "abcd_subflow": title},
            "label": "status_mystery_fee",
        }
        f.write(json.dumps(hostile, ensure_ascii=False) + "\n")
    policies = OUT / "policies"
    policies.mkdir(exist_ok=True)
    shutil.copyfile(DATA / "abcd" / "guidelines.json", policies / "abcd-guidelines.json")
    for name in ["banking77", "clinc150", "abcd"]:
        shutil.copyfile(DATA / name / "LICENSE", OUT / "licenses" / f"{name}.LICENSE")
    counts = {}
    for _, _, _, meta in picked:
        counts[meta["source"]] = counts.get(meta["source"], 0) + 1
    print(f"wrote {len(picked) + 1} cases to {OUT / 'cases.jsonl'}: {counts} + DEMO-HTML")


if __name__ == "__main__":
    main()
