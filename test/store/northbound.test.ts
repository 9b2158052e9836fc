import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { isNodiError } from "../../src/core/errors.ts";
import { classifyNorthChange, northSystemTagSamples } from "../../src/store/north-changes.ts";
import type { Northbound } from "../../src/store/northbound-schema.ts";
import { getNorthbound, listNorthbounds, openStore, type Store } from "../../src/store/store.ts";
import { validateNorthbounds } from "../../src/store/validate-north.ts";
import { tempDir } from "../support/tmp.ts";
import { modbusConfig } from "./helpers.ts";

const dir = tempDir("ne-store-north-");
afterAll(() => dir.cleanup());
let n = 0;
const fresh = () => openStore(join(dir.path, `s${++n}.sqlite`));

const mqtt = (id: string, over: Record<string, unknown> = {}) => ({
  north_id: id,
  kind: "mqtt",
  broker_urls: "mqtt://127.0.0.1:1883",
  ...over,
});
const sparkplug = (id: string, over: Record<string, unknown> = {}) => ({
  north_id: id,
  kind: "sparkplug",
  broker_urls: "mqtt://broker-a:1883, mqtt://broker-b:1883",
  group_id: "plant1",
  ...over,
});

/** The issues of a refused edit, as `north_id field` strings; asserts nothing was written. */
function refused(s: Store, edit: Parameters<Store["apply"]>[0]): string[] {
  const before = JSON.stringify([s.listNorthbounds(), s.listConnections(), s.journal()]);
  let err: unknown;
  try {
    s.apply(edit);
  } catch (e) {
    err = e;
  }
  expect(isNodiError(err) && err.kind).toBe("configuration");
  expect(JSON.stringify([s.listNorthbounds(), s.listConnections(), s.journal()])).toBe(before);
  const issues = (err as { details: { issues: { key: string; field: string }[] } }).details.issues;
  return issues.map((i) => `${i.key} ${i.field}`);
}

