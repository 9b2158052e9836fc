import { afterEach, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import pino from "pino";
import * as v from "valibot";
import { silentLogger } from "../../../src/core/log.ts";
import type { TagValue } from "../../../src/core/tag-value.ts";
import type {
  Action,
  ConnState,
  FormatContext,
  OutMessage,
  TagInfo,
} from "../../../src/north/format.ts";
import {
  type BdSeqStore,
  fileBdSeqStore,
  memoryBdSeqStore,
} from "../../../src/north/sparkplug/bdseq.ts";
import {
  decodePayload,
  encodePayload,
  type Metric,
  type Payload,
} from "../../../src/north/sparkplug/codec.ts";
import { DataType } from "../../../src/north/sparkplug/datatypes.ts";
import { SparkplugEdgeNode } from "../../../src/north/sparkplug/edge-node.ts";
import { sparkplugFormat } from "../../../src/north/sparkplug/index.ts";
import { type NorthboundInput, NorthboundSchema } from "../../../src/store/northbound-schema.ts";
import type { DataType as NodiType } from "../../../src/store/schema.ts";
import { tempDir } from "../../support/tmp.ts";

const T0 = 1_764_633_600_000;

function tag(
  connId: string,
  name: string,
  dataType: NodiType,
  extra: Partial<TagInfo> = {},
): TagInfo {
  return {
    path: `/${connId}/${name}`,
    connId,
    name,
    dataType,
    writable: false,
    unit: "",
    description: "",
    ...extra,
  };
}

function val(
  path: string,
  value: TagValue["value"],
  ts = T0,
  extra: Partial<TagValue> = {},
): TagValue {
  return { path, value, quality: "good", ts, producer: path.split("/")[1]!, seq: 1, ...extra };
}

/** An edge node over an in-memory view: two connections, plc1 (4 tags) and plc2 (1 tag). */
function setup(north: Partial<NorthboundInput> = {}, bdSeq: BdSeqStore = memoryBdSeqStore()) {
  const dirs = tempDir("ne-sp-");
  cleanups.push(dirs.cleanup);
  const tags = new Map<string, TagInfo>();
  const current = new Map<string, TagValue>();
  const conns = new Map<string, ConnState>();
  const addTag = (t: TagInfo, value?: TagValue) => {
    tags.set(t.path, t);
    if (value) current.set(t.path, value);
  };
  addTag(tag("plc1", "speed", "uint32"), val("/plc1/speed", 4294967295));
  addTag(
    tag("plc1", "count", "int64", { writable: true }),
    val("/plc1/count", "-9223372036854775808"),
  );
  addTag(tag("plc1", "total", "uint64"), val("/plc1/total", "9007199254740993"));
  addTag(tag("plc1", "temp", "int16", { scaled: true, writable: true }), val("/plc1/temp", 21.5));
  addTag(tag("plc2", "run", "bool", { writable: true }), val("/plc2/run", true));
  conns.set("plc1", { connId: "plc1", appState: "EXECUTE", up: true, ts: T0 });
  conns.set("plc2", { connId: "plc2", appState: "EXECUTE", up: true, ts: T0 });
  let now = T0 + 1000;
  const ctx: FormatContext = {
    northId: "sp1",
    north: v.parse(NorthboundSchema, {
      north_id: "sp1",
      kind: "sparkplug",
      broker_urls: "mqtt://127.0.0.1:1883",
      group_id: "plant",
      edge_node_id: "gw1",
      ...north,
    }),
    gateway: "host1",
    clientId: "c1",
    dataDir: dirs.path,
    log: silentLogger,
    now: () => now,
    view: { tags: () => tags, current: () => current, conns: () => conns },
  };
  const node = new SparkplugEdgeNode(ctx, bdSeq);
  return {
    node,
    ctx,
    tags,
    current,
    conns,
    addTag,
    bdSeq,
    advance: (ms: number) => {
      now += ms;
    },
    /** CONNECT + SUBACK + online(): the first messages. */
    connect: () => {
      const plan = node.beginConnect();
      node.subscriptions();
      return { plan, step: node.online() };
    },
  };
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const c of cleanups.splice(0)) c();
});

