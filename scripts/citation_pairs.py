#!/usr/bin/env python3
"""Builds claim/passage dev pairs for `signoff eval citations` from DSTC11 track 5 data.

Supported rows: a human reference response with its gold snippets (each prefixed with its
entity's name), and an FAQ answer with its FAQ. Unsupported rows: the response paired with
another entity's snippets, the entity name swapped, a number changed, a yes/no flipped.
Rows are split into two disjoint parts by entity (every row of an entity lands on one side),
so a scorer trained on one part is measured on entities and responses it never saw.

With `--augment K` it also writes citations_train_aug.jsonl: the train part plus, for the
train entities only, K more mutations of each response and every FAQ (not three) with its
mutations, drawn from a second random stream so the three files above stay the same. More
number changes and yes/no flips give the model enough of the rare kinds to weigh them; the
test part is untouched.

With `--split-seed S` the entities are split by a hash salted with S (a second, different
split by entity); without it the split is the one the checked-in model was trained on.

With `--wide` it also writes citations_test_wide.jsonl: every supported test-side row with
number changes and flips made other ways (times on the other clock, prices, percentages,
ordinals, number words up to thirty; polarity words swapped, negations added or removed
without touching a leading yes/no), to check that the detectors are not fitted to one
generator; and citations_train_wide.jsonl, the train part plus such changes of the train
entities (what the checked-in model is trained on).

usage: citation_pairs.py DSTC11_DIR OUT_DIR [--seed N] [--split-seed S] [--augment K] [--wide]
writes OUT_DIR/citations_train.jsonl, citations_test.jsonl, citations_all.jsonl
"""
import hashlib
import json
import random
import re
import sys
from pathlib import Path

NUM_WORDS = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"]
GENERIC = {"the", "hotel", "guest", "house", "guesthouse", "restaurant", "bed", "and",
           "breakfast", "bar", "grill", "cafe", "lodge", "inn", "city", "centre", "kitchen", "&"}


def title(name):
    """Title-cases an upper-case knowledge name the way responses write it."""
    return " ".join(w[:1].upper() + w[1:] for w in name.lower().split())


def aliases(name):
    """Ways a response may write an entity name, longest first (full, without 'the')."""
    low = name.lower()
    out = [low]
    if low.startswith("the "):
        out.append(low[4:])
    core = [w for w in low.split() if w not in GENERIC]
    if core and " ".join(core) not in out:
        out.append(" ".join(core))
    return sorted(set(out), key=len, reverse=True)


def find_name(text, name):
    """The first span of `text` naming the entity, or None."""
    for a in aliases(name):
        m = re.search(r"\b" + re.escape(a) + r"\b", text, re.I)
        if m:
            return m.span()
    return None


def snippet_text(know, ref):
    ent = know[ref["domain"]][str(ref["entity_id"])]
    if ref["doc_type"] == "review":
        return ent["name"], ent["reviews"][str(ref["doc_id"])]["sentences"][str(ref["sent_id"])]
    faq = ent["faqs"][str(ref["doc_id"])]
    return ent["name"], faq["question"] + " " + faq["answer"]


def passage_of(know, refs):
    return "\n".join(f"{title(n)}: {t}" for n, t in (snippet_text(know, r) for r in refs))


def change_number(text, rng):
    """Changes one number (digits first, else a number word); None when there is none."""
    digits = list(re.finditer(r"\d+", text))
    if digits:
        m = rng.choice(digits)
        v = int(m.group())
        new = v + rng.choice([1, 2, 3, 5, 10]) if v < 3 or rng.random() < 0.5 else max(0, v - rng.choice([1, 2]))
        if new == v:
            new = v + 1
        return text[: m.start()] + str(new) + text[m.end():]
    words = list(re.finditer(r"\b(" + "|".join(NUM_WORDS) + r")\b", text, re.I))
    if words:
        m = rng.choice(words)
        old = m.group().lower()
        new = rng.choice([w for w in NUM_WORDS if w != old])
        if m.group()[0].isupper():
            new = new.capitalize()
        return text[: m.start()] + new + text[m.end():]
    return None


NEG = [(r"\bis not\b", "is"), (r"\bisn't\b", "is"), (r"\bare not\b", "are"), (r"\baren't\b", "are"),
       (r"\bdoes not\b", "does"), (r"\bdoesn't\b", "does"), (r"\bdo not\b", "do"), (r"\bdon't\b", "do"),
       (r"\bcan not\b", "can"), (r"\bcannot\b", "can"), (r"\bcan't\b", "can"),
       (r"\bis\b", "is not"), (r"\bare\b", "are not"), (r"\bcan\b", "cannot"), (r"\bdoes\b", "does not"),
       (r"\bhas\b", "does not have"), (r"\bhave\b", "do not have"), (r"\bwill\b", "will not")]


