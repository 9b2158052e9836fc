import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createClient } from "@redis/client";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import type { WriteResult } from "../../src/tagbus/tagbus.ts";
import { sample } from "../contract/tagbus.contract.ts";
import { waitFor } from "../intf/harness.ts";
import { committedSamples } from "../support/bus-stream.ts";
import { RedisServer } from "../support/redis-server.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
 * Calls that reach Redis and run, whose replies are lost (a one-way network fault, through
 * {@link TcpProxy}; the call then fails at the command deadline, docs/tagbus.md "Connection").
 *
 * A PUBLISH so lost is retried on the next connection with the same `instance:counter`, and
 * the script skips it: each sample is committed once.
 *
 * A write whose WRITE call reached Redis and ran, but whose reply was lost (a one-way network
 * fault, through {@link TcpProxy}; the call then fails at the command deadline): the app
 * handles the request, so the writer must not answer `disconnected` ("nothing was sent",
 * docs/tagbus.md "Writes"); it waits for the result and, without one by the deadline, claims
 * the request like any unanswered one.
 */
const redis = new RedisServer();
const buses: RedisTagBus[] = [];
let proxy: TcpProxy;

beforeAll(async () => {
  await redis.start();
  proxy = new TcpProxy(redis.port).start();
});
afterAll(async () => {
  proxy.dropReplies = false;
  for (const b of buses) await b.close(200).catch(() => {});
  proxy.stop();
  await redis.shutdown();
});

describe("a write whose reply is lost", () => {
  test("the app handled it: the writer answers what it knows (the result, or outcome_unknown), not `disconnected`", async () => {
    const prefix = uniquePrefix("lost-reply");
    const owner = await createRedisTagBus({ url: redis.url, prefix, producer: "mtc-01" });
    buses.push(owner);
    const handled: unknown[] = [];
    await owner.serveWrites("mtc-01", async (req) => {
      handled.push(req.value); // the device got the write
      return { ok: true };
    });
    const writer = await createRedisTagBus({
      url: `redis://127.0.0.1:${proxy.port}`,
      prefix,
      producer: "web",
      commandTimeoutMs: 1500,
    });
    buses.push(writer);
    expect(await writer.write("/mtc-01/sp", 1)).toMatchObject({ ok: true });

    proxy.dropReplies = true;
    let result: WriteResult | undefined;
    void writer.write("/mtc-01/sp", 42, { timeoutMs: 5000 }).then((r) => {
      result = r;
    });
    await waitFor(() => handled.includes(42), "the app handled the request");
    // the WRITE call's reply never comes: its connection is dropped at the command deadline
    await waitFor(() => !writer.stats().connected, "the writer's connection dropped");
    proxy.dropReplies = false;
    await waitFor(() => result !== undefined, "the write's result");
    expect(["ok", "outcome_unknown"]).toContain(result?.ok ? "ok" : String(result?.reason));
    expect(handled).toEqual([1, 42]);
  });
});

describe("a publish whose reply is lost", () => {
  test("it ran in Redis; its retry on the next connection is skipped (same instance:counter): each sample committed once, in order", async () => {
    const prefix = uniquePrefix("lost-pub");
    const bus = await createRedisTagBus({
      url: `redis://127.0.0.1:${proxy.port}`,
      prefix,
      producer: "mtc-01",
      publishWaitMs: 200,
      commandTimeoutMs: 1500,
    });
    buses.push(bus);
    const raw = createClient({ url: redis.url, RESP: 2 });
    await raw.connect();
    try {
      for (let i = 1; i <= 3; i++) await bus.publish([sample("/mtc-01/x", i)]);
      proxy.dropReplies = true;
      await bus.publish([sample("/mtc-01/x", 4)]); // resolves after publishWaitMs, queued
      expect(bus.stats().outboxLength).toBe(1);
      // the PUBLISH ran in Redis: 4 is committed there, though the bus never heard so
      await waitFor(
        async () => (await committedSamples(raw, prefix, "mtc-01")).length === 4,
        "sample 4 committed in Redis",
      );
      await waitFor(() => !bus.stats().connected, "the call passed the command deadline");
      expect(bus.stats().outboxLength).toBe(1);
      proxy.dropReplies = false;
      await waitFor(() => bus.stats().outboxLength === 0, "the retried call done");
      await bus.publish([sample("/mtc-01/x", 5)]);
      const committed = await committedSamples(raw, prefix, "mtc-01");
      expect(committed).toEqual([1, 2, 3, 4, 5].map((v) => ({ seq: v, value: v })));
      expect(bus.stats().published).toBe(5);
    } finally {
      proxy.dropReplies = false;
      raw.destroy();
    }
  });
});
