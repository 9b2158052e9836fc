import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { migrate } from "../../src/store/migrations.ts";
import { openStore } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";

/** Migration 7 (auto tags): tags rebuilt with a nullable block_id, order and cascade kept. */
const dir = tempDir("ne-store-auto-");
afterAll(() => dir.cleanup());

describe("migration 7 (auto tags)", () => {
  test("a version-6 database keeps its tags in order, the block cascade, and takes auto tags", () => {
    const path = join(dir.path, "v6.sqlite");
    const raw = new Database(path);
    raw.run("PRAGMA foreign_keys = ON");
    migrate(raw, 6);
    raw.run(
      "INSERT INTO connections (conn_id, protocol, host, port) VALUES ('c1', 'modbus-tcp', 'h', 502)",
    );
    raw.run(
      `INSERT INTO blocks (conn_id, block_id, "table", address, count, period_ms) VALUES ('c1', 'hr', 'holding_registers', 0, 4, 1000)`,
    );
    for (const name of ["zeta", "alpha", "mid"]) {
      raw.run(
        "INSERT INTO tags (conn_id, tag_name, block_id, address, data_type) VALUES ('c1', ?, 'hr', 0, 'int16')",
        [name],
      );
    }
    raw.close();
    const s = openStore(path);
    expect(s.getTags("c1").map((t) => [t.tag_name, t.block_id, t.table, t.scan_ms])).toEqual([
      ["zeta", "hr", null, null],
      ["alpha", "hr", null, null],
      ["mid", "hr", null, null],
    ]);
    expect(s.getConnection("c1")).toMatchObject({ max_gap_registers: 4, max_gap_bits: 16 });
    s.db.run(
      `INSERT INTO tags (conn_id, tag_name, block_id, "table", scan_ms, address, data_type) VALUES ('c1', 'auto1', NULL, 'coils', 100, 3, 'bool')`,
    );
    s.db.run("DELETE FROM blocks WHERE block_id = 'hr'");
    expect(s.getTags("c1").map((t) => t.tag_name)).toEqual(["auto1"]);
    expect(() =>
      s.db.run(
        "INSERT INTO tags (conn_id, tag_name, block_id, address, data_type) VALUES ('c1', 'x', 'nope', 0, 'int16')",
      ),
    ).toThrow(/FOREIGN KEY/);
    s.close();
  });
});
