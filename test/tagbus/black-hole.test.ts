import { afterAll, describe, expect, test } from "bun:test";
import { createClient } from "@redis/client";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { sample } from "../contract/tagbus.contract.ts";
import { waitFor } from "../intf/harness.ts";
import { committedSamples } from "../support/bus-stream.ts";
import { captureLog } from "../support/capture-log.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
 * A peer that accepts TCP connections and never answers (a half-dead Redis, a firewall that
 * black-holes): each connection attempt must end at the connection deadline (2 s,
 * docs/tagbus.md "Connection") and be followed by another, with a log line that says what
 * happened; publish resolves with its batch queued; once a real Redis listens on that port the
 * outbox drains.
 */
const redis = new RedisServer();
const buses: RedisTagBus[] = [];
afterAll(async () => {
  for (const b of buses) await b.close(200).catch(() => {});
  await redis.shutdown();
});

describe("a peer that accepts and never answers", () => {
  test("each attempt gives up at the connection deadline and another follows; publish resolves queued; a real Redis on that port then gets every sample once", async () => {
    let accepted = 0;
    const hole = Bun.listen({
      hostname: "127.0.0.1",
      port: 0,
      socket: {
        open() {
          accepted++;
        },
        data() {}, // reads, never replies
      },
    });
    const prefix = uniquePrefix("hole");
    const { log, lines } = captureLog();
    const bus = await createRedisTagBus({
      url: `redis://127.0.0.1:${hole.port}`,
      prefix,
      producer: "mtc-01",
      connectWaitMs: 100,
      publishWaitMs: 200,
      log,
    });
    buses.push(bus);
    await bus.publish([sample("/mtc-01/x", 1)]);
    expect(bus.stats()).toMatchObject({ connected: false, outboxLength: 1 });
    await waitFor(() => accepted >= 2, "a second attempt after the first one timed out");
    await bus.publish([sample("/mtc-01/x", 2)]);
    expect(bus.stats()).toMatchObject({ connected: false, outboxLength: 2 });
    // the log says there was no answer, not a refused password (Bun's error is the same)
    const said = lines.map((l) => String(l.err ?? ""));
    expect(said.some((e) => e.includes("did not answer within 2000 ms"))).toBe(true);
    expect(said.some((e) => e.includes("password"))).toBe(false);

    const port = hole.port;
    hole.stop(true);
    redis.port = port;
    await redis.start();
    await waitFor(() => bus.stats().connected, "connected to the real Redis");
    await bus.publish([sample("/mtc-01/x", 3)]);
    await waitFor(() => bus.stats().outboxLength === 0, "the outbox drained");
    const raw = createClient({ url: redis.url, RESP: 2 });
    await raw.connect();
    try {
      const committed = await committedSamples(raw, prefix, "mtc-01");
      expect(committed).toEqual([
        { seq: 1, value: 1 },
        { seq: 2, value: 2 },
        { seq: 3, value: 3 },
      ]);
    } finally {
      raw.destroy();
    }
  });
});
