/**
 * Issue 13, test 5 (and the rebirth part of test 6), end to end: a real Modbus simulator, a
 * real `ne-intf`, real Redis, a real mosquitto and a real `ne-north` (kind sparkplug). The
 * messages are checked by an independent decoder built here from the vendored
 * sparkplug_b.proto with protobufjs directly, not by src/north/sparkplug/codec.ts.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import Long from "long";
import mqtt, { type MqttClient } from "mqtt";
import protobuf from "protobufjs";
import type { TagValue } from "../../../src/core/tag-value.ts";
import { type ModbusSim, startModbusSim } from "../../../src/sim/modbus/index.ts";
import { openStore } from "../../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../../src/tagbus/index.ts";
import { waitFor } from "../../intf/harness.ts";
import { Mosquitto } from "../../support/mosquitto.ts";
import { RedisServer } from "../../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../../support/tmp.ts";

// ---- the independent decoder ---------------------------------------------------------------
protobuf.util.Long = Long;
protobuf.configure();
const PROTO = join(import.meta.dir, "../../../src/north/sparkplug/sparkplug_b.proto");
const PayloadT = protobuf
  .parse(readFileSync(PROTO, "utf8"), { keepCase: true })
  .root.lookupType("org.eclipse.tahu.protobuf.Payload");

/** A metric as protobufjs gives it: 64-bit fields as decimal strings, unset fields absent. */
interface RawMetric {
  name?: string;
  alias?: string;
  timestamp?: string;
  datatype?: number;
  is_historical?: boolean;
  is_null?: boolean;
  int_value?: number;
  long_value?: string;
  float_value?: number;
  double_value?: number;
  boolean_value?: boolean;
  string_value?: string;
  properties?: {
    keys?: string[];
    values?: { type?: number; int_value?: number; string_value?: string }[];
  };
}
interface RawPayload {
  timestamp?: string;
  seq?: string;
  metrics?: RawMetric[];
}
const decode = (b: Uint8Array): RawPayload =>
  PayloadT.toObject(PayloadT.decode(b), { longs: String, defaults: false }) as RawPayload;
const encode = (o: object): Uint8Array => PayloadT.encode(PayloadT.fromObject(o)).finish();

// ---- the plant ------------------------------------------------------------------------------
const BUN = process.execPath;
const ROOT = join(import.meta.dir, "../../..");
const PERIOD_MS = 250;
const redis = new RedisServer();
const broker = new Mosquitto();
const dir = tempDir("ne-sp-e2e-");
const db = join(dir.path, "sot.db");
const prefix = uniquePrefix("sp");
let sim: ModbusSim;
let simPort = 0;
let bus: RedisTagBus;
let intf: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let north: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let northLog = "";
let host: MqttClient;
/** Every good update of /plc1/ramp as the TagBus carried it (what the host must get). */
const rampOnBus: TagValue[] = [];
/** Set while the test host should say STATE online again after its own reconnect. */
let hostStateOnReconnect = false;

interface Seen {
  topic: string;
  type: string;
  device?: string;
  p: RawPayload;
  at: number;
  retain: boolean;
  /** The QoS as delivered: the publisher's, since the subscription is QoS 1. */
  qos: number;
}
const seen: Seen[] = [];
const since = (i: number) => seen.slice(i);
const ofType = (list: Seen[], type: string, device?: string) =>
  list.filter((s) => s.type === type && (device === undefined || s.device === device));
const metric = (p: RawPayload, name: string) => p.metrics?.find((m) => m.name === name);

const env = () => ({
  ...process.env,
  NE_DB: db,
  NE_REDIS_URL: redis.url,
  NE_REDIS_PREFIX: prefix,
  NE_DATA_DIR: dir.path,
  NE_LOG_LEVEL: "info",
});

