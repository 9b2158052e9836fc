import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { FIELD_HELP_KO } from "../../src/store/field-help-ko.ts";
import { fieldText } from "../../src/store/field-text.ts";
import { FIELD_LABELS_KO } from "../../src/store/field-text-ko.ts";
import { FIELDS } from "../../src/store/fields.ts";

// Every user-visible string of the web UI comes from the catalogues (src/web/ui/i18n/en.js,
// ko.js): the keys the modules use exist in both, and no page or component module holds an
// English UI text of its own (a scan of its string literals; see docs/web.md "Languages").

const UI = join(import.meta.dir, "..", "..", "src", "web", "ui");
const MODULES = ["pages", "components"].flatMap((d) =>
  readdirSync(join(UI, d))
    .filter((f) => f.endsWith(".js"))
    .map((f) => `${d}/${f}`),
);

async function catalogue(l: string): Promise<Record<string, string>> {
  return ((await import(join(UI, "i18n", `${l}.js`))) as { default: Record<string, string> })
    .default;
}

/** Literal text parts of a JS module: `{ text, before }` (before = the code just ahead). */
export function literals(src: string): { text: string; before: string }[] {
  const out: { text: string; before: string }[] = [];
  let i = 0;
  const code = (stopAtBrace: boolean): void => {
    let depth = 0;
    while (i < src.length) {
      const c = src[i]!;
      if (c === "/" && src[i + 1] === "/") {
        while (i < src.length && src[i] !== "\n") i++;
      } else if (c === "/" && src[i + 1] === "*") {
        i = src.indexOf("*/", i + 2) + 2;
      } else if (c === '"' || c === "'") {
        const start = i++;
        while (i < src.length && src[i] !== c) i += src[i] === "\\" ? 2 : 1;
        out.push({
          text: src.slice(start + 1, i),
          before: src.slice(Math.max(0, start - 60), start),
        });
        i++;
      } else if (c === "`") {
        template();
      } else if (c === "/" && /[=(,:!&|?{};[]\s*$/.test(src.slice(Math.max(0, i - 20), i))) {
        // a regular expression literal
        i++;
        let cls = false;
        while (i < src.length && (cls || src[i] !== "/")) {
          if (src[i] === "\\") i++;
          else if (src[i] === "[") cls = true;
          else if (src[i] === "]") cls = false;
          i++;
        }
        i++;
      } else {
        if (c === "{") depth++;
        if (c === "}") {
          if (stopAtBrace && depth === 0) {
            i++;
            return;
          }
          depth--;
        }
        i++;
      }
    }
  };
  const template = (): void => {
    const start = i++;
    let part = i;
    const push = () =>
      out.push({ text: src.slice(part, i), before: src.slice(Math.max(0, start - 60), start) });
    while (i < src.length && src[i] !== "`") {
      if (src[i] === "\\") i += 2;
      else if (src[i] === "$" && src[i + 1] === "{") {
        push();
        i += 2;
        code(true);
        part = i;
      } else i++;
    }
    push();
    i++;
  };
  code(false);
  return out;
}

// Property values that are never shown (class names, types, ids …); title, placeholder and
// aria-label are shown, so their values are checked.
const HIDDEN_PROP = /(?:^|[{,\s])(?!title\b|placeholder\b|"aria-label")("[\w-]+"|[\w]+):\s*$/;
// Text that is not English UI wording: protocol and product words, units, codes.
const ALLOWED = new Set(["sparkplug ", "commit ", "attn rank-"]);

/** A literal that reads as English UI text (a capitalised word, or two words). */
function looksEnglish(text: string): boolean {
  return /\b[A-Z][a-z]{2,}\b/.test(text) || /[a-z]{2,} [a-z]|[a-z] [a-z]{2,}/.test(text);
}

test("the two catalogues have the same keys, and each key a UI module names is in them", async () => {
  const en = await catalogue("en");
  const ko = await catalogue("ko");
  expect(Object.keys(ko).filter((k) => !(k in en))).toEqual([]);
  expect(Object.keys(en).filter((k) => !(k in ko))).toEqual([]);
  expect(Object.keys(en).length).toBeGreaterThan(200);
  // Korean is Korean: most entries carry Hangul (the rest are codes such as "PID")
  const hangul = Object.values(ko).filter((s) => /[\uac00-\ud7a3]/.test(s)).length;
  expect(hangul / Object.keys(ko).length).toBeGreaterThan(0.95);
  const missing: string[] = [];
  for (const f of [...MODULES, "app.js", "core/format.js", "core/fields.js"]) {
    const src = readFileSync(join(UI, f), "utf8");
    for (const m of src.matchAll(/\bt\("([\w.]+)"/g))
      if (!(m[1]! in en)) missing.push(`${f}: ${m[1]}`);
    // keys built from a prefix (t(`audit.kind.${k}`)): the prefix names some key
    for (const m of src.matchAll(/\bt\(`([\w.]+)\$\{/g))
      if (!Object.keys(en).some((k) => k.startsWith(m[1]!))) missing.push(`${f}: ${m[1]}*`);
  }
  expect(missing).toEqual([]);
});

test("the literal scan finds English text and skips class names, keys and regexps", () => {
  const src = [
    'h("p", { class: "muted small" }, "Hello there");',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the scanned source holds a template
    'h("h2", {}, `Write ${path} now`);',
    't("common.save"); const re = /a b/; h("input", { placeholder: "type a name" });',
  ].join("\n");
  const flagged = literals(src)
    .filter((l) => !HIDDEN_PROP.test(l.before) && !/\bt\($/.test(l.before))
    .filter((l) => looksEnglish(l.text))
    .map((l) => l.text);
  expect(flagged).toEqual(["Hello there", "Write ", "type a name"]);
});

test("no page or component module holds an English UI string of its own", () => {
  expect(MODULES.length).toBeGreaterThan(15);
  const found: string[] = [];
  for (const f of MODULES) {
    const src = readFileSync(join(UI, f), "utf8");
    for (const l of literals(src)) {
      if (HIDDEN_PROP.test(l.before)) continue; // class: "…", type: "…", id: "…"
      if (/\bt\($/.test(l.before)) continue; // a catalogue key
      if (/\bimport\b[^;]*$|\bfrom\s*$/.test(l.before)) continue;
      if (/(\$|querySelector(All)?|closest|matches|setAttribute|getAttribute)\($/.test(l.before))
        continue;
      if (ALLOWED.has(l.text) || !looksEnglish(l.text)) continue;
      found.push(`${f}: ${JSON.stringify(l.text)}`);
    }
  }
  expect(found).toEqual([]);
});

test("every form field label of field-text.ts has a Korean label", () => {
  const missing = new Set<string>();
  for (const [entity, fields] of Object.entries(FIELDS))
    for (const f of fields) {
      const label = fieldText(entity as keyof typeof FIELDS, f.name)?.label;
      if (label && !(label in FIELD_LABELS_KO)) missing.add(label);
    }
  expect([...missing]).toEqual([]);
});

test("every one-line help of field-text.ts has a Korean help", () => {
  const missing = new Set<string>();
  for (const [entity, fields] of Object.entries(FIELDS))
    for (const f of fields) {
      const help = fieldText(entity as keyof typeof FIELDS, f.name)?.help;
      if (help && !(help in FIELD_HELP_KO)) missing.add(help);
    }
  expect([...missing]).toEqual([]);
});
