import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { NodiError } from "../../src/core/errors.ts";
import { EXIT } from "../../src/core/exit-codes.ts";
import { SYSTEM_TAGS } from "../../src/core/paths.ts";
import type { BusEvent, Subscription } from "../../src/tagbus/tagbus.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir } from "../support/tmp.ts";
import { AppUnderTest, connRows, waitFor } from "./harness.ts";

// docs/intf.md "Block errors": while no polled block gets a reply (a frozen device: TCP open,
// every request times out), the state says so instead of `connected`; published on each flip.
const redis = new RedisServer();
const dir = tempDir("ne-noreply-");
const db = join(dir.path, "sot.db");
const live: AppUnderTest[] = [];
const subs: Subscription[] = [];

beforeAll(async () => {
  await redis.start();
});
afterAll(async () => {
  for (const s of subs) await s.close().catch(() => {});
  for (const a of live) await a.stop().catch(() => {});
  await redis.shutdown();
  dir.cleanup();
});

/** An app in EXECUTE with the state tag's samples (`STATE reason`) collected from the bus. */
async function executing(connId: string): Promise<{ t: AppUnderTest; states: string[] }> {
  const t = await AppUnderTest.create(connId, db, redis);
  live.push(t);
  t.store.apply({ origin: "test", put: [connRows(connId)] });
  const states: string[] = [];
  subs.push(
    await t.peer.subscribe([SYSTEM_TAGS.state(connId)], (ev: BusEvent) => {
      if (ev.kind === "value") states.push(`${ev.value.value} ${ev.value.reason}`);
    }),
  );
  t.device.values.set("speed", 3).set("temp", 4);
  t.start();
  await t.waitState("EXECUTE");
  await t.waitTag("temp", (x) => x.quality === "good");
  await waitFor(() => states.includes("EXECUTE connected"), "state EXECUTE connected on the bus");
  return { t, states };
}

const timeout = () => new NodiError("timeout", "no reply within 500 ms", "timeout");

describe("the state says when the device stops answering (block errors, link kept)", () => {
  test("every polled block times out → EXECUTE `no reply (timeout)` once; first good read → `connected`", async () => {
    const { t, states } = await executing("nr-all");
    const before = states.length;
    t.device.blockErrors.set("b1", timeout());
    t.device.blockErrors.set("b2", timeout());
    await waitFor(
      async () => (await t.system("state"))?.reason === "no reply (timeout)",
      "state reason no reply",
    );
    expect((await t.system("state"))?.value).toBe("EXECUTE");
    const reads = t.device.readsOf("b1");
    await waitFor(() => t.device.readsOf("b1") >= reads + 10, "10 more failing polls");
    // one flip, one sample: not one per failing poll
    expect(states.slice(before)).toEqual(["EXECUTE no reply (timeout)"]);
    expect(t.app.state).toBe("EXECUTE");
    await waitFor(
      async () => (await t.health())?.stateReason === "no reply (timeout)",
      "health stateReason",
    );
    expect((await t.get("speed"))?.reason).toBe("timeout");
    // one block answers again: the device replies, the state says connected
    t.device.blockErrors.delete("b2");
    await waitFor(
      async () => (await t.system("state"))?.reason === "connected",
      "state reason connected again",
    );
    const n = t.device.readsOf("b2");
    await waitFor(() => t.device.readsOf("b2") >= n + 10, "10 more polls");
    expect(states.slice(before)).toEqual(["EXECUTE no reply (timeout)", "EXECUTE connected"]);
    expect(t.app.counters.reconnects).toBe(0);
    expect(await t.stop()).toBe(EXIT.OK);
  }, 60_000);

  test("one block timing out while another answers, or an exception reply, keeps `connected`", async () => {
    const { t, states } = await executing("nr-some");
    const before = states.length;
    t.device.blockErrors.set("b2", timeout());
    await t.waitTag("temp", (x) => x.reason === "timeout");
    let n = t.device.readsOf("b2");
    await waitFor(() => t.device.readsOf("b2") >= n + 10, "10 failing polls of b2");
    // the other block is answered by a device exception: still a reply
    t.device.blockErrors.set(
      "b1",
      new NodiError("device_exception", "exception 2", "ILLEGAL_DATA_ADDRESS"),
    );
    await t.waitTag("speed", (x) => x.reason === "ILLEGAL_DATA_ADDRESS");
    n = t.device.readsOf("b1");
    await waitFor(() => t.device.readsOf("b1") >= n + 10, "10 exception replies of b1");
    expect(states.slice(before)).toEqual([]);
    expect((await t.system("state"))?.reason).toBe("connected");
    expect(await t.stop()).toBe(EXIT.OK);
  }, 60_000);

  test("a Modbus gateway whose target does not respond (exception 0x0B) is no reply too", async () => {
    const { t, states } = await executing("nr-gw");
    const gw = () =>
      new NodiError("device_exception", "exception 11", "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND");
    t.device.blockErrors.set("b1", gw());
    t.device.blockErrors.set("b2", gw());
    await waitFor(
      () => states.includes("EXECUTE no reply (GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND)"),
      "state reason no reply (gateway)",
    );
    t.device.blockErrors.clear();
    await waitFor(() => states.at(-1) === "EXECUTE connected", "connected again");
    expect(await t.stop()).toBe(EXIT.OK);
  }, 60_000);

  test("after a reconnect the state starts from `connected` again", async () => {
    const { t, states } = await executing("nr-reconnect");
    t.device.blockErrors.set("b1", timeout());
    t.device.blockErrors.set("b2", timeout());
    await waitFor(() => states.at(-1) === "EXECUTE no reply (timeout)", "no reply");
    t.device.dropLink();
    await waitFor(() => states.some((s) => s.startsWith("RECOVER")), "RECOVER");
    t.device.blockErrors.clear();
    t.device.online = true;
    await waitFor(() => states.at(-1) === "EXECUTE connected", "EXECUTE connected");
    await t.waitTag("speed", (x) => x.quality === "good");
    expect(states.at(-1)).toBe("EXECUTE connected");
    expect(await t.stop()).toBe(EXIT.OK);
  }, 60_000);
});
