import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@redis/client";
import type { Subprocess } from "bun";
import { EXIT } from "../../src/core/exit-codes.ts";
import { silentLogger } from "../../src/core/log.ts";
import type { TagValue } from "../../src/core/tag-value.ts";
import { createModbusDriver, type ModbusDriver } from "../../src/drivers/modbus/index.ts";
import { openStore } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { block, connection, tag } from "../drivers/modbus/helpers.ts";
import { connRows } from "../intf/harness.ts";
import { startPeer, tcpAccepts } from "../support/peer.ts";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";
import { until } from "./harness.ts";

/**
 * Issue 12 item 4: a write to a frozen device (simulator process SIGSTOPped) is reported as
 * outcome unknown, not as failed; once the device answers again the app reads the tag's block
 * back, so the bus shows what the device really holds, although the block's period is long.
 * And the other timeout: an app that never took the request (the app process frozen) is a
 * plain timeout, and nothing reaches the device.
 */
const ROOT = join(import.meta.dir, "../..");
const CLI = join(ROOT, "src/cli/main.ts");
const redis = new RedisServer();
const dir = tempDir("ne-write-outcome-");
const db = join(dir.path, "sot.db");
const prefix = uniquePrefix("wout");
const procs: Subprocess[] = [];
let simPort = 0;
let sim: Subprocess;
let app: Subprocess;
let bus: RedisTagBus;
let probe: ModbusDriver;

const env = () => ({
  ...process.env,
  NE_DB: db,
  NE_REDIS_URL: redis.url,
  NE_REDIS_PREFIX: prefix,
  NE_LOG_LEVEL: "info",
});

beforeAll(async () => {
  await redis.start();
  simPort = await freePort();
  const map = join(dir.path, "line1.json");
  writeFileSync(map, JSON.stringify({ holding_registers: { "0": [100, 5] } }));
  sim = await startPeer(
    [process.execPath, CLI, "sim", "modbus", "--map", map, "--port", String(simPort)],
    () => tcpAccepts(simPort),
    { name: "nodi-edge sim modbus" },
  );
  procs.push(sim);
  const store = openStore(db);
  store.apply({
    origin: "test",
    put: [
      connRows("line1", {
        // Polled once at start, then every 10 minutes: only a read-back can show a new value.
        periodMs: 600_000,
        blocks: [{ block_id: "sp", count: 2 }],
        tags: [
          { tag_name: "speed_setpoint", block_id: "sp", access: "read-write" },
          { tag_name: "other", block_id: "sp" },
        ],
        connection: { port: simPort, timeout_ms: 1000, connect_timeout_ms: 1000 },
      }),
    ],
  });
  store.close();
  app = Bun.spawn([process.execPath, "run", join(ROOT, "src/intf/main.ts"), "--conn-id=line1"], {
    env: env(),
    stdout: "ignore",
    stderr: "inherit",
  });
  procs.push(app);
  bus = await createRedisTagBus({ url: redis.url, prefix, producer: "test" });
  probe = createModbusDriver(connection({ port: simPort, timeout_ms: 2000 }), {
    log: silentLogger,
    dataDir: dir.path,
  }) as ModbusDriver;
  probe.configure([block("sp", "holding_registers", 0, 2)], [tag("speed_setpoint", "sp", 0)]);
});

afterAll(async () => {
  await probe?.close();
  for (const p of procs) {
    p.kill("SIGCONT");
    p.kill("SIGKILL");
    await p.exited;
  }
  await bus?.close(500);
  await redis.shutdown();
  dir.cleanup();
});

async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([process.execPath, CLI, ...args], {
    env: env(),
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, out, err };
}

const setpoint = () => bus.get("/line1/speed_setpoint");

/** The device's register 0, read over a connection of its own. */
async function deviceHolds(): Promise<unknown> {
  await probe.connect();
  const [r] = await probe.read("sp");
  return r?.value;
}

test("frozen device: the write is outcome unknown (exit 81); after SIGCONT the bus shows the device's value promptly", async () => {
  await until("the first poll", async () => (await setpoint())?.value === 100, 30_000);
  sim.kill("SIGSTOP");
  try {
    const w = await cli("tag", "write", "/line1/speed_setpoint", "777", "--timeout-ms", "5000");
    expect({ code: w.code, out: w.out.trim() }).toEqual({
      code: EXIT.WRITE_OUTCOME_UNKNOWN,
      out: expect.stringContaining(
        "/line1/speed_setpoint ← 777: outcome unknown: no reply from unit 1 within 1000 ms",
      ),
    });
    expect(w.out).toContain("the device may have applied it; read back before retrying");
    expect(w.out).not.toContain("failed");
    // While frozen the app keeps reading the block back: the old value is not claimed good.
    const frozen = await until(
      "the tag bad while the device is frozen",
      async () => {
        const v = await setpoint();
        return v?.quality === "bad" ? v : undefined;
      },
      20_000,
    );
    expect(frozen.reason).toBe("timeout");
  } finally {
    sim.kill("SIGCONT");
  }
  const resumedAt = Date.now();
  const v = (await until(
    "the read-back value on the bus",
    async () => {
      const x = await setpoint();
      return x?.quality === "good" ? x : undefined;
    },
    30_000,
  )) as TagValue;
  // The device applied the write it had buffered; the bus shows it, long before the
  // block's 10-minute period would have.
  expect(await deviceHolds()).toBe(777);
  expect(v.value).toBe(777);
  expect(v.ts).toBeGreaterThanOrEqual(resumedAt - 1000);
}, 120_000);

test("an app that never took the request: plain timeout (exit 69), and nothing reaches the device", async () => {
  await until("the tag good", async () => (await setpoint())?.quality === "good", 30_000);
  const before = await deviceHolds();
  app.kill("SIGSTOP");
  let w: Awaited<ReturnType<typeof cli>>;
  try {
    w = await cli("tag", "write", "/line1/speed_setpoint", "4242", "--timeout-ms", "1000");
  } finally {
    app.kill("SIGCONT");
  }
  expect({ code: w.code, out: w.out.trim() }).toEqual({
    code: EXIT.UNAVAILABLE,
    out: expect.stringContaining(
      "/line1/speed_setpoint ← 4242: failed: timeout: no result within 1000 ms",
    ),
  });
  expect(w.out).not.toContain("outcome unknown");
  // The app resumes and reads the request; it was withdrawn, so it answers it without
  // writing: once it is acknowledged (no pending entry left), the device still holds the old value.
  const rc = createClient({ url: redis.url });
  await rc.connect();
  try {
    await until(
      "the withdrawn request acknowledged by the app",
      async () => {
        const [pending] = (await rc.sendCommand(["XPENDING", `${prefix}w:line1`, "owner"])) as [
          number,
        ];
        const claims = await rc.keys(`${prefix}wc:*`);
        return pending === 0 && claims.length === 2;
      },
      30_000,
    );
  } finally {
    await rc.quit();
  }
  expect(await deviceHolds()).toBe(before);
}, 120_000);