const dec = (m: OutMessage): Payload => decodePayload(m.payload as Uint8Array);
const kinds = (msgs: OutMessage[]) => msgs.map((m) => m.topic.split("/")[2]);
const byName = (p: Payload, name: string): Metric => p.metrics.find((m) => m.name === name)!;
const cmd = (topic: string, metrics: Metric[]) => ({
  topic,
  payload: encodePayload({ timestamp: T0, metrics }),
  retain: false,
});

describe("Sparkplug edge node: CONNECT, Will and bdSeq", () => {
  test("payloads-ndeath-will-message-qos: NDEATH Will is QoS 1, retain false, on spBv1.0/{group}/NDEATH/{node}", () => {
    const { plan } = setup().connect();
    expect(plan.will.topic).toBe("spBv1.0/plant/NDEATH/gw1");
    expect(plan.will.qos).toBe(1);
    expect(plan.will.retain).toBe(false);
    expect(plan.protocolVersion).toBe(4);
  });

  test("topics-ndeath-payload, topics-ndeath-seq: the Will's payload is only the bdSeq metric (Int64), no seq", () => {
    const { plan } = setup().connect();
    const p = dec(plan.will);
    expect(p.seq).toBeUndefined();
    expect(p.metrics).toHaveLength(1);
    expect(p.metrics[0]).toMatchObject({ name: "bdSeq", datatype: DataType.Int64, value: 0n });
  });

  test("topics-nbirth-bdseq-increment: bdSeq starts at 0, +1 per CONNECT, 255 → 0", () => {
    const s = setup();
    const seen: bigint[] = [];
    for (let i = 0; i < 258; i++) {
      seen.push(dec(s.node.beginConnect().will).metrics[0]!.value as bigint);
      s.node.offline();
    }
    expect(seen.slice(0, 3)).toEqual([0n, 1n, 2n]);
    expect(seen.slice(254, 258)).toEqual([254n, 255n, 0n, 1n]);
  });

  test("bdSeq persists across restarts in the data dir (a new process continues at +1)", () => {
    const dir = tempDir("ne-bdseq-");
    cleanups.push(dir.cleanup);
    const a = setup({}, fileBdSeqStore(dir.path, silentLogger));
    a.node.beginConnect();
    a.node.beginConnect();
    const b = setup({}, fileBdSeqStore(dir.path, silentLogger));
    expect(dec(b.node.beginConnect().will).metrics[0]!.value).toBe(2n);
    // the factory uses the data dir: a garbled file counts as "never connected"
    writeFileSync(join(b.ctx.dataDir, "sparkplug-bdseq"), "garbage");
    const f = sparkplugFormat(b.ctx);
    expect(dec(f.beginConnect().will).metrics[0]!.value).toBe(0n);
    expect(dec(sparkplugFormat(b.ctx).beginConnect().will).metrics[0]!.value).toBe(1n);
  });

  test("topics-nbirth-bdseq-matching, payloads-nbirth-bdseq-repeat: the NBIRTH's bdSeq is the Will's of this CONNECT", () => {
    const s = setup({}, memoryBdSeqStore(41));
    const { plan, step } = s.connect();
    const will = dec(plan.will).metrics[0]!.value;
    expect(will).toBe(42n);
    expect(byName(dec(step.publish[0]!), "bdSeq")).toMatchObject({
      datatype: DataType.Int64,
      value: 42n,
    });
  });

  test("message-flow-edge-node-ncmd-subscribe, message-flow-device-dcmd-subscribe: NCMD and DCMD subscribed at QoS 1", () => {
    const s = setup();
    expect(s.node.subscriptions()).toEqual([
      { filter: "spBv1.0/plant/NCMD/gw1", qos: 1 },
      { filter: "spBv1.0/plant/DCMD/gw1/+", qos: 1 },
    ]);
    // a group or node id that is itself a message type name
    expect(setup({ group_id: "NCMD", edge_node_id: "DCMD" }).node.subscriptions()).toEqual([
      { filter: "spBv1.0/NCMD/NCMD/DCMD", qos: 1 },
      { filter: "spBv1.0/NCMD/DCMD/DCMD/+", qos: 1 },
    ]);
    const h = setup({ primary_host_id: "scada" });
    expect(h.node.subscriptions()).toContainEqual({ filter: "spBv1.0/STATE/scada", qos: 1 });
  });

  test("a sparkplug northbound without group_id is a configuration error", () => {
    const s = setup();
    expect(
      () =>
        new SparkplugEdgeNode(
          { ...s.ctx, north: { ...s.ctx.north, group_id: null } },
          memoryBdSeqStore(),
        ),
    ).toThrow(/needs a group_id/);
  });

  test("edge_node_id defaults to the gateway name", () => {
    const s = setup({ edge_node_id: null });
    expect(s.node.beginConnect().will.topic).toBe("spBv1.0/plant/NDEATH/host1");
  });
});

