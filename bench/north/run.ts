/**
 * Northbound benchmark (issue 13): `bun run bench/north/run.ts [--quick]`.
 *
 * A private redis-server and mosquitto on loopback, a real `ne-north` process (plain MQTT,
 * QoS 1, layout `tag`), a synthetic producer on the TagBus and an MQTT.js subscriber. In one run:
 * 1. throughput: N updates pushed into the TagBus as fast as it takes them, time until the
 *    subscriber has all N; baseline: a raw MQTT.js loop publishing the same N JSON payloads
 *    at QoS 1 to the same broker (goal: ne-north ≥ 0.7 × raw);
 * 2. latency TagBus → broker subscriber at RATE updates/s (default 10 000) for SECONDS:
 *    p50/p99 (goal p99 ≤ 20 ms), ne-north CPU and RSS (goal ≤ 60 MiB);
 * 3. replay: live at REPLAY_LIVE updates/s, the broker stopped for OUTAGE s and restarted:
 *    replay drain rate (goal ≥ 5 × the live rate) and live latency p99 while it drains
 *    (goal: not delayed more than 100 ms).
 * Run it only on a quiet machine (`uptime` load < 1.5); record the numbers and the load in
 * docs/performance.md.
 */
import { openSync } from "node:fs";
import { loadavg } from "node:os";
import { join } from "node:path";
import mqtt from "mqtt";
import type { TagSample } from "../../src/core/tag-value.ts";
import { openStore } from "../../src/store/store.ts";
import { createRedisTagBus } from "../../src/tagbus/index.ts";
import { Mosquitto } from "../../test/support/mosquitto.ts";
import { RedisServer } from "../../test/support/redis-server.ts";
import { tempDir } from "../../test/support/tmp.ts";
import { cpuSeconds, memory } from "../support/proc-stats.ts";

const quick = process.argv.includes("--quick");
const arg = (name: string, d: number) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.slice(name.length + 3)) : d;
};
const N = arg("n", quick ? 20_000 : 100_000);
const RATE = arg("rate", 10_000);
const SECONDS = arg("seconds", quick ? 10 : 60);
const REPLAY_LIVE = arg("replay-live", 2000);
const OUTAGE = arg("outage", quick ? 10 : 60);
const BATCH = 50;
const TAGS = 1000;

const pct = (a: number[], p: number) => {
  const s = [...a].sort((x, y) => x - y);
  return s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? Number.NaN;
};
const load = () => loadavg()[0]!.toFixed(2);

const dir = tempDir("ne-bench-north-");
const redis = await new RedisServer().start();
const broker = await new Mosquitto().start();
const db = join(dir.path, "nodi-edge.db");
const store = openStore(db, { create: true });
store.apply({
  origin: "bench",
  putNorthbounds: [
    {
      north_id: "bench",
      kind: "mqtt",
      broker_urls: broker.url,
      gateway: "gw",
      tag_selection: "/bench/*",
      buffer_max_mib: 1024,
    },
  ],
});
store.close();
const env = {
  ...process.env,
  NE_DB: db,
  NE_REDIS_URL: redis.url,
  NE_REDIS_PREFIX: "ne:",
  NE_DATA_DIR: dir.path,
  NE_LOG_LEVEL: "warn",
};
const logFile = join(dir.path, "north.log");
const logFd = openSync(logFile, "a");
const north = Bun.spawn(
  [process.execPath, join(import.meta.dir, "../../src/north/main.ts"), "--north-id=bench"],
  {
    env,
    stdout: logFd,
    stderr: logFd,
  },
);
const prod = await createRedisTagBus({ url: redis.url, prefix: "ne:", producer: "bench" });
const sub = await mqtt.connectAsync(broker.url, { clientId: "bench-sub", reconnectPeriod: 100 });
let received = 0;
let replayed = 0;
let lat: number[] = [];
let recordLat = false;
let lastAt = 0;
sub.on("message", (topic, payload) => {
  if (!topic.startsWith("nodi-edge/gw/bench/")) return;
  const now = Date.now();
  received++;
  lastAt = now;
  const m = JSON.parse(payload.toString());
  if (m.replay) replayed++;
  else if (recordLat) lat.push(now - m.ts);
});
sub.on("connect", () => sub.subscribe("nodi-edge/gw/#", { qos: 1 }));
await sub.subscribeAsync("nodi-edge/gw/#", { qos: 1 });
const rows: string[][] = [];
const waitFor = async (cond: () => boolean, ms: number) => {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await Bun.sleep(20);
  return cond();
};
let seqCounter = 0;
const batch = (): TagSample[] => {
  const ts = Date.now();
  const out: TagSample[] = [];
  for (let k = 0; k < BATCH; k++)
    out.push({ path: `/bench/t${seqCounter++ % TAGS}`, value: seqCounter, quality: "good", ts });
  return out;
};
/** Publishes at `rate` updates/s for `seconds` (drift-corrected, one batch per tick). */
async function paced(rate: number, seconds: number): Promise<number> {
  const every = (BATCH / rate) * 1000;
  const t0 = performance.now();
  let n = 0;
  while (performance.now() - t0 < seconds * 1000) {
    await prod.publish(batch());
    n += BATCH;
    const next = t0 + (n / BATCH) * every;
    const wait = next - performance.now();
    if (wait > 0) await Bun.sleep(wait);
  }
  return n;
}

