import type { Database } from "bun:sqlite";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import * as v from "valibot";
import { EXIT } from "../../src/core/exit-codes.ts";
import { NorthApp, type NorthAppOptions } from "../../src/north/app.ts";
import { MqttSession } from "../../src/north/session.ts";
import { fileBdSeqStore } from "../../src/north/sparkplug/bdseq.ts";
import { encodePayload, type Metric } from "../../src/north/sparkplug/codec.ts";
import { type Northbound, NorthboundSchema } from "../../src/store/northbound-schema.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { captureLog } from "../support/capture-log.ts";
import { Mosquitto } from "../support/mosquitto.ts";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";
import { Sub, until } from "./harness.ts";

// Bad configuration and hostile input against NorthApp in-process (real Redis, real mosquitto).

const redis = new RedisServer();
const broker = new Mosquitto();
const dir = tempDir("ne-north-adv-");

beforeAll(async () => {
  await redis.start();
  await broker.start();
}, 30_000);
afterAll(async () => {
  await broker.shutdown();
  await redis.shutdown();
  dir.cleanup();
}, 30_000);

interface Running {
  app: NorthApp;
  done: Promise<number>;
  bus: RedisTagBus;
  lines: Record<string, unknown>[];
}

async function run(
  row: Record<string, unknown>,
  dataDir = dir.path,
  options: NorthAppOptions = {},
  prefix = uniquePrefix("adv"),
): Promise<Running> {
  const bus = await createRedisTagBus({
    url: redis.url,
    prefix,
    producer: String(row.north_id),
  });
  const cfg = v.parse(NorthboundSchema, {
    kind: "mqtt",
    broker_urls: broker.url,
    gateway: "gw",
    tag_selection: "/syn/*",
    ...row,
  }) as Northbound;
  const { log, lines } = captureLog();
  const app = new NorthApp({
    northId: String(row.north_id),
    loadConfig: () => cfg,
    loadConnections: () => [],
    bus,
    log,
    dataDir,
    options: { healthIntervalMs: 500, ...options },
  });
  return { app, done: app.run(), bus, lines };
}

async function exitOf(r: Running): Promise<number | "running"> {
  const code = await Promise.race([r.done, Bun.sleep(10_000).then(() => "running" as const)]);
  if (code === "running") {
    r.app.requestStop();
    await r.done;
  }
  await r.bus.close(500);
  return code;
}

const errors = (r: Running) => r.lines.filter((l) => l.level === 50).map((l) => String(l.msg));

