import { afterAll, beforeAll, expect, test } from "bun:test";
import { Writable } from "node:stream";
import { createClient } from "@redis/client";
import pino from "pino";
import { EXIT } from "../../src/core/exit-codes.ts";
import { createRedisTagBus } from "../../src/tagbus/index.ts";
import { RedisServer } from "../support/redis-server.ts";
import { runCli } from "../support/run-cli.ts";

// The packaged bus is a Unix socket (docs/security.md); a remote one may need a password. Both
// reach the TagBus through NE_REDIS_URL, and the password never reaches a log or a message.

const PW = "s3cret-bus-pw";
const redis = new RedisServer({ unixSocket: true, password: PW });
beforeAll(() => redis.start());
afterAll(() => redis.shutdown());

/** A logger whose lines land in `lines`. */
function capture(lines: string[]) {
  const sink = new Writable({
    write(chunk, _enc, done) {
      lines.push(String(chunk));
      done();
    },
  });
  return pino({ level: "debug" }, sink);
}

test("a TagBus over unix://:password@/path publishes and reads back", async () => {
  const bus = await createRedisTagBus({
    url: `unix://:${PW}@${redis.socketPath}`,
    prefix: "url1:",
    producer: "sock-01",
  });
  try {
    expect(bus.stats().connected).toBe(true);
    await bus.publish([{ path: "/sock-01/a", value: 7, quality: "good", ts: Date.now() }]);
    expect((await bus.get("/sock-01/a"))?.value).toBe(7);
  } finally {
    await bus.close(1000);
  }
});

test("a wrong password is refused, and the log lines name the URL without the password", async () => {
  const lines: string[] = [];
  const wrong = "wrong-pw-123";
  const bus = await createRedisTagBus({
    url: `redis://default:${wrong}@127.0.0.1:${redis.port}`,
    prefix: "url2:",
    producer: "sock-02",
    connectWaitMs: 500,
    log: capture(lines),
  });
  try {
    expect(bus.stats().connected).toBe(false);
    await expect(bus.get("/sock-02/a")).rejects.toThrow();
  } finally {
    await bus.close(0);
  }
  expect(lines.join("")).toContain("tagbus: redis connection lost");
  expect(lines.join("")).not.toContain(wrong);
});

test("the CLI's unreachable-bus error shows the URL redacted", async () => {
  const url = `redis://edge:${PW}@127.0.0.1:1`;
  const r = await runCli(["tag", "get", "/line1/speed"], {
    env: { NE_DB: "/nonexistent/x.db", NE_REDIS_URL: url },
  });
  expect(r.code).toBe(EXIT.UNAVAILABLE);
  expect(r.err).toContain("redis not reachable at redis://edge:***@127.0.0.1:1 (NE_REDIS_URL)");
  expect(r.out + r.err).not.toContain(PW);
});

test("bus migrate moves the bus's keys (streams, hashes, TTLs) to the new Redis, and only those", async () => {
  const old = await new RedisServer().start();
  try {
    const a = await createRedisTagBus({ url: old.url, prefix: "mig:", producer: "mig-01" });
    await a.publish([{ path: "/mig-01/a", value: 41, quality: "good", ts: Date.now() }]);
    await a.close(1000);
    const raw = createClient({ url: old.url });
    await raw.connect();
    await raw.set("other:keep", "theirs");
    await raw.set("mig:ttl", "x", { PX: 600_000 });
    await raw.set("mig*literal", "not under the prefix mig: either");
    const target = `unix://:${PW}@${redis.socketPath}`;
    const r = await runCli(["bus", "migrate", "--from", old.url, "--to", target, "--json"], {
      env: { NE_DB: "/nonexistent/x.db", NE_REDIS_PREFIX: "mig:" },
    });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out);
    expect(out.copied).toBeGreaterThanOrEqual(4); // stream, current values, seq, regs, ttl key
    expect(out.removed).toBe(out.copied);
    expect(out.to).toBe(`unix://:***@${redis.socketPath}`);
    expect(r.out).not.toContain(PW);
    // The other user's keys stay; the bus's are gone from the old Redis.
    expect(await raw.get("other:keep")).toBe("theirs");
    expect(await raw.get("mig*literal")).toBe("not under the prefix mig: either");
    expect(await raw.keys("mig:*")).toEqual([]);
    await raw.quit();
    const b = await createRedisTagBus({ url: target, prefix: "mig:", producer: "mig-02" });
    try {
      expect((await b.get("/mig-01/a"))?.value).toBe(41);
    } finally {
      await b.close(1000);
    }
    // RESP 2 as the TagBus's clients: @redis/client 6.3.1 with RESP 3 fails its handshake on a
    // unix:// URL with credentials (its maintenance-notification check runs new URL() on it).
    const n = createClient({ url: target, RESP: 2 });
    await n.connect();
    expect(Number(await n.pTTL("mig:ttl"))).toBeGreaterThan(500_000);
    await n.quit();
  } finally {
    await old.shutdown();
  }
});