describe("Sparkplug edge node: births", () => {
  test("topics-nbirth-topic, topics-nbirth-seq-num, payloads-dbirth-order: NBIRTH seq 0 first, then a DBIRTH per device", () => {
    const { step } = setup().connect();
    expect(step.gate).toBe("open");
    expect(step.publish.map((m) => m.topic)).toEqual([
      "spBv1.0/plant/NBIRTH/gw1",
      "spBv1.0/plant/DBIRTH/gw1/plc1",
      "spBv1.0/plant/DBIRTH/gw1/plc2",
    ]);
    expect(step.publish.map((m) => dec(m).seq)).toEqual([0, 1, 2]);
  });

  test("topics-nbirth-mqtt, topics-dbirth-mqtt: births are QoS 0, retain false, with a payload timestamp", () => {
    const { step } = setup().connect();
    for (const m of step.publish) {
      expect([m.qos, m.retain]).toEqual([0, false]);
      expect(dec(m).timestamp).toBe(T0 + 1000);
    }
  });

  test("topics-nbirth-rebirth-metric, operational-behavior-data-commands-rebirth-name-aliases: Node Control/Rebirth is Boolean false without alias", () => {
    const nbirth = dec(setup().connect().step.publish[0]!);
    const r = byName(nbirth, "Node Control/Rebirth");
    expect(r).toMatchObject({ datatype: DataType.Boolean, value: false });
    expect(r.alias).toBeUndefined();
    expect(nbirth.metrics.map((m) => m.name).sort()).toEqual(["Node Control/Rebirth", "bdSeq"]);
  });

  test("topics-dbirth-metrics, payloads-alias-birth-requirement: every metric with name, alias, datatype, timestamp and current value", () => {
    const dbirth = dec(setup().connect().step.publish[1]!);
    expect(dbirth.metrics.map((m) => [m.name, m.datatype, m.value, m.timestamp])).toEqual([
      ["count", DataType.Int64, -(2n ** 63n), T0],
      ["speed", DataType.UInt32, 4294967295, T0],
      ["temp", DataType.Double, 21.5, T0],
      ["total", DataType.UInt64, 9007199254740993n, T0],
    ]);
    expect(dbirth.metrics.every((m) => typeof m.alias === "number")).toBe(true);
  });

  test("payloads-alias-uniqueness: aliases are unique across the whole edge node", () => {
    const p = setup().connect().step.publish.map(dec);
    const aliases = p.flatMap((x) =>
      x.metrics.filter((m) => m.alias !== undefined).map((m) => m.alias),
    );
    expect(aliases).toHaveLength(5);
    expect(new Set(aliases).size).toBe(5);
  });

  test("operational-behavior-data-publish-dbirth-values: a metric without a value is is_null with no value", () => {
    const s = setup();
    s.addTag(tag("plc1", "never", "float32"));
    const dbirth = dec(s.connect().step.publish[1]!);
    const m = byName(dbirth, "never");
    expect(m).toMatchObject({ datatype: DataType.Float, isNull: true, timestamp: T0 + 1000 });
    expect(m.value).toBeUndefined();
  });

  test("case-sensitivity-metric-names: names of one device that differ only in case are warned about once", () => {
    const lines: string[] = [];
    const s = setup();
    const log = pino({ level: "warn" }, { write: (l: string) => lines.push(l) });
    const node = new SparkplugEdgeNode({ ...s.ctx, log }, memoryBdSeqStore());
    s.addTag(tag("plc1", "Speed", "uint16"));
    node.beginConnect();
    node.online();
    node.reload(s.ctx.north);
    const warned = lines.map((l) => JSON.parse(l)).filter((l) => /differ only in case/.test(l.msg));
    expect(warned.map((l) => [l.device, l.metrics])).toEqual([["plc1", ["Speed", "speed"]]]);
  });

  test("message-flow-device-birth-publish-nbirth-wait: a device whose connection is down gets no DBIRTH", () => {
    const s = setup();
    s.conns.set("plc2", { connId: "plc2", appState: "CONNECT", up: false, ts: T0 });
    expect(kinds(s.connect().step.publish)).toEqual(["NBIRTH", "DBIRTH"]);
  });
});

