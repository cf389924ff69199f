// The About dialog: every shipped component listed as text, models included.
// @vitest-environment jsdom
import { describe, expect, it } from "vitest";
import licenses from "../licenses.json";
import { aboutBody, licenseCounts, type LicenseList } from "./about";

const list: LicenseList = {
  signoff: { version: "0.1.0", license: "Apache-2.0" },
  models: [{ name: "all-MiniLM-L6-v2", by: "x", use: "y", source: "z", license: "Apache-2.0" }],
  npm: [{ name: "@tauri-apps/api", version: "2.12.5", license: "Apache-2.0 OR MIT" }],
  crates: [
    { name: "<img src=x onerror=alert(1)>", version: "1.0.0", license: "MIT" },
    { name: "serde", version: "1.0.0", license: "MIT OR Apache-2.0" },
    { name: "ring", version: "0.17.0", license: "MIT" },
  ],
};

describe("about dialog", () => {
  it("counts licences, most common first", () => {
    expect(licenseCounts(list)).toEqual([
      ["MIT", 2],
      ["Apache-2.0", 1],
      ["Apache-2.0 OR MIT", 1],
      ["MIT OR Apache-2.0", 1],
    ]);
  });

  it("lists every component as text, never markup", () => {
    const root = document.createElement("div");
    root.append(...aboutBody(list));
    expect(root.querySelectorAll("[data-testid=license-crates] tr").length).toBe(3);
    expect(root.textContent).toContain("<img src=x onerror=alert(1)>");
    expect(root.querySelector("img")).toBeNull();
    expect(root.querySelector("[data-testid=license-npm]")?.textContent).toContain("@tauri-apps/api");
  });

  it("the shipped list names both models, the UI's npm packages and hundreds of crates", () => {
    const shipped = licenses as LicenseList;
    const root = document.createElement("div");
    root.append(...aboutBody(shipped));
    const models = root.querySelector("[data-testid=license-models]")?.textContent ?? "";
    expect(models).toContain("all-MiniLM-L6-v2");
    expect(models).toContain("SmolLM2-135M-Instruct");
    expect(shipped.models.every((m) => m.license === "Apache-2.0")).toBe(true);
    expect(shipped.npm.map((n) => n.name)).toContain("@tauri-apps/api");
    expect(shipped.crates.length).toBeGreaterThan(100);
  });
});
