import { afterAll, beforeAll, expect, test } from "bun:test";
import pkg from "../../package.json" with { type: "json" };
import type { RedisTagBus } from "../../src/tagbus/index.ts";
import { attentionOf } from "../../src/web/api/overview.ts";
import { cpuTicks, rssBytes } from "../../src/web/box.ts";
import { Client, modbusConn, startWebFixture, until, type WebFixture } from "./helpers.ts";

// GET /api/overview on a real SQLite file and a private redis-server; the apps are stand-ins
// publishing their system tags.

let fx: WebFixture;
let c: Client;
let app: RedisTagBus;

beforeAll(async () => {
  fx = await startWebFixture();
  c = new Client(fx.web.url);
  expect((await c.login("admin", "correct horse")).status).toBe(200);
  app = await fx.otherBus("stand-in");
  for (const id of ["ok-1", "down-1", "bad-1"])
    expect((await c.call("POST", "/api/connections", modbusConn(id))).status).toBe(201);
  expect(
    (await c.call("POST", "/api/connections", { ...modbusConn("off-1"), enabled: false })).status,
  ).toBe(201);
});

afterAll(async () => {
  await app?.close(500);
  await fx?.close();
});

function health(id: string, samples: number, startedAt: number) {
  return JSON.stringify({
    v: 1,
    appId: id,
    pid: process.pid,
    state: "EXECUTE",
    stateReason: "",
    startedAt,
    lastGoodPoll: startedAt,
    counters: { reads: 1, readErrors: 0, samplesPublished: samples },
    blocks: {},
    bus: { published: samples, outboxLength: 0, outboxDropped: 0, connected: true },
    recentLogs: [],
  });
}

test("the overview lists connections needing attention first, with counts, rates, bad tags and the box", async () => {
  const now = Date.now();
  await app.publish([
    { path: "/system/ok-1/state", value: "EXECUTE", quality: "good", ts: now },
    {
      path: "/system/ok-1/health",
      value: health("ok-1", 100, now - 10_000),
      quality: "good",
      ts: now,
    },
    {
      path: "/system/down-1/state",
      value: "RECOVER",
      reason: "ECONNREFUSED",
      quality: "good",
      ts: now,
    },
    { path: "/system/bad-1/state", value: "EXECUTE", quality: "good", ts: now },
    { path: "/bad-1/t1", value: null, quality: "bad", reason: "timeout", ts: now },
    { path: "/bad-1/t2", value: 1, quality: "good", ts: now },
  ]);
  const o = await until("the overview with every state", async () => {
    const r = await c.call("GET", "/api/overview");
    return r.body.by_state?.RECOVER === 1 && r.body.connections[1].bad_tags === 1
      ? r.body
      : undefined;
  });
  expect(o.connections.map((x: { conn_id: string }) => x.conn_id)).toEqual([
    "down-1",
    "bad-1",
    "ok-1",
    "off-1",
  ]);
  expect(o.by_state).toEqual({ RECOVER: 1, EXECUTE: 2, disabled: 1 });
  expect(o.attention).toBe(2);
  expect(o.connections[0].attention).toEqual(["RECOVER: ECONNREFUSED"]);
  expect(o.connections[1].attention).toEqual(["1 bad tag(s)"]);
  expect(o.connections[2]).toMatchObject({ attention: [], rate_per_s: 10 });
  expect(o.bus.connected).toBe(true);
  expect(o.northbounds).toEqual([]);
  expect(o.box.version).toBe(pkg.version);
  expect(o.box.disk.free_bytes).toBeGreaterThan(0);
  expect(o.box.disk.db_bytes).toBeGreaterThan(0);
  // ne-web itself and the stand-in's pid (this test process) as ne-intf ok-1 are measured
  const web = o.box.apps.find((a: { app: string }) => a.app === "ne-web");
  expect(web.pid).toBe(process.pid);
  expect(web.rss_bytes).toBeGreaterThan(1_000_000);
  expect(typeof web.cpu_pct).toBe("number");

  // The next health tag: the rate is measured between the two (100 samples in 5 s).
  await app.publish([
    {
      path: "/system/ok-1/health",
      value: health("ok-1", 200, now - 10_000),
      quality: "good",
      ts: now + 5000,
    },
  ]);
  const ok = await until("the measured rate", async () => {
    const r = await c.call("GET", "/api/overview");
    const x = r.body.connections.find((y: { conn_id: string }) => y.conn_id === "ok-1");
    return x.rate_per_s === 20 ? x : undefined;
  });
  expect(ok.rate_per_s).toBe(20);
});

test("an app that stopped reporting (hung) is silent and needs attention first, not shown as running", async () => {
  expect((await c.call("POST", "/api/connections", modbusConn("hung-1"))).status).toBe(201);
  const now = Date.now();
  // its last report, 60 s old: EXECUTE with a good poll just before it
  await app.publish([
    { path: "/system/hung-1/state", value: "EXECUTE", quality: "good", ts: now - 60_000 },
    {
      path: "/system/hung-1/health",
      value: health("hung-1", 100, now - 60_040),
      quality: "good",
      ts: now - 60_000,
    },
  ]);
  const hung = await until("hung-1 in the overview", async () => {
    const r = await c.call("GET", "/api/overview");
    return r.body.connections.find(
      (y: { conn_id: string; status: { reported_at: number | null } }) =>
        y.conn_id === "hung-1" && y.status.reported_at !== null,
    );
  });
  expect(hung.status.state).toBe("silent");
  expect(hung.status.reason).toMatch(/^no health for 1m0\ds \(last: EXECUTE\)$/);
  expect(hung.rank).toBe(0);
  expect(hung.attention).toEqual([`silent: ${hung.status.reason}`]);
  const one = await c.call("GET", "/api/connections/hung-1");
  expect(one.body.status.state).toBe("silent");
  expect((await c.call("DELETE", "/api/connections/hung-1")).status).toBe(200);
});

test("attention ranks: down, demoted devices, bad tags, uncertain or starting, fine, disabled", () => {
  const base = { enabled: true, bad_tags: 0, uncertain_tags: 0, demoted_devices: 0 };
  const st = (state: string, reason: string | null = null) => ({ state, reason, error_total: 0 });
  expect(attentionOf({ ...base, status: st("stopped") }).rank).toBe(0);
  expect(
    attentionOf({ ...base, status: st("silent", "no health for 25s (last: EXECUTE)") }),
  ).toEqual({ rank: 0, attention: ["silent: no health for 25s (last: EXECUTE)"] });
  expect(attentionOf({ ...base, demoted_devices: 2, status: st("EXECUTE") })).toEqual({
    rank: 1,
    attention: ["2 device(s) demoted"],
  });
  expect(attentionOf({ ...base, bad_tags: 1, status: st("EXECUTE") }).rank).toBe(2);
  expect(attentionOf({ ...base, status: st("CONNECT") })).toEqual({
    rank: 3,
    attention: ["CONNECT"],
  });
  expect(attentionOf({ ...base, status: st("EXECUTE") })).toEqual({ rank: 4, attention: [] });
  expect(attentionOf({ ...base, enabled: false, status: st("stopped") }).rank).toBe(5);
});

test("CPU ticks and resident memory of a process come from /proc", () => {
  expect(cpuTicks(process.pid)).toBeGreaterThan(0);
  expect(rssBytes(process.pid)).toBeGreaterThan(1_000_000);
  expect(cpuTicks(2 ** 30)).toBeNull();
});