try {
  console.log(`load before: ${load()}`);
  // ne-north up
  await prod.publish(batch());
  if (!(await waitFor(() => received > 0, 30_000)))
    throw new Error(`ne-north did not deliver; log ${logFile}`);
  await Bun.sleep(500);

  // 1. throughput vs raw MQTT.js
  const raw = await mqtt.connectAsync(broker.url, { clientId: "bench-raw" });
  const payload = JSON.stringify({ value: 12345, quality: "good", ts: Date.now(), seq: 1 });
  const t = performance.now();
  const acks: Promise<unknown>[] = [];
  for (let i = 0; i < N; i++)
    acks.push(raw.publishAsync(`raw/gw/bench/t${i % TAGS}`, payload, { qos: 1 }));
  await Promise.all(acks);
  const rawRate = N / ((performance.now() - t) / 1000);
  await raw.endAsync();
  const before = received;
  const tw = Date.now();
  for (let i = 0; i < N; i += BATCH) await prod.publish(batch());
  await waitFor(() => received - before >= N, 120_000);
  const northRate = (received - before) / ((lastAt - tw) / 1000);
  rows.push(["throughput raw MQTT.js QoS 1", `${Math.round(rawRate)} msg/s`, ""]);
  rows.push([
    "throughput ne-north (TagBus → broker → subscriber)",
    `${Math.round(northRate)} msg/s`,
    `${(northRate / rawRate).toFixed(2)} × raw (goal ≥ 0.7)`,
  ]);

  // 2. latency at RATE
  lat = [];
  recordLat = true;
  const cpu0 = cpuSeconds(north.pid);
  const t2 = performance.now();
  let rssMax = 0;
  const rssTimer = setInterval(() => {
    rssMax = Math.max(rssMax, memory(north.pid).rss);
  }, 500);
  const sent = await paced(RATE, SECONDS);
  await Bun.sleep(500);
  clearInterval(rssTimer);
  recordLat = false;
  const cpu = ((cpuSeconds(north.pid) - cpu0) / ((performance.now() - t2) / 1000)) * 100;
  rows.push([
    `latency at ${RATE}/s for ${SECONDS} s (${sent} updates)`,
    `p50 ${pct(lat, 50)} ms, p99 ${pct(lat, 99)} ms`,
    "goal p99 ≤ 20 ms",
  ]);
  rows.push([
    "ne-north CPU / RSS at that rate",
    `${cpu.toFixed(0)} % of a core, RSS max ${(rssMax / 1048576).toFixed(1)} MiB`,
    "goal RSS ≤ 60 MiB",
  ]);

  // 3. replay after an outage, live at REPLAY_LIVE
  const live = paced(REPLAY_LIVE, OUTAGE + 30);
  await Bun.sleep(2000);
  await broker.stop();
  await Bun.sleep(OUTAGE * 1000);
  const r0 = replayed;
  await broker.start();
  const up = Date.now();
  lat = [];
  recordLat = true;
  const expected = REPLAY_LIVE * OUTAGE * 0.9;
  await waitFor(() => replayed - r0 >= expected, 120_000);
  const drainS = (Date.now() - up) / 1000;
  recordLat = false;
  const duringReplay = [...lat];
  await live;
  rows.push([
    `replay after a ${OUTAGE} s outage (live ${REPLAY_LIVE}/s)`,
    `${replayed - r0} replayed in ${drainS.toFixed(1)} s = ${Math.round((replayed - r0) / drainS)}/s`,
    `${((replayed - r0) / drainS / REPLAY_LIVE).toFixed(1)} × live (goal ≥ 5)`,
  ]);
  rows.push([
    "live latency while the replay drains",
    `p50 ${pct(duringReplay, 50)} ms, p99 ${pct(duringReplay, 99)} ms`,
    "goal ≤ 100 ms",
  ]);
} finally {
  console.log(`load after: ${load()}`);
  for (const r of rows) console.log(`| ${r.join(" | ")} |`);
  north.kill("SIGTERM");
  await north.exited;
  await sub.endAsync(true);
  await prod.close(500);
  await broker.shutdown();
  await redis.shutdown();
  dir.cleanup();
}
