import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import type { WriteResult } from "../../src/tagbus/tagbus.ts";
import { waitFor } from "../intf/harness.ts";
import { RedisServer } from "../support/redis-server.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
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
