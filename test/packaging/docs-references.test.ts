import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// The pages shipped in /usr/share/doc/nodi-edge/ (README.md and every docs/ page) and the
// unit files: what they cite must be in the repository and the package, where a reader is.
const ROOT = join(import.meta.dir, "../..");
const pages = ["README.md", ...readdirSync(join(ROOT, "docs")).map((f) => `docs/${f}`)].filter(
  (f) => f.endsWith(".md"),
);
const units = readdirSync(join(ROOT, "packaging/systemd")).map((f) => `packaging/systemd/${f}`);
const text = (f: string) => readFileSync(join(ROOT, f), "utf8");

test("no shipped page or unit cites DESIGN.md, which is not in the repository", () => {
  const cites = [...pages, ...units].flatMap((f) =>
    text(f)
      .split("\n")
      .map((line, i) => ({ at: `${f}:${i + 1}`, line }))
      .filter((x) => x.line.includes("DESIGN.md")),
  );
  expect(cites).toEqual([]);
});

test('every `docs/page.md "Section"` reference names a heading or a bold lead of that page', () => {
  const norm = (s: string) => s.replace(/[`*]/g, "").replace(/\s+/g, " ").trim().toLowerCase();
  const sections = new Map<string, string[]>();
  for (const f of pages) {
    const lines = text(f).split("\n");
    sections.set(f.replace(/^docs\//, ""), [
      ...lines.filter((l) => l.startsWith("#")).map((l) => norm(l.replace(/^#+/, ""))),
      ...[...text(f).matchAll(/\*\*([^*]+)\*\*/g)].map((m) => norm(m[1]!)),
    ]);
  }
  const broken: string[] = [];
  for (const f of pages) {
    for (const m of text(f).matchAll(/(?:docs\/)?([a-z0-9-]+\.md),? "([^"]+)"/g)) {
      const known = sections.get(m[1]!);
      if (!known) continue; // another file (packaging/README.md …)
      const want = norm(m[2]!);
      if (!known.some((s) => s.includes(want))) broken.push(`${f}: ${m[1]} "${m[2]}"`);
    }
  }
  expect(broken).toEqual([]);
});