describe("Sparkplug edge node: data", () => {
  test("topics-ddata-payload, payloads-alias-data-cmd-requirement, payloads-metric-datatype-not-req: DDATA carries alias only, many metrics per message", () => {
    const s = setup();
    s.connect();
    const msgs = s.node.encode(
      [
        val("/plc1/speed", 1, T0 + 10),
        val("/plc1/temp", 22.25, T0 + 20),
        val("/plc1/speed", 2, T0 + 30),
      ],
      { historical: false },
    );
    expect(msgs).toHaveLength(1);
    expect(msgs[0]!.topic).toBe("spBv1.0/plant/DDATA/gw1/plc1");
    expect([msgs[0]!.qos, msgs[0]!.retain]).toEqual([0, false]);
    const p = dec(msgs[0]!);
    expect(p.seq).toBe(3);
    expect(p.metrics.every((m) => m.name === undefined && m.datatype === undefined)).toBe(true);
    // operational-behavior-data-publish-dbirth-order: chronological
    expect(p.metrics.map((m) => [m.value, m.timestamp])).toEqual([
      [1, T0 + 10],
      [22.25, T0 + 20],
      [2, T0 + 30],
    ]);
    expect(p.metrics.every((m) => !m.isHistorical)).toBe(true);
  });

  test("DDATA per device; datatypes exact: uint32 max, int64 min, uint64 above 2^53", () => {
    const s = setup();
    const birth = s.connect().step.publish.map(dec);
    const alias = (name: string) => byName(birth[1]!, name).alias;
    const msgs = s.node.encode(
      [
        val("/plc1/speed", 4294967295),
        val("/plc2/run", false),
        val("/plc1/count", "-9223372036854775808"),
        val("/plc1/total", "18446744073709551615"),
      ],
      { historical: false },
    );
    expect(msgs.map((m) => m.topic)).toEqual([
      "spBv1.0/plant/DDATA/gw1/plc1",
      "spBv1.0/plant/DDATA/gw1/plc2",
    ]);
    const p = dec(msgs[0]!);
    expect(p.metrics.map((m) => [m.alias, m.wireField, m.value])).toEqual([
      [alias("speed"), "int_value", 4294967295],
      [alias("count"), "long_value", 2n ** 63n], // two's complement of int64 min
      [alias("total"), "long_value", 2n ** 64n - 1n],
    ]);
  });

  test("payloads-sequence-num-incrementing: seq +1 on every message of the node, 255 → 0", () => {
    const s = setup();
    const seqs = s.connect().step.publish.map((m) => dec(m).seq!);
    for (let i = 0; i < 300; i++)
      for (const m of s.node.encode([val("/plc2/run", i % 2 === 0)], { historical: false }))
        seqs.push(dec(m).seq!);
    expect(seqs).toHaveLength(303);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBe((seqs[i - 1]! + 1) % 256);
  });

  test("payloads-propertyset-quality-value-value: bad → is_null + Quality 0 (+ Reason); uncertain → Quality 500; good again → Quality 192", () => {
    const s = setup();
    s.connect();
    const [m] = s.node.encode(
      [
        val("/plc1/speed", null, T0 + 1, { quality: "bad", reason: "timeout" }),
        val("/plc1/speed", 7, T0 + 2, { quality: "uncertain", reason: "stale" }),
        val("/plc1/speed", 8, T0 + 3),
        val("/plc1/speed", 9, T0 + 4),
      ],
      { historical: false },
    );
    const ms = dec(m!).metrics;
    expect(ms[0]).toMatchObject({ isNull: true, timestamp: T0 + 1 });
    expect(ms[0]!.value).toBeUndefined();
    expect(ms[0]!.properties).toEqual({
      keys: ["Quality", "Reason"],
      values: [
        { type: DataType.Int32, value: 0 },
        { type: DataType.String, value: "timeout" },
      ],
    });
    expect(ms[1]!.value).toBe(7);
    expect(ms[1]!.properties!.values[0]).toEqual({ type: DataType.Int32, value: 500 });
    expect(ms[2]!.value).toBe(8);
    expect(ms[2]!.properties).toEqual({
      keys: ["Quality"],
      values: [{ type: DataType.Int32, value: 192 }],
    });
    expect(ms[3]!.properties).toBeUndefined();
  });

  test("a value that does not fit its datatype is published bad (type_mismatch), not dropped", () => {
    const s = setup();
    s.connect();
    const [m] = s.node.encode([val("/plc1/speed", -5)], { historical: false });
    const x = dec(m!).metrics[0]!;
    expect(x.isNull).toBe(true);
    expect(x.properties!.values[1]).toEqual({ type: DataType.String, value: "type_mismatch" });
  });

  test("store-and-forward replay: is_historical = true with the original timestamps, oldest first", () => {
    const s = setup();
    s.connect();
    s.advance(60_000);
    const [m] = s.node.encode([val("/plc1/speed", 1, T0 + 5), val("/plc1/speed", 2, T0 + 6)], {
      historical: true,
    });
    const p = dec(m!);
    expect(p.metrics.map((x) => [x.isHistorical, x.timestamp, x.value])).toEqual([
      [true, T0 + 5, 1],
      [true, T0 + 6, 2],
    ]);
    expect(p.timestamp).toBe(T0 + 61_000);
  });

  test("updates of tags not in the birth are not published (the next rebirth adds them)", () => {
    const s = setup();
    s.connect();
    s.addTag(tag("plc1", "late", "uint16"));
    expect(s.node.encode([val("/plc1/late", 1)], { historical: false })).toEqual([]);
  });

  test("a batch of one device larger than 1000 metrics is split over several DDATA", () => {
    const s = setup();
    s.connect();
    const ups = Array.from({ length: 2500 }, (_, i) => val("/plc1/speed", i, T0 + i));
    const msgs = s.node.encode(ups, { historical: false });
    expect(msgs.map((m) => dec(m).metrics.length)).toEqual([1000, 1000, 500]);
  });
});

