import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Locator, Page } from "playwright-core";
import { importCsv, readInputs } from "../../src/loader/import.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir } from "../support/tmp.ts";
import { spawnWebProcess, type WebProcess } from "./helpers.ts";
import { CHROMIUM, launchChromium } from "./large-conn.ts";

// Every page in Korean (issue 17 "Languages"), in Debian's chromium with a Korean browser
// language (`ko-KR`, no switch used): each page shows its Korean heading, and its text holds
// neither a catalogue key (a string missing from the catalogues) nor an English catalogue
// text. Screenshots go to test-artifacts/web/ko-*.png (boxes without a CJK font; the text is
// checked in the DOM).

const ROOT = join(import.meta.dir, "..", "..");
const SHOTS = join(ROOT, "test-artifacts", "web");
const PASSWORD = "e2e-password-1";
const WAIT = 60_000;

let redis: RedisServer;
let dir: { path: string; cleanup(): void };
let store: Store;
let ctx: BrowserContext;
let page: Page;
let base = "";
let web: WebProcess | undefined;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} missing: run node scripts/ensure-deps.mjs`);
  mkdirSync(SHOTS, { recursive: true });
  redis = await new RedisServer().start();
  dir = tempDir("ne-web-i18n-");
  const dbPath = join(dir.path, "ne.db");
  store = openStore(dbPath);
  // a connection with devices, blocks and tags, and the profile its devices are instances of
  importCsv(store, readInputs([join(ROOT, "examples", "rs485")]));
  web = await spawnWebProcess({
    dbPath,
    dataDir: dir.path,
    redisUrl: redis.url,
    prefixName: "web-i18n",
    password: PASSWORD,
    waitMs: WAIT,
  });
  base = web.base;
  ({ ctx, page } = await launchChromium(dir.path, undefined, { locale: "ko-KR" }));
  page.setDefaultTimeout(WAIT);
}, 120_000);

afterAll(async () => {
  await ctx?.close().catch(() => {});
  await web?.stop();
  store?.close();
  await redis?.shutdown();
  dir?.cleanup();
}, 60_000);

const load = async (l: string) =>
  (
    (await import(join(ROOT, "src", "web", "ui", "i18n", `${l}.js`))) as {
      default: Record<string, string>;
    }
  ).default;
const EN = await load("en");
const KO = await load("ko");
// English catalogue texts of three words or more that differ in Korean: on a Korean page
// any of them means a string that did not go through the catalogue (or went through en).
const ENGLISH = Object.entries(EN)
  .filter(([k, v]) => KO[k] !== v && v.split(/\s+/).length >= 3 && !v.includes("{"))
  .map(([, v]) => v);

test("every page in Korean: Korean headings, no catalogue key shown, no English catalogue text", async () => {
  await page.goto(base);
  await page.locator("#login-form h1", { hasText: KO["login.title"]! }).waitFor();
  expect(await page.evaluate("document.documentElement.lang")).toBe("ko");
  await page.fill('#login-form input[name="username"]', "admin");
  await page.fill('#login-form input[name="password"]', PASSWORD);
  await page.click('#login-form button[type="submit"]');
  await page.locator("#overview").waitFor();
  const pages: [hash: string, ready: string, heading: string][] = [
    ["#/", "#overview-table", "overview.title"],
    ["#/connections", "#conn-table", "conn.title"],
    ["#/new", "#conn-form", "conn.add"],
    ["#/conn/meters/live", "#values-table", "tab.live"],
    ["#/conn/meters/devices", "#device-table", "tab.devices"],
    ["#/conn/meters/blocks", "#block-table", "tab.blocks"],
    ["#/conn/meters/tags", "#tag-table", "tab.tags"],
    ["#/conn/meters/settings", "#conn-form", "tab.settings"],
    ["#/conn/meters/diag", "#diag-state-panel", "tab.diag"],
    ["#/north", "#north-table", "nav.north"],
    ["#/north-new", "#north-form", "north.add"],
    ["#/profiles", "#profile-table", "profiles.title"],
    ["#/profile/eastron-sdm630", "#profile-tags", "tab.tags"],
    ["#/csv", "#import-form", "csv.import"],
    ["#/audit", "#audit-table", "audit.title"],
    ["#/account", "#token-form", "account.tokens"],
  ];
  const problems: string[] = [];
  for (const [hash, ready, heading] of pages) {
    await page.goto(`${base}/${hash}`);
    await page.locator(ready).first().waitFor();
    await page.locator("#main", { hasText: KO[heading]! }).waitFor();
    await shot(`ko-${hash.replace(/[#/]+/g, "-").replace(/^-|-$/g, "") || "overview"}`);
    // the audit trail's rows are data (its actions are named like keys: csv.import)
    const scope = hash === "#/audit" ? "#main h1, #audit-filter, #audit-table thead" : "#main";
    let body = await text(page.locator("#nav"));
    for (const el of await page.locator(scope).all()) body += await text(el);
    // a key shown as text: t() found it in neither catalogue
    for (const k of Object.keys(EN)) if (body.includes(k)) problems.push(`${hash}: key ${k}`);
    for (const s of ENGLISH) if (body.includes(s)) problems.push(`${hash}: English "${s}"`);
  }
  expect(problems).toEqual([]);
  // field labels of the forms in Korean (field-text-ko.ts via /api/schema)
  await page.goto(`${base}/#/new`);
  expect(await text(page.locator('#conn-form [data-row="conn_id"] .label'))).toBe("연결 ID");
  // and their one-line help (field-help-ko.ts), the range and default after it
  expect(await text(page.locator('#conn-form [data-row="conn_id"] .help'))).toContain(
    "영문 소문자, 숫자, - 와 _",
  );
  await page.goto(`${base}/#/north-new`);
  expect(await text(page.locator('#north-form [data-row="broker_urls"] .label'))).toBe("브로커");
  // dates in the locale: the audit trail's login entry as Korean short date (26. 12. 2.)
  await page.goto(`${base}/#/audit`);
  await page.locator("#audit-table tbody tr").first().waitFor();
  expect(await text(page.locator("#audit-table tbody tr td").first())).toMatch(
    /^\d{2,4}\. \d{1,2}\. \d{1,2}\. /,
  );
  // the write dialog and the confirm dialog in Korean
  await page.goto(`${base}/#/connections`);
  await page.locator('#conn-table tr[data-conn="meters"] button.danger').click();
  expect(await text(page.locator("#confirm-text"))).toContain("삭제할까요");
  expect(await text(page.locator("#dialog"))).toContain(KO["common.cancel"]!);
  await page.locator("#dialog button.secondary").click();
  // back to English with the switch
  await page.selectOption("#lang", "en");
  await page.locator("#main h1", { hasText: EN["conn.title"]! }).waitFor();
  expect(await text(page.locator("#conn-table thead"))).toContain("Last good poll");
}, 180_000);

/** The text of the first element `l` finds ("" when it has none). */
async function text(l: Locator): Promise<string> {
  return (await l.first().textContent()) ?? "";
}

async function shot(name: string) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}
