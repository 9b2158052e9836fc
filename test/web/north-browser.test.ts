import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { openStore, type Store } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { Mosquitto } from "../support/mosquitto.ts";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";
import { seriousA11yViolations } from "./axe.ts";
import { until } from "./helpers.ts";

// The northbound page in Debian's chromium: configure a northbound in the form (the kind
// decides which fields show; the server's refusal is shown on the field), then watch its
// health while the real supervisor runs the real ne-north against a real mosquitto.
// Screenshots go to test-artifacts/web/.

const ROOT = join(import.meta.dir, "..", "..");
const SHOTS = join(ROOT, "test-artifacts", "web");
const CHROMIUM = "/usr/bin/chromium";
const PASSWORD = "e2e-password-1";
const WAIT = 60_000;

let redis: RedisServer;
let broker: Mosquitto;
let dir: { path: string; cleanup(): void };
let observer: RedisTagBus;
let store: Store;
let ctx: BrowserContext;
let page: Page;
let base = "";
const procs: Subprocess[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} missing: run node scripts/ensure-deps.mjs`);
  mkdirSync(SHOTS, { recursive: true });
  redis = await new RedisServer().start();
  broker = await new Mosquitto().start();
  dir = tempDir("ne-web-north-");
  const prefix = uniquePrefix("web-north");
  const dbPath = join(dir.path, "ne.db");
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    NE_DB: dbPath,
    NE_DATA_DIR: dir.path,
    NE_REDIS_URL: redis.url,
    NE_REDIS_PREFIX: prefix,
    NE_LOG_LEVEL: "warn",
    NE_SERVICE_MANAGER: "process",
    NE_WEB_LISTEN: `127.0.0.1:${port}`,
    NE_WEB_ADMIN_PASSWORD: PASSWORD,
  };
  store = openStore(dbPath);
  for (const main of ["src/supervisor/main.ts", "src/web/main.ts"]) {
    procs.push(
      spawn([process.execPath, "run", main], {
        cwd: ROOT,
        env,
        stdout: "ignore",
        stderr: "inherit",
      }),
    );
  }
  observer = await createRedisTagBus({ url: redis.url, prefix, producer: "e2e", blockMs: 200 });
  await until(
    "ne-web to listen",
    () =>
      fetch(`${base}/api/session`).then(
        (r) => r.status === 401,
        () => false,
      ),
    WAIT,
  );
  const home = join(dir.path, "home");
  mkdirSync(home, { recursive: true });
  ctx = await chromium.launchPersistentContext(join(dir.path, "chromium-profile"), {
    executablePath: CHROMIUM,
    env: {
      ...process.env,
      HOME: home,
      XDG_CONFIG_HOME: join(home, ".config"),
      XDG_CACHE_HOME: join(home, ".cache"),
      XDG_DATA_HOME: join(home, ".local", "share"),
    },
    headless: true,
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"],
    viewport: { width: 1400, height: 900 },
  });
  page = ctx.pages()[0] ?? (await ctx.newPage());
  page.setDefaultTimeout(WAIT);
}, 120_000);

afterAll(async () => {
  await ctx?.close().catch(() => {});
  for (const p of procs.reverse()) {
    p.kill("SIGTERM");
    const done = await Promise.race([
      p.exited.then(() => true),
      Bun.sleep(10_000).then(() => false),
    ]);
    if (!done) p.kill("SIGKILL");
  }
  await observer?.close(500);
  store?.close();
  await broker?.shutdown();
  await redis?.shutdown();
  dir?.cleanup();
}, 60_000);

/** Serious or critical axe-core violations seen on any page of this file (expected: none). */
const a11y: string[] = [];

/** Saves a screenshot of the page and checks it with axe-core. */
async function shot(name: string) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  for (const v of await seriousA11yViolations(page))
    a11y.push(`${name}: ${v.id} (${v.impact}) ${v.help}: ${v.targets.join(", ")}`);
}
const row = (field: string) => page.locator(`#north-form [data-row="${field}"]`);