describe("Sparkplug edge node: devices come and go", () => {
  test("operational-behavior-device-ddeath: DDEATH (with seq) when a connection goes down, DBIRTH when it returns", () => {
    const s = setup();
    s.connect();
    const down: ConnState = {
      connId: "plc1",
      appState: "CONNECT",
      up: false,
      reason: "timeout",
      ts: T0 + 5,
    };
    const d = s.node.connChanged(down, s.conns.get("plc1"));
    expect(d.map((m) => m.topic)).toEqual(["spBv1.0/plant/DDEATH/gw1/plc1"]);
    expect([d[0]!.qos, d[0]!.retain]).toEqual([0, false]);
    expect(dec(d[0]!)).toMatchObject({ seq: 3, metrics: [] });
    // no DDATA for a dead device
    s.conns.set("plc1", down);
    expect(s.node.encode([val("/plc1/speed", 1)], { historical: false })).toEqual([]);
    // historical updates of the dead device cannot be published: counted
    expect(s.node.encode([val("/plc1/speed", 1)], { historical: true })).toEqual([]);
    expect(s.node.droppedHistorical).toBe(1);
    // a second "down" is not a second DDEATH
    expect(s.node.connChanged(down, down)).toEqual([]);
    const up: ConnState = { connId: "plc1", appState: "EXECUTE", up: true, ts: T0 + 9 };
    s.conns.set("plc1", up);
    const b = s.node.connChanged(up, down);
    expect(kinds(b)).toEqual(["DBIRTH"]);
    expect(dec(b[0]!).seq).toBe(4);
  });

  test("a device born late: its first update after the link came up brings its DBIRTH first", () => {
    const s = setup();
    s.conns.set("plc2", { connId: "plc2", appState: "CONNECT", up: false, ts: T0 });
    s.connect();
    s.conns.set("plc2", { connId: "plc2", appState: "EXECUTE", up: true, ts: T0 + 1 });
    expect(kinds(s.node.encode([val("/plc2/run", true)], { historical: false }))).toEqual([
      "DBIRTH",
      "DDATA",
    ]);
  });
});