describe("northbounds in the store", () => {
  test("put, get, list with defaults filled; journal; getNorthbound/listNorthbounds", () => {
    const s = fresh();
    const r = s.apply({
      origin: "test",
      putNorthbounds: [sparkplug("spb"), mqtt("cloud", { username: "u", password: "secret" })],
    });
    expect(r.northChanges).toEqual([
      { north_id: "cloud", kind: "added", stored: "created" },
      { north_id: "spb", kind: "added", stored: "created" },
    ]);
    expect(r.changes).toEqual([]);
    expect(s.listNorthbounds().map((x) => x.north_id)).toEqual(["cloud", "spb"]);
    expect(listNorthbounds(s)).toEqual(s.listNorthbounds());
    const c = getNorthbound(s, "cloud")!;
    expect(c).toMatchObject({
      kind: "mqtt",
      enabled: true,
      description: "",
      password: "secret",
      keepalive_s: 30,
      tag_selection: "/**",
      topic_template: "nodi-edge/{gateway}/{conn_id}/{tag}",
      qos: 1,
      retain: false,
      payload_layout: "tag",
      writes_enabled: false,
      buffer_max_mib: 256,
      buffer_max_age_s: 604800,
      group_id: null,
      tls_ca_file: null,
    });
    expect(getNorthbound(s, "spb")?.broker_urls).toBe("mqtt://broker-a:1883, mqtt://broker-b:1883");
    expect(getNorthbound(s, "nope")).toBeUndefined();
    expect(s.journal().map((j) => [j.conn_id, j.change, j.origin])).toEqual([
      ["cloud", "north_added", "test"],
      ["spb", "north_added", "test"],
    ]);
    s.close();
  });

  test("a second put: reload for publishing options, restart for broker fields, removed when disabled", () => {
    const s = fresh();
    s.apply({ origin: "t", putNorthbounds: [mqtt("a"), mqtt("b"), mqtt("c"), mqtt("d")] });
    const r = s.apply({
      origin: "t",
      putNorthbounds: [
        mqtt("a", { tag_selection: "/plc1/*" }),
        mqtt("b", { broker_urls: "mqtt://10.0.0.9" }),
        mqtt("c", { enabled: false }),
        mqtt("d"),
      ],
    });
    expect(r.northChanges).toEqual([
      { north_id: "a", kind: "reload", stored: "updated" },
      { north_id: "b", kind: "restart", stored: "updated" },
      { north_id: "c", kind: "removed", stored: "updated" },
      { north_id: "d", kind: "unchanged", stored: "same" },
    ]);
    expect(s.getNorthbound("c")?.enabled).toBe(false);
    const r2 = s.apply({ origin: "t", removeNorthbounds: ["a"], putNorthbounds: [mqtt("c")] });
    expect(r2.northChanges).toEqual([
      { north_id: "a", kind: "removed", stored: "deleted" },
      { north_id: "c", kind: "added", stored: "updated" },
    ]);
    expect(s.listNorthbounds().map((x) => x.north_id)).toEqual(["b", "c", "d"]);
    expect(
      s
        .journal()
        .slice(-2)
        .map((j) => j.change),
    ).toEqual(["north_removed", "north_added"]);
    s.close();
  });

  test("replaceAllNorthbounds deletes the unnamed ones; a dry run writes nothing", () => {
    const s = fresh();
    s.apply({ origin: "t", putNorthbounds: [mqtt("a"), mqtt("b")] });
    const dry = s.apply({
      origin: "t",
      putNorthbounds: [mqtt("b")],
      replaceAllNorthbounds: true,
      dryRun: true,
    });
    expect(dry.northChanges.map((c) => `${c.north_id}:${c.kind}`)).toEqual([
      "a:removed",
      "b:unchanged",
    ]);
    expect(s.listNorthbounds()).toHaveLength(2);
    s.apply({ origin: "t", putNorthbounds: [mqtt("b")], replaceAllNorthbounds: true });
    expect(s.listNorthbounds().map((x) => x.north_id)).toEqual(["b"]);
    s.close();
  });

  test("removing an unknown northbound is not_found, nothing written", () => {
    const s = fresh();
    s.apply({ origin: "t", putNorthbounds: [mqtt("a")] });
    let err: unknown;
    try {
      s.apply({ origin: "t", removeNorthbounds: ["zz"], putNorthbounds: [mqtt("b")] });
    } catch (e) {
      err = e;
    }
    expect(isNodiError(err) && err.kind).toBe("not_found");
    expect(s.listNorthbounds().map((x) => x.north_id)).toEqual(["a"]);
    s.close();
  });

  test("north_id and conn_id share one id space, refused both ways", () => {
    const s = fresh();
    s.apply({ origin: "t", put: [modbusConfig("plc1")], putNorthbounds: [mqtt("cloud")] });
    expect(refused(s, { origin: "t", putNorthbounds: [mqtt("plc1")] })).toEqual(["plc1 north_id"]);
    expect(refused(s, { origin: "t", put: [modbusConfig("cloud")] })).toEqual(["cloud conn_id"]);
    // in one edit, too
    expect(
      refused(s, { origin: "t", put: [modbusConfig("x")], putNorthbounds: [mqtt("x")] }).sort(),
    ).toEqual(["x conn_id", "x north_id"]);
    // a removed connection frees its id
    s.apply({ origin: "t", remove: ["plc1"], putNorthbounds: [mqtt("plc1")] });
    expect(s.getNorthbound("plc1")?.kind).toBe("mqtt");
    s.close();
  });

  test("bad rows: every issue reported, located by north_id and field, nothing written", () => {
    const s = fresh();
    s.apply({ origin: "t", putNorthbounds: [mqtt("keep")] });
    const issues = refused(s, {
      origin: "t",
      putNorthbounds: [
        mqtt("url", { broker_urls: "http://x:1883" }),
        mqtt("kind", { kind: "amqp" }),
        mqtt("topic", { topic_template: "a/{site}/{tag}" }),
        mqtt("dup"),
        mqtt("dup"),
        sparkplug("nogroup", { group_id: null }),
        mqtt("spfield", { edge_node_id: "n1" }),
        mqtt("tlsplain", { tls_ca_file: "/etc/ca.pem" }),
        mqtt("keyonly", { broker_urls: "mqtts://b:8883", tls_key_file: "/k.pem" }),
        mqtt("pwonly", { password: "hunter2" }),
        mqtt("sel", { tag_selection: "plc1/*" }),
        mqtt("port", { broker_urls: "mqtt://b:70000" }),
      ],
    });
    expect(issues).toEqual([
      "url broker_urls",
      "kind kind",
      "topic topic_template",
      "dup north_id",
      "nogroup group_id",
      "spfield edge_node_id",
      "tlsplain tls_ca_file",
      "keyonly tls_cert_file",
      "pwonly username",
      "sel tag_selection",
      "port broker_urls",
    ]);
    expect(s.listNorthbounds().map((x) => x.north_id)).toEqual(["keep"]);
    s.close();
  });

  test("messages say the rule; a password is never echoed", () => {
    const r = validateNorthbounds([
      mqtt("a", { topic_template: "x/{site}" }),
      mqtt("b", { password: 42 }),
      mqtt("c", { password: "hunter2" }),
    ]);
    expect(r.ok).toBe(false);
    const msgs = r.ok ? [] : r.issues.map((i) => i.message);
    expect(msgs[0]).toContain("{gateway}, {conn_id}, {device}, {tag}, {north_id}");
    expect(msgs.join("\n")).not.toContain("42");
    expect(msgs.join("\n")).not.toContain("hunter2");
    expect(msgs.join("\n")).toContain("username is required with a password");
  });

  test("a full mqtts northbound with TLS files and a client certificate is accepted", () => {
    const r = validateNorthbounds([
      sparkplug("ok", {
        broker_urls: "mqtts://broker:8883",
        tls_ca_file: "/etc/nodi/ca.pem",
        tls_cert_file: "/etc/nodi/c.pem",
        tls_key_file: "/etc/nodi/c.key",
        username: "edge",
        password: "pw",
        primary_host_id: "scada",
      }),
    ]);
    expect(r.ok).toBe(true);
  });
});

