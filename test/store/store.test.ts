import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { isNodiError } from "../../src/core/errors.ts";
import { openStore } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";
import { modbusConfig } from "./helpers.ts";

const dir = tempDir("ne-store-");
afterAll(() => dir.cleanup());
let n = 0;
const fresh = () => openStore(join(dir.path, `s${++n}.sqlite`));

describe("Store", () => {
  test("put, read back, list, journal", () => {
    const s = fresh();
    const r = s.apply({ origin: "test", put: [modbusConfig("b"), modbusConfig("a")] });
    expect(r.changes).toEqual([
      { conn_id: "a", kind: "added", stored: "created" },
      { conn_id: "b", kind: "added", stored: "created" },
    ]);
    expect(s.listConnections().map((c) => c.conn_id)).toEqual(["a", "b"]);
    const cfg = s.getConnectionConfig("a")!;
    expect(cfg.connection).toMatchObject({
      protocol: "modbus-tcp",
      port: 502,
      timeout_ms: 1000,
      enabled: true,
    });
    expect(cfg.connection.serial_device).toBeNull();
    expect(cfg.blocks).toHaveLength(1);
    expect(cfg.tags.map((t) => t.tag_name)).toEqual(["speed", "temp"]);
    expect(s.getConnectionConfig("zz")).toBeUndefined();
    expect(s.journal().map((j) => [j.conn_id, j.change, j.origin])).toEqual([
      ["a", "added", "test"],
      ["b", "added", "test"],
    ]);
    s.close();
  });

  test("an invalid edit writes nothing, even the valid connections in it", () => {
    const s = fresh();
    const bad = modbusConfig("bad");
    (bad.tags[1] as { address: number }).address = 9; // float32 at 9–10, block ends at 9
    expect(() => s.apply({ origin: "t", put: [modbusConfig("good"), bad] })).toThrow(
      /inside its block/,
    );
    expect(s.listConnections()).toEqual([]);
    expect(s.journal()).toEqual([]);
    s.close();
  });

  test("putConnections keeps blocks and tags; remove deletes them; unknown removal is not_found", () => {
    const s = fresh();
    s.apply({ origin: "t", put: [modbusConfig("p")] });
    const r = s.apply({
      origin: "t",
      putConnections: [{ ...s.getConnection("p")!, host: "10.1.1.1" }],
    });
    expect(r.changes[0]?.kind).toBe("connection_changed");
    expect(s.getTags("p")).toHaveLength(2);
    let err: unknown;
    try {
      s.apply({ origin: "t", remove: ["nope"] });
    } catch (e) {
      err = e;
    }
    expect(isNodiError(err, "not_found")).toBe(true);
    expect(s.apply({ origin: "t", remove: ["p"] }).changes[0]?.kind).toBe("removed");
    expect(s.getBlocks("p")).toEqual([]);
    expect(s.getTags("p")).toEqual([]);
    expect(s.db.query("SELECT COUNT(*) AS n FROM tags").get()).toEqual({ n: 0 });
    s.close();
  });

  test("replaceAll removes connections the edit does not name; dryRun writes nothing", () => {
    const s = fresh();
    s.apply({ origin: "t", put: [modbusConfig("a"), modbusConfig("b")] });
    const dry = s.apply({ origin: "t", put: [modbusConfig("a")], replaceAll: true, dryRun: true });
    expect(dry.changes).toEqual([
      { conn_id: "a", kind: "unchanged", stored: "same" },
      { conn_id: "b", kind: "removed", stored: "deleted" },
    ]);
    expect(s.listConnections()).toHaveLength(2);
    s.apply({ origin: "t", put: [modbusConfig("a")], replaceAll: true });
    expect(s.listConnections().map((c) => c.conn_id)).toEqual(["a"]);
    s.close();
  });
});