describe("Sparkplug edge node: commands", () => {
  const rebirth = (value: boolean) =>
    cmd("spBv1.0/plant/NCMD/gw1", [
      { name: "Node Control/Rebirth", datatype: DataType.Boolean, value },
    ]);

  test("operational-behavior-data-commands-rebirth-action-3: NCMD Rebirth → NBIRTH (same bdSeq, seq 0) and every DBIRTH", () => {
    const s = setup({}, memoryBdSeqStore(6));
    s.connect();
    s.node.encode([val("/plc1/speed", 1)], { historical: false });
    const actions = s.node.incoming(rebirth(true));
    expect(actions).toHaveLength(1);
    const a = actions[0] as Extract<Action, { kind: "publish" }>;
    expect(a.kind).toBe("publish");
    expect(kinds(a.messages)).toEqual(["NBIRTH", "DBIRTH", "DBIRTH"]);
    const nb = dec(a.messages[0]!);
    expect(nb.seq).toBe(0);
    expect(byName(nb, "bdSeq").value).toBe(7n);
  });

  test("operational-behavior-data-commands-ncmd-rebirth-value: Rebirth false, or an unknown node metric, is refused", () => {
    const s = setup();
    s.connect();
    expect(s.node.incoming(rebirth(false)).map((a) => a.kind)).toEqual(["refuse"]);
    const other = s.node.incoming(
      cmd("spBv1.0/plant/NCMD/gw1", [
        { name: "Node Control/Reboot", datatype: DataType.Boolean, value: true },
      ]),
    );
    expect(other).toEqual([
      {
        kind: "refuse",
        reason: "unknown node metric Node Control/Reboot",
        origin: "sparkplug spBv1.0/plant/NCMD/gw1",
      },
    ]);
    expect(
      s.node.incoming({
        topic: "spBv1.0/plant/NCMD/gw1",
        payload: new Uint8Array([0x12, 0xff]),
        retain: false,
      })[0],
    ).toMatchObject({ kind: "refuse", reason: expect.stringMatching(/not a Sparkplug B payload/) });
  });

  test("operational-behavior-data-commands-dcmd-metric-value: DCMD by alias → a TagBus write of the typed value", () => {
    const s = setup({ writes_enabled: true });
    const birth = s.connect().step.publish.map(dec);
    const alias = byName(birth[1]!, "count").alias!;
    const actions = s.node.incoming(
      cmd("spBv1.0/plant/DCMD/gw1/plc1", [
        { alias, valueType: DataType.Int64, value: -(2n ** 62n) },
      ]),
    );
    expect(actions).toEqual([
      {
        kind: "write",
        path: "/plc1/count",
        value: "-4611686018427387904",
        reply: {
          origin: "sparkplug spBv1.0/plant/DCMD/gw1/plc1",
          context: { topic: "spBv1.0/plant/DCMD/gw1/plc1", metric: "count" },
        },
      },
    ]);
    const byNameCmd = s.node.incoming(
      cmd("spBv1.0/plant/DCMD/gw1/plc2", [
        { name: "run", datatype: DataType.Boolean, value: false },
      ]),
    );
    expect(byNameCmd[0]).toMatchObject({ kind: "write", path: "/plc2/run", value: false });
  });

  test("DCMD refused: writes disabled, read-only metric, unknown metric, wrong type, unknown device", () => {
    const off = setup();
    const b0 = off.connect().step.publish.map(dec);
    const countAlias = byName(b0[1]!, "count").alias!;
    expect(
      off.node.incoming(
        cmd("spBv1.0/plant/DCMD/gw1/plc1", [
          { alias: countAlias, valueType: DataType.Int64, value: 1n },
        ]),
      ),
    ).toMatchObject([{ kind: "refuse", reason: expect.stringMatching(/disabled/) }]);

    const s = setup({ writes_enabled: true });
    const birth = s.connect().step.publish.map(dec);
    const a = (n: string) => byName(birth[1]!, n).alias!;
    const reasons = s.node
      .incoming(
        cmd("spBv1.0/plant/DCMD/gw1/plc1", [
          { alias: a("speed"), valueType: DataType.UInt32, value: 5 }, // read-only
          { alias: 999, valueType: DataType.UInt32, value: 5 }, // unknown
          { alias: a("temp"), valueType: DataType.Float, value: 5 }, // Double expected, Float sent
          { alias: a("count"), valueType: DataType.UInt32, value: 5 }, // Int64 expected, int_value sent
        ]),
      )
      .map((x) => (x.kind === "refuse" ? x.reason : x.kind));
    expect(reasons).toEqual([
      "metric speed is read-only",
      "unknown metric alias 999 of device plc1",
      expect.stringMatching(/^metric temp is a Double: .*travels in double_value, got float_value/),
      expect.stringMatching(/^metric count is a Int64: .*travels in long_value, got int_value/),
    ]);
    expect(
      s.node.incoming(
        cmd("spBv1.0/plant/DCMD/gw1/nosuch", [
          { name: "x", datatype: DataType.Boolean, value: true },
        ]),
      ),
    ).toMatchObject([{ kind: "refuse", reason: "device nosuch is not online" }]);
  });
});