describe("bad configuration at start: a located error and exit 78, not a retry loop", () => {
  test("a stored row that the validation refuses (kind amqp, written around it): exit 78 naming the field (was: 'FORMATS[cfg.kind] is not a function', exit 1)", async () => {
    const bus = await createRedisTagBus({
      url: redis.url,
      prefix: uniquePrefix("adv"),
      producer: "t0",
    });
    const good = v.parse(NorthboundSchema, {
      north_id: "t0",
      kind: "mqtt",
      broker_urls: broker.url,
    });
    const { log, lines } = captureLog();
    const app = new NorthApp({
      northId: "t0",
      loadConfig: () => ({ ...good, kind: "amqp" }) as unknown as Northbound,
      loadConnections: () => [],
      bus,
      log,
      dataDir: dir.path,
    });
    expect(await app.run()).toBe(EXIT.CONFIG);
    await bus.close(500);
    expect(lines.filter((l) => l.level === 50).map((l) => l.msg)).toEqual([
      'northbound t0: the stored configuration is refused: kind must be one of mqtt, sparkplug, got "amqp" (correct it with nodi-edge north add t0 --update … or an import)',
    ]);
  }, 20_000);

  test("buffer_max_mib larger than the free space of the data dir is warned about at start (the disk would fill before the cap)", async () => {
    const r = await run({ north_id: "t4", buffer_max_mib: 1_048_576 });
    await until("connected", () => r.app.health().brokerConnected, 10_000);
    const w = r.lines.find((l) =>
      String(l.msg).startsWith("north: buffer_max_mib 1048576 is more than the"),
    );
    expect(w?.level).toBe(40);
    expect(String(w?.msg)).toEndWith("lower buffer_max_mib");
    r.app.requestStop();
    expect(await exitOf(r)).toBe(EXIT.OK);
    const ok = await run({ north_id: "t5", buffer_max_mib: 1 });
    await until("connected", () => ok.app.health().brokerConnected, 10_000);
    expect(ok.lines.some((l) => String(l.msg).includes("buffer_max_mib"))).toBe(false);
    ok.app.requestStop();
    expect(await exitOf(ok)).toBe(EXIT.OK);
  }, 30_000);

  test("a tls_ca_file that does not exist (was retried for ever as 'broker unreachable')", async () => {
    const r = await run({
      north_id: "t1",
      broker_urls: "mqtts://127.0.0.1:1",
      tls_ca_file: "/nonexistent/ca.pem",
    });
    expect(await exitOf(r)).toBe(EXIT.CONFIG);
    expect(errors(r)).toEqual([
      "northbound t1: tls_ca_file /nonexistent/ca.pem cannot be read: ENOENT",
    ]);
    expect(r.lines.some((l) => l.to === "CONNECT")).toBe(false);
  }, 20_000);

  test("a tls_key_file with garbage and a tls_cert_file that is a directory", async () => {
    const key = join(dir.path, "garbage.key");
    writeFileSync(key, "not a key\n");
    const r = await run({
      north_id: "t3",
      broker_urls: "mqtts://127.0.0.1:1",
      tls_cert_file: dir.path,
      tls_key_file: key,
    });
    expect(await exitOf(r)).toBe(EXIT.CONFIG);
    const [msg] = errors(r);
    expect(msg).toStartWith(`northbound t3: tls_cert_file ${dir.path} cannot be read: EISDIR; `);
    expect(msg).toContain(`tls_key_file ${key} must be an unencrypted PEM private key`);
  }, 20_000);

  test("a data dir where north/ cannot be created (was exit 1, restarted in a loop)", async () => {
    const d = join(dir.path, "dd");
    mkdirSync(d);
    writeFileSync(join(d, "north"), "not a dir");
    const r = await run({ north_id: "t2" }, d);
    expect(await exitOf(r)).toBe(EXIT.CONFIG);
    const [msg] = errors(r);
    expect(msg).toStartWith(
      `cannot keep the store-and-forward buffer in ${join(d, "north", "t2")}: ENOTDIR`,
    );
    expect(msg).toEndWith("(NE_DATA_DIR must be a directory the service user can write)");
  }, 20_000);
});

