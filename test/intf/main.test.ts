import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { EXIT } from "../../src/core/exit-codes.ts";
import { parseHealth } from "../../src/intf/health.ts";
import { connIdProblem, parseArgs } from "../../src/intf/main.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import { openStore } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";
import { connRows, waitFor } from "./harness.ts";

const BUN = process.execPath;
const MAIN = join(import.meta.dir, "../../src/intf/main.ts");
const redis = new RedisServer();
const dir = tempDir("ne-intf-main-");
const db = join(dir.path, "sot.db");
const prefix = uniquePrefix("main");
let sim: ModbusSim;
let peer: RedisTagBus;

beforeAll(async () => {
  await redis.start();
  sim = await startModbusSim({ map: { holding_registers: { "0": [1234, 56] } }, port: 0 });
  const store = openStore(db);
  store.apply({
    origin: "test",
    put: [
      connRows("plc-1", {
        periodMs: 50,
        blocks: [{ block_id: "hr", count: 2 }],
        tags: [
          { tag_name: "speed", block_id: "hr" },
          { tag_name: "level", block_id: "hr" },
        ],
        connection: { host: "127.0.0.1", port: sim.port, timeout_ms: 500 },
      }),
    ],
  });
  store.close();
  peer = await createRedisTagBus({ url: redis.url, prefix, producer: "test" });
});
afterAll(async () => {
  await peer?.close(500);
  await sim?.stop();
  await redis.shutdown();
  dir.cleanup();
});

