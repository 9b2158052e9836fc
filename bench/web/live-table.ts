/**
 * Live table benchmark (issue 17, "Large connections"): `bun run bench/web/live-table.ts [--quick] [--rate N]`.
 *
 * A connection of 2,000 tags, published at 5,000 values/s (500 values every 100 ms, each tag
 * every 400 ms), watched in Debian's chromium (playwright-core, as test/web's browser tests
 * drive it) on its Live values tab. Measures the page's main-thread busy time per second
 * (DevTools `Performance.getMetrics` `TaskDuration`, the renderer main thread's time in
 * tasks: script, style, layout, paint) over a window, for:
 *
 * - an idle page (the Account page, no stream): the floor;
 * - the live table as shipped: windowed rows, one draw per animation frame, every tag streamed;
 * - the same with the filter `t01*` (100 tags, filtered on the server);
 * - the old full-render path in the same run: `pages/conn-live.js` of commit {@link OLD}
 *   (one row element per tag, every value written to the DOM on arrival with a forced
 *   reflow for its flash), substituted by the browser (`page.route`); server unchanged.
 *
 * Goal: ≤ 20 % busy at 5,000 updates/s (`--rate N` for another rate). Prints a table with the load average before and after.
 */
import { loadavg } from "node:os";
import { $ } from "bun";
import { silentLogger } from "../../src/core/log.ts";
import { openStore } from "../../src/store/store.ts";
import { createRedisTagBus } from "../../src/tagbus/index.ts";
import { startWebServer } from "../../src/web/server.ts";
import { RedisServer } from "../../test/support/redis-server.ts";
import { tempDir } from "../../test/support/tmp.ts";
import {
  launchChromium,
  loginPage,
  publishLoop,
  storeBigConnection,
} from "../../test/web/large-conn.ts";

/** The commit whose conn-live.js is the old full-render baseline. */
const OLD = "aa7efd4";
const quick = process.argv.includes("--quick");
const WINDOW_MS = quick ? 5_000 : 15_000;
const WARMUP_MS = 3_000;
const N = 2000;
const rateArg = process.argv.indexOf("--rate");
/** Values published per second (`--rate N`; 20000 = every tag every 100 ms). */
const RATE = rateArg > 0 ? Number(process.argv[rateArg + 1]) : 5000;
const PASSWORD = "bench password";

const oldLive = await $`git show ${OLD}:src/web/ui/pages/conn-live.js`
  .cwd(`${import.meta.dir}/../..`)
  .text();
const redis = await new RedisServer().start();
const dir = tempDir("ne-bench-live-");
const store = openStore(`${dir.path}/ne.db`);
const opts = { url: redis.url, prefix: "bench:", blockMs: 200 };
const webBus = await createRedisTagBus({ ...opts, producer: "web" });
const app = await createRedisTagBus({ ...opts, producer: "big" });
storeBigConnection(store, "big", N);
const web = startWebServer({ store, bus: webBus, logger: silentLogger }, { port: 0 });
await web.app.auth.setPassword("admin", PASSWORD);
const pub = publishLoop(app, "big", N, RATE);
const { ctx, page } = await launchChromium(dir.path);
page.setDefaultTimeout(60_000);
const cdp = await ctx.newCDPSession(page);
await cdp.send("Performance.enable");
page.on("pageerror", (e) => console.error(`page error: ${e.message}`));
let crashed = false;
page.on("crash", () => {
  crashed = true;
  console.error("the page's renderer crashed");
});
await loginPage(page, web.url, "admin", PASSWORD);

const taskSeconds = async () => {
  const { metrics } = (await cdp.send("Performance.getMetrics")) as {
    metrics: { name: string; value: number }[];
  };
  return metrics.find((m) => m.name === "TaskDuration")?.value ?? Number.NaN;
};

