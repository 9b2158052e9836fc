import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { NorthRig, Sub, until } from "./harness.ts";

// The TagBus goes away under a running ne-north (Redis restarted with the shipped AOF
// settings): ne-north rides it out (its durable subscription resumes from its saved position),
// the producer's outbox holds what it published meanwhile, and every update reaches the broker.

const rig = new NorthRig({ appendonly: true });
let sub: Sub;
let syn: RedisTagBus;

beforeAll(async () => {
  await rig.start();
  syn = await createRedisTagBus({ url: rig.redis.url, prefix: "ne:", producer: "syn" });
  rig.putNorth({
    north_id: "rr",
    kind: "mqtt",
    broker_urls: rig.broker.url,
    gateway: "gw",
    tag_selection: "/syn/*",
  });
  sub = await Sub.open(rig.broker.url, ["nodi-edge/gw/syn/#"]);
  rig.startNorth("rr");
}, 60_000);

afterAll(async () => {
  await sub?.close();
  await syn?.close(500);
  await rig.shutdown();
}, 60_000);

describe("Redis restarted under ne-north", () => {
  test("every update still arrives, none twice", async () => {
    await until(
      "connected",
      async () => (await rig.bus.get("/system/rr/broker_connected"))?.value === true,
    );
    let n = 0;
    const produce = async (count: number) => {
      for (let i = 0; i < count; i++) {
        await syn.publish([
          { path: `/syn/x${n % 5}`, value: n++, quality: "good", ts: Date.now() },
        ]);
        await Bun.sleep(10);
      }
    };
    await produce(100);
    await rig.redis.stop(); // SIGTERM: Redis writes its AOF
    await produce(100); // into the producer's outbox
    await rig.redis.start();
    await produce(100);
    const seqs = () => sub.got.map((g) => JSON.parse(g.text).seq as number);
    await until("every update", () => new Set(seqs()).size === n, 30_000);
    expect(new Set(seqs()).size).toBe(300);
    expect(seqs().length).toBe(300); // nothing twice
    expect(rig.log("north-rr")).not.toContain('"level":50');
  }, 60_000);
});