function spawnIntf(args: string[], env: Record<string, string> = {}) {
  return Bun.spawn([BUN, "run", MAIN, ...args], {
    env: {
      ...process.env,
      NE_DB: db,
      NE_REDIS_URL: redis.url,
      NE_REDIS_PREFIX: prefix,
      NE_LOG_LEVEL: "info",
      ...env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
}

/**
 * Every log line carries the connection exactly once. JSON.parse keeps the last of two equal
 * keys, so the raw text is checked (a line read `"conn":"nope","name":"ne-intf","conn":"nope"`).
 */
function expectOneConnPerLine(out: string, connId: string): void {
  const lines = out.trim().split("\n");
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    expect({ line, count: line.split('"conn":').length - 1 }).toEqual({ line, count: 1 });
    expect(JSON.parse(line).conn).toBe(connId);
  }
}

/** Collects a process's stdout in the background; `text()` is what arrived so far. */
function collect(stream: ReadableStream<Uint8Array>): { text: () => string; done: Promise<void> } {
  let out = "";
  const dec = new TextDecoder();
  const done = (async () => {
    for await (const chunk of stream) out += dec.decode(chunk);
  })();
  return { text: () => out, done };
}

describe("ne-intf as a real process", () => {
  test("argument parsing", () => {
    expect(parseArgs(["--conn-id=a"])).toEqual({ connId: "a" });
    expect(parseArgs(["--conn-id", "b"])).toEqual({ connId: "b" });
    expect("error" in parseArgs([])).toBe(true);
    expect("error" in parseArgs(["--x"])).toBe(true);
    expect(parseArgs(["--help"])).toEqual({ help: true });
  });

  test("--help and -h: usage on stdout, nothing on stderr, exit 0 (no error-level log line)", async () => {
    for (const flag of ["--help", "-h"]) {
      const p = spawnIntf([flag]);
      const [out, err, code] = await Promise.all([
        new Response(p.stdout).text(),
        new Response(p.stderr).text(),
        p.exited,
      ]);
      expect({ flag, code, err }).toEqual({ flag, code: 0, err: "" });
      expect(out).toStartWith("usage: ne-intf --conn-id=ID\n");
      expect(out).not.toContain('"level"');
    }
  });

  test("a reserved conn_id is refused as reserved, not as a pattern mismatch", async () => {
    expect(connIdProblem("line1")).toBeUndefined();
    expect(connIdProblem("Bad!")).toContain("must match ^[a-z0-9][a-z0-9_-]{0,62}$");
    expect(connIdProblem("supervisor")).toContain("reserved");
    const p = spawnIntf(["--conn-id=system"]);
    expect(await p.exited).toBe(EXIT.CONFIG);
    const out = await new Response(p.stdout).text();
    expect(out).toContain('invalid conn_id \\"system\\": reserved');
    expect(out).not.toContain("must match");
  });

  test("missing --conn-id → 64; unknown connection → 78 with a clear log line", async () => {
    const usage = spawnIntf([]);
    const unknown = spawnIntf(["--conn-id=nope"]);
    expect(await usage.exited).toBe(EXIT.USAGE);
    expect(await unknown.exited).toBe(EXIT.CONFIG);
    const out = await new Response(unknown.stdout).text();
    const lines = out
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l));
    expect(lines.some((l) => String(l.msg).includes("connection nope does not exist"))).toBe(true);
    expectOneConnPerLine(out, "nope");
  });

  test("unreadable DB or unreachable Redis → 69 after a bounded retry", async () => {
    const noDb = spawnIntf(["--conn-id=plc-1"], { NE_DB: join(dir.path, "missing.db") });
    // A URL with a password (a remote Redis with an ACL user): logged redacted, never whole.
    const noRedis = spawnIntf(["--conn-id=plc-1"], {
      NE_REDIS_URL: `redis://edge:s3cret-pw@127.0.0.1:${await freePort()}`,
    });
    expect(await noDb.exited).toBe(EXIT.UNAVAILABLE);
    expect(await noRedis.exited).toBe(EXIT.UNAVAILABLE);
    const out = await new Response(noDb.stdout).text();
    expect(out).toContain("unavailable, giving up");
    const redisOut =
      (await new Response(noRedis.stdout).text()) + (await new Response(noRedis.stderr).text());
    expect(redisOut).toContain("redis://edge:***@127.0.0.1:");
    expect(redisOut).toContain("unavailable, giving up");
    expect(redisOut).not.toContain("s3cret-pw");
  }, 60_000);

  test("SIGTERM during the start-up retries → exit 0 at once", async () => {
    const p = spawnIntf(["--conn-id=plc-1"], { NE_DB: join(dir.path, "later.db") });
    const reader = p.stdout.getReader();
    let out = "";
    while (!out.includes("retrying")) {
      const r = await reader.read();
      if (r.done) break;
      out += new TextDecoder().decode(r.value);
    }
    expect(out).toContain("unavailable, retrying");
    p.kill("SIGTERM");
    expect(await p.exited).toBe(EXIT.OK);
  }, 60_000);

  test("polls a real Modbus simulator; SIGTERM → tags bad (stopped), exit 0", async () => {
    const p = spawnIntf(["--conn-id=plc-1"]);
    try {
      await waitFor(async () => (await peer.get("/plc-1/speed"))?.value === 1234, "speed 1234");
      expect((await peer.get("/plc-1/level"))?.quality).toBe("good");
      expect((await peer.get("/system/plc-1/state"))?.value).toBe("EXECUTE");
      await waitFor(
        async () =>
          (parseHealth((await peer.get("/system/plc-1/health"))?.value)?.counters.reads ?? 0) > 0,
        "health",
      );
      sim.registers.set("holding_registers", 0, [4321]);
      await waitFor(async () => (await peer.get("/plc-1/speed"))?.value === 4321, "speed 4321");
      p.kill("SIGTERM");
      expect(await p.exited).toBe(EXIT.OK);
      expectOneConnPerLine(await new Response(p.stdout).text(), "plc-1");
      const v = await peer.get("/plc-1/speed");
      expect(v?.quality).toBe("bad");
      expect(v?.reason).toBe("stopped");
      expect((await peer.get("/system/plc-1/state"))?.value).toBe("STOP");
      const h = parseHealth((await peer.get("/system/plc-1/health"))?.value);
      expect(h?.recentLogs.some((l) => l.msg.startsWith("state EXECUTE"))).toBe(true);
    } finally {
      p.kill("SIGKILL");
    }
  }, 60_000);

  test("a second instance of one connection waits for the lease, then takes over", async () => {
    const first = spawnIntf(["--conn-id=plc-1"]);
    let second: ReturnType<typeof spawnIntf> | undefined;
    try {
      await waitFor(
        async () =>
          parseHealth((await peer.get("/system/plc-1/health"))?.value)?.pid === first.pid &&
          (await peer.get("/system/plc-1/state"))?.value === "EXECUTE",
        "first instance in EXECUTE",
      );
      second = spawnIntf(["--conn-id=plc-1"]);
      const out = collect(second.stdout);
      await waitFor(() => out.text().includes("holds the lease"), "second waits", 30_000);
      const wait = out
        .text()
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l))
        .find((l) => String(l.msg).includes("holds the lease"));
      expect(wait.level).toBe(40);
      expect(String(wait.holder)).toStartWith(`${first.pid}@`);
      expect(wait.msg).toContain(String(first.pid));
      expect(second.exitCode).toBeNull(); // waiting, not exited
      expect(out.text()).not.toContain("state CONFIGURE"); // and not started
      expect(parseHealth((await peer.get("/system/plc-1/health"))?.value)?.pid).toBe(first.pid);
      first.kill("SIGTERM");
      expect(await first.exited).toBe(EXIT.OK);
      await waitFor(
        async () =>
          parseHealth((await peer.get("/system/plc-1/health"))?.value)?.pid === second?.pid &&
          (await peer.get("/system/plc-1/state"))?.value === "EXECUTE",
        "second instance in EXECUTE",
        30_000,
      );
      expect(out.text()).toContain("single-instance lease acquired");
      second.kill("SIGTERM");
      expect(await second.exited).toBe(EXIT.OK);
    } finally {
      first.kill("SIGKILL");
      second?.kill("SIGKILL");
    }
  }, 90_000);

  test("SIGTERM while waiting for the lease → exit 0 at once", async () => {
    const key = `${prefix}lock:plc-1`;
    await peer.get("/plc-1/speed"); // the peer is connected
    const client = (peer as RedisTagBus).client;
    await client.sendCommand(["SET", key, "4242@otherhost:00000000", "PX", "60000"]);
    const p = spawnIntf(["--conn-id=plc-1"]);
    try {
      const out = collect(p.stdout);
      await waitFor(() => out.text().includes("4242@otherhost"), "waiting line", 30_000);
      p.kill("SIGTERM");
      expect(await p.exited).toBe(EXIT.OK);
      expect((await client.sendCommand(["GET", key])) as string | null).toBe(
        "4242@otherhost:00000000",
      );
    } finally {
      p.kill("SIGKILL");
      await client.sendCommand(["DEL", key]);
    }
  }, 60_000);
});
