import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import type { BrowserContext, Page } from "playwright-core";
import type { RedisTagBus } from "../../src/tagbus/index.ts";
import { seriousA11yViolations } from "./axe.ts";
import { startWebFixture, until, type WebFixture } from "./helpers.ts";
import {
  CHROMIUM,
  launchChromium,
  loginPage,
  publishLoop,
  storeBigConnection,
} from "./large-conn.ts";

// A connection of 2,000 tags updating in chromium: the live table keeps a bounded number of
// rows in the DOM (windowed), scrolling brings the others in with their values, and the
// filter box is sent to the server (`?match=`), which streams only the matching tags.
// No timing assertions: the busy-time goal is measured by bench/web/live-table.ts.

const ROOT = join(import.meta.dir, "..", "..");
const SHOTS = join(ROOT, "test-artifacts", "web");
const N = 2000;
const WAIT = 60_000;
let fx: WebFixture;
let app: RedisTagBus;
let pub: ReturnType<typeof publishLoop>;
let ctx: BrowserContext;
let page: Page;

beforeAll(async () => {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} missing: run node scripts/ensure-deps.mjs`);
  mkdirSync(SHOTS, { recursive: true });
  fx = await startWebFixture();
  storeBigConnection(fx.store, "big", N);
  app = await fx.otherBus("big");
  pub = publishLoop(app, "big", N, 5000);
  ({ ctx, page } = await launchChromium(fx.dir.path));
  page.setDefaultTimeout(WAIT);
}, 120_000);

afterAll(async () => {
  await ctx?.close().catch(() => {});
  await pub?.stop();
  await fx?.close();
}, 60_000);

const dataRows = () => page.locator("#values-table tbody tr[data-tag]");

test("2,000 tags: a bounded number of rows, scrolling shows the rest, the filter goes to the server", async () => {
  const streams: string[] = [];
  page.on("request", (r) => {
    if (r.url().includes("/stream")) streams.push(decodeURIComponent(r.url()));
  });
  await loginPage(page, fx.web.url, "admin", "correct horse");
  await page.goto(`${fx.web.url}/#/conn/big/live`);
  await page.locator('#values-table tr[data-tag="t0000"] .q-good').waitFor();
  expect(await page.locator("#tag-count").textContent()).toBe("2,000 tags");
  const rendered = await dataRows().count();
  expect(rendered).toBeGreaterThan(5);
  expect(rendered).toBeLessThan(100);
  // the scroll height stands for all 2,000
  const heights = await page.$eval("#values-scroll", (el) => [el.scrollHeight, el.clientHeight]);
  expect(heights[0]!).toBeGreaterThan(heights[1]! * 20);
  await page.screenshot({ path: join(SHOTS, "live-large-01-top.png") });

  await page.$eval("#values-scroll", (el) => {
    el.scrollTop = el.scrollHeight;
  });
  await page.locator('#values-table tr[data-tag="t1999"] .q-good').waitFor();
  expect(await page.locator('#values-table tr[data-tag="t0000"]').count()).toBe(0);
  expect(await dataRows().count()).toBeLessThan(100);
  await page.screenshot({ path: join(SHOTS, "live-large-02-bottom.png") });

  await page.fill("#tag-filter", "t01*");
  await until("the filtered table", async () => {
    return (await page.locator("#tag-count").textContent()) === "100 of 2,000 tags";
  });
  await page.locator('#values-table tr[data-tag="t0100"] .q-good').waitFor();
  expect(streams.at(-1)).toContain("stream?match=t01*");
  const names = await dataRows().evaluateAll((rows) =>
    rows.map((r) => r.getAttribute("data-tag") ?? ""),
  );
  expect(names.length).toBeLessThan(100);
  expect(names.every((n) => n.startsWith("t01"))).toBe(true);
  await page.screenshot({ path: join(SHOTS, "live-large-03-filtered.png") });

  await page.fill("#tag-filter", "nothing-like-this");
  await page.locator("#values-table tr.empty", { hasText: "No tag matches." }).waitFor();
  await page.fill("#tag-filter", "");
  await page.locator('#values-table tr[data-tag="t0000"]').waitFor();
  const a11y = (await seriousA11yViolations(page)).map((v) => `${v.id}: ${v.help}`);
  expect(a11y).toEqual([]);
}, 120_000);
