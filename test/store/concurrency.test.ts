import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { SCHEMA_VERSION } from "../../src/store/migrations.ts";
import { openStore } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";

const dir = tempDir("ne-store-conc-");
afterAll(() => dir.cleanup());

// A writer process: [db, prefix, n, barrier dir?]. With a barrier dir it announces itself
// there and waits for the other writer before opening, so both open the file at once.
const WRITER = `
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { openStore } from ${JSON.stringify(join(import.meta.dir, "../../src/store/store.ts"))};
const [path, prefix, n, barrier] = process.argv.slice(2);
if (barrier) {
  writeFileSync(join(barrier, prefix), "");
  const deadline = Date.now() + 30000;
  while (!(existsSync(join(barrier, "pa")) && existsSync(join(barrier, "pb"))) && Date.now() < deadline) {
    await Bun.sleep(1);
  }
}
const s = openStore(path, { busyTimeoutMs: 30000 });
for (let i = 0; i < Number(n); i++) {
  const id = prefix + i;
  s.apply({ origin: prefix, put: [{
    connection: { conn_id: id, protocol: "modbus-tcp", host: "127.0.0.1", port: 502, unit_id: 1 },
    blocks: [{ conn_id: id, block_id: "b", table: "coils", address: 0, count: 8, period_ms: 100 }],
    tags: [{ conn_id: id, tag_name: "t", block_id: "b", address: 3, data_type: "bool" }],
  }] });
  if (i % 3 === 0) s.apply({ origin: prefix, putConnections: [{ ...s.getConnection(id), description: "edited" }] });
}
s.close();
`;

const script = join(dir.path, "writer.ts");

/** Runs writers `pa` and `pb` (N connections each) on `db`; expects both to exit 0 silently. */
async function runWriters(db: string, N: number, barrier?: string): Promise<void> {
  if (!existsSync(script)) await Bun.write(script, WRITER);
  const procs = ["pa", "pb"].map((p) =>
    Bun.spawn([process.execPath, "run", script, db, p, String(N), ...(barrier ? [barrier] : [])], {
      stdout: "pipe",
      stderr: "pipe",
    }),
  );
  const codes = await Promise.all(procs.map((p) => p.exited));
  const errs = await Promise.all(procs.map((p) => new Response(p.stderr).text()));
  expect({ codes, errs }).toEqual({ codes: [0, 0], errs: ["", ""] });
}

test("two processes writing the same file at once both succeed, nothing lost", async () => {
  const db = join(dir.path, "shared.sqlite");
  // Created and migrated here first: this test is about concurrent writes to an existing
  // database; the next test has the writers race on creating and migrating it.
  openStore(db).close();
  const N = 40;
  await runWriters(db, N);
  const s = openStore(db);
  const conns = s.listConnections();
  expect(conns).toHaveLength(2 * N);
  expect(s.db.query("SELECT COUNT(*) AS n FROM tags").get()).toEqual({ n: 2 * N });
  expect(conns.filter((c) => c.description === "edited")).toHaveLength(2 * Math.ceil(N / 3));
  expect(s.journal({ limit: 1000 })).toHaveLength(2 * N + 2 * Math.ceil(N / 3));
  s.close();
}, 60_000);

test("two processes creating and migrating a new file at the same moment both succeed", async () => {
  // Each round: a file that does not exist yet; both writers pass a barrier, then open it
  // (create, WAL, migrations in BEGIN IMMEDIATE re-checking the version) and write.
  for (let round = 0; round < 3; round++) {
    const db = join(dir.path, `fresh-${round}.sqlite`);
    const barrier = join(dir.path, `barrier-${round}`);
    await Bun.write(join(barrier, ".keep"), "");
    expect(existsSync(db)).toBe(false);
    const N = 5;
    await runWriters(db, N, barrier);
    const s = openStore(db);
    // Every migration applied exactly once.
    expect(s.db.query("SELECT version FROM schema_version ORDER BY version").all()).toEqual(
      Array.from({ length: SCHEMA_VERSION }, (_, i) => ({ version: i + 1 })),
    );
    expect(s.listConnections()).toHaveLength(2 * N);
    s.close();
  }
}, 90_000);
