/**
 * Web UI benchmark: `bun run bench/web/run.ts [--quick]`.
 *
 * 1. Live value latency, publish → the value in an SSE client of `ne-web` (through the live
 *    hub, server-side filter, JSON, HTTP), against the baseline publish → a direct TagBus
 *    subscriber, measured in the same run with the same publisher; with 1 and with 20
 *    concurrent SSE clients on the same connection.
 * 2. API request rate, `GET /api/connections` (20 connections, their status read from the
 *    bus, bearer token), against the baseline of a bare `Bun.serve` answering a constant
 *    JSON of the same size.
 *
 * Prints a table with ratios. A private redis-server and a temp SQLite file; nothing is left.
 */
import { silentLogger } from "../../src/core/log.ts";
import { openStore } from "../../src/store/store.ts";
import { createRedisTagBus } from "../../src/tagbus/index.ts";
import { startWebServer } from "../../src/web/server.ts";
import { RedisServer } from "../../test/support/redis-server.ts";
import { tempDir } from "../../test/support/tmp.ts";

const quick = process.argv.includes("--quick");
const SAMPLES = quick ? 300 : 1500;
const RATE_HZ = 200;
const REQUESTS = quick ? 300 : 2000;

const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? Number.NaN;
};
const fmt = (n: number) => n.toFixed(2);

const redis = await new RedisServer().start();
const dir = tempDir("ne-bench-web-");
const store = openStore(`${dir.path}/ne.db`);
const opts = { url: redis.url, prefix: "bench:", blockMs: 200 };
const webBus = await createRedisTagBus({ ...opts, producer: "web" });
const app = await createRedisTagBus({ ...opts, producer: "m1" });
const direct = await createRedisTagBus({ ...opts, producer: "direct" });
const web = startWebServer({ store, bus: webBus, logger: silentLogger }, { port: 0 });
await web.app.auth.setPassword("admin", "bench password");
const token = web.app.auth.createToken("admin", "bench");
const auth = { authorization: `Bearer ${token}` };
// One token per 10 SSE clients: a caller may hold at most 16 streams (MAX_STREAMS_PER_CALLER).
const streamAuth = Array.from({ length: 2 }, (_, i) => ({
  authorization: `Bearer ${web.app.auth.createToken("admin", `bench-sse-${i}`)}`,
}));

const conns = Array.from({ length: 20 }, (_, i) => ({
  connection: {
    conn_id: `m${i + 1}`,
    protocol: "modbus-tcp",
    host: "127.0.0.1",
    port: 1502,
    unit_id: 1,
  },
  blocks: [
    {
      conn_id: `m${i + 1}`,
      block_id: "hr",
      table: "holding_registers",
      address: 0,
      count: 10,
      period_ms: 100,
    },
  ],
  tags: Array.from({ length: 10 }, (_, k) => ({
    conn_id: `m${i + 1}`,
    tag_name: `t${k}`,
    block_id: "hr",
    address: k,
    data_type: "uint16",
  })),
}));
store.apply({ origin: "bench", put: conns });

/** Opens `n` SSE clients for /m1 (tag t0) and records, per client, receive time by value. */
async function sseClients(n: number): Promise<{ got: Map<number, number>[]; close(): void }> {
  const got: Map<number, number>[] = [];
  const readers: { cancel(): Promise<void> }[] = [];
  for (let i = 0; i < n; i++) {
    const m = new Map<number, number>();
    got.push(m);
    const res = await fetch(`${web.url}/api/connections/m1/stream?tags=t0`, {
      headers: streamAuth[i % streamAuth.length]!,
    });
    const reader = res.body!.getReader();
    readers.push(reader);
    const dec = new TextDecoder();
    (async () => {
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
        if (done) return;
        buf += dec.decode(value);
        let i2 = buf.indexOf("\n\n");
        while (i2 >= 0) {
          const ev = buf.slice(0, i2);
          buf = buf.slice(i2 + 2);
          const data = ev.split("\n").find((l) => l.startsWith("data: "));
          if (ev.startsWith("event: values") && data) {
            const now = performance.now();
            for (const v of JSON.parse(data.slice(6)) as { path: string; value: number }[]) {
              if (v.path === "/m1/t0" && !m.has(v.value)) m.set(v.value, now);
            }
          }
          i2 = buf.indexOf("\n\n");
        }
      }
    })();
  }
  return {
    got,
    close: () => {
      for (const r of readers) r.cancel().catch(() => {});
    },
  };
}

