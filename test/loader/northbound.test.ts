import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isNodiError } from "../../src/core/errors.ts";
import { formatLoadError, type LoadError } from "../../src/loader/csv-file.ts";
import { exportCsv } from "../../src/loader/export.ts";
import {
  type CsvInput,
  type CsvKind,
  importCsv,
  readInputs,
  WITHHELD,
} from "../../src/loader/import.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";

const dir = tempDir("ne-loader-north-");
afterAll(() => dir.cleanup());
let n = 0;
const fresh = () => openStore(join(dir.path, `l${++n}.sqlite`));

const enc = new TextEncoder();
const input = (kind: CsvKind, text: string): CsvInput => ({
  kind,
  file: `${kind}.csv`,
  bytes: enc.encode(text),
});

const CONN = "conn_id,protocol,host,port,unit_id\nplc1,modbus-tcp,127.0.0.1,502,1\n";
const BLOCKS =
  "conn_id,block_id,table,address,count,period_ms\nplc1,hr,holding_registers,0,10,100\n";
const TAGS = "conn_id,tag_name,block_id,address,data_type\nplc1,speed,hr,0,uint16\n";
const NORTH = [
  "north_id,kind,broker_urls,username,password,group_id,topic_template",
  "cloud,mqtt,mqtt://127.0.0.1:1883,edge,s3cret,,site/{gateway}/{conn_id}/{tag}",
  "spb,sparkplug,mqtts://broker:8883,,,plant1,",
  "",
].join("\n");
const all = (north = NORTH): CsvInput[] => [
  input("connections", CONN),
  input("blocks", BLOCKS),
  input("tags", TAGS),
  input("northbound", north),
];

/** A store holding {@link all}; `snap` is everything an import could change. */
function seeded(): Store {
  const s = fresh();
  importCsv(s, all());
  return s;
}
const snap = (s: Store) =>
  JSON.stringify([s.getAllConfigs(), s.listNorthbounds(), s.journal().length]);

function refused(s: Store, inputs: CsvInput[]): string[] {
  const before = snap(s);
  let err: unknown;
  try {
    importCsv(s, inputs);
  } catch (e) {
    err = e;
  }
  expect(isNodiError(err, "configuration")).toBe(true);
  expect((err as { reason?: string }).reason).toBe("invalid_csv");
  expect(snap(s)).toBe(before);
  return (err as { details: { errors: LoadError[] } }).details.errors.map(formatLoadError);
}

