import { Database } from "bun:sqlite";
import { afterAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { isNodiError } from "../../src/core/errors.ts";
import { FIELDS, TABLE_OF } from "../../src/store/fields.ts";
import { currentVersion, MIGRATIONS, migrate, SCHEMA_VERSION } from "../../src/store/migrations.ts";
import { openStore } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";

const dir = tempDir("ne-store-mig-");
afterAll(() => dir.cleanup());
let n = 0;
const file = () => join(dir.path, `db${++n}.sqlite`);

describe("migrations", () => {
  test("an empty file is migrated to the latest version, recorded in schema_version", () => {
    const s = openStore(file());
    expect(s.schemaVersion).toBe(SCHEMA_VERSION);
    const rows = s.db.query("SELECT version FROM schema_version ORDER BY version").all() as {
      version: number;
    }[];
    expect(rows.map((r) => r.version)).toEqual(MIGRATIONS.map((m) => m.version));
    expect((s.db.query("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode).toBe(
      "wal",
    );
    expect(s.listConnections()).toEqual([]);
    s.close();
  });

  test("every schema field has a column in the latest schema", () => {
    const s = openStore(file());
    for (const entity of [
      "connection",
      "device",
      "block",
      "tag",
      "northbound",
      "profile",
      "profile_block",
      "profile_tag",
    ] as const) {
      const cols = (
        s.db.query(`PRAGMA table_info(${TABLE_OF[entity]})`).all() as { name: string }[]
      ).map((c) => c.name);
      for (const f of FIELDS[entity]) expect(cols).toContain(f.name);
    }
    s.close();
  });

  for (const m of MIGRATIONS.slice(0, -1)) {
    test(`a database at version ${m.version} is migrated with its data kept`, () => {
      const path = file();
      const raw = new Database(path);
      expect(migrate(raw, m.version)).toBe(m.version);
      raw.run(
        "INSERT INTO connections (conn_id, protocol, host, port, unit_id) VALUES ('old1', 'modbus-tcp', '10.0.0.1', 502, 3)",
      );
      raw.run(
        `INSERT INTO blocks (conn_id, block_id, "table", address, count, period_ms) VALUES ('old1', 'hr', 'holding_registers', 0, 4, 1000)`,
      );
      raw.run(
        "INSERT INTO tags (conn_id, tag_name, block_id, address, data_type) VALUES ('old1', 'v', 'hr', 1, 'int16')",
      );
      raw.close();
      const s = openStore(path);
      expect(s.schemaVersion).toBe(SCHEMA_VERSION);
      const cfg = s.getConnectionConfig("old1");
      expect(cfg?.connection.host).toBe("10.0.0.1");
      expect(cfg?.connection.enabled).toBe(true);
      expect(cfg?.blocks.map((b) => b.block_id)).toEqual(["hr"]);
      expect(cfg?.tags[0]).toMatchObject({
        tag_name: "v",
        data_type: "int16",
        byte_order: "ABCD",
        scale: 1,
      });
      expect(cfg?.tags[0]?.queue_size).toBeNull();
      s.close();
    });
  }

  test("a database of a newer schema is refused with a clear message, untouched", () => {
    const path = file();
    openStore(path).close();
    const raw = new Database(path);
    raw.run("INSERT INTO schema_version VALUES (?, ?, 'from the future')", [
      SCHEMA_VERSION + 1,
      Date.now(),
    ]);
    raw.close();
    let err: unknown;
    try {
      openStore(path);
    } catch (e) {
      err = e;
    }
    expect(isNodiError(err, "configuration")).toBe(true);
    expect((err as Error).message).toContain(`schema version ${SCHEMA_VERSION + 1}`);
    expect((err as Error).message).toContain("upgrade Nodi Edge");
    const again = new Database(path);
    expect(currentVersion(again)).toBe(SCHEMA_VERSION + 1);
    again.close();
  });

  test("a read-only open does not migrate and refuses an older schema", () => {
    const path = file();
    const raw = new Database(path);
    migrate(raw, 1);
    raw.close();
    expect(() => openStore(path, { readonly: true })).toThrow(/older than this Nodi Edge/);
    openStore(path).close();
    const ro = openStore(path, { readonly: true });
    expect(ro.schemaVersion).toBe(SCHEMA_VERSION);
    ro.close();
  });
});