def flip_yes_no(text, rng):
    """Flips a leading yes/no; half the time also toggles the first verb's negation."""
    m = re.match(r"\s*(yes|no)\b", text, re.I)
    if not m:
        return None
    word = m.group(1)
    new = "No" if word.lower() == "yes" else "Yes"
    if word.islower():
        new = new.lower()
    out = text[: m.start(1)] + new + text[m.end(1):]
    if rng.random() < 0.5:
        for pat, rep in NEG:
            mm = re.search(pat, out[m.end(1):], re.I)
            if mm:
                s, e = m.end(1) + mm.start(), m.end(1) + mm.end()
                out = out[:s] + rep + out[e:]
                break
    return out


# --wide: other ways of changing a number or flipping a yes/no than the three files use, to
# check that the scorer's detectors are general rather than fitted to one generator.
WIDE_WORDS = NUM_WORDS + ["eleven", "twelve", "fifteen", "twenty", "thirty"]
ORD_WORDS = ["first", "second", "third", "fourth", "fifth"]
POLAR = [("allowed", "prohibited"), ("available", "unavailable"), ("free", "charged"),
         ("open", "closed"), ("included", "excluded"), ("permitted", "forbidden"),
         ("possible", "impossible"), ("accepted", "refused")]


def wide_number(text, rng):
    """Changes one number in any of its writings: a time (both clocks), a price, a
    percentage, an ordinal, a digit run or a number word up to thirty; None when none."""
    spots = []
    for m in re.finditer(r"\b(\d{1,2})(:\d\d)?\s*([ap]\.?m\.?)", text, re.I):
        h = int(m.group(1))
        fmt = rng.choice(["12h", "24h"])
        new_h = (h % 12) + rng.choice([1, 2, 3])
        new_h = (new_h - 1) % 12 + 1
        pm = m.group(3).lower().startswith("p")
        if fmt == "24h":
            rep = f"{(new_h % 12) + (12 if pm else 0):02d}:{(m.group(2) or ':00')[1:]}"
        else:
            rep = f"{new_h}{m.group(2) or ''} {m.group(3)}"
        spots.append((m.start(), m.end(), rep))
    for m in re.finditer(r"([£$€])(\d+(?:\.\d\d)?)", text):
        v = float(m.group(2))
        spots.append((m.start(), m.end(), f"{m.group(1)}{v + rng.choice([2, 5, 10]):g}"))
    for m in re.finditer(r"\b(\d+)\s*(%|percent)", text):
        spots.append((m.start(1), m.end(1), str(int(m.group(1)) + rng.choice([5, 10, 20]))))
    for m in re.finditer(r"\b(" + "|".join(ORD_WORDS) + r")\b", text, re.I):
        new = rng.choice([w for w in ORD_WORDS if w != m.group().lower()])
        spots.append((m.start(), m.end(), new.capitalize() if m.group()[0].isupper() else new))
    taken = [(a, b) for a, b, _ in spots]
    for m in re.finditer(r"\b\d+\b", text):
        if not any(a <= m.start() < b for a, b in taken) and not text[:m.start()].endswith(":"):
            v = int(m.group())
            spots.append((m.start(), m.end(), str(v + rng.choice([1, 2, 3, 7]))))
    for m in re.finditer(r"\b(" + "|".join(WIDE_WORDS) + r")\b", text, re.I):
        old = m.group().lower()
        new = rng.choice([w for w in WIDE_WORDS if w != old])
        if old == "one" and re.match(r"\s+(of|another)\b", text[m.end():], re.I):
            continue
        spots.append((m.start(), m.end(), new.capitalize() if m.group()[0].isupper() else new))
    if not spots:
        return None
    a, b, rep = rng.choice(spots)
    return text[:a] + rep + text[b:]


def wide_flip(text, rng):
    """Flips the answered statement without touching a leading yes/no word: swaps a polarity
    word for its opposite, else adds or removes a negation in the first sentence; None when
    the first sentence offers neither."""
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]
    for a, b in POLAR:
        for x, y in ((a, b), (b, a)):
            m = re.search(r"\b" + x + r"\b", first, re.I)
            if m:
                return text[: m.start()] + y + text[m.end():]
    lead = re.match(r"\s*(yes|no)\b[,.!]?\s*", first, re.I)
    start = lead.end() if lead else 0
    for pat, rep in NEG:
        mm = re.search(pat, first[start:], re.I)
        if mm:
            s0, e0 = start + mm.start(), start + mm.end()
            return text[:s0] + rep + text[e0:]
    return None


