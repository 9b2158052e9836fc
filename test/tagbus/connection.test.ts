import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { BusClient } from "../../src/tagbus/connection.ts";
import { waitFor } from "../intf/harness.ts";
import { RedisServer } from "../support/redis-server.ts";

/**
 * BusClient (src/tagbus/connection.ts) against a real redis-server that is SIGKILLed and
 * started again on the same port: the client's reconnection must not depend on its listeners.
 */
describe("BusClient reconnection", () => {
  const redis = new RedisServer();
  beforeAll(async () => {
    await redis.start();
  });
  afterAll(async () => {
    await redis.shutdown();
  });

  test("reconnects after Redis comes back even when its ready and error listeners throw", async () => {
    const client = new BusClient(redis.url);
    let readies = 0;
    let errors = 0;
    let heard = 0;
    client.on("error", () => {
      errors++;
      throw new Error("a listener's own bug");
    });
    client.on("error", () => heard++); // still told after the first listener threw
    client.on("ready", () => {
      readies++;
      throw new Error("a listener's own bug");
    });
    try {
      await client.connect();
      await waitFor(() => client.isReady, "the first connection");
      await redis.stop(true);
      await waitFor(() => !client.isReady && errors >= 1, "the connection lost");
      await Bun.sleep(300); // a few failed attempts while Redis is down (their listeners throw too)
      await redis.start();
      await waitFor(() => client.isReady, "the client ready again after Redis restarted");
      expect(await client.sendCommand(["PING"])).toBe("PONG");
      expect(readies).toBeGreaterThanOrEqual(2);
      expect(heard).toBe(errors);
    } finally {
      client.destroy();
    }
  });

  test("a late close event of an ended connection does not take the reconnected client down", async () => {
    const client = new BusClient(redis.url);
    try {
      await client.connect();
      await waitFor(() => client.isReady, "the first connection");
      // the Bun RedisClient of the first connection and its close handler, as Bun calls it
      const first = (client as unknown as { c: { onclose: (e: Error) => void } }).c;
      const lateClose = first.onclose;
      await redis.stop(true);
      await waitFor(() => !client.isReady, "the connection lost");
      await redis.start();
      await waitFor(() => client.isReady, "the client ready again after Redis restarted");
      // the ended connection reports its close once more, after the new connect
      lateClose(new Error("late close of the first connection"));
      expect(client.isReady).toBe(true);
      expect(await client.sendCommand(["PING"])).toBe("PONG");
    } finally {
      client.destroy();
    }
  });
});