function spawnApp(main: string, arg: string): Subprocess<"ignore", "pipe", "pipe"> {
  const p = Bun.spawn([BUN, "run", join(ROOT, main), arg], {
    env: env(),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  return p;
}

async function startNorth(): Promise<void> {
  north = spawnApp("src/north/main.ts", "--north-id=sp1");
  const dec = new TextDecoder();
  for (const s of [north.stdout, north.stderr])
    void (async () => {
      for await (const c of s) northLog += dec.decode(c);
    })().catch(() => {});
}

async function startSim(): Promise<void> {
  sim = await startModbusSim({
    port: simPort,
    map: {
      tick_ms: 50,
      holding_registers: {
        "0": 1234, // level uint16
        "1": 65531, // delta int16 = -5
        "2": [65535, 65535], // count32 uint32 = 4294967295
        "4": [32768, 0, 0, 0], // big_neg int64 = -2^63
        "8": [32, 0, 0, 1], // big_pos uint64 = 2^53 + 1
        "14": 5, // setpoint uint16, read-write
      },
      coils: { "0": [true] },
      entries: [
        {
          name: "temp",
          table: "holding_registers",
          address: 12,
          data_type: "float32",
          value: 21.5,
        },
        {
          name: "ramp",
          table: "holding_registers",
          address: 15,
          data_type: "uint16",
          generator: { type: "counter", start: 0, step: 1, every_ms: 100, max: 60000 },
        },
      ],
    },
  });
  simPort = sim.port;
}

const STATE_TOPIC = "spBv1.0/STATE/scada";
async function publishState(online: boolean, timestamp: number): Promise<void> {
  await host.publishAsync(STATE_TOPIC, JSON.stringify({ online, timestamp }), {
    qos: 1,
    retain: true,
  });
}

beforeAll(async () => {
  await redis.start();
  await broker.start();
  await startSim();
  const store = openStore(db);
  const hr = (tag_name: string, address: number, data_type: string, extra = {}) => ({
    conn_id: "plc1",
    tag_name,
    block_id: "hr",
    address,
    data_type,
    ...extra,
  });
  store.apply({
    origin: "test",
    put: [
      {
        connection: {
          conn_id: "plc1",
          protocol: "modbus-tcp",
          host: "127.0.0.1",
          port: simPort,
          unit_id: 1,
          timeout_ms: 200,
          backoff_initial_ms: 50,
          backoff_max_ms: 200,
        },
        blocks: [
          {
            conn_id: "plc1",
            block_id: "hr",
            table: "holding_registers",
            address: 0,
            count: 16,
            period_ms: PERIOD_MS,
          },
          {
            conn_id: "plc1",
            block_id: "co",
            table: "coils",
            address: 0,
            count: 1,
            period_ms: PERIOD_MS,
          },
        ],
        tags: [
          hr("level", 0, "uint16"),
          hr("delta", 1, "int16"),
          hr("count32", 2, "uint32"),
          hr("big_neg", 4, "int64"),
          hr("big_pos", 8, "uint64"),
          hr("temp", 12, "float32"),
          hr("setpoint", 14, "uint16", { access: "read-write" }),
          hr("ramp", 15, "uint16"),
          { conn_id: "plc1", tag_name: "run", block_id: "co", address: 0, data_type: "bool" },
        ],
      },
    ],
    putNorthbounds: [
      {
        north_id: "sp1",
        kind: "sparkplug",
        broker_urls: broker.url,
        group_id: "plant",
        edge_node_id: "gw1",
        primary_host_id: "scada",
        writes_enabled: true,
        keepalive_s: 5,
      },
    ],
  });
  store.close();
  bus = await createRedisTagBus({ url: redis.url, prefix, producer: "test" });
  await bus.subscribe(["/plc1/ramp"], (e) => {
    if (e.kind === "value" && e.value.quality === "good") rampOnBus.push(e.value);
  });

  host = await mqtt.connectAsync(broker.url, {
    clientId: "scada-host",
    clean: true,
    reconnectPeriod: 200,
  });
  host.on("message", (topic, payload, packet) => {
    const parts = topic.split("/");
    if (parts[1] === "STATE") return;
    seen.push({
      topic,
      type: parts[2]!,
      device: parts[4],
      p: decode(payload),
      at: Date.now(),
      retain: packet.retain,
      qos: packet.qos,
    });
  });
  await host.subscribeAsync("spBv1.0/plant/#", { qos: 1 });
  await publishState(true, Date.now());
  host.on("connect", () => {
    // MQTT.js has re-sent the SUBSCRIBE before 'connect'; the broker handles it before this PUBLISH.
    if (hostStateOnReconnect) void publishState(true, Date.now()).catch(() => {});
  });

  intf = spawnApp("src/intf/main.ts", "--conn-id=plc1");
  await startNorth();
}, 60_000);

afterAll(async () => {
  north?.kill("SIGKILL");
  intf?.kill("SIGTERM");
  await intf?.exited;
  await host?.endAsync(true);
  await bus?.close(500);
  await sim?.stop();
  await broker.shutdown();
  await redis.shutdown();
  dir.cleanup();
});

/** Every node message (not NDEATH) after each NBIRTH has seq = previous + 1 mod 256. */
function expectSeqContinuity(list: Seen[]): void {
  let prev: number | undefined;
  for (const s of list) {
    if (s.type === "NCMD" || s.type === "DCMD") continue; // the host's, not the node's
    if (s.type === "NDEATH") {
      expect(s.p.seq).toBeUndefined(); // topics-ndeath-seq
      continue;
    }
    const seq = Number(s.p.seq);
    if (s.type === "NBIRTH") expect(seq).toBe(0);
    else if (prev !== undefined)
      expect({ topic: s.topic, seq }).toEqual({ topic: s.topic, seq: (prev + 1) % 256 });
    prev = seq;
  }
}

const births0 = { nbirth: -1 };

describe("Sparkplug B edge node end to end (issue 13 test 5)", () => {
  test("topics-nbirth-metrics, topics-dbirth-metrics: NBIRTH and DBIRTH carry every metric with datatype and value (independent decoder)", async () => {
    await waitFor(() => ofType(seen, "DBIRTH", "plc1").length > 0, "NBIRTH + DBIRTH", 30_000);
    births0.nbirth = seen.findIndex((s) => s.type === "NBIRTH");
    const nb = seen[births0.nbirth]!;
    expect(nb.topic).toBe("spBv1.0/plant/NBIRTH/gw1");
    expect(nb.retain).toBe(false);
    expect(nb.p.seq).toBe("0");
    expect(metric(nb.p, "bdSeq")).toMatchObject({ datatype: 4 });
    expect(metric(nb.p, "Node Control/Rebirth")).toMatchObject({
      datatype: 11,
      boolean_value: false,
    });
    expect(metric(nb.p, "Node Control/Rebirth")!.alias).toBeUndefined();

    const db = ofType(seen, "DBIRTH", "plc1")[0]!;
    const byName: Record<string, RawMetric> = Object.fromEntries(
      db.p.metrics!.map((m) => [m.name!, m]),
    );
    expect(Object.keys(byName).sort()).toEqual(
      ["big_neg", "big_pos", "count32", "delta", "level", "ramp", "run", "setpoint", "temp"].sort(),
    );
    expect(
      Object.values(byName).every((m) => m.alias !== undefined && m.timestamp !== undefined),
    ).toBe(true);
    expect(new Set(Object.values(byName).map((m) => m.alias)).size).toBe(9);
    expect(Object.fromEntries(Object.entries(byName).map(([k, m]) => [k, m.datatype]))).toEqual({
      level: 6,
      delta: 2,
      count32: 7,
      big_neg: 4,
      big_pos: 8,
      temp: 9,
      setpoint: 6,
      ramp: 6,
      run: 11,
    });
    // Values: from the DBIRTH when it had them, else from the first DDATA.
    // The DBIRTH may come before the first poll of a block (then its metrics are is_null):
    // a metric's value is then its first non-null DDATA.
    const firstValueOf = (name: string): RawMetric | undefined => {
      const b = byName[name]!;
      if (!b.is_null) return b;
      return ofType(seen, "DDATA", "plc1")
        .flatMap((x) => x.p.metrics!)
        .find((m) => m.alias === b.alias && !m.is_null);
    };
    await waitFor(
      () => Object.keys(byName).every((n) => firstValueOf(n) !== undefined),
      "a value of every metric",
      20_000,
    );
    const value = (name: string): RawMetric => firstValueOf(name)!;
    expect(value("level").int_value).toBe(1234);
    expect(value("delta").int_value).toBe(4294967291); // -5 as 32-bit two's complement
    expect(value("count32").int_value).toBe(4294967295);
    expect(value("big_neg").long_value).toBe("9223372036854775808"); // -2^63 as uint64
    expect(value("big_pos").long_value).toBe("9007199254740993");
    expect(value("temp").float_value).toBe(21.5);
    expect(value("run").boolean_value).toBe(true);
  }, 60_000);

  test("payloads-alias-data-cmd-requirement: DDATA carries aliases only, no names or datatypes", async () => {
    const i = seen.length;
    await waitFor(() => ofType(since(i), "DDATA", "plc1").length >= 3, "DDATA", 20_000);
    const dd = ofType(since(i), "DDATA", "plc1");
    for (const d of dd) {
      expect(d.retain).toBe(false);
      for (const m of d.p.metrics!) {
        expect(m.name).toBeUndefined();
        expect(m.datatype).toBeUndefined();
        expect(m.alias).toBeDefined();
        expect(m.timestamp).toBeDefined();
      }
    }
  }, 30_000);

  test("operational-behavior-data-commands-dcmd-metric-value: a DCMD write reaches the simulator's register; a refused DCMD changes nothing", async () => {
    const db = ofType(seen, "DBIRTH", "plc1").at(-1)!;
    const alias = (n: string) => metric(db.p, n)!.alias!;
    await host.publishAsync(
      "spBv1.0/plant/DCMD/gw1/plc1",
      Buffer.from(
        encode({ timestamp: Date.now(), metrics: [{ alias: alias("setpoint"), int_value: 777 }] }),
      ),
    );
    await waitFor(
      () => sim.registers.holding_registers[14] === 777,
      "setpoint = 777 in the simulator",
      20_000,
    );
    // refused: read-only metric, and a Float for a UInt16
    await host.publishAsync(
      "spBv1.0/plant/DCMD/gw1/plc1",
      Buffer.from(
        encode({
          timestamp: Date.now(),
          metrics: [
            { alias: alias("level"), int_value: 1 },
            { alias: alias("setpoint"), float_value: 1.5 },
          ],
        }),
      ),
    );
    await waitFor(
      () => /read-only/.test(northLog) && /UInt16/.test(northLog),
      "the refusals in the log",
      20_000,
    );
    await Bun.sleep(3 * PERIOD_MS);
    expect(sim.registers.holding_registers[0]).toBe(1234);
    expect(sim.registers.holding_registers[14]).toBe(777);
  }, 30_000);

  test("operational-behavior-data-commands-rebirth-action-3: NCMD Node Control/Rebirth → NBIRTH (seq 0, same bdSeq) and DBIRTH", async () => {
    const bdSeq = metric(seen[births0.nbirth]!.p, "bdSeq")!.long_value;
    const i = seen.length;
    await host.publishAsync(
      "spBv1.0/plant/NCMD/gw1",
      Buffer.from(
        encode({
          timestamp: Date.now(),
          metrics: [{ name: "Node Control/Rebirth", datatype: 11, boolean_value: true }],
        }),
      ),
    );
    await waitFor(() => ofType(since(i), "DBIRTH", "plc1").length > 0, "rebirth", 20_000);
    const nb = ofType(since(i), "NBIRTH")[0]!;
    expect(nb.p.seq).toBe("0");
    expect(metric(nb.p, "bdSeq")!.long_value).toBe(bdSeq);
  }, 30_000);

  test("operational-behavior-device-ddeath: DDEATH within 2 block periods of the device link dropping; DBIRTH when it returns", async () => {
    const i = seen.length;
    const t0 = Date.now();
    await sim.stop();
    await waitFor(() => ofType(since(i), "DDEATH", "plc1").length > 0, "DDEATH", 20_000);
    const dd = ofType(since(i), "DDEATH", "plc1")[0]!;
    // DDEATH's payload timestamp is when the edge node saw the link go (Sparkplug 3.0 §5.7).
    expect(Number(dd.p.timestamp) - t0).toBeLessThanOrEqual(2 * PERIOD_MS);
    const j = seen.length;
    await startSim();
    await waitFor(
      () => ofType(since(j), "DBIRTH", "plc1").length > 0,
      "DBIRTH after the link returns",
      30_000,
    );
  }, 60_000);

  test("a hot reload of the tag selection is a rebirth on the same MQTT session (test 6)", async () => {
    const i = seen.length;
    const store = openStore(db);
    const nb = store.getNorthbound("sp1")!;
    store.apply({
      origin: "test",
      putNorthbounds: [{ ...nb, tag_selection: "/plc1/level /plc1/ramp" }],
    });
    store.close();
    await bus.publish([
      { path: "/system/sp1/config_reload", value: Date.now(), quality: "good", ts: Date.now() },
    ]);
    await waitFor(
      () => ofType(since(i), "DBIRTH", "plc1").length > 0,
      "rebirth after reload",
      20_000,
    );
    const nbirth = ofType(since(i), "NBIRTH")[0]!;
    const db2 = ofType(since(i), "DBIRTH", "plc1")[0]!;
    expect(db2.p.metrics!.map((m) => m.name).sort()).toEqual(["level", "ramp"]);
    // the same MQTT session: no NDEATH in between, and the same bdSeq (bdSeq is +1 per CONNECT)
    expect(ofType(since(i), "NDEATH")).toEqual([]);
    expect(metric(nbirth.p, "bdSeq")!.long_value).toBe(
      metric(seen[births0.nbirth]!.p, "bdSeq")!.long_value,
    );
  }, 30_000);

  test("message-flow-edge-node-birth-publish-phid-offline: primary host STATE offline → NDEATH and no data → online → births, then is_historical replay", async () => {
    const i = seen.length;
    const tOff = Date.now();
    await publishState(false, tOff);
    await waitFor(() => ofType(since(i), "NDEATH").length > 0, "NDEATH on host offline", 20_000);
    const j = seen.length;
    await Bun.sleep(2000); // the ramp keeps counting in the simulator
    expect(since(j).filter((s) => s.type !== "NDEATH")).toEqual([]);
    const tOn = Date.now();
    await publishState(true, tOn);
    await waitFor(
      () =>
        ofType(since(j), "DDATA", "plc1").some((d) => d.p.metrics!.some((m) => m.is_historical)),
      "historical DDATA",
      30_000,
    );
    const after = since(j).filter((s) => s.type !== "NDEATH");
    expect(after[0]!.type).toBe("NBIRTH");
    expect(after[1]!.type).toBe("DBIRTH");
    const hist = ofType(after, "DDATA", "plc1")
      .flatMap((d) => d.p.metrics!)
      .filter((m) => m.is_historical);
    const ts = hist.map((m) => Number(m.timestamp));
    // original timestamps, from the time the host was offline, oldest first
    expect(ts.some((t) => t >= tOff && t < tOn)).toBe(true);
    expect([...ts].sort((a, b) => a - b)).toEqual(ts);
    // nothing lost: every ramp update the bus carried while the host was offline reached the
    // host (historical or, the last one, in the DBIRTH/DDATA after it)
    const dbirth = after[1]!;
    const rampAlias = metric(dbirth.p, "ramp")!.alias;
    const atHost = new Set(
      after
        .flatMap((x) => x.p.metrics!)
        .filter((m) => m.alias === rampAlias && !m.is_null)
        .map((m) => `${m.timestamp}:${m.int_value}`),
    );
    const offline = rampOnBus.filter((v) => v.ts > tOff + PERIOD_MS && v.ts < tOn);
    expect(offline.length).toBeGreaterThan(3);
    expect(offline.map((v) => `${v.ts}:${v.value}`).filter((k) => !atHost.has(k))).toEqual([]);
  }, 60_000);

  test("store-and-forward at QoS 0: broker killed -9 and restarted → every update reaches the host, replayed ones is_historical", async () => {
    const i = seen.length;
    const tKill = Date.now();
    await broker.stop(true);
    await Bun.sleep(1500); // the ramp keeps counting
    const tBack = Date.now();
    // The restarted broker has no retained STATE; the host says online again once it is back
    // and subscribed (hostStateOnReconnect).
    hostStateOnReconnect = true;
    await broker.start();
    await waitFor(
      () => ofType(since(i), "NBIRTH").length > 0,
      "births after the broker returns",
      30_000,
    );
    const rampAlias = metric(
      ofType(since(i), "DBIRTH", "plc1")[0]?.p ?? { metrics: [] },
      "ramp",
    )?.alias;
    expect(rampAlias).toBeDefined();
    const atHost = () =>
      new Set(
        seen
          .filter((x) => x.type === "DDATA" || x.type === "DBIRTH")
          .flatMap((x) => x.p.metrics!)
          .filter((m) => m.alias === rampAlias && !m.is_null)
          .map((m) => `${m.timestamp}:${m.int_value}`),
      );
    // every ramp update of the 3 s before the kill and of the outage (what was in flight at
    // QoS 0 when the broker died, and what was produced while it was away)
    const expected = () =>
      rampOnBus
        .filter((v) => v.ts >= tKill - 3000 && v.ts < tBack)
        .map((v) => `${v.ts}:${v.value}`);
    await waitFor(
      () => expected().every((k) => atHost().has(k)),
      "every update at the host",
      30_000,
    ).catch(() => {});
    expect(expected().length).toBeGreaterThan(5);
    expect(expected().filter((k) => !atHost().has(k))).toEqual([]);
    const hist = ofType(since(i), "DDATA", "plc1")
      .flatMap((x) => x.p.metrics!)
      .filter((m) => m.alias === rampAlias && m.is_historical);
    expect(hist.some((m) => Number(m.timestamp) >= tKill && Number(m.timestamp) < tBack)).toBe(
      true,
    );
    hostStateOnReconnect = false;
  }, 60_000);

  test("operational-behavior-device-ddeath: DDEATH when the connection's app stops (SIGTERM of ne-intf)", async () => {
    const i = seen.length;
    intf!.kill("SIGTERM");
    await intf!.exited;
    await waitFor(
      () => ofType(since(i), "DDEATH", "plc1").length > 0,
      "DDEATH on app stop",
      20_000,
    );
  }, 30_000);

  test("payloads-ndeath-bdseq, payloads-sequence-num-incrementing: ne-north killed -9 → the Will NDEATH has the bdSeq of the NBIRTH; seq continuous mod 256", async () => {
    const lastBirth = ofType(seen, "NBIRTH").at(-1)!;
    const i = seen.length;
    north!.kill("SIGKILL");
    await north!.exited;
    await waitFor(() => ofType(since(i), "NDEATH").length > 0, "the Will", 30_000);
    const will = ofType(since(i), "NDEATH")[0]!;
    expect(will.retain).toBe(false);
    expect(will.p.metrics!.map((m) => m.name)).toEqual(["bdSeq"]);
    expect(will.p.metrics![0]!.long_value).toBe(metric(lastBirth.p, "bdSeq")!.long_value);
    // payloads-ndeath-will-message-qos: the Will arrives at QoS 1; births and data at QoS 0
    expect(will.qos).toBe(1);
    const nodeMsgs = seen.filter((x) => ["NBIRTH", "DBIRTH", "DDATA", "DDEATH"].includes(x.type));
    expect(nodeMsgs.length).toBeGreaterThan(10);
    expect(nodeMsgs.filter((x) => x.qos !== 0 || x.retain)).toEqual([]);
    expectSeqContinuity(seen);
  }, 60_000);

  test("topics-nbirth-bdseq-increment: a restarted ne-north continues bdSeq from its data dir (+1); its device is down, so no DBIRTH", async () => {
    const will = ofType(seen, "NDEATH").at(-1)!;
    const i = seen.length;
    await startNorth();
    await waitFor(() => ofType(since(i), "NBIRTH").length > 0, "NBIRTH of the new process", 30_000);
    const nb = ofType(since(i), "NBIRTH")[0]!;
    expect(Number(metric(nb.p, "bdSeq")!.long_value)).toBe(
      (Number(will.p.metrics![0]!.long_value) + 1) % 256,
    );
    await Bun.sleep(500);
    expect(ofType(since(i), "DBIRTH")).toEqual([]);
  }, 60_000);
});
