import { afterAll, expect, test } from "bun:test";
import * as v from "valibot";
import { silentLogger } from "../../../src/core/log.ts";
import type { TagValue } from "../../../src/core/tag-value.ts";
import type { FormatContext, OutMessage } from "../../../src/north/format.ts";
import { memoryBdSeqStore } from "../../../src/north/sparkplug/bdseq.ts";
import { decodePayload } from "../../../src/north/sparkplug/codec.ts";
import { SparkplugEdgeNode } from "../../../src/north/sparkplug/edge-node.ts";
import { View } from "../../../src/north/view.ts";
import { NorthboundSchema } from "../../../src/store/northbound-schema.ts";
import type { ConnectionConfig } from "../../../src/store/schema.ts";
import { tempDir } from "../../support/tmp.ts";

/**
 * Issue 14 × 13: the devices of a multi-device link are Sparkplug devices
 * `{conn_id}.{device}` (docs/north.md "Topics"), their tags metrics named without the device
 * segment; a demoted device gets DDEATH and a DBIRTH when it is promoted.
 */
const dirs = tempDir("ne-sp-dev-");
afterAll(() => dirs.cleanup());
const T0 = 1_764_633_600_000;

const cfg = {
  connection: { conn_id: "line1", protocol: "modbus-rtu", enabled: true },
  devices: [
    { conn_id: "line1", device: "meter3", unit_id: 3, description: "" },
    { conn_id: "line1", device: "meter4", unit_id: 4, description: "" },
  ],
  blocks: [],
  tags: [
    { conn_id: "line1", tag_name: "meter3/voltage", data_type: "float32", access: "read" },
    { conn_id: "line1", tag_name: "meter4/voltage", data_type: "float32", access: "read" },
    { conn_id: "line1", tag_name: "status", data_type: "uint16", access: "read" },
  ].map((t) => ({ ...t, block_id: "b", scale: 1, offset: 0, unit: "V", description: "" })),
} as unknown as ConnectionConfig;

const sys = (path: string, value: string): TagValue => ({
  path,
  value,
  quality: "good",
  ts: T0,
  producer: "line1",
  seq: 1,
});
const data = (path: string, value: number): TagValue => ({ ...sys(path, ""), value });

function setup() {
  const view = new View();
  view.configure(["/**"], [cfg], T0);
  for (const [p, x] of [
    ["/line1/meter3/voltage", 233],
    ["/line1/meter4/voltage", 234],
    ["/line1/status", 1],
  ] as const)
    view.setValue(data(p, x));
  view.applyState(sys("/system/line1/state", "EXECUTE"));
  const ctx: FormatContext = {
    northId: "sp1",
    north: v.parse(NorthboundSchema, {
      north_id: "sp1",
      kind: "sparkplug",
      broker_urls: "mqtt://127.0.0.1:1883",
      group_id: "plant",
      edge_node_id: "gw1",
    }),
    gateway: "host1",
    clientId: "c1",
    dataDir: dirs.path,
    log: silentLogger,
    now: () => T0 + 1000,
    view,
  };
  const node = new SparkplugEdgeNode(ctx, memoryBdSeqStore());
  node.beginConnect();
  node.subscriptions();
  return { view, node, births: node.online().publish };
}

const summary = (msgs: readonly OutMessage[]) =>
  msgs.map((m) => [
    m.topic,
    decodePayload(m.payload as Uint8Array).metrics.map((x) => x.name ?? x.alias),
  ]);

test("each device of the link is a Sparkplug device {conn_id}.{device}; the default device is {conn_id}", () => {
  const { view, births } = setup();
  expect([...view.tags().values()].map((t) => [t.path, t.device, t.name])).toEqual([
    ["/line1/meter3/voltage", "meter3", "voltage"],
    ["/line1/meter4/voltage", "meter4", "voltage"],
    ["/line1/status", undefined, "status"],
  ]);
  expect(summary(births)).toEqual([
    ["spBv1.0/plant/NBIRTH/gw1", ["bdSeq", "Node Control/Rebirth"]],
    // in tag path order
    ["spBv1.0/plant/DBIRTH/gw1/line1.meter3", ["voltage"]],
    ["spBv1.0/plant/DBIRTH/gw1/line1.meter4", ["voltage"]],
    ["spBv1.0/plant/DBIRTH/gw1/line1", ["status"]],
  ]);
});

test("a demoted device gets DDEATH, its data is not published; promoted, it is born again", () => {
  const { view, node } = setup();
  const ch = view.applyState(
    sys("/system/line1/devices", JSON.stringify({ meter3: "ok", meter4: "demoted" })),
  );
  expect(ch?.now.demoted).toEqual(["meter4"]);
  expect(summary(node.connChanged(ch!.now, ch!.prev))).toEqual([
    ["spBv1.0/plant/DDEATH/gw1/line1.meter4", []],
  ]);
  // the same devices value again changes nothing
  expect(
    view.applyState(sys("/system/line1/devices", JSON.stringify({ meter4: "demoted" }))),
  ).toBeUndefined();
  // a bad value of the dead device (its tags go bad `demoted`) is not DDATA of a dead device
  const out = node.encode([data("/line1/meter4/voltage", 0), data("/line1/meter3/voltage", 230)], {
    historical: false,
  });
  expect(out.map((m) => m.topic)).toEqual(["spBv1.0/plant/DDATA/gw1/line1.meter3"]);
  // a state change of the connection keeps the demotion
  const st = view.applyState({ ...sys("/system/line1/state", "EXECUTE"), reason: "reloaded" });
  expect(st?.now.demoted).toEqual(["meter4"]);
  expect(node.connChanged(st!.now, st!.prev)).toEqual([]);
  // promoted
  const back = view.applyState(sys("/system/line1/devices", JSON.stringify({ meter4: "ok" })));
  expect(summary(node.connChanged(back!.now, back!.prev))).toEqual([
    ["spBv1.0/plant/DBIRTH/gw1/line1.meter4", ["voltage"]],
  ]);
});

test("the connection's link lost: DDEATH for every device of it", () => {
  const { view, node } = setup();
  const ch = view.applyState({ ...sys("/system/line1/state", "RECOVER"), reason: "ECONNRESET" });
  expect(summary(node.connChanged(ch!.now, ch!.prev)).map((m) => m[0])).toEqual([
    "spBv1.0/plant/DDEATH/gw1/line1.meter3",
    "spBv1.0/plant/DDEATH/gw1/line1.meter4",
    "spBv1.0/plant/DDEATH/gw1/line1",
  ]);
});
