import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import type { Subscription } from "../../src/tagbus/tagbus.ts";
import { freePort } from "../support/ports.ts";
import { NorthRig, Sub, until } from "./harness.ts";

// Issue 13, test 2: the broker is stopped while 3 connections publish, then restarted. Every
// update produced meanwhile arrives, flagged as replay; live values resume within 2 s of the
// broker's return, before the replay has finished. The 60 s outage is 8 s here: the
// replay rate is capped (NE_NORTH_REPLAY_MAX_PER_S=150) so the replay of those 8 s still takes
// seconds, which is what the interleaving claim needs.

const rig = new NorthRig({ persistence: true });
let sim: ModbusSim;
let sub: Sub;
let busSub: Subscription;
const CONNS = ["m1", "m2", "m3"];
const onBus: { path: string; seq: number; at: number }[] = [];

beforeAll(async () => {
  await rig.start();
  const port = await freePort();
  const counter = (address: number, every: number) => ({
    name: `c${address}`,
    table: "holding_registers",
    address,
    data_type: "uint16",
    generator: { type: "counter", every_ms: every, max: 60000 },
  });
  sim = await startModbusSim({
    port,
    map: { tick_ms: 20, entries: [counter(0, 100), counter(1, 200)] },
  });
  for (const id of CONNS) rig.addModbus(id, port, 100, 2);
  rig.putNorth({
    north_id: "n2",
    kind: "mqtt",
    broker_urls: rig.broker.url,
    gateway: "gw",
    keepalive_s: 5,
  });
  busSub = await rig.bus.subscribe(
    CONNS.map((c) => `/${c}/*`),
    (e) => {
      if (e.kind === "value") onBus.push({ path: e.value.path, seq: e.value.seq, at: Date.now() });
    },
  );
  sub = await Sub.open(rig.broker.url, ["nodi-edge/gw/+/+"], true);
  for (const id of CONNS) rig.startIntf(id);
  rig.startNorth("n2", { NE_NORTH_REPLAY_MAX_PER_S: "150" });
}, 60_000);

afterAll(async () => {
  await busSub?.close();
  await sub?.close();
  await sim?.stop();
  await rig.shutdown();
}, 60_000);

describe("store-and-forward across a broker outage (issue 13 test 2)", () => {
  test("every update of the outage arrives, flagged replay; live resumes first", async () => {
    const data = () =>
      sub.got
        .filter((g) => !g.topic.includes("/_"))
        .map((g) => {
          const m = JSON.parse(g.text);
          const [, , conn, tag] = g.topic.split("/");
          return {
            path: `/${conn}/${tag}`,
            seq: m.seq as number,
            replay: m.replay === true,
            at: g.at,
          };
        });
    await until("data of all 3 connections", () =>
      CONNS.every((c) => data().some((d) => d.path.startsWith(`/${c}/`))),
    );
    await Bun.sleep(1000);
    const tStop = Date.now();
    await rig.broker.stop();
    await Bun.sleep(8000);
    await rig.broker.start();
    const tUp = Date.now();
    await Bun.sleep(5000);
    const cutoff = Date.now();

    // what must arrive: every bus update from the first one seen at MQTT (per tag) to the cutoff
    const first = new Map<string, number>();
    for (const d of data())
      if (!first.has(d.path) || d.seq < first.get(d.path)!) first.set(d.path, d.seq);
    const expected = onBus.filter(
      (b) => b.at <= cutoff && b.seq >= (first.get(b.path) ?? Infinity),
    );
    const key = (x: { path: string; seq: number }) => `${x.path}#${x.seq}`;
    await until(
      "every update at MQTT",
      () => {
        const got = new Set(data().map(key));
        return expected.every((e) => got.has(key(e)));
      },
      30_000,
    );
    const during = expected.filter((e) => e.at > tStop + 300 && e.at < tUp);
    expect(during.length).toBeGreaterThan(8 * 3 * 10); // ~15 updates/s per connection for 8 s
    const byKey = new Map<string, { replay: boolean; at: number }[]>();
    for (const d of data()) {
      const l = byKey.get(key(d)) ?? [];
      l.push(d);
      byKey.set(key(d), l);
    }
    // produced during the outage → replayed, flagged
    for (const e of during) expect(byKey.get(key(e))!.every((c) => c.replay)).toBe(true);
    // counted per tag by seq: nothing missing in any tag's sequence
    for (const path of first.keys()) {
      const seqs = [
        ...new Set(
          data()
            .filter((d) => d.path === path)
            .map((d) => d.seq),
        ),
      ].sort((a, b) => a - b);
      const busSeqs = expected.filter((e) => e.path === path).map((e) => e.seq);
      for (const s of busSeqs) expect(seqs).toContain(s);
    }
    // live values resume within 2 s of the broker's return, before the replay has finished
    const after = data().filter((d) => d.at >= tUp);
    const firstLive = after.find((d) => !d.replay);
    const lastReplay = after.filter((d) => d.replay).at(-1);
    expect(firstLive).toBeDefined();
    expect(firstLive!.at - tUp).toBeLessThanOrEqual(2000);
    expect(lastReplay!.at).toBeGreaterThan(firstLive!.at);
  }, 60_000);
});
