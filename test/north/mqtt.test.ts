import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import type { TagValue } from "../../src/core/tag-value.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import type { Subscription } from "../../src/tagbus/tagbus.ts";
import { freePort } from "../support/ports.ts";
import { NorthRig, Sub, until } from "./harness.ts";

// Issue 13, test 1: plain MQTT end to end with a real mosquitto, Redis, the Modbus simulator,
// real ne-intf and ne-north processes.

const rig = new NorthRig();
let sim: ModbusSim;
let sub: Sub;
let busSub: Subscription;
const onBus: TagValue[] = [];

beforeAll(async () => {
  await rig.start();
  const port = await freePort();
  sim = await startModbusSim({
    port,
    map: {
      tick_ms: 20,
      entries: [
        {
          name: "c",
          table: "holding_registers",
          address: 0,
          data_type: "uint16",
          generator: { type: "counter", every_ms: 100, max: 60000 },
        },
      ],
    },
  });
  rig.addModbus("m1", port, 100, 2);
  rig.putNorth({
    north_id: "n1",
    kind: "mqtt",
    broker_urls: rig.broker.url,
    gateway: "gw",
    keepalive_s: 5,
  });
  busSub = await rig.bus.subscribe(["/m1/*"], (e) => {
    if (e.kind === "value") onBus.push(e.value);
  });
  sub = await Sub.open(rig.broker.url, ["nodi-edge/gw/#"]);
  rig.startIntf("m1");
}, 60_000);

afterAll(async () => {
  await busSub?.close();
  await sub?.close();
  await sim?.stop();
  await rig.shutdown();
}, 60_000);

describe("plain MQTT (issue 13 test 1)", () => {
  test("every update of a 100 ms block arrives, in order, with the documented payload", async () => {
    rig.startNorth("n1");
    await until("status online", () => sub.last("nodi-edge/gw/_status/n1")?.text === "online");
    const topic = "nodi-edge/gw/m1/r0";
    await until("first data message", () => sub.on(topic).length > 0, 30_000);
    await Bun.sleep(3000); // about 30 block scans
    const seqs = (t: string) => sub.on(t).map((g) => JSON.parse(g.text).seq as number);
    const first = seqs(topic)[0]!;
    const bus = onBus.filter((v) => v.path === "/m1/r0" && v.seq >= first);
    const lastSeq = bus[bus.length - 1]!.seq;
    await until("MQTT caught up with the bus", () => seqs(topic).includes(lastSeq), 10_000);
    const mqttMsgs = sub.on(topic).map((g) => JSON.parse(g.text));
    // the current values published at the very first start may go through the buffer (the
    // TagBus subscription starts before the broker session): flagged replay, the rest live
    const firstLive = mqttMsgs.findIndex((m) => m.replay !== true);
    expect(mqttMsgs.slice(firstLive).every((m) => m.replay !== true)).toBe(true);
    const upTo = mqttMsgs.filter((m) => m.seq <= lastSeq).map(({ replay: _r, ...m }) => m);
    expect(bus.length).toBeGreaterThan(20);
    // exactly the bus's updates, in order, nothing missing, nothing twice
    expect(upTo).toEqual(
      bus.map((v) => ({ value: v.value, quality: v.quality, ts: v.ts, seq: v.seq })),
    );
    expect(new Set(upTo.map((m) => m.value)).size).toBeGreaterThan(10); // the counter moved
    // the retained state topic of the connection
    const state = JSON.parse(sub.last("nodi-edge/gw/_state/m1")!.text);
    expect(state).toMatchObject({ state: "EXECUTE", up: true });
    // health tags
    expect((await rig.bus.get("/system/n1/state"))?.value).toBe("EXECUTE");
    expect((await rig.bus.get("/system/n1/broker_connected"))?.value).toBe(true);
    await until(
      "health: buffer empty",
      async () => (await rig.bus.get("/system/n1/buffered"))?.value === 0,
      10_000,
    );
  }, 60_000);

  test("a late subscriber gets the retained status and connection state", async () => {
    const late = await Sub.open(rig.broker.url, [
      "nodi-edge/gw/_status/#",
      "nodi-edge/gw/_state/#",
    ]);
    try {
      await until("retained status", () => late.last("nodi-edge/gw/_status/n1"));
      expect(late.last("nodi-edge/gw/_status/n1")).toMatchObject({ text: "online", retain: true });
      await until("retained state", () => late.last("nodi-edge/gw/_state/m1"));
      expect(late.last("nodi-edge/gw/_state/m1")!.retain).toBe(true);
    } finally {
      await late.close();
    }
  }, 30_000);

  test("killed -9, the status flips to offline by the Will", async () => {
    const before = sub.on("nodi-edge/gw/_status/n1").length;
    await rig.kill("north-n1", "SIGKILL");
    await until(
      "offline by Will",
      () =>
        sub
          .on("nodi-edge/gw/_status/n1")
          .slice(before)
          .some((g) => g.text === "offline"),
      20_000,
    );
    const late = await Sub.open(rig.broker.url, ["nodi-edge/gw/_status/#"]);
    try {
      await until("retained offline", () => late.last("nodi-edge/gw/_status/n1"));
      expect(late.last("nodi-edge/gw/_status/n1")).toMatchObject({ text: "offline", retain: true });
    } finally {
      await late.close();
    }
  }, 30_000);

  test("SIGTERM: offline published before a clean DISCONNECT, exit 0", async () => {
    rig.startNorth("n1");
    await until(
      "online again",
      () => sub.last("nodi-edge/gw/_status/n1")?.text === "online",
      30_000,
    );
    const code = await rig.kill("north-n1", "SIGTERM");
    expect(code).toBe(0);
    await until("offline", () => sub.last("nodi-edge/gw/_status/n1")?.text === "offline", 10_000);
    expect((await rig.bus.get("/system/n1/state"))?.value).toBe("STOP");
  }, 60_000);
});
