/**
 * TagBus benchmark (issue 3): `bun run bench/tagbus/run.ts [--quick]`.
 *
 * Starts a private redis-server on loopback and measures, in one run:
 * 1. publish throughput (tag updates/s, batches of BATCH samples, one awaited publish per
 *    batch as an interface app does per block scan) against raw baselines, ratio = TagBus /
 *    raw (goal ≥ 0.7 against b):
 *    a. raw pipelined XADD of the same samples, one entry per sample (the batch's XADDs
 *       pipelined in one round trip), on node-redis: what a naive producer would do;
 *    b. raw XADD of one entry per batch carrying the same payload as a TagBus entry (fields
 *       p, s, n, d = the JSON array of samples, encoded in the loop), one awaited XADD per
 *       batch, on Bun's `RedisClient`, the client the TagBus runs on: the like-for-like
 *       baseline, so its ratio is the TagBus's own overhead (validation, outbox, the Lua
 *       script: seq, dedup, registry, current values);
 *    b'. the same as b on node-redis (`@redis/client`), the baseline of earlier runs, shown
 *       beside it because the two clients differ in cost per call;
 *    c. b plus an HSET of the batch's 50 current values (the TagBus's value format), both
 *       sent at once on Bun's client and awaited together: no Lua, no seq check, no de-dup,
 *       no registry. Not a design (nothing makes the two atomic or safe to retry), but the
 *       least one round trip that also keeps per-path current values costs: its ratio to b
 *       is the ceiling of TagBus / b for any design that writes them with the batch;
 * 2. latency publish → subscriber callback at 10k updates/s (p50 / p99, goal p99 ≤ 2 ms);
 * 3. Redis memory per 100k retained updates (TagBus stream vs raw per-sample stream).
 * Beside b and the TagBus rows it prints Redis's own time per call (`INFO commandstats`
 * usec_per_call of the XADD and of the PUBLISH script's EVALSHA, nested commands included),
 * and the machine's load average at the start and the end (the machine is shared).
 * Options: `--quick` (fewer rounds), `--batch=N` (samples per batch, default 50),
 * `--aof=everysec|always` (Redis with the shipped settings and that fsync policy; default: no
 * persistence).
 * Prints a table; record the numbers in docs/performance.md.
 */
import { createClient } from "@redis/client";
import { RedisClient } from "bun";
import type { TagSample } from "../../src/core/tag-value.ts";
import { createRedisTagBus } from "../../src/tagbus/index.ts";
import { RedisServer } from "../../test/support/redis-server.ts";
import { loadAverage, redisCommandStats } from "../support/proc-stats.ts";

const quick = process.argv.includes("--quick");
const batchArg = process.argv.find((a) => a.startsWith("--batch="));
const BATCH = batchArg ? Number(batchArg.slice(8)) : 50;
const TAGS = 1000;
const THROUGHPUT_UPDATES = quick ? 50_000 : 100_000;
const ROUNDS = quick ? 3 : 5;
const LATENCY_SECONDS = quick ? 2 : 5;
const aofArg = process.argv.find((a) => a.startsWith("--aof="))?.slice(6);
if (aofArg !== undefined && aofArg !== "always" && aofArg !== "everysec") {
  console.error("--aof must be always or everysec");
  process.exit(64);
}

function batch(i: number): TagSample[] {
  const ts = Date.now();
  const out: TagSample[] = [];
  for (let k = 0; k < BATCH; k++) {
    const n = i * BATCH + k;
    out.push({ path: `/mtc-01/t${n % TAGS}`, value: n * 0.5, quality: "good", ts });
  }
  return out;
}

/** The fields of one sample as the raw-XADD baselines write it (one entry per sample). */
function rawFields(s: TagSample): string[] {
  return ["path", s.path, "v", JSON.stringify(s.value), "q", s.quality, "ts", String(s.ts)];
}

