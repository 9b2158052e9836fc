import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { openStore } from "../../src/store/store.ts";
import { createRedisTagBus } from "../../src/tagbus/index.ts";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis-server.ts";
import { runCli } from "../support/run-cli.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";

/** `nodi-edge conn plan ID` (issue 14, docs/cli.md): the read requests, with refused spans. */
const redis = new RedisServer();
const dir = tempDir("ne-cli-plan-");
const db = join(dir.path, "sot.sqlite");
const prefix = uniquePrefix("plan");
beforeAll(async () => {
  await redis.start();
  const s = openStore(db);
  const auto = (tag_name: string, address: number, scan_ms = 500) => ({
    conn_id: "plc1",
    tag_name,
    table: "holding_registers",
    scan_ms,
    address,
    data_type: "uint16",
  });
  s.apply({
    origin: "test",
    put: [
      {
        connection: {
          conn_id: "plc1",
          protocol: "modbus-tcp",
          host: "10.0.0.1",
          port: 502,
          unit_id: 7,
          max_registers_per_request: 100,
        },
        blocks: [
          {
            conn_id: "plc1",
            block_id: "big",
            table: "input_registers",
            address: 0,
            count: 150,
            period_ms: 1000,
          },
        ],
        tags: [
          { conn_id: "plc1", tag_name: "first", block_id: "big", address: 0, data_type: "int16" },
          { conn_id: "plc1", tag_name: "late", block_id: "big", address: 120, data_type: "int16" },
          auto("a", 0),
          auto("b", 1),
          auto("c", 3),
          auto("slow", 10, 5000),
        ],
      },
      {
        connection: { conn_id: "ua1", protocol: "opcua", endpoint_url: "opc.tcp://h:4840" },
        blocks: [],
        tags: [],
      },
    ],
  });
  s.close();
  // what the running app would have published after the device refused 0..3
  const bus = await createRedisTagBus({ url: redis.url, prefix, producer: "plc1" });
  await bus.publish([
    {
      path: "/system/plc1/refused_spans",
      value: JSON.stringify([{ device: "", table: "holding_registers", start: 0, end: 4 }]),
      quality: "good",
      ts: Date.now(),
    },
  ]);
  await bus.close(1000);
});
afterAll(async () => {
  await redis.shutdown();
  dir.cleanup();
});

const env = () => ({ NE_DB: db, NE_REDIS_URL: redis.url, NE_REDIS_PREFIX: prefix });

describe("conn plan", () => {
  test("one row per read request: explicit blocks split at the device maximum, auto tags merged, refused spans from the app", async () => {
    const r = await runCli(["conn", "plan", "plc1"], { env: env() });
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        "read requests of plc1: 5",
        "block_id           unit  table              fc  addresses  count  period_ms  tags",
        "big                7     input_registers    4   0–99       100    1000       1: first",
        "big                7     input_registers    4   100–149    50     1000       1: late",
        "auto._.hr.500.0    7     holding_registers  3   0          1      500        1: a",
        "auto._.hr.500.1    7     holding_registers  3   1–3        3      500        2: b c",
        "auto._.hr.5000.10  7     holding_registers  3   10         1      5000       1: slow",
        "",
        "refused spans (exception 02, learned by the running app): 1",
        "device     table              addresses",
        "(default)  holding_registers  0–3",
        "",
      ].join("\n"),
    );
    const j = JSON.parse((await runCli(["--json", "conn", "plan", "plc1"], { env: env() })).out);
    expect(j.refused_source).toBe("app");
    expect(j.requests[2]).toEqual({
      block_id: "auto._.hr.500.0",
      auto: true,
      device: "",
      unit_id: 7,
      table: "holding_registers",
      fc: 3,
      first: 0,
      last: 0,
      count: 1,
      period_ms: 500,
      tags: ["a"],
      refused: false,
    });
  });

  test("--static, or Redis unreachable: the plan as configured (a note says why)", async () => {
    const s = await runCli(["--json", "conn", "plan", "plc1", "--static"], { env: env() });
    const j = JSON.parse(s.out);
    expect(j.refused_source).toBe("none");
    expect(j.requests.map((q: { first: number; count: number }) => [q.first, q.count])).toEqual([
      [0, 100],
      [100, 50],
      [0, 4],
      [10, 1],
    ]);
    const down = await runCli(["conn", "plan", "plc1"], {
      env: { NE_DB: db, NE_REDIS_URL: `redis://127.0.0.1:${await freePort()}` },
    });
    expect(down.code).toBe(0);
    expect(down.err).toContain("note: Redis is unreachable: the plan as configured");
    expect(down.out).toContain(
      "auto._.hr.500.0    7     holding_registers  3   0–3        4      500        3: a b c",
    );
  });

  test("an OPC UA connection has no request plan; an unknown one is not found", async () => {
    const ua = await runCli(["conn", "plan", "ua1"], { env: env() });
    expect(ua.code).toBe(65);
    expect(ua.err).toContain("the request plan is for Modbus connections");
    expect((await runCli(["conn", "plan", "nope"], { env: env() })).code).toBe(66);
  });
});