describe("hostile messages from the broker (plain MQTT, writes enabled)", () => {
  const warnings = (r: Running) =>
    r.lines.filter((l) => (l.level as number) >= 40).map((l) => String(l.msg));

  test("other traffic under {base}/# is not a refusal: no warning per message (was one warn per message of the subtree)", async () => {
    const r = await run({ north_id: "w1", writes_enabled: true });
    await until("connected", () => r.app.health().brokerConnected, 10_000);
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    for (let i = 0; i < 20; i++) await c.publishAsync(`nodi-edge/gw/plc/x${i}`, "1", { qos: 1 });
    await c.publishAsync("nodi-edge/gw/_status/other", "online", { qos: 1, retain: true });
    await c.publishAsync("nodi-edge/gw/plc/x1/set/reply", "{}", { qos: 1 });
    // a request after them, in order on the same connection: once it is refused, all were seen
    await c.publishAsync("nodi-edge/gw/plc/nosuch/set", "1", { qos: 1 });
    await until("the request refused", () => r.app.counters.refused > 0, 10_000);
    expect(r.app.counters.refused).toBe(1);
    expect(warnings(r)).toEqual(["north: refused: not_found"]);
    await c.publishAsync("nodi-edge/gw/_status/other", "", { qos: 1, retain: true });
    await c.endAsync();
    r.app.requestStop();
    expect(await exitOf(r)).toBe(EXIT.OK);
  }, 30_000);

  test("a write request with the response topic x/# is refused bad_response_topic and replied on …/set/reply; the session stays (was: the reply went to x/# and mosquitto dropped ne-north)", async () => {
    const r = await run({ north_id: "w2", writes_enabled: true });
    await until("connected", () => r.app.health().brokerConnected, 10_000);
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const replies: string[] = [];
    c.on("message", (_t, p) => replies.push(p.toString()));
    await c.subscribeAsync("nodi-edge/gw/plc/speed/set/reply", { qos: 1 });
    await c.publishAsync("nodi-edge/gw/plc/speed/set", '{"value":1,"id":"r1"}', {
      qos: 1,
      properties: { responseTopic: "x/#" },
    });
    await until("the reply", () => replies.length > 0, 10_000);
    expect(JSON.parse(replies[0]!)).toEqual({
      path: "/plc/speed",
      ok: false,
      reason: "bad_response_topic",
      id: "r1",
    });
    const refusal = r.lines.find((l) => l.msg === "north: refused: bad_response_topic");
    expect(refusal?.responseTopic).toBe("x/#");
    await Bun.sleep(500);
    expect(r.app.counters.reconnects).toBe(1);
    expect(r.lines.some((l) => String(l.msg).includes("connection lost"))).toBe(false);
    await c.endAsync();
    r.app.requestStop();
    expect(await exitOf(r)).toBe(EXIT.OK);
  }, 30_000);

  test("MqttSession.publish to a wildcard or empty topic rejects (bad_topic) without sending: the session stays up", async () => {
    const s = await MqttSession.open({
      url: broker.url,
      clientId: "adv-session",
      keepaliveS: 30,
      will: { topic: "adv/will", payload: "x", qos: 1, retain: false },
      log: captureLog().log,
      onMessage: () => {},
      onClose: () => {},
    });
    for (const topic of ["x/#", "a/+/b", "", "nul\u0000"]) {
      const e = await s.publish({ topic, payload: "1", qos: 1, retain: false }).catch((x) => x);
      expect((e as { reason?: string }).reason).toBe("bad_topic");
    }
    await s.publish({ topic: "adv/ok", payload: "1", qos: 1, retain: false });
    expect(s.connected).toBe(true);
    await s.end([]);
  }, 30_000);
});