/** Wall µs per batch of {@link BATCH} at `rate` updates/s. */
function perBatchUs(rate: number): string {
  return ((BATCH / rate) * 1e6).toFixed(0);
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

const loadStart = loadAverage();
const redis = await new RedisServer(
  aofArg ? { appendonly: true, appendfsync: aofArg } : {},
).start();
const raw = createClient({ url: redis.url, RESP: 2 });
await raw.connect();
/** Bun's native client, as `src/tagbus/connection.ts` opens it: baseline b. */
const bunRaw = new RedisClient(redis.url, { autoReconnect: false, enableOfflineQueue: false });
await bunRaw.connect();
const rows: [string, string, string][] = [];

try {
  // 1. throughput: alternate raw and TagBus rounds, report the median of each (shared CPU)
  const batches = THROUGHPUT_UPDATES / BATCH;
  const rawKey = "bench:raw:s";
  const rawBatchKey = "bench:rawb:s";
  const bus = await createRedisTagBus({ url: redis.url, prefix: "bench:tp:", producer: "mtc-01" });
  const rawRates: number[] = [];
  const rawBatchRates: number[] = [];
  const nodeBatchRates: number[] = [];
  const curBatchRates: number[] = [];
  const busRates: number[] = [];
  let rawSeq = 0;
  /** XADD arguments (after the command name) of one entry per batch, as a TagBus entry. */
  const batchXadd = (key: string, b: TagSample[]): string[] => {
    const d = JSON.stringify(b.map((x) => [x.path, x.value, x.quality, x.ts]));
    const args = [key, "MAXLEN", "~", "100000", "*", "p", "mtc-01", "s", String(rawSeq + 1)];
    args.push("n", String(b.length), "d", d);
    rawSeq += b.length;
    return args;
  };
  const redisUsec = { xadd: 0, xaddCalls: 0, evalsha: 0, evalshaCalls: 0 };
  const send = (args: string[]) => raw.sendCommand(args);
  for (let round = 0; round < ROUNDS; round++) {
    let t0 = performance.now();
    for (let i = 0; i < batches; i++) {
      const b = batch(i);
      await Promise.all(
        b.map((s) =>
          raw.sendCommand(["XADD", rawKey, "MAXLEN", "~", "100000", "*", ...rawFields(s)]),
        ),
      );
    }
    rawRates.push(THROUGHPUT_UPDATES / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    for (let i = 0; i < batches; i++) {
      const args = batchXadd(`${rawBatchKey}:node`, batch(i));
      await raw.sendCommand(["XADD", ...args]);
    }
    nodeBatchRates.push(THROUGHPUT_UPDATES / ((performance.now() - t0) / 1000));
    await send(["CONFIG", "RESETSTAT"]);
    t0 = performance.now();
    for (let i = 0; i < batches; i++) await bunRaw.send("XADD", batchXadd(rawBatchKey, batch(i)));
    rawBatchRates.push(THROUGHPUT_UPDATES / ((performance.now() - t0) / 1000));
    const x = (await redisCommandStats(send)).get("xadd");
    redisUsec.xadd += x?.usec ?? 0;
    redisUsec.xaddCalls += x?.calls ?? 0;
    t0 = performance.now();
    for (let i = 0; i < batches; i++) {
      const b = batch(i);
      const seq0 = rawSeq + 1;
      const added = bunRaw.send("XADD", batchXadd(`${rawBatchKey}:c`, b));
      const cur = ["bench:rawc:cur"];
      for (let k = 0; k < b.length; k++) {
        const s = b[k]!;
        cur.push(s.path, JSON.stringify([s.value, s.quality, null, s.ts, "mtc-01", seq0 + k]));
      }
      await Promise.all([added, bunRaw.send("HSET", cur)]);
    }
    curBatchRates.push(THROUGHPUT_UPDATES / ((performance.now() - t0) / 1000));
    await send(["CONFIG", "RESETSTAT"]);
    t0 = performance.now();
    for (let i = 0; i < batches; i++) await bus.publish(batch(i));
    busRates.push(THROUGHPUT_UPDATES / ((performance.now() - t0) / 1000));
    const e = (await redisCommandStats(send)).get("evalsha");
    redisUsec.evalsha += e?.usec ?? 0;
    redisUsec.evalshaCalls += e?.calls ?? 0;
  }
  await bus.close();
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]!;
  const rawRate = median(rawRates);
  const rawBatchRate = median(rawBatchRates);
  const nodeBatchRate = median(nodeBatchRates);
  const curBatchRate = median(curBatchRates);
  const busRate = median(busRates);
  rows.push([
    `a. raw pipelined XADD (1 entry per sample), median of ${ROUNDS}`,
    `${Math.round(rawRate)} updates/s`,
    "1.00",
  ]);
  rows.push([
    `b. raw XADD (1 entry per batch of ${BATCH}, same payload, Bun RedisClient), median of ${ROUNDS}`,
    `${Math.round(rawBatchRate)} updates/s (${perBatchUs(rawBatchRate)} µs per batch)`,
    "1.00",
  ]);
  rows.push([
    `b'. as b on node-redis (the baseline before 2026-12-02), median of ${ROUNDS}`,
    `${Math.round(nodeBatchRate)} updates/s (${perBatchUs(nodeBatchRate)} µs per batch)`,
    (nodeBatchRate / rawBatchRate).toFixed(2),
  ]);
  rows.push([
    `TagBus publish (batches of ${BATCH}) vs a, median of ${ROUNDS}`,
    `${Math.round(busRate)} updates/s`,
    (busRate / rawRate).toFixed(2),
  ]);
  rows.push([
    `TagBus publish (batches of ${BATCH}) vs b (like-for-like, goal ≥ 0.7)`,
    `${Math.round(busRate)} updates/s (${perBatchUs(busRate)} µs per batch)`,
    (busRate / rawBatchRate).toFixed(2),
  ]);
  rows.push([
    `c. b + HSET of the batch's current values, pipelined, no Lua, no checks (vs b)`,
    `${Math.round(curBatchRate)} updates/s (${perBatchUs(curBatchRate)} µs per batch)`,
    (curBatchRate / rawBatchRate).toFixed(2),
  ]);
  rows.push([
    `TagBus publish (batches of ${BATCH}) vs c (the least a batch with current values costs)`,
    `${Math.round(busRate)} updates/s`,
    (busRate / curBatchRate).toFixed(2),
  ]);
  rows.push([
    `TagBus publish (batches of ${BATCH}) vs b' (node-redis)`,
    `${Math.round(busRate)} updates/s`,
    (busRate / nodeBatchRate).toFixed(2),
  ]);
  const xaddUs = redisUsec.xadd / Math.max(1, redisUsec.xaddCalls);
  const scriptUs = redisUsec.evalsha / Math.max(1, redisUsec.evalshaCalls);
  rows.push([`inside Redis: b's XADD per batch of ${BATCH}`, `${xaddUs.toFixed(1)} µs`, "1.00"]);
  rows.push([
    `inside Redis: TagBus PUBLISH script per batch of ${BATCH} (${redisUsec.evalshaCalls} calls)`,
    `${scriptUs.toFixed(1)} µs`,
    (scriptUs / xaddUs).toFixed(2),
  ]);

  // 2. latency at 10k updates/s: batches of 10 every 1 ms
  const pubBus = await createRedisTagBus({
    url: redis.url,
    prefix: "bench:lat:",
    producer: "mtc-01",
  });
  const subBus = await createRedisTagBus({ url: redis.url, prefix: "bench:lat:", producer: "web" });
  const sentAt = new Map<number, number>();
  const lat: number[] = [];
  const sub = await subBus.subscribe(["/mtc-01/*"], (e) => {
    if (e.kind !== "value") return;
    const t = sentAt.get(e.value.seq);
    if (t !== undefined) {
      lat.push(performance.now() - t);
      sentAt.delete(e.value.seq);
    }
  });
  const LB = 10;
  const total = 10_000 * LATENCY_SECONDS;
  let seq = 0;
  const start = performance.now();
  for (let i = 0; i < total / LB; i++) {
    const due = start + i; // 1 ms per batch of 10
    const wait = due - performance.now();
    if (wait > 1) await Bun.sleep(wait - 0.5);
    const now = performance.now();
    const b: TagSample[] = [];
    for (let k = 0; k < LB; k++) {
      sentAt.set(++seq, now);
      b.push({ path: `/mtc-01/t${seq % TAGS}`, value: seq, quality: "good", ts: Date.now() });
    }
    void pubBus.publish(b);
  }
  const achieved = total / ((performance.now() - start) / 1000);
  const deadline = Date.now() + 10_000;
  while (lat.length < total && Date.now() < deadline) await Bun.sleep(10);
  await sub.close();
  await pubBus.close();
  await subBus.close();
  lat.sort((a, b) => a - b);
  rows.push([
    `latency publish→callback @ ${Math.round(achieved)} updates/s (${lat.length} samples)`,
    `p50 ${pct(lat, 50).toFixed(2)} ms, p99 ${pct(lat, 99).toFixed(2)} ms, max ${lat.at(-1)?.toFixed(1)} ms`,
    "",
  ]);

  // 3. memory per 100k retained updates
  const N = 100_000;
  await raw.sendCommand(["FLUSHALL"]);
  const memBus = await createRedisTagBus({
    url: redis.url,
    prefix: "bench:mem:",
    producer: "mtc-01",
  });
  for (let i = 0; i < N / BATCH; i++) await memBus.publish(batch(i));
  await memBus.close();
  const streamBytes = Number(
    await raw.sendCommand(["MEMORY", "USAGE", "bench:mem:s:mtc-01", "SAMPLES", "0"]),
  );
  const curBytes = Number(
    await raw.sendCommand(["MEMORY", "USAGE", "bench:mem:cur:mtc-01", "SAMPLES", "0"]),
  );
  for (let i = 0; i < N / BATCH; i++) {
    await Promise.all(
      batch(i).map((s) => raw.sendCommand(["XADD", "bench:mem:raw", "*", ...rawFields(s)])),
    );
  }
  const rawBytes = Number(
    await raw.sendCommand(["MEMORY", "USAGE", "bench:mem:raw", "SAMPLES", "0"]),
  );
  rows.push([
    "memory, raw stream, 100k updates (1 entry each)",
    `${(rawBytes / 1048576).toFixed(1)} MiB`,
    "1.00",
  ]);
  rows.push([
    `memory, TagBus stream, 100k updates (${N / BATCH} entries)`,
    `${(streamBytes / 1048576).toFixed(1)} MiB (+ current values ${(curBytes / 1024).toFixed(0)} KiB for ${TAGS} tags)`,
    (streamBytes / rawBytes).toFixed(2),
  ]);
} finally {
  raw.destroy();
  bunRaw.close();
  await redis.shutdown();
}

console.log(`machine: ${loadStart} at the start, ${loadAverage()} at the end`);
const w = [Math.max(...rows.map((r) => r[0].length)), Math.max(...rows.map((r) => r[1].length))];
console.log(`${"measure".padEnd(w[0]!)}  ${"result".padEnd(w[1]!)}  ratio`);
for (const r of rows) console.log(`${r[0].padEnd(w[0]!)}  ${r[1].padEnd(w[1]!)}  ${r[2]}`);
