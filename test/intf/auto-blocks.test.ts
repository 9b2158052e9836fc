import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { silentLogger } from "../../src/core/log.ts";
import type { TagValue } from "../../src/core/tag-value.ts";
import { createModbusDriver } from "../../src/drivers/modbus/index.ts";
import { IntfApp } from "../../src/intf/app.ts";
import { parseRefusedSpans } from "../../src/intf/refused-spans.ts";
import { openStore } from "../../src/store/store.ts";
import { createRedisTagBus } from "../../src/tagbus/index.ts";
import { startPeer, tcpAccepts } from "../support/peer.ts";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";
import { waitFor } from "./harness.ts";

/**
 * Automatic blocks end to end (issue 14): auto tags polled by the interface app with the real
 * Modbus driver against pymodbus (an implementation not ours) whose holding registers 10..19
 * do not exist. The planner first reads 0..21 in one request; the device refuses it with
 * exception 02; the app remembers the span and plans again until only the tag inside the
 * hole is refused: that tag is bad (ILLEGAL_DATA_ADDRESS), every other one good.
 */
const PYTHON = "/usr/bin/python3";
const SCRIPT = join(import.meta.dir, "../support/pymodbus_sparse_server.py");
const redis = new RedisServer();
const dir = tempDir("ne-intf-auto-");
const cleanups: (() => Promise<void>)[] = [];
let port = 0;
beforeAll(async () => {
  await redis.start();
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} missing: apt-get install python3-pymodbus`);
  port = await freePort();
  const proc: Subprocess = await startPeer([PYTHON, SCRIPT, String(port)], () => tcpAccepts(port), {
    name: "pymodbus sparse server",
    timeoutMs: 20_000,
  });
  cleanups.push(async () => {
    proc.kill("SIGKILL");
    await proc.exited;
  });
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => {});
  await redis.shutdown();
  dir.cleanup();
});

describe("auto tags against a device with a hole in its registers", () => {
  test("exception 02 splits the planned block; the tag in the hole goes bad, the rest keep working", async () => {
    const connId = "sparse1";
    const store = openStore(join(dir.path, "auto.db"));
    const t = (tag_name: string, address: number, data_type = "uint16") => ({
      conn_id: connId,
      tag_name,
      table: "holding_registers",
      scan_ms: 50,
      address,
      data_type,
    });
    store.apply({
      origin: "test",
      put: [
        {
          connection: {
            conn_id: connId,
            protocol: "modbus-tcp",
            host: "127.0.0.1",
            port,
            timeout_ms: 1000,
            max_gap_registers: 8,
          },
          // an explicit block in the hole: refused too, but the engineer's, never replanned
          blocks: [
            {
              conn_id: connId,
              block_id: "xb",
              table: "holding_registers",
              address: 12,
              count: 1,
              period_ms: 50,
            },
          ],
          tags: [
            t("a", 0),
            t("b", 1),
            t("f", 8, "uint32"),
            t("hole", 15),
            t("c", 20),
            t("d", 21),
            { conn_id: connId, tag_name: "x", block_id: "xb", address: 12, data_type: "uint16" },
          ],
        },
      ],
    });
    const prefix = uniquePrefix(connId);
    const bus = await createRedisTagBus({ url: redis.url, prefix, producer: connId });
    const peer = await createRedisTagBus({ url: redis.url, prefix, producer: "test" });
    const latest = new Map<string, TagValue>();
    const sub = await peer.subscribe([`/${connId}/*`, `/system/${connId}/refused_spans`], (ev) => {
      if (ev.kind === "value") latest.set(ev.value.path, ev.value);
    });
    const app = new IntfApp({
      appId: connId,
      loadConfig: () => store.getConnectionConfig(connId),
      createDriver: (conn) => createModbusDriver(conn, { log: silentLogger, dataDir: dir.path }),
      bus,
      log: silentLogger,
      options: { healthIntervalMs: 200, random: () => 0.5 },
    });
    const exit = app.run();
    cleanups.push(async () => {
      app.requestStop("test end");
      await exit;
      await sub.close();
      await bus.close(500);
      await peer.close(500);
      store.close();
    });
    const good = { a: 100, b: 101, f: (108 << 16) | 109, c: 120, d: 121 } as const;
    await waitFor(
      () =>
        Object.entries(good).every(
          ([n, v]) =>
            latest.get(`/${connId}/${n}`)?.value === v &&
            latest.get(`/${connId}/${n}`)?.quality === "good",
        ) &&
        latest.get(`/${connId}/hole`)?.quality === "bad" &&
        parseRefusedSpans(latest.get(`/system/${connId}/refused_spans`)?.value).length === 3,
      "every tag but the one in the hole good, three spans learned",
    );
    for (const n of ["hole", "x"]) {
      expect(latest.get(`/${connId}/${n}`)).toMatchObject({
        quality: "bad",
        reason: "ILLEGAL_DATA_ADDRESS",
      });
    }
    // the bisection: 0..21 refused, then 15..21 (cut at 15), then 15 alone (cut at 20)
    const spans = parseRefusedSpans(latest.get(`/system/${connId}/refused_spans`)?.value);
    expect(spans).toEqual([
      { device: "", table: "holding_registers", start: 0, end: 22 },
      { device: "", table: "holding_registers", start: 15, end: 22 },
      { device: "", table: "holding_registers", start: 15, end: 16 },
    ]);
    await waitFor(() => app.counters.replans === 3, "the third replan");
    expect(app.state).toBe("EXECUTE");
    // the hole's block keeps being refused, but nothing is learned or replanned any more
    const reads = app.counters.readErrors;
    await waitFor(() => app.counters.readErrors >= reads + 3, "more refused reads of the hole");
    expect(app.counters.replans).toBe(3);
  });
});
