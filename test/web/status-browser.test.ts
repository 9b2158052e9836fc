import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import type { BrowserContext, Page } from "playwright-core";
import type { RedisTagBus } from "../../src/tagbus/index.ts";
import { Client, modbusConn, startWebFixture, type WebFixture } from "./helpers.ts";
import { CHROMIUM, launchChromium, loginPage } from "./large-conn.ts";

// The last good poll and a hung app on the Overview, Connections and Diagnostics pages in
// Debian's chromium, over a real SQLite file and a private redis-server; the apps are
// stand-ins publishing their system tags. An app reports its last good poll every 5 s in its
// health report, so the pages show the age it is at most ("≤ 3.1 s ago"), as `nodi-edge
// status` does, not the report's age as if it were the poll's; an app whose report is stale
// (hung) is `silent`.

const PASSWORD = "correct horse";
const WAIT = 60_000;
let fx: WebFixture;
let app: RedisTagBus;
let ctx: BrowserContext;
let page: Page;
let base = "";

function health(id: string, lastGood: number) {
  return JSON.stringify({
    v: 1,
    appId: id,
    pid: process.pid,
    state: "EXECUTE",
    stateReason: "connected",
    startedAt: lastGood - 600_000,
    lastGoodPoll: lastGood,
    counters: { reads: 100, readErrors: 0, samplesPublished: 100 },
    blocks: {
      hr: { mode: "poll", consecutiveErrors: 0, lastGood, lastErrorReason: null },
    },
    bus: { published: 100, outboxLength: 0, outboxDropped: 0, connected: true },
    recentLogs: [],
  });
}

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} missing: run node scripts/ensure-deps.mjs`);
  fx = await startWebFixture("admin", PASSWORD);
  base = fx.web.url.replace(/\/$/, "");
  const c = new Client(base);
  expect((await c.login("admin", PASSWORD)).status).toBe(200);
  for (const id of ["poll-1", "hung-1"]) {
    expect((await c.call("POST", "/api/connections", modbusConn(id))).status).toBe(201);
    const cfg = {
      blocks: [
        { block_id: "hr", table: "holding_registers", address: 0, count: 2, period_ms: 100 },
      ],
      tags: [],
    };
    expect((await c.call("PUT", `/api/connections/${id}/config`, cfg)).status).toBe(200);
  }
  app = await fx.otherBus("stand-in");
  const now = Date.now();
  // poll-1: a 100 ms block that polled well 40 ms before the app's report, 3 s ago
  // hung-1: the same, but its last report is a minute old (a hung app)
  const report = (id: string, at: number) => [
    { path: `/system/${id}/state`, value: "EXECUTE", quality: "good" as const, ts: at },
    { path: `/system/${id}/health`, value: health(id, at - 40), quality: "good" as const, ts: at },
  ];
  await app.publish([...report("poll-1", now - 3000), ...report("hung-1", now - 60_000)]);
  ({ ctx, page } = await launchChromium(fx.dir.path));
  page.setDefaultTimeout(WAIT);
  await loginPage(page, base, "admin", PASSWORD);
}, 120_000);

afterAll(async () => {
  await ctx?.close().catch(() => {});
  await app?.close(500);
  await fx?.close();
}, 60_000);

/** "≤ 3.1 s ago" and the like: an upper bound, in tenths of a second under a minute. */
const BOUND = /^≤ \d+\.\d s ago$/;

test("the last good poll is shown as the age it is at most, and a hung app as silent, on every page", async () => {
  // Overview
  const row = page.locator('#overview-table tr[data-conn="poll-1"]');
  await row.locator(".state-EXECUTE").waitFor();
  // not "3.0 s ago", the report's age shown as if it were the poll's
  expect(await row.textContent()).toMatch(/≤ \d+\.\d s ago/);
  const cell = row.locator("td.last-good");
  expect((await cell.textContent())?.trim()).toMatch(BOUND);
  expect(await cell.getAttribute("title")).toContain("health report");
  const hung = page.locator('#overview-table tr[data-conn="hung-1"]');
  await hung.locator(".state-silent").waitFor();
  expect(await hung.locator("td.attention").textContent()).toMatch(
    /^silent: no health for 1m\d\ds \(last: EXECUTE\)/,
  );
  expect(await hung.getAttribute("class")).toContain("rank-0");

  // Connections
  await page.click('#nav a[href="#/connections"]');
  const conn = page.locator('#conn-table tr[data-conn="poll-1"]');
  await conn.waitFor();
  expect(await conn.textContent()).toMatch(/≤ \d+\.\d s ago/);
  expect((await conn.locator("td.last-good").textContent())?.trim()).toMatch(BOUND);
  await page.locator('#conn-table tr[data-conn="hung-1"] .state-silent').waitFor();

  // Diagnostics: the bound, and the report it is from; the block's last good likewise
  await page.goto(`${base}/#/conn/poll-1/diag`);
  const service = page.locator("#diag-service");
  await service.waitFor();
  const pairs = Object.fromEntries(
    await service
      .locator("tr")
      .evaluateAll((trs) =>
        trs.map((tr) => [
          tr.querySelector("th")?.textContent ?? "",
          tr.querySelector("td")?.textContent ?? "",
        ]),
      ),
  );
  expect(pairs["Last good poll"]).toMatch(BOUND);
  expect(pairs["Health report"]).toMatch(/\(\d+\.\d s ago\)$/);
  const block = page.locator('#diag-blocks-table tr[data-block="hr"]');
  await block.waitFor();
  expect(await block.textContent()).toMatch(/≤ \d+\.\d s ago/);
  await page.goto(`${base}/#/conn/hung-1/diag`);
  await page.locator("#diag-state .state-silent").waitFor();
  expect(await page.locator("#diag-state").textContent()).toContain("no health for 1m");
}, 120_000);
