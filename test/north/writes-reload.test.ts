import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import mqtt, { type MqttClient } from "mqtt";
import { EXIT } from "../../src/core/exit-codes.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import { AuditTrail } from "../../src/store/audit.ts";
import { Mosquitto } from "../support/mosquitto.ts";
import { freePort } from "../support/ports.ts";
import { NorthRig, Sub, until } from "./harness.ts";

// Writes from the north on plain MQTT (issue 13 "Writes from the north"), hot reload of the
// tag selection on the same session, and the restart part of test 6: a broker URL change
// ends ne-north with exit 75 (RESTART) after its goodbye.

const rig = new NorthRig();
let sim: ModbusSim;
let sub: Sub;
let client: MqttClient;

const NORTH = {
  north_id: "n5",
  kind: "mqtt",
  gateway: "gw",
  keepalive_s: 5,
  writes_enabled: true,
  tag_selection: "/w1/*",
};

beforeAll(async () => {
  await rig.start();
  const port = await freePort();
  sim = await startModbusSim({ port, map: { holding_registers: { "0": [5, 6] } } });
  rig.addModbus("w1", port, 100, 2, [
    {
      conn_id: "w1",
      tag_name: "sp",
      block_id: "hr",
      address: 1,
      data_type: "uint16",
      access: "read-write",
    },
  ]);
  rig.addModbus("w2", port, 100, 1);
  rig.putNorth({ ...NORTH, broker_urls: rig.broker.url });
  sub = await Sub.open(rig.broker.url, ["nodi-edge/gw/#", "replies/#"]);
  client = await mqtt.connectAsync(rig.broker.url, { protocolVersion: 5, clientId: "writer" });
  rig.startIntf("w1");
  rig.startIntf("w2");
  rig.startNorth("n5");
  await until("online", () => sub.last("nodi-edge/gw/_status/n5")?.text === "online");
  await until("w1 data", () => sub.on("nodi-edge/gw/w1/sp").length > 0);
}, 60_000);

afterAll(async () => {
  await client?.endAsync(true);
  await sub?.close();
  await sim?.stop();
  await rig.shutdown();
}, 60_000);

const set = (tag: string, body: string, props?: Record<string, unknown>) =>
  client.publishAsync(`nodi-edge/gw/${tag}/set`, body, {
    qos: 1,
    ...(props ? { properties: props } : {}),
  });

describe("writes from the north", () => {
  test("a write to a read-write tag reaches the register; the reply goes to the response topic with the correlation data", async () => {
    let corr: Buffer | undefined;
    const replies: string[] = [];
    client.on("message", (_t, p, packet) => {
      replies.push(p.toString());
      corr = packet.properties?.correlationData;
    });
    await client.subscribeAsync("replies/writer", { qos: 1 });
    await set("w1/sp", JSON.stringify({ value: 77 }), {
      responseTopic: "replies/writer",
      correlationData: Buffer.from("c-1"),
      userProperties: { client: "mes-7" },
    });
    await until("reply", () => replies.length > 0, 15_000);
    expect(JSON.parse(replies[0]!)).toEqual({ path: "/w1/sp", ok: true });
    expect(corr?.toString()).toBe("c-1");
    expect(sim.registers.get("holding_registers", 1, 1)).toEqual([77]);
    const log = rig.log("north-n5");
    expect(log).toContain("write from the north /w1/sp = 77: ok");
    expect(log).toContain("client mes-7");
    // audited by the interface app that served it, as the northbound with its broker and topic
    const trail = new AuditTrail(rig.store.db, "test");
    const e = await until("audit entry", () => trail.list({ target: "/w1/sp", result: "done" })[0]);
    expect(e).toMatchObject({
      kind: "write",
      actor: "north:n5",
      via: "north",
      value: 77,
      previous: 6,
      recorded_by: "ne-intf:w1",
    });
    expect(e?.source).toContain(`${rig.broker.url} as `);
    expect(e?.source).toContain("nodi-edge/gw/w1/sp/set");
  }, 30_000);

  test("refused: read-only tag, unknown tag, unselected tag, bad payload — replied on …/set/reply, logged, nothing written", async () => {
    await set("w1/r0", "12");
    await set("w1/nope", "12");
    await set("w2/r0", "12");
    await set("w1/sp", "not json");
    await set("w1/sp", JSON.stringify({ value: [1] }));
    const reply = (t: string) =>
      sub.on(`nodi-edge/gw/${t}/set/reply`).map((g) => JSON.parse(g.text));
    await until(
      "replies",
      () =>
        reply("w1/sp").length === 2 &&
        reply("w1/r0").length &&
        reply("w1/nope").length &&
        reply("w2/r0").length,
      15_000,
    );
    expect(reply("w1/r0")[0]).toEqual({ path: "/w1/r0", ok: false, reason: "read_only" });
    expect(reply("w1/nope")[0]).toEqual({ path: "/w1/nope", ok: false, reason: "not_found" });
    expect(reply("w2/r0")[0]).toEqual({ path: "/w2/r0", ok: false, reason: "not_found" });
    expect(reply("w1/sp").map((r) => r.reason)).toEqual(["bad_payload", "bad_payload"]);
    expect(sim.registers.get("holding_registers", 0, 2)).toEqual([5, 77]);
    expect(rig.log("north-n5")).toContain("refused: read_only");
    // refused before reaching an app: recorded by ne-north itself
    const trail = new AuditTrail(rig.store.db, "test");
    const ro = await until("audit of the refusals", () => {
      const r = trail.list({ target: "/w1/r0", result: "refused" });
      return trail.list({ target: "/w1/sp", result: "refused" }).length === 2 && r[0];
    });
    expect(ro).toMatchObject({
      actor: "north:n5",
      reason: "read_only",
      recorded_by: "ne-north:n5",
    });
  }, 30_000);
});

