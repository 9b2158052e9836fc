import { describe, expect, test } from "bun:test";
import type { TagSample } from "../../src/core/tag-value.ts";
import { classifyChange, classifyChanges, systemTagSamples } from "../../src/store/changes.ts";
import { notifyChanges } from "../../src/store/notify.ts";
import type { ConnectionConfig } from "../../src/store/schema.ts";
import { validateConfig } from "../../src/store/validate.ts";
import type { TagBus } from "../../src/tagbus/tagbus.ts";
import { modbusConfig } from "./helpers.ts";

/** Normalizes a config as the store holds it. */
function norm(c: ConnectionConfig): ConnectionConfig {
  const r = validateConfig({ connections: [c.connection], blocks: c.blocks, tags: c.tags });
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return { connection: r.value.connections[0]!, blocks: r.value.blocks, tags: r.value.tags };
}
const cfg = (over: Record<string, unknown> = {}) => norm(modbusConfig("m1", over));

/** A TagBus recorder: implements just `publish`. */
class Recorder implements Pick<TagBus, "publish"> {
  batches: TagSample[][] = [];
  async publish(samples: TagSample[]) {
    this.batches.push(samples);
  }
}

describe("change classification", () => {
  const a = cfg();
  test("added / removed / unchanged", () => {
    expect(classifyChange(undefined, a)).toEqual({
      conn_id: "m1",
      kind: "added",
      stored: "created",
    });
    expect(classifyChange(a, undefined)).toEqual({
      conn_id: "m1",
      kind: "removed",
      stored: "deleted",
    });
    expect(classifyChange(a, cfg())).toEqual({ conn_id: "m1", kind: "unchanged", stored: "same" });
  });
  test("a link setting is connection_changed (restart)", () => {
    for (const over of [
      { host: "10.0.0.9" },
      { port: 5020 },
      { unit_id: 2 },
      { timeout_ms: 2000 },
    ]) {
      expect(classifyChange(a, cfg(over)).kind).toBe("connection_changed");
    }
    // address_base moves every wire address: a restart, not a hot reload (here with the
    // addresses shifted too, the same registers on the wire: still a restart)
    const raw = modbusConfig("m1", { address_base: 1 });
    for (const r of [...raw.blocks, ...raw.tags]) r.address += 1;
    expect(classifyChange(a, norm(raw)).kind).toBe("connection_changed");
  });
  test("a description change is only a reload", () => {
    expect(classifyChange(a, cfg({ description: "x" })).kind).toBe("blocks_changed");
  });
  test("a block or tag change is blocks_changed (hot reload); reordering is not a change", () => {
    const b = cfg();
    b.blocks[0]!.period_ms = 250;
    expect(classifyChange(a, b).kind).toBe("blocks_changed");
    const c = cfg();
    c.tags.pop();
    expect(classifyChange(a, c).kind).toBe("blocks_changed");
    const d = cfg();
    d.tags.reverse();
    expect(classifyChange(a, d)).toMatchObject({ kind: "unchanged", stored: "same" });
  });
  test("disabled counts as absent for the supervisor", () => {
    const off = cfg({ enabled: false });
    expect(classifyChange(a, off)).toEqual({ conn_id: "m1", kind: "removed", stored: "updated" });
    expect(classifyChange(off, a)).toEqual({ conn_id: "m1", kind: "added", stored: "updated" });
    expect(classifyChange(undefined, off)).toEqual({
      conn_id: "m1",
      kind: "unchanged",
      stored: "created",
    });
    expect(classifyChange(off, cfg({ enabled: false, host: "h2" })).kind).toBe("unchanged");
  });
  test("classifyChanges covers both sides, sorted", () => {
    const x = norm(modbusConfig("x"));
    const y = norm(modbusConfig("y"));
    expect(classifyChanges([y, a], [x, a]).map((c) => `${c.conn_id}:${c.kind}`)).toEqual([
      "m1:unchanged",
      "x:added",
      "y:removed",
    ]);
  });
});

describe("system tags", () => {
  const changes = [
    { conn_id: "a", kind: "added", stored: "created" },
    { conn_id: "b", kind: "removed", stored: "deleted" },
    { conn_id: "c", kind: "connection_changed", stored: "updated" },
    { conn_id: "d", kind: "blocks_changed", stored: "updated" },
    { conn_id: "e", kind: "unchanged", stored: "same" },
  ] as const;
  test("one sample per change, removals first", () => {
    expect(systemTagSamples(changes, 1234)).toEqual([
      { path: "/system/supervisor/conn_removed", value: "b", quality: "good", ts: 1234 },
      { path: "/system/supervisor/conn_added", value: "a", quality: "good", ts: 1234 },
      { path: "/system/c/config_reload", value: 1234, quality: "good", ts: 1234 },
      { path: "/system/d/config_reload", value: 1234, quality: "good", ts: 1234 },
    ]);
  });
  test("notifyChanges publishes one batch through publish; nothing when nothing changed", async () => {
    const rec = new Recorder();
    expect(await notifyChanges(rec, changes, 5)).toBe(4);
    expect(rec.batches).toHaveLength(1);
    expect(await notifyChanges(rec, [changes[4]], 5)).toBe(0);
    expect(rec.batches).toHaveLength(1);
  });
});
