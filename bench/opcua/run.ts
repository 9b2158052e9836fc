/**
 * OPC UA benchmark: N monitored items (default 1,000) changing every P ms (default 100) on the
 * press simulator (its own process), subscribed by the OPC UA driver in this process and
 * published to the Redis TagBus (a private redis-server). Measures values/s delivered to the
 * emit callback and to the TagBus, their lateness (source timestamp → TagBus publish
 * resolved), this process's RSS, and, as baselines measured in the same run, the expected
 * rate (N × 1000 / P) and the RSS of a process that loads the Modbus driver and the TagBus
 * only (what a non-OPC UA app costs).
 *
 * Run: `bun bench/opcua/run.ts [--seconds 20] [--items 1000] [--period 100] [--heap]`.
 *
 * `--heap` also measures, after a full GC, at 0 items (session open, nothing subscribed), at
 * 100 items and at all items (see `heap.ts`): RSS/PSS/anonymous, JSC heap size and object
 * counts by type, and modules loaded; the items are then subscribed as two blocks (the first
 * 100, then the rest) of the same period.
 */
import { join } from "node:path";
import { silentLogger } from "../../src/core/log.ts";
import type { TagSample } from "../../src/core/tag-value.ts";
import type { TagReading } from "../../src/drivers/driver.ts";
import type { Block, Connection, Tag } from "../../src/store/schema.ts";
import { createRedisTagBus } from "../../src/tagbus/index.ts";
import { RedisServer } from "../../test/support/redis-server.ts";
import { tempDir } from "../../test/support/tmp.ts";
import { loadAverage } from "../support/proc-stats.ts";
import { formatSnapshots, type HeapSnapshot, modulesByPackage, snapshot } from "./heap.ts";
import { readJsonLine, startBenchSim } from "./sim.ts";

const root = join(import.meta.dir, "../..");

function arg(name: string, dflt: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
}

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? 0;
const mb = (bytes: number) => bytes / 1024 / 1024;

/** RSS of a fresh bun process that loads the Modbus driver and opens the TagBus (no node-opcua). */
async function baselineRss(redisUrl: string): Promise<number> {
  const script = `
    const { loadDriverFactory } = await import("./src/drivers/registry.ts");
    const { createRedisTagBus } = await import("./src/tagbus/index.ts");
    await loadDriverFactory("modbus-tcp");
    const bus = await createRedisTagBus({ url: ${JSON.stringify(redisUrl)}, prefix: "bench-base:", producer: "base" });
    await bus.publish([{ path: "/base/x", value: 1, quality: "good", ts: Date.now() }]);
    await Bun.sleep(1000);
    console.log(JSON.stringify({ rss: process.memoryUsage().rss }));
    await bus.close();
  `;
  const p = Bun.spawn([process.execPath, "-e", script], {
    cwd: root,
    stdout: "pipe",
    stderr: "inherit",
  });
  const out = await readJsonLine(p.stdout);
  await p.exited;
  return out.rss as number;
}

