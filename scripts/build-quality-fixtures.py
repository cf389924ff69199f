#!/usr/bin/env python3
"""Builds the small labelled sets behind the suite's quality gate (tests/fixtures/quality/).

Seeded and deterministic: running it again writes the same bytes. The sets are samples of
public development data, each kept with its licence:
- intake-train.jsonl / intake-test.jsonl: 20 CLINC150 intents (30 training rows each from
  train.jsonl, 10 test rows each from val.jsonl), plus 40 out-of-scope rows in each file
  (train.jsonl's in training, val.jsonl's in the test).
- beir/: 60 DSTC11 knowledge-seeking queries with their gold snippets; the corpus is every
  passage of the entities those queries are about, plus 200 passages of other entities.
- citations.jsonl: 600 claim/passage pairs, the same share of each kind, from the test side of
  scripts/citation_pairs.py's default split by entity (entities the checked-in support scorer
  never trained on).

usage: build-quality-fixtures.py SHARED_DATA_DIR PAIRS_DIR OUT_DIR
(PAIRS_DIR: the output of `scripts/citation_pairs.py SHARED_DATA_DIR/dstc11 PAIRS_DIR`)
"""
import json
import random
import shutil
import sys
from collections import defaultdict
from pathlib import Path

SEED = 20261207


def rows(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def write(path, items):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for r in items:
            f.write(json.dumps(r, ensure_ascii=False, sort_keys=True) + "\n")


def intake(data, out, rng):
    train = rows(data / "clinc150/train.jsonl")
    val = rows(data / "clinc150/val.jsonl")
    labels = sorted({r["label"] for r in train if r["label"] != "oos"})
    chosen = sorted(rng.sample(labels, 20))
    by = lambda rs: {l: [r for r in rs if r["label"] == l] for l in chosen + ["oos"]}
    tr, va = by(train), by(val)
    train_rows = [r for l in chosen for r in rng.sample(tr[l], 30)] + rng.sample(tr["oos"], 40)
    test_rows = [r for l in chosen for r in rng.sample(va[l], 10)] + rng.sample(va["oos"], 40)
    write(out / "intake-train.jsonl", [{"text": r["text"], "label": r["label"]} for r in train_rows])
    write(out / "intake-test.jsonl", [{"text": r["text"], "label": r["label"]} for r in test_rows])
    shutil.copy(data / "clinc150/LICENSE", out / "LICENSE-clinc150")


def beir(data, out, rng):
    src = data / "dstc11-beir"
    queries = rows(src / "queries.jsonl")
    corpus = rows(src / "corpus.jsonl")
    qrels = defaultdict(list)
    with open(src / "qrels/test.tsv", encoding="utf-8") as f:
        next(f)
        for line in f:
            q, c, s = line.rstrip("\n").split("\t")
            qrels[q].append((c, s))
    title = {p["_id"]: p["title"] for p in corpus}
    picked = rng.sample([q for q in queries if qrels.get(q["_id"])], 60)
    entities = {title[c] for q in picked for c, _ in qrels[q["_id"]]}
    keep = [p for p in corpus if p["title"] in entities]
    others = [p for p in corpus if p["title"] not in entities]
    keep += rng.sample(others, 200)
    keep.sort(key=lambda p: p["_id"])
    dest = out / "beir"
    write(dest / "corpus.jsonl", keep)
    write(dest / "queries.jsonl", picked)
    (dest / "qrels").mkdir(parents=True, exist_ok=True)
    with open(dest / "qrels/test.tsv", "w", encoding="utf-8") as f:
        f.write("query-id\tcorpus-id\tscore\n")
        for q in picked:
            for c, s in qrels[q["_id"]]:
                f.write(f"{q['_id']}\t{c}\t{s}\n")
    for name in ("LICENSE", "NOTICE"):
        shutil.copy(data / "dstc11" / name, out / f"{name}-dstc11")


def citations(pairs, out, rng):
    test = rows(pairs / "citations_test.jsonl")
    by_kind = defaultdict(list)
    for r in test:
        by_kind[r.get("kind", "")].append(r)
    total = len(test)
    picked = []
    for kind in sorted(by_kind):
        share = round(600 * len(by_kind[kind]) / total)
        picked += rng.sample(by_kind[kind], share)
    write(out / "citations.jsonl", picked)


def main():
    data, pairs, out = (Path(a) for a in sys.argv[1:4])
    out.mkdir(parents=True, exist_ok=True)
    intake(data, out, random.Random(SEED))
    beir(data, out, random.Random(SEED + 1))
    citations(pairs, out, random.Random(SEED + 2))


if __name__ == "__main__":
    main()
