import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import * as v from "valibot";
import { EXIT } from "../../src/core/exit-codes.ts";
import type { Logger } from "../../src/core/log.ts";
import { NorthApp } from "../../src/north/app.ts";
import { type Northbound, NorthboundSchema } from "../../src/store/northbound-schema.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { Mosquitto } from "../support/mosquitto.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";

// Bad configuration and hostile input against NorthApp in-process (real Redis, real mosquitto).

const redis = new RedisServer();
const broker = new Mosquitto();
const dir = tempDir("ne-north-adv-");

beforeAll(async () => {
  await redis.start();
  await broker.start();
}, 30_000);
afterAll(async () => {
  await broker.shutdown();
  await redis.shutdown();
  dir.cleanup();
}, 30_000);

/** A logger that keeps every line (parsed JSON). */
function captureLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "debug" },
    { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
  ) as unknown as Logger;
  return { log, lines };
}

interface Running {
  app: NorthApp;
  done: Promise<number>;
  bus: RedisTagBus;
  lines: Record<string, unknown>[];
}

async function run(row: Record<string, unknown>, dataDir = dir.path): Promise<Running> {
  const bus = await createRedisTagBus({
    url: redis.url,
    prefix: uniquePrefix("adv"),
    producer: String(row.north_id),
  });
  const cfg = v.parse(NorthboundSchema, {
    kind: "mqtt",
    broker_urls: broker.url,
    gateway: "gw",
    tag_selection: "/syn/*",
    ...row,
  }) as Northbound;
  const { log, lines } = captureLog();
  const app = new NorthApp({
    northId: String(row.north_id),
    loadConfig: () => cfg,
    loadConnections: () => [],
    bus,
    log,
    dataDir,
    options: { healthIntervalMs: 500 },
  });
  return { app, done: app.run(), bus, lines };
}

async function exitOf(r: Running): Promise<number | "running"> {
  const code = await Promise.race([r.done, Bun.sleep(10_000).then(() => "running" as const)]);
  if (code === "running") {
    r.app.requestStop();
    await r.done;
  }
  await r.bus.close(500);
  return code;
}

const errors = (r: Running) => r.lines.filter((l) => l.level === 50).map((l) => String(l.msg));

describe("bad configuration at start: a located error and exit 78, not a retry loop", () => {
  test("a tls_ca_file that does not exist (was retried for ever as 'broker unreachable')", async () => {
    const r = await run({
      north_id: "t1",
      broker_urls: "mqtts://127.0.0.1:1",
      tls_ca_file: "/nonexistent/ca.pem",
    });
    expect(await exitOf(r)).toBe(EXIT.CONFIG);
    expect(errors(r)).toEqual([
      "northbound t1: tls_ca_file /nonexistent/ca.pem cannot be read: ENOENT",
    ]);
    expect(r.lines.some((l) => l.to === "CONNECT")).toBe(false);
  }, 20_000);

  test("a tls_key_file with garbage and a tls_cert_file that is a directory", async () => {
    const key = join(dir.path, "garbage.key");
    writeFileSync(key, "not a key\n");
    const r = await run({
      north_id: "t3",
      broker_urls: "mqtts://127.0.0.1:1",
      tls_cert_file: dir.path,
      tls_key_file: key,
    });
    expect(await exitOf(r)).toBe(EXIT.CONFIG);
    const [msg] = errors(r);
    expect(msg).toStartWith(`northbound t3: tls_cert_file ${dir.path} cannot be read: EISDIR; `);
    expect(msg).toContain(`tls_key_file ${key} must be an unencrypted PEM private key`);
  }, 20_000);

  test("a data dir where north/ cannot be created (was exit 1, restarted in a loop)", async () => {
    const d = join(dir.path, "dd");
    mkdirSync(d);
    writeFileSync(join(d, "north"), "not a dir");
    const r = await run({ north_id: "t2" }, d);
    expect(await exitOf(r)).toBe(EXIT.CONFIG);
    const [msg] = errors(r);
    expect(msg).toStartWith(
      `cannot keep the store-and-forward buffer in ${join(d, "north", "t2")}: ENOTDIR`,
    );
    expect(msg).toEndWith("(NE_DATA_DIR must be a directory the service user can write)");
  }, 20_000);
});
