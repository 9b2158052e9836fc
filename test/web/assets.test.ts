import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ASSET_PATHS, serveAsset } from "../../src/web/assets.ts";

// The UI is ES modules embedded by src/web/assets.ts: a file under src/web/ui/ that is not
// listed there would work from nothing (404 in the browser), so every file and every import
// must be served.

const UI = join(import.meta.dir, "..", "..", "src", "web", "ui");

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  );
}

const files = walk(UI)
  .filter((f) => /\.(js|css)$/.test(f))
  .map((f) => `/${relative(UI, f)}`);

test("every .js and .css file under src/web/ui is embedded, with its type", async () => {
  expect(files.length).toBeGreaterThan(10);
  for (const f of files) {
    expect(ASSET_PATHS, f).toContain(f);
    const res = serveAsset(f);
    expect(res.status, f).toBe(200);
    expect(res.headers.get("content-type"), f).toContain(
      f.endsWith(".js") ? "text/javascript" : "text/css",
    );
    expect(await res.text()).toBe(readFileSync(join(UI, f), "utf8"));
  }
  expect(serveAsset("/pages/nope.js").status).toBe(404);
  expect(serveAsset("/conn/x/live").headers.get("content-type")).toContain("text/html");
});

test("every relative import of a UI module names an embedded file", () => {
  for (const f of files.filter((x) => x.endsWith(".js"))) {
    const text = readFileSync(join(UI, f), "utf8");
    for (const m of text.matchAll(/^import[^"]*"(\.{1,2}\/[^"]+)";/gm)) {
      const target = new URL(m[1]!, `http://x${f}`).pathname;
      expect(ASSET_PATHS, `${f} imports ${m[1]}`).toContain(target);
    }
  }
});

test("the Korean catalogue has every key of the English one, with the same {placeholders}", async () => {
  const load = async (l: string) =>
    ((await import(join(UI, "i18n", `${l}.js`))) as { default: Record<string, string> }).default;
  const en = await load("en");
  const ko = await load("ko");
  expect(Object.keys(ko).sort()).toEqual(Object.keys(en).sort());
  const holes = (s: string) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
  for (const k of Object.keys(en)) expect(holes(ko[k]!), k).toEqual(holes(en[k]!));
});
