// The audit view's pure rules: the filter form, leaves read generically, labels, the words for
// a verification result, paging against a fake backend, and the audit keymap.
import { describe, expect, it } from "vitest";
import { AuditModel, EMPTY_FORM, dayStart, entryLabel, exportName, filterFromForm, fraction, leafCodes, readLeaf, verifyOutcome } from "./audit";
import type { AuditRowDto, VerifyReportDto } from "./ipc";
import { AUDIT_KEYMAP, KEYMAP, actionFor, auditActionFor } from "./keys";

const press = (key: string) => ({ key, ctrlKey: false, altKey: false, metaKey: false });

describe("filterFromForm", () => {
  it("turns local days into a half-open range that includes the 'to' day", () => {
    const r = filterFromForm({ ...EMPTY_FORM, from: "2026-11-24", to: "2026-11-25", actor: " ada ", disposition: "reject" });
    expect(r).toEqual({
      filter: {
        actor: "ada",
        from_ms: new Date(2026, 10, 24).getTime(),
        to_ms: new Date(2026, 10, 26).getTime(),
        disposition: "reject",
        band: null,
        kind: null,
        case_id: null,
      },
    });
  });

  it("leaves empty fields out", () => {
    const r = filterFromForm(EMPTY_FORM);
    expect("filter" in r && Object.values(r.filter).every((v) => v === null)).toBe(true);
  });

  it("names what is wrong with a day or a range", () => {
    expect(filterFromForm({ ...EMPTY_FORM, from: "25/11/2026" })).toEqual({ error: '"From" must be a day like 2026-11-25, not "25/11/2026".' });
    expect(filterFromForm({ ...EMPTY_FORM, to: "2026-02-30" })).toHaveProperty("error");
    expect(filterFromForm({ ...EMPTY_FORM, from: "2026-11-26", to: "2026-11-25" })).toEqual({ error: '"From" is after "To".' });
    expect(filterFromForm({ ...EMPTY_FORM, from: "2026-11-25", to: "2026-11-25" })).toHaveProperty("filter");
  });

  it("computes day starts across month ends", () => {
    expect(dayStart("2026-12-31", 1)).toBe(new Date(2027, 0, 1).getTime());
    expect(dayStart("nope")).toBeNull();
  });
});

describe("leaves", () => {
  const leaf =
    '{"actor":"erin","at":"2026-11-25T08:00:00.000Z","case_id":"E2E-1","kind":"disposition","payload":{"disposition":"reject","reason_code":"tone","reviewer_sig":{"alg":"ed25519"}},"seq":3,"v":1}';

  it("reads any payload fields, including ones added later", () => {
    const v = readLeaf(leaf);
    expect(v.payload.reviewer_sig).toEqual({ alg: "ed25519" });
    expect(v.pretty).toContain('\n  "actor": "erin"');
    expect(leafCodes("disposition", leaf)).toEqual({ disposition: "reject", reason: "tone" });
    expect(leafCodes("undo", '{"payload":{}}')).toEqual({ disposition: "undo", reason: null });
  });

  it("shows a leaf that is not JSON as it is", () => {
    expect(readLeaf("not json <b>")).toEqual({ fields: null, payload: {}, pretty: "not json <b>" });
    expect(leafCodes("import", "[1]")).toEqual({ disposition: null, reason: null });
  });

  it("labels entries in words", () => {
    expect(entryLabel("disposition", "reject", "tone")).toBe("Rejected (tone)");
    expect(entryLabel("disposition", "approve", null)).toBe("Approved");
    expect(entryLabel("key_rotation", null, null)).toBe("Key rotation");
  });
});

describe("verifyOutcome", () => {
  const base: VerifyReportDto = {
    ok: true, entries: 1234, nodes: 77, checkpoints: 9, signatures: 30, device_keys: 1,
    first_bad_index: null, at: null, message: null,
  };

  it("says what was checked on a pass", () => {
    expect(verifyOutcome(base)).toEqual({
      ok: true,
      text: "✓ Log verified: 1,234 entries, 9 signed checkpoints and 30 reviewer and key signatures all check.",
    });
    expect(verifyOutcome({ ...base, device_keys: 2 }).text).toContain("(across 2 device keys).");
  });

  it("names the first bad index on a failure", () => {
    const r = verifyOutcome({ ...base, ok: false, first_bad_index: 17, at: "entry 17", message: "the leaf does not match its stored hash" });
    expect(r.ok).toBe(false);
    expect(r.text).toBe("✗ Verification failed — first bad index 17 (entry 17): the leaf does not match its stored hash");
    expect(verifyOutcome({ ...base, ok: false, at: "checkpoint of size 40", message: "bad signature" }).text).toContain("checkpoint of size 40");
  });

  it("reports progress as a fraction", () => {
    expect(fraction(0, 0)).toBe(0);
    expect(fraction(50, 200)).toBe(0.25);
    expect(fraction(300, 200)).toBe(1);
    expect(exportName(new Date(2026, 0, 5))).toBe("signoff-audit-2026-01-05.csv");
  });
});

describe("AuditModel", () => {
  it("pages by cursor with the filter it was reset with", async () => {
    const all: AuditRowDto[] = Array.from({ length: 7 }, (_, i) => ({
      index: 6 - i,
      at: "2026-11-25T08:00:00.000Z",
      kind: "disposition",
      actor: "ada",
      case_id: null,
      disposition: "approve",
      reason_code: null,
      band: null,
      leaf_hash: "00",
      cursor: `c${6 - i}`,
    }));
    const calls: string[] = [];
    const m = new AuditModel(
      {
        auditPage: async (f, after, limit) => {
          calls.push(`${f.actor}:${after}`);
          const start = after === null ? 0 : all.findIndex((r) => r.cursor === after) + 1;
          return all.slice(start, start + limit);
        },
      },
      3,
    );
    await m.reset({ ...m.filter, actor: "ada" });
    await m.ensure(6);
    expect(m.rows.map((r) => r.index)).toEqual([6, 5, 4, 3, 2, 1, 0]);
    expect(m.exhausted).toBe(true);
    expect(calls).toEqual(["ada:null", "ada:c4", "ada:c1"]);
    await m.move(2);
    expect(m.current()?.index).toBe(4);
  });
});

describe("audit keys", () => {
  it("opens the audit view from the queue with L and leaves it with Esc", () => {
    expect(actionFor(press("L"))).toBe("audit");
    expect(auditActionFor(press("Escape"))).toBe("back");
    expect(auditActionFor(press("v"))).toBe("verify");
    expect(auditActionFor(press("Enter"))).toBe("open");
    expect(auditActionFor({ ...press("v"), ctrlKey: true })).toBeNull();
  });

  it("binds each key once in each view", () => {
    for (const map of [KEYMAP, AUDIT_KEYMAP]) {
      const keys = map.flatMap((b) => b.keys);
      expect(new Set(keys).size).toBe(keys.length);
    }
  });
});
