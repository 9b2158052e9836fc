import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { EXIT } from "../../src/core/exit-codes.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { RedisServer } from "../support/redis-server.ts";
import { quietBus, runCli } from "../support/run-cli.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";

// `tag write` checks its target in the SoT first: a path that names no configured tag is
// answered "no such tag" at once (exit 66), a read-only tag "read-only" (exit 65), instead of
// waiting the whole --timeout-ms for an app that will never answer.

const EXAMPLES = join(import.meta.dir, "../../examples/demo");
const dir = tempDir("ne-cli-write-");
const db = join(dir.path, "ne.db");
const redis = new RedisServer();
const prefix = uniquePrefix("cli-write");
let app: RedisTagBus;
let env: Record<string, string>;

beforeAll(async () => {
  await redis.start();
  env = { NE_DB: db, NE_REDIS_URL: redis.url, NE_REDIS_PREFIX: prefix };
  expect((await runCli(["import", EXAMPLES], { env, busFactory: quietBus })).code).toBe(0);
  app = await createRedisTagBus({ url: redis.url, prefix, producer: "line1", blockMs: 200 });
});
afterAll(async () => {
  await app?.close(500);
  await redis.shutdown();
  dir.cleanup();
});

// A timeout far beyond the test's own: without the check each of these would wait 60 s.
const LONG = ["--timeout-ms", "60000"];

test("tag write /nosuch/x 1: no such tag at once, exit 66, nothing queued", async () => {
  const r = await runCli(["tag", "write", "/nosuch/x", "1", ...LONG], { env });
  expect(r).toEqual({
    code: EXIT.NO_INPUT,
    out: "",
    err: `nodi-edge: no such tag /nosuch/x: there is no connection nosuch in ${db} (nodi-edge conn list)\n`,
  });
  expect(await app.client.sendCommand(["EXISTS", `${prefix}w:nosuch`])).toBe(0); // no write request stream
}, 15_000);

test("a tag the connection does not have: no such tag, exit 66", async () => {
  const r = await runCli(["tag", "write", "/line1/nosuch", "1", ...LONG], { env });
  expect(r.code).toBe(EXIT.NO_INPUT);
  expect(r.err).toBe(
    "nodi-edge: no such tag /line1/nosuch: connection line1 has no tag nosuch (nodi-edge conn show line1 lists its tags)\n",
  );
}, 15_000);

test("a read-only tag: refused at once, exit 65", async () => {
  const r = await runCli(["tag", "write", "/line1/speed_actual", "1", ...LONG], { env });
  expect(r.code).toBe(EXIT.DATA);
  expect(r.err).toBe(
    "nodi-edge: /line1/speed_actual is read-only (access: read); nothing was written\n",
  );
}, 15_000);

test("a configured read-write tag still goes to its app", async () => {
  const srv = await app.serveWrites("line1", async () => ({ ok: true }));
  try {
    const r = await runCli(["tag", "write", "/line1/speed_setpoint", "1500", ...LONG], { env });
    expect(r.code).toBe(EXIT.OK);
    expect(r.out).toBe("/line1/speed_setpoint ← 1500: done\n");
  } finally {
    await srv.close();
  }
}, 30_000);
