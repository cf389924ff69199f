#!/usr/bin/env python3
"""Builds assets/demo/intake-train.jsonl: the labelled rows the demo workspace trains its intake
model on at seed time. It covers every label the demo cases carry:

- for each ABCD subflow, Signoff's own training phrasings (`scripts/demo_phrasings.py`,
  `TRAIN`, written apart from the case phrasings), each filled twice when it has slots;
- for the subflows that public rows are mapped to, a few more BANKING77/CLINC150 rows of the
  same dataset labels, chosen with the same retail filter as the cases;
- CLINC150 out-of-scope rows (label `oos`).

No row's text equals a demo case's text (checked). Seeded, so the file is reproducible:
python3 scripts/build-demo-intake.py (after scripts/build-demo.py).
"""
import importlib.util
import json
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import demo_phrasings  # noqa: E402

_spec = importlib.util.spec_from_file_location("build_demo", ROOT / "scripts" / "build-demo.py")
build_demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(build_demo)

DATA = build_demo.DATA
DEMO = ROOT / "assets" / "demo"
PUBLIC_ROWS = 4  # per mapped (dataset, label)
OOS_ROWS = 80


def main():
    cases = [json.loads(line) for line in open(DEMO / "cases.jsonl", encoding="utf-8")]
    demo_texts = {build_demo.norm(c["body"]) for c in cases}
    case_labels = {c["label"] for c in cases}
    rng = random.Random(20261127)
    onto = json.load(open(DATA / "abcd" / "ontology.json", encoding="utf-8"))["values"]["enumerable"]
    slots = build_demo.Slots(rng, onto)
    out, seen = [], set(demo_texts)

    def add(text, label):
        key = build_demo.norm(text)
        if key not in seen:
            seen.add(key)
            out.append({"text": text, "label": label})

    for sub in build_demo.abcd():
        for template in demo_phrasings.TRAIN[sub]:
            for _ in range(2 if "{" in template else 1):
                add(slots.fill(template)[0], sub)
    by = {}
    for source in ("banking77", "clinc150"):
        for r in build_demo.rows(DATA / source / "train.jsonl"):
            by.setdefault((source, r["label"]), []).append(r["text"].strip())
    for (source, key), (sub, _) in build_demo.PUBLIC.items():
        label = key.split("/")[0]
        must = build_demo.PUBLIC_MUST.get(key) or build_demo.PUBLIC_MUST.get(label)
        pool = sorted(
            t for t in set(by[(source, label)])
            if build_demo.norm(t) not in demo_texts
            and not build_demo.NOT_RETAIL.search(t)
            and (must is None or must.search(t))
            and not (label in build_demo.PUBLIC_NOT and build_demo.PUBLIC_NOT[label].search(t))
        )
        for t in rng.sample(pool, min(PUBLIC_ROWS, len(pool))):
            add(t, sub)
    oos = sorted(
        t for t in set(by[("clinc150", "oos")])
        if build_demo.norm(t) not in demo_texts and not build_demo.RETAIL.search(t)
    )
    for t in rng.sample(oos, OOS_ROWS):
        add(t, "oos")
    labels = {r["label"] for r in out}
    assert case_labels <= labels, f"labels without training rows: {case_labels - labels}"
    assert not {build_demo.norm(r["text"]) for r in out} & demo_texts
    with open(DEMO / "intake-train.jsonl", "w", encoding="utf-8") as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    print(f"wrote {len(out)} rows, {len(labels)} labels to {DEMO / 'intake-train.jsonl'}")


if __name__ == "__main__":
    main()