export async function main(): Promise<number> {
  const seconds = arg("seconds", 20);
  const items = arg("items", 1000);
  const period = arg("period", 100);
  const heap = process.argv.includes("--heap");
  const snaps: HeapSnapshot[] = [];
  const dir = tempDir("ne-bench-opcua-");
  const redis = await new RedisServer().start();
  const sim = await startBenchSim({ items, period, dir: dir.path });
  try {
    const rssBefore = process.memoryUsage().rss;
    if (heap) snaps.push(snapshot("before node-opcua", 0));
    const t0 = performance.now();
    const { createOpcuaDriver } = await import("../../src/drivers/opcua/index.ts");
    const importMs = performance.now() - t0;
    if (heap) snaps.push(snapshot("driver imported", 0));

    const conn = {
      conn_id: "bench",
      protocol: "opcua",
      endpoint_url: sim.endpointUrl,
      security_mode: "None",
      security_policy: "None",
      timeout_ms: 3000,
      connect_timeout_ms: 10_000,
    } as Connection;
    const blockOf = (block_id: string) =>
      ({
        conn_id: "bench",
        block_id,
        table: "opcua_nodes",
        period_ms: period,
        mode: "subscribe",
        enabled: true,
      }) as Block;
    // --heap: the first 100 items in block "first", the rest in "fast"
    const firstN = heap ? Math.min(100, items) : 0;
    const blocks =
      firstN > 0 && firstN < items ? [blockOf("first"), blockOf("fast")] : [blockOf("fast")];
    const tags = Array.from(
      { length: items },
      (_, i) =>
        ({
          conn_id: "bench",
          tag_name: `v${i}`,
          block_id: blocks.length > 1 && i < firstN ? "first" : "fast",
          data_type: "float64",
          node_id: `ns=1;s=Press.Bench.V${String(i).padStart(4, "0")}`,
          scale: 1,
          offset: 0,
          deadband: 0,
          access: "read",
          queue_size: 1,
        }) as Tag,
    );
    const bus = await createRedisTagBus({ url: redis.url, prefix: "bench:", producer: "bench" });
    const driver = createOpcuaDriver(conn, { log: silentLogger, dataDir: dir.path });
    await driver.configure(blocks, tags);
    await driver.connect();
    if (heap) snaps.push(snapshot("connected, 0 items", 0));

    let measuring = false;
    let emitted = 0;
    let published = 0;
    const lateness: number[] = [];
    // bench values count up by one per change: a jump > 1 is a change that was not delivered
    const lastValue = new Map<string, number>();
    let skipped = 0;
    let chain: Promise<void> = Promise.resolve();
    const emit = (readings: TagReading[]) => {
      const samples: TagSample[] = readings.map((r) => ({
        path: `/bench/${r.tag_name}`,
        value: r.value,
        quality: r.quality,
        ts: r.ts,
      }));
      const counting = measuring;
      if (counting) emitted += readings.length;
      for (const r of readings) {
        const prev = lastValue.get(r.tag_name);
        if (counting && prev !== undefined && typeof r.value === "number" && r.value > prev + 1) {
          skipped += r.value - prev - 1;
        }
        if (typeof r.value === "number") lastValue.set(r.tag_name, r.value);
      }
      chain = chain
        .then(() => bus.publish(samples))
        .then(() => {
          if (!counting) return;
          const now = Date.now();
          published += samples.length;
          for (const s of samples) lateness.push(now - s.ts);
        });
    };
    let subscribed = 0;
    for (const block of blocks) {
      await driver.push?.start(block, emit);
      subscribed += tags.filter((t) => t.block_id === block.block_id).length;
      if (heap) {
        snaps.push(snapshot(`${subscribed} items, 0 s`, subscribed));
        await Bun.sleep(2000);
        snaps.push(snapshot(`${subscribed} items, 2 s`, subscribed));
      }
    }
    await Bun.sleep(3000); // warm-up
    measuring = true;
    const loadStart = loadAverage();
    const start = performance.now();
    let rssPeak = 0;
    const rssTimer = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 250);
    await Bun.sleep(seconds * 1000);
    measuring = false;
    const elapsed = (performance.now() - start) / 1000;
    clearInterval(rssTimer);
    await chain;
    const rss = process.memoryUsage().rss;
    if (heap) snaps.push(snapshot(`${items} items, end`, items));
    for (const block of blocks) await driver.push?.stop(block.block_id);
    await driver.close();
    await bus.close();
    const base = await baselineRss(redis.url);

    const expected = (items * 1000) / period;
    const sorted = lateness.sort((a, b) => a - b);
    const rows: Array<[string, string, string]> = [
      ["values/s expected (baseline: items × 1000 / period)", expected.toFixed(0), "1.00"],
      [
        "values/s delivered to emit",
        (emitted / elapsed).toFixed(0),
        (emitted / elapsed / expected).toFixed(2),
      ],
      [
        "values/s delivered to the TagBus (Redis)",
        (published / elapsed).toFixed(0),
        (published / elapsed / expected).toFixed(2),
      ],
      ["changes not delivered (value steps skipped), per s", (skipped / elapsed).toFixed(1), ""],
      ["lateness source ts → TagBus, p50 ms", String(pct(sorted, 50)), ""],
      ["lateness p99 ms", String(pct(sorted, 99)), ""],
      ["lateness max ms", String(sorted.at(-1) ?? 0), ""],
      ["RSS baseline: Modbus driver + TagBus process, MiB", mb(base).toFixed(1), "1.00"],
      ["RSS OPC UA app (this process) at end, MiB", mb(rss).toFixed(1), (rss / base).toFixed(2)],
      [
        "RSS OPC UA app peak while measuring, MiB",
        mb(rssPeak).toFixed(1),
        (rssPeak / base).toFixed(2),
      ],
      ["RSS before loading node-opcua, MiB", mb(rssBefore).toFixed(1), ""],
      ["import of the OPC UA driver, ms", importMs.toFixed(0), ""],
    ];
    console.log(
      `\nOPC UA: ${items} monitored items changing every ${period} ms, ${elapsed.toFixed(1)} s measured ` +
        `(${loadStart} at the start, ${loadAverage()} at the end)\n`,
    );
    const w = Math.max(...rows.map((r) => r[0].length));
    console.log(`${"measure".padEnd(w)}  ${"value".padStart(10)}  ratio`);
    for (const [m, v, r] of rows) console.log(`${m.padEnd(w)}  ${v.padStart(10)}  ${r}`);
    if (heap) {
      console.log(`\nheap (after Bun.gc(true))\n${formatSnapshots(snaps)}`);
      console.log(
        `\nmodules by package (of ${Object.keys(require.cache).length}):\n${modulesByPackage()}`,
      );
    }
    return 0;
  } finally {
    await sim.stop();
    await redis.shutdown();
    dir.cleanup();
  }
}

if (import.meta.main) {
  process.exitCode = await main();
}
