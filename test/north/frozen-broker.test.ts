import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TagSample } from "../../src/core/tag-value.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { NorthRig, Sub, until } from "./harness.ts";

// A broker that hangs with its connections open (SIGSTOP): nothing is acknowledged, so
// nothing may count as delivered. ne-north notices the dead link by its keep-alive (at most
// 1.5 × keepalive_s), buffers every unconfirmed update and replays it after the reconnect:
// every update arrives at least once (issue 13: "the cursor advances only when the broker has
// acknowledged").

const rig = new NorthRig();
let sub: Sub;
let syn: RedisTagBus;

beforeAll(async () => {
  await rig.start();
  syn = await createRedisTagBus({ url: rig.redis.url, prefix: "ne:", producer: "syn" });
  rig.putNorth({
    north_id: "fz",
    kind: "mqtt",
    broker_urls: rig.broker.url,
    gateway: "gw",
    keepalive_s: 5,
    tag_selection: "/syn/*",
  });
  sub = await Sub.open(rig.broker.url, ["nodi-edge/gw/syn/#"]);
  rig.startNorth("fz");
}, 60_000);

afterAll(async () => {
  rig.broker.signal("SIGCONT");
  await sub?.close();
  await syn?.close(500);
  await rig.shutdown();
}, 60_000);

describe("a frozen broker", () => {
  test("nothing unacknowledged is lost: the unconfirmed window is replayed after the reconnect", async () => {
    await until(
      "connected",
      async () => (await rig.bus.get("/system/fz/broker_connected"))?.value === true,
    );
    let n = 0;
    const produce = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const b: TagSample[] = [
          { path: `/syn/x${n % 5}`, value: n, quality: "good", ts: Date.now() },
        ];
        n++;
        await syn.publish(b);
        await Bun.sleep(20);
      }
    };
    await produce(50);
    rig.broker.signal("SIGSTOP");
    await produce(200); // ~4 s into the frozen broker
    await until(
      "the dead link noticed (keep-alive)",
      async () => (await rig.bus.get("/system/fz/broker_connected"))?.value === false,
      20_000,
    );
    await produce(50);
    rig.broker.signal("SIGCONT");
    await produce(50);
    const seqs = () => new Set(sub.got.map((g) => JSON.parse(g.text).seq as number));
    await until("every update at the subscriber", () => seqs().size === n, 30_000);
    for (let s = 1; s <= n; s++) expect(seqs().has(s)).toBe(true);
    // those sent into the frozen broker came again as replay
    expect(sub.got.some((g) => JSON.parse(g.text).replay === true)).toBe(true);
  }, 90_000);
});
