import { afterAll, beforeAll, expect, test } from "bun:test";
import type { RedisTagBus } from "../../src/tagbus/index.ts";
import { Client, modbusConn, startWebFixture, type WebFixture } from "./helpers.ts";

// A trend opens with the recent past: the live hub replays what the TagBus streams retain
// (the last TREND_BACKFILL_MS) when its feed starts, instead of starting empty.

let fx: WebFixture;
let c: Client;
let app: RedisTagBus;

beforeAll(async () => {
  fx = await startWebFixture();
  c = new Client(fx.web.url);
  expect((await c.login("admin", "correct horse")).status).toBe(200);
  app = await fx.otherBus("plc-t");
  expect((await c.call("POST", "/api/connections", modbusConn("plc-t"))).status).toBe(201);
  const blk = { table: "holding_registers", address: 0, count: 4, period_ms: 200 };
  expect((await c.call("PUT", "/api/connections/plc-t/blocks/hr", blk)).status).toBe(200);
  for (const [name, address] of [
    ["temp", 0],
    ["slow", 1],
  ] as const) {
    const t = { block_id: "hr", address, data_type: "uint16" };
    expect((await c.call("PUT", `/api/connections/plc-t/tags/${name}`, t)).status).toBe(200);
  }
});

afterAll(async () => {
  await app?.close(500);
  await fx?.close();
});

test("samples published before anyone watched are in the first trend answer, in order, with their quality", async () => {
  const t0 = Date.now() - 3000;
  await app.publish([{ path: "/plc-t/slow", value: 7, quality: "good", ts: t0 - 60_000 }]);
  for (let i = 0; i < 5; i++) {
    await app.publish([
      {
        path: "/plc-t/temp",
        value: i === 3 ? null : 20 + i,
        quality: i === 3 ? "bad" : "good",
        ts: t0 + i * 500,
      },
    ]);
  }
  const r = await c.call("GET", "/api/connections/plc-t/trend?tag=temp&minutes=5");
  expect(r.status).toBe(200);
  expect(r.body.points).toEqual([
    { ts: t0, value: 20, quality: "good" },
    { ts: t0 + 500, value: 21, quality: "good" },
    { ts: t0 + 1000, value: 22, quality: "good" },
    { ts: t0 + 1500, value: null, quality: "bad" },
    { ts: t0 + 2000, value: 24, quality: "good" },
  ]);
  // A value published long ago (before the 5 min window of the chart) is still current.
  const v = await c.call("GET", "/api/connections/plc-t/values");
  expect(v.body.values.find((x: { tag: string }) => x.tag === "slow")?.value).toBe(7);
  // Live samples extend the history.
  await app.publish([{ path: "/plc-t/temp", value: 30, quality: "good", ts: t0 + 2500 }]);
  const until = Date.now() + 5000;
  let last: unknown;
  while (Date.now() < until) {
    const x = await c.call("GET", "/api/connections/plc-t/trend?tag=temp&minutes=5");
    last = x.body.points.at(-1);
    if (x.body.points.length === 6) break;
    await Bun.sleep(50);
  }
  expect(last).toEqual({ ts: t0 + 2500, value: 30, quality: "good" });
});