def wide_rows(know, insts, seed, side="test"):
    """Rows of one side for --wide: each supported row once, then its wide number change and
    wide flip when it has one."""
    rng = random.Random(seed * 1000 + (2 if side == "test" else 3))
    rows = []

    def add(claim, passage, supported, kind, ent):
        rows.append({"claim": claim, "passage": passage, "supported": supported, "kind": kind,
                     "entity": ent, "split": side, "wide": True})

    def mutate(text, passage, ent):
        nc = wide_number(text, rng)
        if nc and nc != text:
            add(nc, passage, False, "number_change_wide", ent)
        fl = wide_flip(text, rng)
        if fl and fl != text:
            add(fl, passage, False, "yesno_flip_wide", ent)

    for x in insts:
        r0 = x["knowledge"][0]
        key = f'{r0["domain"]}:{r0["entity_id"]}'
        if fold(key) != side:
            continue
        resp = x["response"].strip()
        passage = passage_of(know, x["knowledge"])
        add(resp, passage, True, "supported_response", key)
        mutate(resp, passage, key)
    for dom in sorted(know):
        for eid in sorted(know[dom], key=int):
            ent, key = know[dom][eid], f"{dom}:{eid}"
            if fold(key) != side:
                continue
            for _, faq in sorted(ent["faqs"].items(), key=lambda kv: int(kv[0])):
                ans = faq["answer"].strip()
                passage = f'{title(ent["name"])}: {faq["question"]} {ans}'
                add(ans, passage, True, "supported_faq", key)
                mutate(ans, passage, key)
    return rows



def swap_name(text, name, others, rng):
    span = find_name(text, name)
    if not span:
        return None
    other = rng.choice(others)
    return text[: span[0]] + title(other) + text[span[1]:]


SPLIT_SEED = None


def fold(key):
    """The side of an entity: a hash of its key (salted with --split-seed when given)."""
    salted = key if SPLIT_SEED is None else f"{SPLIT_SEED}:{key}"
    return "train" if int(hashlib.sha256(salted.encode()).hexdigest(), 16) % 2 == 0 else "test"


def augmented(know, insts, by_entity, names, k, seed):
    """More training rows for the train entities only: k extra mutations per response (other
    snippets, swapped name, changed number, flipped yes/no) and every FAQ with its own."""
    rng = random.Random(seed * 1000 + 1)
    rows = []

    def add(claim, passage, supported, kind, ent):
        rows.append({"claim": claim, "passage": passage, "supported": supported, "kind": kind,
                     "entity": ent, "split": "train", "augmented": True})

    def mutate(text, passage, name, others, ent):
        for _ in range(k):
            sw = swap_name(text, name, others, rng)
            if sw:
                add(sw, passage, False, "entity_swap", ent)
            nc = change_number(text, rng)
            if nc:
                add(nc, passage, False, "number_change", ent)
            fl = flip_yes_no(text, rng)
            if fl:
                add(fl, passage, False, "yesno_flip", ent)

    for x in insts:
        r0 = x["knowledge"][0]
        dom, key = r0["domain"], f'{r0["domain"]}:{r0["entity_id"]}'
        if fold(key) != "train":
            continue
        name = know[dom][str(r0["entity_id"])]["name"]
        resp = x["response"].strip()
        passage = passage_of(know, x["knowledge"])
        pool = [e for e in by_entity if e != key and e.startswith(dom) and fold(e) == "train"]
        for _ in range(k if pool else 0):
            other = rng.choice(by_entity[rng.choice(pool)])
            add(resp, passage_of(know, other["knowledge"]), False, "other_entity", key)
        own = {know[r["domain"]][str(r["entity_id"])]["name"] for r in x["knowledge"]}
        mutate(resp, passage, name, [n for n in names[dom] if n not in own], key)
    for dom in sorted(know):
        for eid in sorted(know[dom], key=int):
            ent, key = know[dom][eid], f"{dom}:{eid}"
            if fold(key) != "train":
                continue
            for _, faq in sorted(ent["faqs"].items(), key=lambda kv: int(kv[0])):
                ans = faq["answer"].strip()
                passage = f'{title(ent["name"])}: {faq["question"]} {ans}'
                add(ans, passage, True, "supported_faq", key)
                mutate(ans, passage, ent["name"], [n for n in names[dom] if n != ent["name"]], key)
    return rows