describe("Sparkplug edge node: primary host STATE", () => {
  const state = (online: boolean, timestamp: number, host = "scada") => ({
    topic: `spBv1.0/STATE/${host}`,
    payload: new TextEncoder().encode(JSON.stringify({ online, timestamp })),
    retain: true,
  });

  test("message-flow-edge-node-birth-publish-phid-wait: no births until the primary host is online", () => {
    const s = setup({ primary_host_id: "scada" });
    const { step } = s.connect();
    expect(step).toEqual({ publish: [], gate: "held" });
    const [open] = s.node.incoming(state(true, 100));
    expect(open!.kind).toBe("open");
    expect(kinds((open as Extract<Action, { kind: "open" }>).publish)).toEqual([
      "NBIRTH",
      "DBIRTH",
      "DBIRTH",
    ]);
  });

  test("a retained online STATE that arrives before online(): births at online()", () => {
    const s = setup({ primary_host_id: "scada" });
    s.node.beginConnect();
    expect(s.node.incoming(state(true, 100))).toEqual([]);
    expect(s.node.online().gate).toBe("open");
  });

  test("message-flow-edge-node-birth-publish-phid-wait-id: a STATE of another host is refused", () => {
    const s = setup({ primary_host_id: "scada" });
    s.connect();
    expect(s.node.incoming(state(true, 100, "other"))).toMatchObject([{ kind: "refuse" }]);
  });

  test("message-flow-edge-node-birth-publish-phid-offline: a valid offline STATE stops data and reconnects; births after online again", () => {
    const s = setup({ primary_host_id: "scada" });
    s.connect();
    s.node.incoming(state(true, 100));
    expect(s.node.incoming(state(false, 100)).map((a) => a.kind)).toEqual(["hold", "reconnect"]);
    expect(s.node.encode([val("/plc1/speed", 1)], { historical: false })).toEqual([]);
    expect(kinds(s.node.goodbye())).toEqual(["NDEATH"]);
    s.node.offline();
    // the new session: held by the retained offline STATE until online again
    s.connect();
    expect(s.node.incoming(state(false, 100))).toEqual([]);
    const [open] = s.node.incoming(state(true, 200));
    expect(open!.kind).toBe("open");
  });

  test("operational-behavior-edge-node-termination-host-offline-timestamp: an offline STATE older than the last online one is ignored", () => {
    const s = setup({ primary_host_id: "scada" });
    s.connect();
    s.node.incoming(state(true, 500));
    // ignored, and logged as a refusal (who: the topic; what: the timestamps)
    expect(s.node.incoming(state(false, 499))).toEqual([
      {
        kind: "refuse",
        reason: "STATE older than the last one seen (timestamp 499 < 500): ignored",
        origin: "sparkplug spBv1.0/STATE/scada",
      },
    ]);
    expect(s.node.encode([val("/plc1/speed", 1)], { historical: false })).toHaveLength(1);
  });

  test("a malformed STATE is refused", () => {
    const s = setup({ primary_host_id: "scada" });
    s.connect();
    expect(
      s.node.incoming({
        topic: "spBv1.0/STATE/scada",
        payload: new TextEncoder().encode("ONLINE"),
        retain: true,
      }),
    ).toMatchObject([{ kind: "refuse", reason: "STATE payload is not JSON" }]);
    expect(
      s.node.incoming({
        topic: "spBv1.0/STATE/scada",
        payload: new TextEncoder().encode('{"online":"yes"}'),
        retain: true,
      }),
    ).toMatchObject([{ kind: "refuse" }]);
  });

  test("NCMD rebirth while waiting for the primary host is refused (no births allowed yet)", () => {
    const s = setup({ primary_host_id: "scada" });
    s.connect();
    const r = s.node.incoming(
      cmd("spBv1.0/plant/NCMD/gw1", [
        { name: "Node Control/Rebirth", datatype: DataType.Boolean, value: true },
      ]),
    );
    expect(r).toMatchObject([
      { kind: "refuse", reason: "rebirth while waiting for the primary host" },
    ]);
  });
});