async function latencyRun(
  clients: number,
  base: number,
): Promise<{ sse: number[]; direct: number[] }> {
  const directGot = new Map<number, number>();
  const sub = await direct.subscribe(["/m1/t0"], (e) => {
    if (e.kind === "value" && typeof e.value.value === "number")
      directGot.set(e.value.value, performance.now());
  });
  const sse = await sseClients(clients);
  await Bun.sleep(500);
  const sent = new Map<number, number>();
  for (let i = 0; i < SAMPLES; i++) {
    const v = base + i;
    sent.set(v, performance.now());
    await app.publish([{ path: "/m1/t0", value: v, quality: "good", ts: Date.now() }]);
    await Bun.sleep(1000 / RATE_HZ);
  }
  await Bun.sleep(1000);
  const lat = (m: Map<number, number>) =>
    [...sent].filter(([v]) => m.has(v)).map(([v, t]) => m.get(v)! - t);
  const out = { sse: sse.got.flatMap(lat), direct: lat(directGot) };
  sse.close();
  await sub.close();
  return out;
}

async function requestRate(url: string, headers: Record<string, string>): Promise<number> {
  const t0 = performance.now();
  const CONC = 8;
  let next = 0;
  await Promise.all(
    Array.from({ length: CONC }, async () => {
      while (next++ < REQUESTS) await (await fetch(url, { headers })).arrayBuffer();
    }),
  );
  return REQUESTS / ((performance.now() - t0) / 1000);
}

const rows: string[][] = [];
for (const clients of [1, 20]) {
  const r = await latencyRun(clients, clients * 1_000_000);
  const base50 = pct(r.direct, 50);
  rows.push([
    `latency publish → SSE, ${clients} client(s), ms p50 / p99`,
    `${fmt(pct(r.sse, 50))} / ${fmt(pct(r.sse, 99))}`,
    `${fmt(base50)} / ${fmt(pct(r.direct, 99))} (direct subscriber)`,
    `${fmt(pct(r.sse, 50) / base50)}× p50`,
    `${r.sse.length}/${SAMPLES * clients} delivered`,
  ]);
}

const apiBody = await (await fetch(`${web.url}/api/connections`, { headers: auth })).text();
const bare = Bun.serve({
  port: 0,
  hostname: "127.0.0.1",
  fetch: () => new Response(apiBody, { headers: { "content-type": "application/json" } }),
});
const bareRate = await requestRate(`http://127.0.0.1:${bare.port}/`, {});
const apiRate = await requestRate(`${web.url}/api/connections`, auth);
rows.push([
  "GET /api/connections (20 connections), req/s, 8 concurrent",
  apiRate.toFixed(0),
  `${bareRate.toFixed(0)} (bare Bun.serve, same ${apiBody.length} B body)`,
  `${fmt(apiRate / bareRate)}×`,
  "",
]);
const staticRate = await requestRate(`${web.url}/app.js`, {});
rows.push([
  "GET /app.js (embedded front end), req/s",
  staticRate.toFixed(0),
  `${bareRate.toFixed(0)}`,
  `${fmt(staticRate / bareRate)}×`,
  "",
]);

console.log(
  `\nweb UI benchmark (${quick ? "quick" : "full"}; ${SAMPLES} samples at ${RATE_HZ}/s; ${REQUESTS} requests)\n`,
);
console.log("| measure | web UI | baseline | ratio | note |\n|---|---|---|---|---|");
for (const r of rows) console.log(`| ${r.join(" | ")} |`);

await bare.stop(true);
await web.stop();
for (const b of [app, direct, webBus]) await b.close(500);
store.close();
await redis.shutdown();
dir.cleanup();
process.exit(0);
