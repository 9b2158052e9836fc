import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TagSample } from "../../src/core/tag-value.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { NorthRig, Sub, until } from "./harness.ts";

// Issue 13, test 4: ne-north killed -9 in the middle of a replay and started again: nothing is
// lost, and the duplicates stay within the documented bound (docs/north.md "Duplicates": the
// replay window of 1000 unconfirmed buffered updates; no live data flows in this test).

const rig = new NorthRig({ persistence: true });
let sub: Sub;
let syn: RedisTagBus;
const N = 6000;
const REPLAY_WINDOW = 1000;

beforeAll(async () => {
  await rig.start();
  syn = await createRedisTagBus({ url: rig.redis.url, prefix: "ne:", producer: "syn" });
  rig.putNorth({
    north_id: "n4",
    kind: "mqtt",
    broker_urls: rig.broker.url,
    gateway: "gw",
    keepalive_s: 5,
    tag_selection: "/syn/*",
  });
  sub = await Sub.open(rig.broker.url, ["nodi-edge/gw/syn/#"], true);
}, 60_000);

afterAll(async () => {
  await sub?.close();
  await syn?.close(500);
  await rig.shutdown();
}, 60_000);

const health = async (name: string) => (await rig.bus.get(`/system/n4/${name}`))?.value;

describe("kill -9 mid-replay (issue 13 test 4)", () => {
  test("nothing lost, duplicates within the bound", async () => {
    const env = { NE_NORTH_REPLAY_MAX_PER_S: "1000" };
    rig.startNorth("n4", env);
    await until("connected", async () => (await health("broker_connected")) === true);
    await rig.broker.stop();
    await until("broker_connected false", async () => (await health("broker_connected")) === false);
    for (let i = 0; i < N; i += 500) {
      const batch: TagSample[] = [];
      for (let j = i; j < i + 500; j++)
        batch.push({ path: `/syn/x${j % 10}`, value: j, quality: "good", ts: Date.now() });
      await syn.publish(batch);
    }
    await until("all buffered", async () => Number(await health("buffered")) === N, 30_000);
    await until(
      "oldest buffered age reported",
      async () => Number(await health("oldest_buffered_age_ms")) > 0,
      15_000,
    );
    expect(Number(await health("oldest_buffered_age_ms"))).toBeLessThan(120_000);
    expect(await health("state")).toBe("RECOVER");
    await rig.broker.start();
    await until("replay under way", () => sub.got.length >= 1500, 30_000);
    expect(await rig.kill("north-n4", "SIGKILL")).not.toBe(0);
    const atKill = sub.got.length;
    expect(atKill).toBeLessThan(N); // mid-replay
    rig.startNorth("n4", env);
    const seqs = () => new Set(sub.got.map((g) => JSON.parse(g.text).seq as number));
    await until("every update", () => seqs().size === N, 45_000);
    const all = sub.got.map((g) => JSON.parse(g.text).seq as number);
    for (let s = 1; s <= N; s++) expect(seqs().has(s)).toBe(true);
    expect(all.length - N).toBeLessThanOrEqual(REPLAY_WINDOW);
    expect(sub.got.every((g) => JSON.parse(g.text).replay === true)).toBe(true);
    await until("buffer empty", async () => Number(await health("buffered")) === 0, 20_000);
  }, 90_000);
});