describe("northbound.csv import", () => {
  test("imports with the connections, defaults filled; counted and announced as northbound changes", () => {
    const s = fresh();
    const r = importCsv(s, all());
    expect(r.counts).toEqual({ connections: 1, devices: 0, blocks: 1, tags: 1, northbounds: 2 });
    expect(r.northChanges).toEqual([
      { north_id: "cloud", kind: "added", stored: "created" },
      { north_id: "spb", kind: "added", stored: "created" },
    ]);
    expect(s.getNorthbound("cloud")).toMatchObject({
      kind: "mqtt",
      username: "edge",
      password: "s3cret",
      topic_template: "site/{gateway}/{conn_id}/{tag}",
      qos: 1,
    });
    expect(s.getNorthbound("spb")).toMatchObject({
      group_id: "plant1",
      topic_template: "nodi-edge/{gateway}/{conn_id}/{tag}",
    });
    // a second import of the same files changes nothing
    const again = importCsv(s, all());
    expect(again.northChanges.every((c) => c.stored === "same")).toBe(true);
    s.close();
  });

  // Issue 13, test 7: a bad URL, an unknown kind, an unknown placeholder, duplicate ids.
  test("bad rows are refused at import, every one located by file, line, column and field; nothing changed", () => {
    const s = seeded();
    const bad = [
      "north_id,kind,broker_urls,topic_template",
      "a,mqtt,http://broker:1883,",
      "b,amqp,mqtt://broker,",
      "c,mqtt,mqtt://broker,x/{site}/{tag}",
      "d,mqtt,mqtt://broker,",
      "d,mqtt,mqtt://other,",
      "",
    ].join("\n");
    const errors = refused(s, all(bad));
    expect(errors).toHaveLength(4);
    expect(errors[0]).toStartWith(
      "northbound.csv:2:3 (broker_urls): broker_urls must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT]",
    );
    expect(errors[0]).toContain('got "http://broker:1883"');
    expect(errors[1]).toStartWith(
      'northbound.csv:3:2 (kind): kind must be one of mqtt, sparkplug, got "amqp"',
    );
    expect(errors[2]).toStartWith(
      "northbound.csv:4:4 (topic_template): topic_template may only use the placeholders {gateway}, {conn_id}, {device}, {tag}, {north_id}",
    );
    expect(errors[3]).toBe(
      'northbound.csv:6:1 (north_id): duplicate north_id "d": each northbound once',
    );
    s.close();
  });

  // Found by the adversary pass: rows that were accepted and then broke ne-north or its topics.
  test("broker URLs with a query, a fragment, an escaped or non-ASCII host, bad labels; topic templates that give no usable topics: refused, located; nothing changed", () => {
    const s = seeded();
    const bad = [
      "north_id,kind,broker_urls,gateway,topic_template",
      "u1,mqtt,mqtt://broker?x=1,,",
      "u2,mqtt,mqtt://broker#f,,",
      "u3,mqtt,mqtt://br%20oker,,",
      "u4,mqtt,mqtt://-,,",
      "u5,mqtt,mqtt://a..b,,",
      "t1,mqtt,mqtt://broker,,nodi/{conn_id}/{tag",
      "t2,mqtt,mqtt://broker,,$SYS/{conn_id}/{tag}",
      "t3,mqtt,mqtt://broker,,nodi/{conn_id}",
      "t4,mqtt,mqtt://broker,,nodi//{conn_id}/{tag}",
      "t5,mqtt,mqtt://broker,,{conn_id}/{tag}",
      "t6,mqtt,mqtt://broker,,nodi/{conn_id}-{tag}",
      "t7,mqtt,mqtt://broker,$gw,{gateway}/{conn_id}/{tag}",
      "",
    ].join("\n");
    const errors = refused(s, all(bad));
    const url = (line: number, u: string) =>
      `northbound.csv:${line}:3 (broker_urls): broker_urls must be mqtt://HOST[:PORT] or mqtts://HOST[:PORT] (port 1–65535), got "${u}"`;
    expect(errors).toEqual([
      url(2, "mqtt://broker?x=1"),
      url(3, "mqtt://broker#f"),
      url(4, "mqtt://br%20oker"),
      url(5, "mqtt://-"),
      url(6, "mqtt://a..b"),
      'northbound.csv:7:5 (topic_template): topic_template has a { or } that is not part of a placeholder, got "nodi/{conn_id}/{tag"',
      'northbound.csv:8:5 (topic_template): topic_template must not start with $ (such topics are the broker\'s, MQTT 5.0 §4.7.2), got "$SYS/{conn_id}/{tag}"',
      'northbound.csv:9:5 (topic_template): topic_template must contain {conn_id} and {tag}, so that each tag has its own topic, got "nodi/{conn_id}"',
      'northbound.csv:10:5 (topic_template): topic_template must not have empty levels (a leading, trailing or double /), got "nodi//{conn_id}/{tag}"',
      'northbound.csv:11:5 (topic_template): topic_template must start with a fixed level (or {gateway}, {north_id}) before {conn_id}, {device} and {tag}, got "{conn_id}/{tag}"',
      'northbound.csv:12:5 (topic_template): topic_template: {conn_id} must be a whole topic level (…/{conn_id}/…), got "nodi/{conn_id}-{tag}"',
      'northbound.csv:13:4 (gateway): gateway must be 1–64 characters without / + # or spaces, not starting with $, got "$gw"',
    ]);
    s.close();
  });

  test("a duplicate is located at its own line, past blank lines", () => {
    const s = fresh();
    const errors = refused(s, [
      input("northbound", "north_id,kind,broker_urls\nd,mqtt,mqtt://a\n\nd,mqtt,mqtt://b\n"),
    ]);
    expect(errors).toEqual([
      'northbound.csv:4:1 (north_id): duplicate north_id "d": each northbound once',
    ]);
    s.close();
  });

  test("a duplicate north_id is reported with a bad field of one of its rows, in one report", () => {
    const s = fresh();
    const errors = refused(s, [
      input("northbound", "north_id,kind,broker_urls\nd,mqtt3,mqtt://a\nd,mqtt,mqtt://b\n"),
    ]);
    expect(errors).toHaveLength(2);
    expect(errors[0]).toStartWith("northbound.csv:2:2 (kind): ");
    expect(errors[1]).toBe(
      'northbound.csv:3:1 (north_id): duplicate north_id "d": each northbound once',
    );
    s.close();
  });

  test("a north_id equal to a conn_id is refused: in the same files, or against the stored connections", () => {
    const s = seeded();
    expect(
      refused(s, [input("northbound", "north_id,kind,broker_urls\nplc1,mqtt,mqtt://broker\n")]),
    ).toEqual([
      'northbound.csv:2:1 (north_id): north_id "plc1" is already a connection\'s conn_id: apps share one id space (/system/{id}/…)',
    ]);
    expect(
      refused(s, [
        input("connections", "conn_id,protocol,host,port\ncloud,modbus-tcp,10.0.0.1,502\n"),
      ]),
    ).toEqual([
      'connections.csv:2:1 (conn_id): conn_id "cloud" is already a northbound\'s north_id: apps share one id space (/system/{id}/…)',
    ]);
    s.close();
  });

  test("an unknown column and a missing required column are refused", () => {
    const s = fresh();
    expect(
      refused(s, [input("northbound", "north_id,kind,broker_url\nx,mqtt,mqtt://b\n")]),
    ).toEqual([
      'northbound.csv:1 (broker_urls): missing column "broker_urls" (required in northbound.csv)',
      expect.stringContaining('northbound.csv:1:3: unknown column "broker_url"'),
    ]);
    s.close();
  });

  test("northbound.csv alone is an import; without it the stored northbounds stay; --replace mirrors it", () => {
    const s = seeded();
    importCsv(s, [input("connections", CONN), input("blocks", BLOCKS), input("tags", TAGS)], {
      replace: true,
    });
    expect(s.listNorthbounds().map((x) => x.north_id)).toEqual(["cloud", "spb"]);
    const r = importCsv(s, [input("northbound", "north_id,kind,broker_urls\nnew,mqtt,mqtt://b\n")]);
    expect(r.northChanges.map((c) => `${c.north_id}:${c.kind}`)).toEqual(["new:added"]);
    expect(s.listConnections().map((c) => c.conn_id)).toEqual(["plc1"]);
    const m = importCsv(
      s,
      [input("northbound", "north_id,kind,broker_urls\nnew,mqtt,mqtt://b\n")],
      {
        replace: true,
      },
    );
    expect(m.northChanges.map((c) => `${c.north_id}:${c.kind}`)).toEqual([
      "cloud:removed",
      "new:unchanged",
      "spb:removed",
    ]);
    expect(s.listNorthbounds().map((x) => x.north_id)).toEqual(["new"]);
    expect(s.listConnections().map((c) => c.conn_id)).toEqual(["plc1"]);
    s.close();
  });

  test("a directory's northbound.csv is read with the others", () => {
    const d = join(dir.path, "in1");
    mkdirSync(d);
    for (const i of all()) writeFileSync(join(d, i.file), i.bytes);
    expect(readInputs([d]).map((i) => i.kind)).toEqual([
      "connections",
      "blocks",
      "tags",
      "northbound",
    ]);
    expect(readInputs([join(d, "northbound.csv")]).map((i) => i.kind)).toEqual(["northbound"]);
  });
});

