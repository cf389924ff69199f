#!/usr/bin/env python3
"""Builds assets/demo/intake-train.jsonl: the labelled rows the demo workspace trains its intake
model on at seed time. Rows come from the shared BANKING77 and CLINC150 training files, for the
labels the demo cases carry (plus CLINC150's out-of-scope rows), never a text that is also a demo
case. Seeded, so the file is reproducible: python3 scripts/build-demo-intake.py
"""
import json
import random
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
DEMO = ROOT / "assets" / "demo"
PER_LABEL = 10
OOS_ROWS = 60


def norm(text):
    return " ".join(text.strip().lower().split())


def main():
    cases = [json.loads(l) for l in open(DEMO / "cases.jsonl", encoding="utf-8")]
    demo_texts = {norm(c["body"]) for c in cases}
    wanted = defaultdict(set)
    for c in cases:
        source = (c.get("metadata") or {}).get("source")
        if source in ("banking77", "clinc150") and c.get("label"):
            wanted[source].add(c["label"])
    rng = random.Random(20261126)
    out = []
    for source in ("banking77", "clinc150"):
        by_label = defaultdict(list)
        for line in open(DATA / source / "train.jsonl", encoding="utf-8"):
            r = json.loads(line)
            if norm(r["text"]) in demo_texts:
                continue
            by_label[r["label"]].append(r["text"].strip())
        for label in sorted(wanted[source]):
            rows = sorted(by_label[label])
            k = OOS_ROWS if label == "oos" else PER_LABEL
            for text in rng.sample(rows, min(k, len(rows))):
                out.append({"text": text, "label": label})
    with open(DEMO / "intake-train.jsonl", "w", encoding="utf-8") as f:
        for r in out:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    labels = {r["label"] for r in out}
    print(f"wrote {len(out)} rows, {len(labels)} labels to {DEMO / 'intake-train.jsonl'}")


if __name__ == "__main__":
    main()