test("northbound page: add through the form (kind-specific fields, refusal on the field), watch the real ne-north's health, hot reload, remove", async () => {
  await page.goto(base);
  await page.fill('#login-form input[name="username"]', "admin");
  await page.fill('#login-form input[name="password"]', PASSWORD);
  await page.click('#login-form button[type="submit"]');
  await page.locator("#overview").waitFor();

  await page.click('#nav a[href="#/north"]');
  await page.locator("#north-table", { hasText: "No northbounds yet." }).waitFor();
  await page.click("#add-north");
  await page.locator("#north-form").waitFor();

  // sparkplug: its fields show, the MQTT-only ones hide; without group_id the server refuses
  await page.selectOption('#north-form [data-field="kind"]', "sparkplug");
  expect(await row("group_id").isVisible()).toBe(true);
  expect(await row("topic_template").isVisible()).toBe(false);
  await page.fill('#north-form [data-field="north_id"]', "cloud");
  await page.fill('#north-form [data-field="broker_urls"]', broker.url);
  await page.click("#north-save");
  const inline = page.locator('#north-form .field-error[data-error-for="group_id"]');
  await inline.waitFor();
  expect(await inline.textContent()).toContain("group_id is required for kind sparkplug");
  await shot("north-01-refused");
  expect(store.listNorthbounds()).toEqual([]);

  // plain MQTT: writes from the north stay off unless ticked
  await page.selectOption('#north-form [data-field="kind"]', "mqtt");
  expect(await row("group_id").isVisible()).toBe(false);
  expect(await row("topic_template").isVisible()).toBe(true);
  expect(await page.isChecked('#north-form [data-field="writes_enabled"]')).toBe(false);
  expect(await page.isChecked('#north-form [data-field="enabled"]')).toBe(true);
  await page.fill('#north-form [data-field="gateway"]', "gw1");
  await page.fill('#north-form [data-field="username"]', "edge");
  await page.fill('#north-form [data-field="password"]', "pw-1");
  await page.click("#north-save");

  // the page of the new northbound: the supervisor started ne-north, its health arrives
  await page.locator("#north-health", { hasText: "connected" }).waitFor();
  await page.locator("#north-state", { hasText: "EXECUTE" }).waitFor();
  await shot("north-02-health");
  expect(store.getNorthbound("cloud")).toMatchObject({
    kind: "mqtt",
    broker_urls: broker.url,
    writes_enabled: false,
    password: "pw-1",
    group_id: null,
  });
  // the password is never sent to the page
  expect(await page.inputValue('#north-form [data-field="password"]')).toBe("");
  expect(await page.content()).not.toContain("pw-1");

  // a hot reload keeps the stored password
  const pid = JSON.parse(String((await observer.get("/system/cloud/service"))?.value)).pid;
  await page.fill('#north-form [data-field="tag_selection"]', "/plc1/*");
  await page.click("#north-save");
  await page.locator(".form-status .ok", { hasText: "Saved (hot reload)." }).waitFor();
  expect(store.getNorthbound("cloud")).toMatchObject({
    tag_selection: "/plc1/*",
    password: "pw-1",
  });
  await Bun.sleep(500);
  expect(JSON.parse(String((await observer.get("/system/cloud/service"))?.value)).pid).toBe(pid);

  // the list shows it with its broker state
  await page.click('#nav a[href="#/north"]');
  await page
    .locator('#north-table tr[data-north="cloud"] td.broker', { hasText: "connected" })
    .waitFor();
  await shot("north-03-list");

  // remove: confirmed, the app stops
  await page.click('#north-table tr[data-north="cloud"] button.danger');
  await page.click("#confirm-yes");
  await page.locator("#north-table", { hasText: "No northbounds yet." }).waitFor();
  expect(store.listNorthbounds()).toEqual([]);
  await until(
    "ne-north stopped",
    async () => (await observer.get("/system/cloud/state"))?.value === "STOP",
    WAIT,
  );
  expect(a11y).toEqual([]);
}, 120_000);