describe("northbound.csv export", () => {
  test("the password is withheld; importing the export keeps the stored password and changes nothing", () => {
    const s = seeded();
    const out = join(dir.path, "out1");
    const files = exportCsv(s, out);
    expect(files.map((f) => f.slice(out.length + 1))).toEqual([
      "connections.csv",
      "blocks.csv",
      "tags.csv",
      "northbound.csv",
    ]);
    const text = readFileSync(join(out, "northbound.csv"), "utf8");
    expect(text).not.toContain("s3cret");
    expect(text.split("\n")[1]).toContain(`,edge,${WITHHELD},`);
    // spb has no password: its cell stays empty (not withheld)
    expect(text.split("\n")[2]).not.toContain(WITHHELD);
    const before = snap(s);
    const r = importCsv(s, readInputs([out]));
    expect(r.northChanges.every((c) => c.stored === "same")).toBe(true);
    expect(s.getNorthbound("cloud")?.password).toBe("s3cret");
    expect(snap(s).replace(/,\d+\]$/, "")).toBe(before.replace(/,\d+\]$/, ""));
    // exporting again gives the same bytes
    const out2 = join(dir.path, "out2");
    exportCsv(s, out2);
    expect(readFileSync(join(out2, "northbound.csv"), "utf8")).toBe(text);
    s.close();
  });

  test("a withheld password for a northbound without a stored one is refused, located", () => {
    const s = seeded();
    const errors = refused(s, [
      input(
        "northbound",
        `north_id,kind,broker_urls,username,password\nfresh,mqtt,mqtt://b,u,${WITHHELD}\n`,
      ),
    ]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toStartWith(
      `northbound.csv:2:5 (password): ${WITHHELD} stands for the stored password`,
    );
    s.close();
  });

  test("an export of some connections has no northbound.csv (a --replace import of it keeps them)", () => {
    const s = seeded();
    const out = join(dir.path, "out3");
    const files = exportCsv(s, out, ["plc1"]);
    expect(files.some((f) => f.endsWith("northbound.csv"))).toBe(false);
    importCsv(s, readInputs([out]), { replace: true });
    expect(s.listNorthbounds()).toHaveLength(2);
    s.close();
  });
});