describe("Sparkplug edge node: reload, gaps, goodbye", () => {
  test("a hot reload of the tag selection is a rebirth with the same bdSeq; kept tags keep their alias", () => {
    const s = setup({}, memoryBdSeqStore(2));
    const birth = s.connect().step.publish.map(dec);
    const speedAlias = byName(birth[1]!, "speed").alias;
    s.tags.delete("/plc2/run");
    s.conns.delete("plc2");
    s.addTag(tag("plc1", "extra", "float64"), val("/plc1/extra", 1.25));
    const step = s.node.reload({ ...s.ctx.north, tag_selection: "/plc1/*" });
    expect(step.gate).toBe("open");
    expect(kinds(step.publish)).toEqual(["NBIRTH", "DBIRTH"]);
    const nb = dec(step.publish[0]!);
    expect([nb.seq, byName(nb, "bdSeq").value]).toEqual([0, 3n]);
    const db = dec(step.publish[1]!);
    expect(byName(db, "speed").alias).toBe(speedAlias);
    expect(byName(db, "extra")).toMatchObject({ datatype: DataType.Double, value: 1.25 });
    const allAliases = [...birth[1]!.metrics, ...birth[2]!.metrics, ...db.metrics].map(
      (m) => `${m.name}:${m.alias}`,
    );
    expect(new Set(allAliases.map((x) => x.split(":")[1])).size).toBe(new Set(allAliases).size);
  });

  test("reload while not connected publishes nothing (online() will birth)", () => {
    const s = setup();
    expect(s.node.reload(s.ctx.north)).toEqual({ publish: [], gate: "held" });
  });

  test("a TagBus gap is signalled upstream as a rebirth (current values for every metric)", () => {
    const s = setup();
    s.connect();
    const step = s.node.busGap({ producer: "plc1", dropped: 5, reason: "trimmed", ts: T0 });
    expect(kinds(step.publish)).toEqual(["NBIRTH", "DBIRTH", "DBIRTH"]);
  });

  test("operational-behavior-edge-node-intentional-disconnect-ndeath: goodbye is NDEATH with this CONNECT's bdSeq", () => {
    const s = setup({}, memoryBdSeqStore(9));
    s.connect();
    const [g] = s.node.goodbye();
    expect([g!.topic, g!.qos, g!.retain]).toEqual(["spBv1.0/plant/NDEATH/gw1", 1, false]);
    const p = dec(g!);
    expect(p.seq).toBeUndefined();
    expect(p.metrics).toMatchObject([{ name: "bdSeq", value: 10n }]);
  });

  test("after offline() the next session starts again at NBIRTH seq 0", () => {
    const s = setup();
    s.connect();
    s.node.encode([val("/plc1/speed", 1)], { historical: false });
    s.node.offline();
    expect(s.node.encode([val("/plc1/speed", 1)], { historical: false })).toEqual([]);
    expect(dec(s.connect().step.publish[0]!).seq).toBe(0);
  });
});
