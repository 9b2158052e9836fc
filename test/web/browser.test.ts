import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { type Subprocess, spawn } from "bun";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { parseHealth } from "../../src/intf/health.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";
import { seriousA11yViolations } from "./axe.ts";
import { until } from "./helpers.ts";

// End to end in Debian's chromium (driven by playwright-core): the ne-web executable from
// source, the real supervisor (process manager) starting real ne-intf apps, a Modbus
// simulator, Redis and SQLite. Screenshots go to test-artifacts/web/.

const ROOT = join(import.meta.dir, "..", "..");
const SHOTS = join(ROOT, "test-artifacts", "web");
const CHROMIUM = "/usr/bin/chromium";
const PASSWORD = "e2e-password-1";
const WAIT = 60_000;

let redis: RedisServer;
let dir: { path: string; cleanup(): void };
let sim: ModbusSim;
let observer: RedisTagBus;
let store: Store;
let ctx: BrowserContext;
let page: Page;
let base = "";
const procs: Subprocess[] = [];
/** What chromium writes below HOME unless HOME and XDG_* point elsewhere. */
const CHROMIUM_HOME_PATHS = [".cache/dconf/user", ".config/chromium"];
const homeHadBefore = new Map(
  CHROMIUM_HOME_PATHS.map((p) => [p, existsSync(join(process.env.HOME ?? "", p))]),
);

