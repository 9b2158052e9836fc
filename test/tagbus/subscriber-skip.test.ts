import { expect, test } from "bun:test";
import { Collector, sample, until } from "../contract/tagbus.contract.ts";
import { useBusFixture } from "../support/bus-fixture.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
 * A subscriber reads the whole stream of every producer with a matching root, but most of it
 * may not match (the supervisor's `/system/*` patterns over the apps' data; issue 15, CPU per
 * update): an entry none of whose samples can match is skipped without decoding, its seq range
 * still checked; and a durable subscriber saves its cursors after entries that delivered
 * something, not after every entry.
 */
const fx = useBusFixture();
const { open } = fx;

test("entries that cannot match are not decoded; a seq jump among them is still a gap", async () => {
  const prefix = uniquePrefix("skip");
  const app = await open(prefix, "mtc-01");
  const reader = await open(prefix, "supervisor");
  const c = new Collector();
  await reader.subscribe(["/system/mtc-01/*"], c.handler);
  await app.publish([sample("/system/mtc-01/state", "EXECUTE")]);
  await until(() => c.values.length === 1);
  const key = `${prefix}s:mtc-01`;
  // framed like samples, broken inside (third element not a quality): never looked at
  await fx.raw.sendCommand([
    "XADD",
    key,
    "*",
    "p",
    "mtc-01",
    "s",
    "2",
    "n",
    "1",
    "d",
    '[["/mtc-01/a",1,2]]',
  ]);
  await fx.raw.sendCommand(["HINCRBY", `${prefix}seq`, "mtc-01", "1"]); // the seq it took
  await app.publish([sample("/mtc-01/a", 1)]);
  await app.publish([sample("/system/mtc-01/state", "STOP")]);
  await until(() => c.values.length === 2, 10_000, "state after data");
  expect(c.values.map((v) => v.value)).toEqual(["EXECUTE", "STOP"]);
  expect(c.values[1]?.seq).toBe(4);
  expect(reader.stats().malformed).toBe(0);
  // the same entry matching the patterns is decoded, and counted as malformed
  const c2 = new Collector();
  await reader.subscribe(["/mtc-01/*"], c2.handler);
  await fx.raw.sendCommand([
    "XADD",
    key,
    "*",
    "p",
    "mtc-01",
    "s",
    "5",
    "n",
    "1",
    "d",
    '[["/mtc-01/a",1,2]]',
  ]);
  await fx.raw.sendCommand(["HINCRBY", `${prefix}seq`, "mtc-01", "1"]);
  await until(() => reader.stats().malformed === 1, 10_000, "malformed entry counted");
  // a skipped entry whose seq jumps ahead: gap "trimmed" with the count, then resync
  await fx.raw.sendCommand([
    "XADD",
    key,
    "*",
    "p",
    "mtc-01",
    "s",
    "20",
    "n",
    "1",
    "d",
    '[["/mtc-01/b",1,"good",1]]',
  ]);
  await until(() => c.kinds().includes("gap"), 10_000, "gap");
  const gap = c.events.find((e) => e.kind === "gap");
  expect(gap).toMatchObject({ kind: "gap", producer: "mtc-01", reason: "trimmed", dropped: 14 });
  expect(c.kinds().at(-1)).toBe("resync");
});

test("a durable subscriber saves cursors after entries it delivered, not after each entry", async () => {
  const prefix = uniquePrefix("save");
  const app = await open(prefix, "mtc-02");
  const reader = await open(prefix, "supervisor");
  const saves: string[] = [];
  const mon = fx.raw.duplicate();
  mon.on("error", () => {});
  await mon.connect();
  await mon.monitor((line: string) => {
    if (line.includes(`"HSET" "${prefix}sub:sv"`)) saves.push(line);
  });
  const c = new Collector();
  const sub = await reader.subscribe(["/system/mtc-02/*"], c.handler, { durable: "sv" });
  await app.publish([sample("/system/mtc-02/state", "EXECUTE")]);
  await until(() => c.values.length === 1);
  await Bun.sleep(300); // any save of that entry is done
  const before = saves.length;
  for (let i = 0; i < 30; i++) await app.publish([sample("/mtc-02/a", i)]);
  await app.publish([sample("/system/mtc-02/state", "STOP")]);
  await until(() => c.values.length === 2);
  await sub.close();
  mon.destroy();
  // 31 entries read; saved with the delivering one and before XREADs, never once per entry
  expect(saves.length - before).toBeLessThan(20);
  // and the position survives a restart: nothing delivered again, the next value arrives
  const c2 = new Collector();
  await reader.subscribe(["/system/mtc-02/*"], c2.handler, { durable: "sv" });
  await app.publish([sample("/system/mtc-02/state", "EXECUTE")]);
  await until(() => c2.values.length === 1);
  expect(c2.values.map((v) => v.value)).toEqual(["EXECUTE"]);
});

test("ignoreProducers: the app's own samples under its root are not read back; others' are", async () => {
  const prefix = uniquePrefix("ign");
  const app = await open(prefix, "mtc-03");
  const cli = await open(prefix, "cli");
  await app.publish([sample("/system/mtc-03/config_reload", 1)]);
  const c = new Collector();
  await app.subscribe(["/system/mtc-03/*"], c.handler, { ignoreProducers: ["mtc-03"] });
  // the starting snapshot still holds every current value, whoever published it
  expect(c.events[0]).toMatchObject({ kind: "resync", values: [{ value: 1, producer: "mtc-03" }] });
  await app.publish([sample("/system/mtc-03/state", "EXECUTE")]);
  await cli.publish([sample("/system/mtc-03/config_reload", 2)]);
  await app.publish([sample("/system/mtc-03/state", "STOP")]);
  await cli.publish([sample("/system/mtc-03/config_reload", 3)]);
  await until(() => c.values.length === 2, 10_000, "the CLI's two samples");
  await Bun.sleep(300);
  expect(c.values.map((v) => `${v.producer}:${v.value}`)).toEqual(["cli:2", "cli:3"]);
});
