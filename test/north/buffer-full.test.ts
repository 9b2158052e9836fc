import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TagSample } from "../../src/core/tag-value.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { NorthRig, Sub, until } from "./harness.ts";

// Issue 13, test 3: an outage longer than the buffer holds. Exactly the oldest updates are
// dropped, and the count is reported (health tag, `_gap` messages, log). The producer is a
// TagBus client publishing synthetic tags fast (`/syn/x0`…`/syn/x9`), so 1 MiB (the smallest
// buffer_max_mib) overflows in a second instead of minutes of polling.

const rig = new NorthRig({ persistence: true });
let sub: Sub;
let syn: RedisTagBus;
const N = 25_000;

beforeAll(async () => {
  await rig.start();
  syn = await createRedisTagBus({ url: rig.redis.url, prefix: "ne:", producer: "syn" });
  rig.putNorth({
    north_id: "n3",
    kind: "mqtt",
    broker_urls: rig.broker.url,
    gateway: "gw",
    keepalive_s: 5,
    tag_selection: "/syn/*",
    buffer_max_mib: 1,
  });
  sub = await Sub.open(rig.broker.url, ["nodi-edge/gw/#"], true);
  rig.startNorth("n3");
}, 60_000);

afterAll(async () => {
  await sub?.close();
  await syn?.close(500);
  await rig.shutdown();
}, 60_000);

const health = async (name: string) => (await rig.bus.get(`/system/n3/${name}`))?.value;

describe("buffer full (issue 13 test 3)", () => {
  test("exactly the oldest are dropped, and the count is reported", async () => {
    await until("online", () => sub.last("nodi-edge/gw/_status/n3")?.text === "online");
    await syn.publish([{ path: "/syn/x0", value: -1, quality: "good", ts: Date.now() }]);
    await until("live data", () => sub.on("nodi-edge/gw/syn/x0").length === 1);
    await rig.broker.stop();
    await until("broker_connected false", async () => (await health("broker_connected")) === false);
    const firstSeq = 2; // the warm-up sample had seq 1
    for (let i = 0; i < N; i += 500) {
      const batch: TagSample[] = [];
      for (let j = i; j < i + 500; j++)
        batch.push({ path: `/syn/x${j % 10}`, value: j, quality: "good", ts: Date.now() });
      await syn.publish(batch);
    }
    // ne-north reports on its 5 s health period
    await until(
      "everything buffered or dropped",
      async () => {
        const b = Number(await health("buffered"));
        const d = Number(await health("dropped"));
        return d > 0 && b + d === N;
      },
      30_000,
    );
    const dropped = Number(await health("dropped"));
    const buffered = Number(await health("buffered"));
    expect(dropped).toBeGreaterThan(1000);
    await rig.broker.start();
    const replayed = () =>
      sub.got
        .filter((g) => g.topic.startsWith("nodi-edge/gw/syn/"))
        .map((g) => JSON.parse(g.text))
        .filter((m) => m.replay === true);
    await until("the replay", () => new Set(replayed().map((m) => m.seq)).size >= buffered, 30_000);
    const seqs = [...new Set(replayed().map((m) => m.seq as number))].sort((a, b) => a - b);
    // the newest `buffered` of the N outage updates, contiguous: exactly the oldest were dropped
    expect(seqs.length).toBe(buffered);
    expect(seqs[0]).toBe(firstSeq + dropped);
    expect(seqs.at(-1)).toBe(firstSeq + N - 1);
    expect(seqs.every((s, i) => i === 0 || s === seqs[i - 1]! + 1)).toBe(true);
    // reported upstream: the _gap messages add up to the count
    await until("gap reports", () => sub.on("nodi-edge/gw/_gap/n3").length > 0);
    const gaps = sub.on("nodi-edge/gw/_gap/n3").map((g) => JSON.parse(g.text));
    expect(gaps.every((g) => g.reason === "buffer_full")).toBe(true);
    expect(gaps.reduce((a, g) => a + g.dropped, 0)).toBe(dropped);
    // and in the log
    expect(rig.log("north-n3")).toContain("buffer full: dropped the");
    await until("buffer drained", async () => Number(await health("buffered")) === 0, 20_000);
    expect(Number(await health("dropped"))).toBe(dropped);
  }, 60_000);
});
