import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import { importCsv, readInputs } from "../../src/loader/import.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir } from "../support/tmp.ts";
import { seriousA11yViolations } from "./axe.ts";
import { spawnWebProcess, until, type WebProcess } from "./helpers.ts";
import { CHROMIUM, launchChromium } from "./large-conn.ts";

// The device profiles page in Debian's chromium (issue 14): the list with its instances, one
// profile's blocks and tags, adding a profile from its CSV files, a refused and a done
// removal. Screenshots go to test-artifacts/web/.

const ROOT = join(import.meta.dir, "..", "..");
const SHOTS = join(ROOT, "test-artifacts", "web");
const PASSWORD = "e2e-password-1";
const WAIT = 60_000;
const SHIPPED = join(ROOT, "examples", "profiles");

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
  dir = tempDir("ne-web-profiles-");
  const dbPath = join(dir.path, "ne.db");
  store = openStore(dbPath);
  // the RS-485 example: three SDM630 meters, instances of the shipped profile
  importCsv(store, readInputs([join(ROOT, "examples", "rs485")]));
  web = await spawnWebProcess({
    dbPath,
    dataDir: dir.path,
    redisUrl: redis.url,
    prefixName: "web-prof",
    password: PASSWORD,
    waitMs: WAIT,
  });
  base = web.base;
  ({ ctx, page } = await launchChromium(dir.path));
  page.setDefaultTimeout(WAIT);
}, 120_000);

afterAll(async () => {
  await ctx?.close().catch(() => {});
  await web?.stop();
  store?.close();
  await redis?.shutdown();
  dir?.cleanup();
}, 60_000);

const a11y: string[] = [];
async function shot(name: string) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  for (const v of await seriousA11yViolations(page))
    a11y.push(`${name}: ${v.id} (${v.impact}) ${v.help}: ${v.targets.join(", ")}`);
}

test("profiles page: list with instances, show, add from CSV files, removal refused while in use, removal", async () => {
  await page.goto(base);
  await page.fill('#login-form input[name="username"]', "admin");
  await page.fill('#login-form input[name="password"]', PASSWORD);
  await page.click('#login-form button[type="submit"]');
  await page.locator("#overview").waitFor();

  await page.click('#nav a[href="#/profiles"]');
  const sdm = page.locator('#profile-table tr[data-profile="eastron-sdm630"]');
  await sdm.waitFor();
  expect(await sdm.textContent()).toContain("meters/feeder2");
  await shot("profiles-01-list");

  await sdm.locator("a", { hasText: "eastron-sdm630" }).click();
  await page.locator("#profile-tags").waitFor();
  expect(await page.locator("#profile-tags tbody tr").count()).toBe(37);
  expect(await page.locator("#profile-blocks").textContent()).toContain("input_registers");
  await shot("profiles-02-show");

  // removal refused: three devices are instances
  await page.click("#profile-remove");
  await page.click("#confirm-yes");
  await until(
    "the refusal",
    async () => (await page.textContent("body"))?.includes("instance(s)") ?? false,
    WAIT,
  );
  expect(store.getProfile("eastron-sdm630")).toBeDefined();

  // add the VFD profile from its three files
  await page.goto(`${base}/#/profiles`);
  await page.locator("#profile-form").waitFor();
  const atv = join(SHIPPED, "schneider-atv320");
  await page.setInputFiles(
    "#profile-files",
    ["profiles.csv", "profile_blocks.csv", "profile_tags.csv"].map((f) => join(atv, f)),
  );
  await page.click("#profile-go");
  await page.locator("#profile-ok").waitFor();
  expect(await page.locator("#profile-result").textContent()).toContain(
    "profile schneider-atv320: created",
  );
  const atvRow = page.locator('#profile-table tr[data-profile="schneider-atv320"]');
  await atvRow.waitFor();
  await shot("profiles-03-added");
  expect(store.getProfile("schneider-atv320")?.tags.length).toBeGreaterThan(10);

  // without instances it goes
  await atvRow.locator("button", { hasText: "Remove" }).click();
  await page.click("#confirm-yes");
  await atvRow.waitFor({ state: "detached" });
  expect(store.getProfile("schneider-atv320")).toBeUndefined();
  expect(a11y).toEqual([]);
}, 120_000);