/** Busy fraction of the page's main thread over {@link WINDOW_MS}, and values published per s. */
async function measure(): Promise<{ busy: number; rate: number }> {
  console.error(`measuring ${page.url()}`);
  await Bun.sleep(WARMUP_MS);
  const t0 = performance.now();
  const b0 = await taskSeconds();
  const p0 = pub.published();
  await Bun.sleep(WINDOW_MS);
  const dt = (performance.now() - t0) / 1000;
  return {
    busy: ((await taskSeconds()) - b0) / dt,
    rate: (pub.published() - p0) / dt,
  };
}

async function openLive(filter?: string) {
  await page.goto(`${web.url}/#/account`);
  await page.goto(`${web.url}/#/conn/big/live`);
  await page.locator('#values-table tr[data-tag="t0000"]').waitFor();
  if (filter) {
    await page.fill("#tag-filter", filter);
    await page.locator('#values-table tr[data-tag="t0100"] .q-good').waitFor();
  } else await page.locator('#values-table tr[data-tag="t0000"] .q-good').waitFor();
}
const rowsInDom = () =>
  Promise.race([
    page.locator("#values-table tbody tr[data-tag]").count().then(String),
    Bun.sleep(10_000).then(() => "(page unresponsive)"),
  ]).catch(() => "(page gone)");

const load0 = loadavg();
const rows: string[][] = [];
const pct = (x: number) => `${(x * 100).toFixed(1)} %`;

await page.goto(`${web.url}/#/account`);
await page.locator("#main").waitFor();
const idle = await measure();
rows.push(["idle page (Account, no stream)", pct(idle.busy), "—", idle.rate.toFixed(0)]);

await openLive();
const live = await measure();
rows.push([
  "live table, windowed, all 2,000 tags streamed",
  pct(live.busy),
  await rowsInDom(),
  live.rate.toFixed(0),
]);

await openLive("t01*");
const filtered = await measure();
rows.push([
  "live table, windowed, filter t01* (100 tags, server-side)",
  pct(filtered.busy),
  await rowsInDom(),
  filtered.rate.toFixed(0),
]);

await page.route("**/pages/conn-live.js", (r) =>
  r.fulfill({ body: oldLive, contentType: "text/javascript; charset=utf-8" }),
);
await page.goto(`${web.url}/#/account`);
await page.reload(); // a fresh module graph with the old file
await page.goto(`${web.url}/#/conn/big/live`);
// the old page may be too busy to show a value soon: its rows are enough to start
await page.locator('#values-table tr[data-tag="t0000"]').waitFor();
const old = await measure();
rows.push([
  `old full-render path (conn-live.js of ${OLD}), all tags${crashed ? " (renderer crashed)" : ""}`,
  pct(old.busy),
  await rowsInDom(),
  old.rate.toFixed(0),
]);
const load1 = loadavg();

console.log(
  `\nlive table benchmark (${quick ? "quick" : "full"}): ${N} tags, ${RATE} updates/s, ${WINDOW_MS / 1000} s windows after ${WARMUP_MS / 1000} s warm-up, chromium headless 1400×900`,
);
console.log(
  `load average before: ${load0.map((x) => x.toFixed(2)).join(" ")}; after: ${load1.map((x) => x.toFixed(2)).join(" ")} (${navigator.hardwareConcurrency} cores)\n`,
);
console.log(
  "| page | main-thread busy (of 1 s) | rows in DOM | published values/s |\n|---|---|---|---|",
);
for (const r of rows) console.log(`| ${r.join(" | ")} |`);
console.log(
  `\ngoal ≤ 20 % at 5,000 updates/s${RATE === 5000 ? "" : ` (this run: ${RATE}/s)`}: ${live.busy <= 0.2 ? "met" : "NOT met"} (windowed, all tags)`,
);

await ctx.close();
await pub.stop();
await web.stop();
for (const b of [app, webBus]) await b.close(500);
store.close();
await redis.shutdown();
if (!process.argv.includes("--keep")) dir.cleanup();
else console.log(`kept ${dir.path}`);
process.exit(0);