describe("faults", () => {
  test("a broker that accepts TCP and never sends CONNACK: a stop does not wait for the connect timeout (was: up to 10 s, the whole stop bound)", async () => {
    const port = await freePort();
    let accepted = 0;
    const srv = Bun.listen({
      hostname: "127.0.0.1",
      port,
      socket: {
        open() {
          accepted++;
        },
        data() {},
      },
    });
    // a connect timeout longer than this test's own: a stop that waited for it would time out
    const r = await run({ north_id: "f2", broker_urls: `mqtt://127.0.0.1:${port}` }, dir.path, {
      connectTimeoutMs: 120_000,
    });
    await until("the CONNECT sent", () => accepted > 0, 10_000);
    expect(r.app.health().brokerConnected).toBe(false);
    r.app.requestStop();
    expect(await r.done).toBe(EXIT.OK);
    expect(r.app.counters.connectFailures).toBe(0); // aborted by the stop, not a failure
    await r.bus.close(500);
    srv.stop(true);
  }, 30_000);

  test("a broker that hangs (SIGSTOP) with the link open: broker_connected turns false by the keep-alive (MQTT.js: 1.5 × keepalive_s), in the health tag too; back after SIGCONT", async () => {
    const b2 = await new Mosquitto().start();
    try {
      const r = await run({ north_id: "f1", broker_urls: b2.url, keepalive_s: 5 });
      const tag = async () => (await r.bus.get("/system/f1/broker_connected"))?.value;
      await until("connected", async () => (await tag()) === true, 10_000);
      b2.signal("SIGSTOP");
      await until("broker_connected false", async () => (await tag()) === false, 25_000);
      expect(r.app.fsm.reason).toBe("broker connection lost: Keepalive timeout");
      b2.signal("SIGCONT");
      await until("connected again", async () => (await tag()) === true, 20_000);
      r.app.requestStop();
      expect(await exitOf(r)).toBe(EXIT.OK);
    } finally {
      b2.signal("SIGCONT");
      await b2.shutdown();
    }
  }, 60_000);

  test("the disk fills while the broker is away: exit 69 with the cause in last_error (was: an uncaught SQLiteError, a crash); after the restart every update arrives", async () => {
    const b3 = await new Mosquitto().start();
    const prefix = uniquePrefix("full");
    const d = join(dir.path, "full");
    const prod = await createRedisTagBus({ url: redis.url, prefix, producer: "syn" });
    let sub: Sub | undefined;
    try {
      const row = { north_id: "f3", broker_urls: b3.url };
      const r = await run(row, d, {}, prefix);
      await until("connected", () => r.app.health().brokerConnected, 10_000);
      // SQLite's own "database or disk is full" (SQLITE_FULL), as on a full filesystem
      const db = (r.app as unknown as { buffer: { db: Database } }).buffer.db;
      const pages = (db.query("PRAGMA page_count").get() as { page_count: number }).page_count;
      db.exec(`PRAGMA max_page_count = ${pages}`);
      await b3.stop(true);
      await until("lost", () => !r.app.health().brokerConnected, 10_000);
      let n = 0;
      for (let i = 0; i < 20; i++) {
        const batch = Array.from({ length: 100 }, () => ({
          path: `/syn/t${n % 10}`,
          value: `${"x".repeat(40)}${++n}`,
          quality: "good" as const,
          ts: Date.now(),
        }));
        await prod.publish(batch);
      }
      expect(await exitOf(r)).toBe(EXIT.UNAVAILABLE);
      const err = JSON.parse(String((await prod.get("/system/f3/last_error"))?.value));
      expect(err.reason).toBe("disk_full");
      expect(err.message).toStartWith(
        `cannot write the store-and-forward buffer in ${join(d, "north", "f3")}: database or disk is full (the disk is full); `,
      );
      // restarted (space freed: a new connection has no page limit), the broker back
      await b3.start();
      sub = await Sub.open(b3.url, ["nodi-edge/gw/syn/#"]); // subscribed before the restart
      const got = sub;
      const again = await run(row, d, {}, prefix);
      const want = new Set(Array.from({ length: n }, (_, i) => `${"x".repeat(40)}${i + 1}`));
      await until(
        "every update",
        () => {
          for (const g of got.got) want.delete(JSON.parse(g.text).value);
          got.got.length = 0;
          return want.size === 0;
        },
        30_000,
      );
      again.app.requestStop();
      expect(await exitOf(again)).toBe(EXIT.OK);
    } finally {
      await sub?.close();
      await prod.close(500);
      await b3.shutdown();
    }
  }, 90_000);
});

describe("hostile messages from the broker (Sparkplug)", () => {
  test("NCMD/DCMD garbage, a truncated protobuf, 4 MiB of random bytes, an unknown device, a Rebirth of the wrong type: each refused and logged with its topic; the session stays and a valid Rebirth still works", async () => {
    const r = await run({
      north_id: "s1",
      kind: "sparkplug",
      group_id: "g",
      edge_node_id: "n",
      topic_template: undefined,
    });
    await until("connected", () => r.app.health().brokerConnected, 10_000);
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    const births: Buffer[] = [];
    c.on("message", (_t, p) => births.push(p));
    await c.subscribeAsync("spBv1.0/g/NBIRTH/n", { qos: 1 });
    const rebirth = (value: Metric["value"], datatype: number) =>
      Buffer.from(
        encodePayload({
          timestamp: Date.now(),
          metrics: [{ name: "Node Control/Rebirth", datatype, value }],
        }),
      );
    const valid = rebirth(true, 11);
    const hostile: [string, Buffer][] = [
      ["spBv1.0/g/NCMD/n", Buffer.from([0xff, 0xfe, 0x00, 0x01])],
      ["spBv1.0/g/NCMD/n", valid.subarray(0, valid.length - 3)],
      ["spBv1.0/g/NCMD/n", Buffer.from(crypto.getRandomValues(new Uint8Array(65536)).buffer)],
      [
        "spBv1.0/g/NCMD/n",
        Buffer.concat(
          Array.from({ length: 64 }, () =>
            Buffer.from(crypto.getRandomValues(new Uint8Array(65536))),
          ),
        ),
      ],
      ["spBv1.0/g/NCMD/n", rebirth("yes", 12)],
      ["spBv1.0/g/DCMD/n/nosuch", valid],
      ["spBv1.0/g/DCMD/n/nosuch", Buffer.from("{}")],
    ];
    for (const [t, p] of hostile) await c.publishAsync(t, p, { qos: 1 });
    await c.publishAsync("spBv1.0/g/NCMD/n", valid, { qos: 1 });
    await until("a rebirth after the hostile commands", () => births.length > 0, 10_000);
    const refusals = r.lines.filter((l) => String(l.msg).startsWith("north: refused"));
    expect(refusals.length).toBeGreaterThanOrEqual(hostile.length - 1); // random bytes may decode as an empty payload
    for (const l of refusals) expect(String(l.origin)).toStartWith("sparkplug spBv1.0/g/");
    expect(refusals.filter((l) => String(l.origin).includes("DCMD/n/nosuch")).length).toBe(2);
    expect(r.app.counters.reconnects).toBe(1);
    expect(r.app.state).toBe("EXECUTE");
    await c.endAsync();
    r.app.requestStop();
    expect(await exitOf(r)).toBe(EXIT.OK);
  }, 60_000);
});