function start(args: string[], env: Record<string, string>): Subprocess {
  const p = spawn([process.execPath, "run", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdout: "ignore",
    stderr: "inherit",
  });
  procs.push(p);
  return p;
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} missing: run node scripts/ensure-deps.mjs`);
  mkdirSync(SHOTS, { recursive: true });
  redis = await new RedisServer().start();
  dir = tempDir("ne-web-e2e-");
  const prefix = uniquePrefix("web-e2e");
  const dbPath = join(dir.path, "ne.db");
  sim = await startModbusSim({
    map: {
      unit_id: 1,
      tick_ms: 100,
      holding_registers: { "10": 0 },
      entries: [
        {
          name: "counter",
          table: "holding_registers",
          address: 0,
          data_type: "uint16",
          generator: { type: "counter", step: 1, every_ms: 100 },
        },
      ],
    },
  });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  const env = {
    NE_DB: dbPath,
    NE_REDIS_URL: redis.url,
    NE_REDIS_PREFIX: prefix,
    NE_LOG_LEVEL: "warn",
    NE_SERVICE_MANAGER: "process",
    NE_WEB_LISTEN: `127.0.0.1:${port}`,
    NE_WEB_ADMIN_PASSWORD: PASSWORD,
  };
  // The store must exist before the supervisor and the web UI start.
  store = openStore(dbPath);
  start(["src/supervisor/main.ts"], env);
  start(["src/web/main.ts"], env);
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
  // HOME and the XDG folders inside the temp dir: chromium (dconf, crash reports) must not
  // write into the user's home.
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
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-quic",
    ],
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
  await sim?.stop();
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

async function health(connId: string) {
  return parseHealth((await observer.get(`/system/${connId}/health`))?.value);
}

/** Fills the last row of an edit table and saves it; waits for the "Saved" line. */
async function saveRow(table: string, values: Record<string, string>, key: string) {
  const row = page.locator(`${table} tbody tr`).last();
  for (const [field, value] of Object.entries(values)) {
    const input = row.locator(`[data-field="${field}"]`);
    if ((await input.evaluate((e) => e.tagName)) === "SELECT") await input.selectOption(value);
    else await input.fill(value);
  }
  await row.locator(".save-row").click();
  await page.locator(".form-status .ok", { hasText: `Saved ${key}.` }).waitFor();
}

test("commissioning in a browser: login, add, watch, hot reload, write, bad CSV, logout", async () => {
  // Log in.
  await page.goto(base);
  await page.locator("#login-form").waitFor();
  // `hidden` beats `#nav {display: flex}`: no nav and no "Log out" before logging in.
  expect(await page.locator("#nav").isVisible()).toBe(false);
  expect(await page.locator("#logout").isVisible()).toBe(false);
  await shot("01-login");
  await page.fill('#login-form input[name="username"]', "admin");
  await page.fill('#login-form input[name="password"]', PASSWORD);
  await page.click('#login-form button[type="submit"]');
  await page.locator("#overview #overview-table").waitFor();
  await page.click('#nav a[href="#/connections"]');
  await page.locator("#conn-table").waitFor();

  // Add a connection to the simulator.
  await page.click("#add-connection");
  await page.locator("#conn-form").waitFor();
  await page.fill('#conn-form [data-field="conn_id"]', "sim1");
  // Only the chosen protocol's fields show (`hidden` beats `form label {display: block}`).
  await page.selectOption('#conn-form [data-field="protocol"]', "opcua");
  const row = (f: string) => page.locator(`#conn-form [data-row="${f}"]`);
  for (const f of ["host", "port", "serial_device", "baud_rate"])
    expect(await row(f).isVisible(), `${f} hidden for opcua`).toBe(false);
  expect(await row("endpoint_url").isVisible()).toBe(true);
  await shot("02a-add-connection-opcua");
  await page.selectOption('#conn-form [data-field="protocol"]', "modbus-tcp");
  // Human labels with unit, and the schema's range in the help line.
  expect(await row("timeout_ms").locator(".label").textContent()).toBe("Request timeout (ms)");
  expect(await row("timeout_ms").locator(".help").textContent()).toContain("10–600000 ms");
  expect(await row("serial_device").isVisible()).toBe(false);
  expect(await row("host").isVisible()).toBe(true);
  await page.fill('#conn-form [data-field="host"]', "127.0.0.1");
  await page.fill('#conn-form [data-field="port"]', String(sim.port));
  await page.fill('#conn-form [data-field="unit_id"]', "1");
  await shot("02-add-connection");
  await page.click("#conn-save");
  await page.locator("#block-table").waitFor();

  // A block with an invalid count shows an inline error naming the field and rule.
  await page.click("#add-block");
  const blockRow = page.locator("#block-table tbody tr").last();
  await blockRow.locator('[data-field="block_id"]').fill("hr");
  await blockRow.locator('[data-field="table"]').selectOption("holding_registers");
  await blockRow.locator('[data-field="count"]').fill("0");
  await blockRow.locator('[data-field="period_ms"]').fill("200");
  await blockRow.locator(".save-row").click();
  const inline = blockRow.locator('.field-error[data-error-for="count"]');
  await inline.waitFor();
  expect(await inline.textContent()).toMatch(/at least 1 register/);
  // the root error once, next to its field (not again as a paragraph and a list)
  expect(await page.getByText(/at least 1 register/).count()).toBe(1);
  expect(await page.locator(".form-status .error").textContent()).toContain(
    "Not saved: the problem is marked at count.",
  );
  await shot("03-block-inline-error");
  await saveRow("#block-table", { count: "12" }, "hr");

  // Tags: a counter (read) and a set-point (read-write).
  await page.click('nav.tabs a:has-text("Tags")');
  await page.locator("#tag-table").waitFor();
  await page.click("#add-tag");
  await saveRow(
    "#tag-table",
    { tag_name: "counter", block_id: "hr", address: "0", data_type: "uint16" },
    "counter",
  );
  await page.click("#add-tag");
  await saveRow(
    "#tag-table",
    {
      tag_name: "setpoint",
      block_id: "hr",
      address: "10",
      data_type: "uint16",
      access: "read-write",
      unit: "rpm",
    },
    "setpoint",
  );
  const LONG = "temperature_zone_1_setpoint";
  await page.click("#add-tag");
  await saveRow(
    "#tag-table",
    { tag_name: LONG, block_id: "hr", address: "2", data_type: "uint16" },
    LONG,
  );
  // Shown again: the whole tag name is readable, the header is sticky.
  await page.click('nav.tabs a:has-text("Blocks")');
  await page.click('nav.tabs a:has-text("Tags")');
  const longInput = page.locator(`#tag-table tr[data-key="${LONG}"] [data-field="tag_name"]`);
  const fits = await longInput.evaluate((e) => e.scrollWidth <= e.clientWidth);
  expect(fits).toBe(true);
  expect(
    await page
      .locator("#tag-table thead th")
      .first()
      .evaluate((e) => e.ownerDocument.defaultView?.getComputedStyle(e).position),
  ).toBe("sticky");
  expect(await page.locator('#tag-table th[data-col="byte_order"]').textContent()).toBe(
    "Byte order",
  );
  // Filter, then bulk edit of the scale of the selected row.
  await page.fill("#tag-filter", "zone");
  expect(await page.locator('#tag-table tr[data-key="counter"]').isVisible()).toBe(false);
  await page.check(`#tag-table tr[data-key="${LONG}"] .select-row`);
  await page.fill("#bulk-scale", "0.5");
  await page.click("#bulk-apply");
  await page.locator(".form-status .ok", { hasText: `Saved ${LONG}.` }).waitFor();
  expect(store.getAllConfigs()[0]!.tags.find((t) => t.tag_name === LONG)?.scale).toBe(0.5);
  await page.fill("#tag-filter", "");
  await shot("04-tags");

  // The supervisor started ne-intf for sim1; its values move in the live table.
  await page.click('nav.tabs a:has-text("Live values")');
  const counterCell = page.locator('#values-table tr[data-tag="counter"] td.value');
  const first = await until(
    "a first counter value",
    async () => {
      const t = (await counterCell.textContent())?.trim();
      return t && t !== "—" ? t : undefined;
    },
    WAIT,
  );
  await until(
    "the counter to move",
    async () => (await counterCell.textContent())?.trim() !== first,
    WAIT,
  );
  await page.locator('#values-table tr[data-tag="counter"] .q-good').waitFor();
  await page.click('#values-table tr[data-tag="counter"] a.trend-link');
  await until(
    "trend points",
    async () => {
      const t = await page
        .locator("#trend-count")
        .textContent()
        .catch(() => "");
      return Number.parseInt(t ?? "0", 10) >= 3;
    },
    WAIT,
  );
  // Several tags on one chart (uPlot), the second one with its recent past.
  await page.click('#values-table tr[data-tag="setpoint"] a.trend-link');
  await page.locator("#trend-title", { hasText: "Trend: counter, setpoint" }).waitFor();
  expect(await page.locator("#trend .u-legend .u-series").count()).toBe(3); // time + 2 tags
  await shot("05-live-values-and-trend");
  // Axis labels are never cropped (181.9391 once showed as 1.9391): the y axis is as wide as
  // its longest label; bad-quality stretches are marked from the bad sample to the next good.
  // (a string: it runs in the page, where the UI's modules are served)
  const chartFacts: {
    labels: string[];
    axisWidth: number;
    widest: number;
    t0: number;
    bad: number[][];
  } = await page.evaluate(`(async () => {
    const m = await import("/components/trend-chart.js");
    const t0 = Date.now() - 10000;
    const pts = [0, 1, 2, 3].map((i) => ({ ts: t0 + i * 1000, value: 181.9391 + i * 1e-4, quality: i === 1 ? "bad" : "good" }));
    const c = m.trendChart({ unitOf: () => "bar" });
    document.body.append(c.el);
    c.set(new Map([["pressure", pts]]));
    await new Promise((r) => requestAnimationFrame(() => setTimeout(r, 50)));
    const u = c.plot;
    const ctx = document.createElement("canvas").getContext("2d");
    ctx.font = u.axes[1].font[0];
    const widest = Math.max(...u.axes[1]._values.map((v) => ctx.measureText(v).width / devicePixelRatio));
    const facts = { labels: u.axes[1]._values, axisWidth: u.axes[1]._size, widest, t0,
      bad: m.alignSeries(new Map([["pressure", pts]]), t0 + 5000).bad };
    c.destroy();
    c.el.remove();
    return facts;
  })()`);
  expect(chartFacts.labels.some((l: string) => l.startsWith("181.93"))).toBe(true);
  expect(chartFacts.axisWidth).toBeGreaterThan(chartFacts.widest);
  expect(chartFacts.bad).toEqual([[(chartFacts.t0 + 1000) / 1000, (chartFacts.t0 + 2000) / 1000]]);

  // Change the block's period: hot reload, the device link is kept.
  const connectionsBefore = sim.stats.connections;
  const reloadsBefore = (await health("sim1"))?.counters.reloads ?? 0;
  await page.click('nav.tabs a:has-text("Blocks")');
  await page.locator("#block-table").waitFor();
  await saveRow("#block-table", { period_ms: "500" }, "hr");
  await until(
    "the reload applied",
    async () => {
      const hl = await health("sim1");
      return hl && hl.counters.reloads > reloadsBefore && hl.blocks.hr?.timer?.periodMs === 500;
    },
    WAIT,
  );
  expect(sim.stats.connections).toBe(connectionsBefore);
  expect((await health("sim1"))?.counters.reconnects).toBe(0);

  // Write the set-point and read it back from the simulator.
  await page.click('nav.tabs a:has-text("Live values")');
  await page.click('#values-table tr[data-tag="setpoint"] .write-btn');
  // What was typed is sent as typed: the server refuses hex and text, naming them (the
  // dialog used to send 0x10 as 16, and abc as NaN, i.e. null: "value null refused").
  for (const typed of ["0x10", "abc"]) {
    await page.fill("#write-value", typed);
    await page.click("#write-go");
    expect(await page.locator("#write-confirm-text").textContent()).toBe(
      `Write ${JSON.stringify(typed)} to /sim1/setpoint?`,
    );
    await page.click("#write-confirm");
    await page.locator("#write-failed").waitFor();
    expect(await page.locator("#write-failed").textContent()).toContain(
      `value ${JSON.stringify(typed)} refused: expected a number`,
    );
  }
  expect(sim.registers.get("holding_registers", 10, 1)).toEqual([0]);
  await page.fill("#write-value", "4321");
  await page.click("#write-go");
  await page.locator("#write-confirm-text").waitFor();
  await shot("06-write-confirm");
  await page.click("#write-confirm");
  await page.locator("#write-done").waitFor();
  expect(sim.registers.get("holding_registers", 10, 1)).toEqual([4321]);
  // A device that answers too late (3 s, the connection's timeout_ms is 1 s): the simulator
  // applies the write at once, so "failed" would be untrue; the dialog says the outcome is
  // unknown, and the app's read-back then shows the device's value in the table.
  sim.faults.delay_ms = 3000;
  await page.fill("#write-value", "4322");
  await page.click("#write-go");
  await page.click("#write-confirm");
  await page.locator("#write-unknown").waitFor();
  expect(await page.locator("#write-unknown").textContent()).toContain(
    "Outcome unknown: the device may have applied it; read back before retrying.",
  );
  sim.faults.delay_ms = 0;
  expect(sim.registers.get("holding_registers", 10, 1)).toEqual([4322]);
  await page.click('#dialog button:has-text("Close")');
  await until(
    "the read-back value in the table",
    async () =>
      (
        await page.locator('#values-table tr[data-tag="setpoint"] td.value').textContent()
      )?.trim() === "4322",
    WAIT,
  );

  // A Redis outage: the live page says its data source is disconnected and greys the values
  // out as stale (not "live" with green good values); when Redis is back it is live again.
  await redis.stop();
  await page.locator("#bus-banner").waitFor({ state: "visible", timeout: WAIT });
  await page.locator("#values-table.stale").waitFor({ timeout: WAIT });
  expect(await page.locator("#stream-state").textContent()).toBe("data source disconnected");
  expect(await page.locator("#bus-banner").textContent()).toContain("Data source disconnected");
  await shot("06b-data-source-disconnected");
  await redis.start(); // same port, without its data: every producer republishes
  await page.locator("#bus-banner").waitFor({ state: "hidden", timeout: WAIT });
  expect(await page.locator("#values-table.stale").count()).toBe(0);
  // Redis came back without its data: the page is live again, and may say so by naming the
  // gap the bus reported (CI on a clean clone saw the second), never "disconnected".
  expect(await page.locator("#stream-state").textContent()).toMatch(
    /^(live|gap in delivery \(redis_data_lost\); values resynchronised)$/,
  );
  const afterOutage = (await counterCell.textContent())?.trim();
  await until(
    "the counter to move after the outage",
    async () => (await counterCell.textContent())?.trim() !== afterOutage,
    WAIT,
  );

  // Diagnostics page.
  await page.click('nav.tabs a:has-text("Diagnostics")');
  await page.locator("#diag-state .state-EXECUTE").waitFor();
  await page.locator('[data-health="blocks"]').waitFor();
  // Designed panels: human labels with units, the request plan, raw JSON only behind a toggle.
  const hr = page.locator('#diag-blocks-table tr[data-block="hr"]');
  expect(await hr.locator("td").first().textContent()).toContain(
    "holding_registers 0–11 (12 registers)",
  );
  expect(await hr.locator("td").nth(1).textContent()).toMatch(/^\d+ ms$/);
  // the read requests (GET /api/connections/ID/plan): block hr is one FC3 request 0–11
  const req = page.locator('#diag-plan-table tr[data-block="hr"]');
  expect(await req.locator("td").nth(1).textContent()).toBe("holding_registers (FC3)");
  expect(await req.locator("td").nth(2).textContent()).toBe("0–11");
  expect(await page.locator("#diag-link-kv").textContent()).toContain("Failed reads");
  expect(await page.locator("#diag-raw pre").isVisible()).toBe(false);
  await page.click("#diag-raw summary");
  expect(await page.locator("#diag-raw pre").textContent()).toContain('"samplesPublished"');
  await shot("07-diagnostics");
  await page.selectOption("#diag-level", "error");
  const levels = await page
    .locator("#diag-logs tr")
    .evaluateAll((trs) => trs.map((t) => t.className));
  expect(levels.every((c) => c === "lvl-error" || c === "lvl-fatal")).toBe(true);

  // The connections list shows the live state.
  await page.click('#nav a[href="#/connections"]');
  await page.locator('#conn-table tr[data-conn="sim1"] .state-EXECUTE').waitFor();
  await shot("08-connections");

  // A bad CSV: located errors, nothing changed.
  const before = JSON.stringify(store.getAllConfigs());
  await page.click('#nav a[href="#/csv"]');
  await page.setInputFiles("#csv-files", [
    {
      name: "connections.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(
        `conn_id,protocol,host,port,unit_id\nsim1,modbus-tcp,127.0.0.1,${sim.port},1\n`,
      ),
    },
    {
      name: "blocks.csv",
      mimeType: "text/csv",
      buffer: Buffer.from(
        "conn_id,block_id,table,address,count,period_ms\nsim1,hr,holding_registers,0,12,fast\n",
      ),
    },
  ]);
  await page.click("#import-go");
  await page.locator("#import-errors").waitFor();
  const cells = await page
    .locator("#import-errors tbody tr")
    .first()
    .locator("td")
    .allTextContents();
  expect(cells.slice(0, 4)).toEqual(["blocks.csv", "2", "6", "period_ms"]);
  await shot("09-import-errors");
  expect(JSON.stringify(store.getAllConfigs())).toBe(before);

  // Audit trail.
  await page.click('#nav a[href="#/audit"]');
  await page.locator("#audit-table td", { hasText: "tag.write" }).first().waitFor();
  // the write typed in the dialog, recorded by the interface app that served it, as the user
  const writeRow = page
    .locator("#audit-table tr", { hasText: "tag.write" })
    .filter({ hasText: "done" });
  await writeRow.first().waitFor();
  const writeCells = await writeRow.first().locator("td").allTextContents();
  expect(writeCells[2]).toBe("web:admin");
  await page.selectOption("#audit-result", "refused");
  await page.click('#audit-filter button[type="submit"]');
  await page.locator("#audit-table td", { hasText: "refused: out_of_range" }).first().waitFor();
  // the old table shows that entry too until the filtered answer replaced it
  await until(
    "the refused filter applied",
    async () => (await page.locator("#audit-table td", { hasText: /^done$/ }).count()) === 0,
    WAIT,
  );
  await shot("10-audit");

  // The overview: sim1 running with its update rate, the apps with CPU and memory.
  await page.click('#nav a[href="#/"]');
  await page.locator('#overview-table tr[data-conn="sim1"] .state-EXECUTE').waitFor();
  await until(
    "an update rate for sim1",
    async () => {
      const t = await page.locator('#overview-table tr[data-conn="sim1"] td.rate').textContent();
      return t && t !== "—" && Number(t) > 0;
    },
    WAIT,
  );
  await page.locator('#apps-table tr[data-app="ne-intf@sim1"]').waitFor();
  await page.locator('#apps-table tr[data-app="ne-supervisor"]').waitFor();
  expect(await page.locator("#bus-state").textContent()).toBe("connected");
  expect(await page.locator("#attention-count").textContent()).toBe("all connections fine");
  await shot("00-overview");

  // Account page.
  await page.click('#nav a[href="#/account"]');
  await page.locator("#token-form").waitFor();
  await shot("11-account");
  // Tablet width (768 px): no page is wider than the screen (wide tables scroll inside
  // their own box), the nav stays reachable.
  await page.setViewportSize({ width: 768, height: 1024 });
  const tooWide: string[] = [];
  for (const [hash, ready] of [
    ["#/", "#overview-table"],
    ["#/connections", "#conn-table"],
    ["#/conn/sim1/live", "#values-table"],
    ["#/conn/sim1/tags", "#tag-table"],
    ["#/conn/sim1/diag", "#diag-blocks-table"],
    ["#/csv", "#import-form"],
    ["#/audit", "#audit-table"],
  ] as const) {
    await page.goto(`${base}/${hash}`);
    await page.locator(ready).first().waitFor();
    await shot(`tablet-${hash.replace(/[#/]+/g, "-").replace(/^-|-$/g, "") || "overview"}`);
    const w = Number(await page.evaluate("document.documentElement.scrollWidth"));
    if (w > 768) tooWide.push(`${hash}: ${w} px`);
  }
  expect(tooWide).toEqual([]);
  expect(await page.locator('#nav a[href="#/audit"]').isVisible()).toBe(true);
  await page.setViewportSize({ width: 1400, height: 900 });

  // Languages: the switch turns the UI Korean (and it stays so after a reload).
  await page.goto(`${base}/#/`);
  await page.locator("#overview-table").waitFor();
  await page.selectOption("#lang", "ko");
  await page.locator("h1", { hasText: "개요" }).waitFor();
  expect(await page.locator('#nav a[href="#/connections"]').textContent()).toBe("연결");
  expect(await page.evaluate("document.documentElement.lang")).toBe("ko");
  await page.reload();
  await page.locator("#overview h2", { hasText: "이 게이트웨이" }).waitFor();
  await shot("12-overview-ko");
  await page.selectOption("#lang", "en");
  await page.locator("h1", { hasText: "Overview" }).waitFor();
  expect(a11y).toEqual([]);

  // Log out; the API then refuses the browser and an anonymous script.
  await page.click("#logout");
  await page.locator("#login-form").waitFor();
  const status = await page.evaluate(() => fetch("/api/connections").then((r) => r.status));
  expect(status).toBe(401);
  expect((await fetch(`${base}/api/connections`)).status).toBe(401);
}, 240_000);

test("chromium writes into the test's temp dir, not the user's HOME", () => {
  // dconf and crash-report settings went to $HOME/.cache/dconf and $HOME/.config/chromium.
  const home = process.env.HOME ?? "";
  for (const p of CHROMIUM_HOME_PATHS) {
    expect({ p, created: !homeHadBefore.get(p) && existsSync(join(home, p)) }).toEqual({
      p,
      created: false,
    });
  }
  expect(existsSync(join(dir.path, "home", ".config", "chromium"))).toBe(true);
});