describe("reloads (issue 13 test 6, restart part)", () => {
  const reload = () =>
    rig.bus.publish([
      { path: "/system/n5/config_reload", value: Date.now(), quality: "good", ts: Date.now() },
    ]);

  test("a changed tag selection is a hot reload on the same MQTT session", async () => {
    const connects = () => rig.log("north-n5").split("north: connected").length - 1;
    const before = connects();
    expect(sub.on("nodi-edge/gw/w2/r0")).toEqual([]);
    // history of w2 while it is not selected
    for (const v of [1, 2, 3]) {
      sim.registers.set("holding_registers", 0, [v]);
      await until(`w2 reads ${v}`, async () => (await rig.bus.get("/w2/r0"))?.value === v, 10_000);
    }
    rig.putNorth({ ...NORTH, broker_urls: rig.broker.url, tag_selection: "/w1/* /w2/*" });
    await reload();
    await until("w2 data", () => sub.on("nodi-edge/gw/w2/r0").length > 0, 20_000);
    sim.registers.set("holding_registers", 0, [9]);
    await until("w2 live", () => sub.on("nodi-edge/gw/w2/r0").length > 1, 20_000);
    expect(connects()).toBe(before); // no new CONNECT
    // w2 starts from its current value, not from its retained history
    const w2 = sub.on("nodi-edge/gw/w2/r0").map((g) => JSON.parse(g.text).value);
    expect(w2[0]).toBe(3);
    expect(w2).not.toContain(1);
    expect(w2).not.toContain(2);
    expect(rig.log("north-n5")).toContain("configuration reloaded");
  }, 30_000);

  test("a connection that leaves the selection: its retained state says so", async () => {
    await until(
      "w2 state up",
      () => JSON.parse(sub.last("nodi-edge/gw/_state/w2")?.text ?? "{}").up === true,
      20_000,
    );
    rig.putNorth({ ...NORTH, broker_urls: rig.broker.url, tag_selection: "/w1/*" });
    await reload();
    await until(
      "w2 state not selected",
      () => JSON.parse(sub.last("nodi-edge/gw/_state/w2")!.text).up === false,
      20_000,
    );
    expect(JSON.parse(sub.last("nodi-edge/gw/_state/w2")!.text)).toMatchObject({
      state: "STOP",
      up: false,
      reason: "not selected",
    });
    expect(sub.last("nodi-edge/gw/_state/w2")!.retain).toBe(false); // live delivery; retained for late subscribers
    const late = await Sub.open(rig.broker.url, ["nodi-edge/gw/_state/w2"]);
    try {
      await until("retained", () => late.last("nodi-edge/gw/_state/w2"));
      expect(JSON.parse(late.last("nodi-edge/gw/_state/w2")!.text).reason).toBe("not selected");
    } finally {
      await late.close();
    }
  }, 40_000);

  test("a changed broker URL: goodbye, exit 75 (restart), and the restarted process uses the new broker", async () => {
    const other = await new Mosquitto().start();
    try {
      const sub2 = await Sub.open(other.url, ["nodi-edge/gw/#"]);
      const offlineBefore = sub
        .on("nodi-edge/gw/_status/n5")
        .filter((g) => g.text === "offline").length;
      rig.putNorth({ ...NORTH, broker_urls: other.url });
      await reload();
      const proc = rig.proc("north-n5")!;
      expect(await proc.exited).toBe(EXIT.RESTART);
      // the goodbye went to the old broker before the exit
      expect(sub.on("nodi-edge/gw/_status/n5").filter((g) => g.text === "offline").length).toBe(
        offlineBefore + 1,
      );
      expect(rig.log("north-n5")).toContain("restart: broker_urls changed");
      rig.startNorth("n5"); // what the supervisor / systemd do on 75
      await until(
        "online on the new broker",
        () => sub2.last("nodi-edge/gw/_status/n5")?.text === "online",
        30_000,
      );
      sim.registers.set("holding_registers", 1, [78]); // data flows on change
      await until("data on the new broker", () => sub2.on("nodi-edge/gw/w1/sp").length > 0, 30_000);
      await sub2.close();
    } finally {
      await rig.kill("north-n5");
      await other.shutdown();
    }
  }, 60_000);
});