def main():
    args = sys.argv[1:]
    seed = 7
    if "--seed" in args:
        i = args.index("--seed")
        seed = int(args[i + 1])
        del args[i: i + 2]
    global SPLIT_SEED
    if "--split-seed" in args:
        i = args.index("--split-seed")
        SPLIT_SEED = int(args[i + 1])
        del args[i: i + 2]
    wide = "--wide" in args
    if wide:
        args.remove("--wide")
    augment = 0
    if "--augment" in args:
        i = args.index("--augment")
        augment = int(args[i + 1])
        del args[i: i + 2]
    if len(args) != 2:
        sys.exit(__doc__)
    src, out = Path(args[0]), Path(args[1])
    rng = random.Random(seed)
    know = json.loads((src / "knowledge.json").read_text())
    labels = json.loads((src / "dev_labels.json").read_text())
    names = {d: [e["name"] for e in know[d].values()] for d in know}
    rows = []

    def add(claim, passage, supported, kind, ent):
        rows.append({"claim": claim, "passage": passage, "supported": supported, "kind": kind,
                     "entity": ent, "split": fold(ent)})

    insts = [x for x in labels if x.get("target")]
    by_entity = {}
    for x in insts:
        r0 = x["knowledge"][0]
        key = f'{r0["domain"]}:{r0["entity_id"]}'
        by_entity.setdefault(key, []).append(x)
    for x in insts:
        r0 = x["knowledge"][0]
        dom, key = r0["domain"], f'{r0["domain"]}:{r0["entity_id"]}'
        name = know[dom][str(r0["entity_id"])]["name"]
        resp = x["response"].strip()
        passage = passage_of(know, x["knowledge"])
        add(resp, passage, True, "supported_response", key)
        # Another entity's snippets: an instance of a different entity of the same domain and fold.
        pool = [k for k in by_entity if k != key and k.startswith(dom) and fold(k) == fold(key)]
        if pool:
            other = rng.choice(by_entity[rng.choice(pool)])
            add(resp, passage_of(know, other["knowledge"]), False, "other_entity", key)
        mentioned = {f'{r["domain"]}:{r["entity_id"]}' for r in x["knowledge"]}
        own = {know[k.split(":")[0]][k.split(":")[1]]["name"] for k in mentioned}
        others = [n for n in names[dom] if n not in own]
        sw = swap_name(resp, name, others, rng)
        if sw:
            add(sw, passage, False, "entity_swap", key)
        nc = change_number(resp, rng)
        if nc:
            add(nc, passage, False, "number_change", key)
        fl = flip_yes_no(resp, rng)
        if fl:
            add(fl, passage, False, "yesno_flip", key)
    # FAQ answers with their FAQ: three per entity, mutated the same way.
    for dom in sorted(know):
        for eid in sorted(know[dom], key=int):
            ent = know[dom][eid]
            key = f"{dom}:{eid}"
            faqs = sorted(ent["faqs"].items(), key=lambda kv: int(kv[0]))
            for _, faq in rng.sample(faqs, min(3, len(faqs))):
                ans = faq["answer"].strip()
                passage = f'{title(ent["name"])}: {faq["question"]} {ans}'
                add(ans, passage, True, "supported_faq", key)
                sw = swap_name(ans, ent["name"], [n for n in names[dom] if n != ent["name"]], rng)
                if sw:
                    add(sw, passage, False, "entity_swap", key)
                nc = change_number(ans, rng)
                if nc:
                    add(nc, passage, False, "number_change", key)
                fl = flip_yes_no(ans, rng)
                if fl:
                    add(fl, passage, False, "yesno_flip", key)
    extra = augmented(know, insts, by_entity, names, augment, seed) if augment else []
    if wide:
        out.mkdir(parents=True, exist_ok=True)
        wrows = wide_rows(know, insts, seed)
        with open(out / "citations_test_wide.jsonl", "w") as f:
            for r in wrows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        kinds = {}
        for r in wrows:
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        print("test_wide", len(wrows), dict(sorted(kinds.items())))
        # The train side: its three-file rows plus the wide changes of its own entities (the
        # supported rows are already there once).
        trows = [r for r in rows if r["split"] == "train"]
        trows += [r for r in wide_rows(know, insts, seed, "train") if not r["supported"]]
        with open(out / "citations_train_wide.jsonl", "w") as f:
            for r in trows:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print("train_wide", len(trows))
    out.mkdir(parents=True, exist_ok=True)
    if augment:
        with open(out / "citations_train_aug.jsonl", "w") as f:
            for r in [r for r in rows if r["split"] == "train"] + extra:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        print("train_aug", sum(r["split"] == "train" for r in rows) + len(extra))
    for part in ("train", "test", "all"):
        sel = [r for r in rows if part == "all" or r["split"] == part]
        with open(out / f"citations_{part}.jsonl", "w") as f:
            for r in sel:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        kinds = {}
        for r in sel:
            kinds[r["kind"]] = kinds.get(r["kind"], 0) + 1
        print(part, len(sel), dict(sorted(kinds.items())))


if __name__ == "__main__":
    main()