describe("a corrupted bdSeq file", () => {
  test("empty (a truncated write: was read as 0 without a word), garbage, 1e2, 300, -1: starts at 0 and says so; 7 is 7", () => {
    const d = join(dir.path, "bdseq");
    mkdirSync(d, { recursive: true });
    const { log, lines } = captureLog();
    const store = fileBdSeqStore(d, log);
    const cases: [string, number | undefined][] = [
      ["", undefined],
      ["  \n", undefined],
      ["garbage\n", undefined],
      ["1e2\n", undefined],
      ["300\n", undefined],
      ["-1\n", undefined],
      ["7\n", 7],
    ];
    for (const [text, want] of cases) {
      lines.length = 0;
      writeFileSync(join(d, "sparkplug-bdseq"), text);
      expect(store.load()).toBe(want);
      expect(lines.map((l) => l.msg)).toEqual(
        want === undefined ? ["sparkplug: bdSeq file is not 0–255, starting at 0"] : [],
      );
    }
  });
});

describe("huge values from the north", () => {
  test("a 1 MiB string in a write request is logged cut to 200 characters with its length (was: the whole MiB in the log line)", async () => {
    const r = await run({ north_id: "h1", writes_enabled: true });
    await until("connected", () => r.app.health().brokerConnected, 10_000);
    const c = await mqtt.connectAsync(broker.url, { protocolVersion: 5 });
    const big = "A".repeat(1 << 20);
    await c.publishAsync("nodi-edge/gw/plc/nosuch/set", JSON.stringify({ value: big }), { qos: 1 });
    await until("refused", () => r.app.counters.refused > 0, 10_000);
    const l = r.lines.find((x) => x.msg === "north: refused: not_found");
    expect(l?.value).toBe(`${"A".repeat(200)}… (1048576 characters)`);
    expect(JSON.stringify(l).length).toBeLessThan(1000);
    await c.endAsync();
    r.app.requestStop();
    expect(await exitOf(r)).toBe(EXIT.OK);
  }, 30_000);
});

describe("a corrupted bus-subscriber file", () => {
  test("garbage: the default subscriber is resumed and a warning names the file (was silent)", async () => {
    const d = join(dir.path, "bs");
    mkdirSync(join(d, "north", "b1"), { recursive: true });
    writeFileSync(join(d, "north", "b1", "bus-subscriber"), "\u0000\u00ff garbage / x\n");
    const r = await run({ north_id: "b1" }, d);
    await until("connected", () => r.app.health().brokerConnected, 10_000);
    const w = r.lines.find((l) => String(l.msg).includes("bus-subscriber is garbled"));
    expect(w?.level).toBe(40);
    expect(String(w?.msg)).toStartWith(
      `north: ${join(d, "north", "b1", "bus-subscriber")} is garbled; resuming the TagBus subscriber north-b1`,
    );
    r.app.requestStop();
    expect(await exitOf(r)).toBe(EXIT.OK);
  }, 30_000);
});