describe("northbound change announcements", () => {
  const row = (over: Partial<Northbound> = {}) => {
    const r = validateNorthbounds([mqtt("n1", over)]);
    if (!r.ok) throw new Error("bad fixture");
    return r.value[0]!;
  };
  test("classify: every restart field restarts, others reload", () => {
    expect(classifyNorthChange(row(), row({ qos: 0 })).kind).toBe("reload");
    expect(classifyNorthChange(row(), row({ description: "x" })).kind).toBe("reload");
    expect(classifyNorthChange(row(), row({ keepalive_s: 60 })).kind).toBe("restart");
    expect(classifyNorthChange(row(), row({ memory_max: "64M" })).kind).toBe("restart");
    expect(classifyNorthChange(row({ enabled: false }), row({ enabled: false, qos: 0 }))).toEqual({
      north_id: "n1",
      kind: "unchanged",
      stored: "updated",
    });
    expect(classifyNorthChange(undefined, row({ enabled: false })).kind).toBe("unchanged");
  });
  test("system tags: north_removed, north_added, then config_reload", () => {
    const samples = northSystemTagSamples(
      [
        { north_id: "a", kind: "added", stored: "created" },
        { north_id: "b", kind: "reload", stored: "updated" },
        { north_id: "c", kind: "removed", stored: "deleted" },
        { north_id: "d", kind: "restart", stored: "updated" },
        { north_id: "e", kind: "unchanged", stored: "same" },
      ],
      1000,
    );
    expect(samples.map((x) => [x.path, x.value])).toEqual([
      ["/system/supervisor/north_removed", "c"],
      ["/system/supervisor/north_added", "a"],
      ["/system/b/config_reload", 1000],
      ["/system/d/config_reload", 1000],
    ]);
  });
});
