import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openStore } from "../../src/store/store.ts";
import { tempDir } from "../support/tmp.ts";

const dir = tempDir("ne-store-conc-");
afterAll(() => dir.cleanup());

const WRITER = `
import { openStore } from ${JSON.stringify(join(import.meta.dir, "../../src/store/store.ts"))};
const [path, prefix, n] = process.argv.slice(2);
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

test("two processes writing the same file at once both succeed, nothing lost", async () => {
  const db = join(dir.path, "shared.sqlite");
  const script = join(dir.path, "writer.ts");
  await Bun.write(script, WRITER);
  openStore(db).close(); // migrate once; the writers also race on open
  const N = 40;
  const procs = ["pa", "pb"].map((p) =>
    Bun.spawn([process.execPath, "run", script, db, p, String(N)], {
      stdout: "pipe",
      stderr: "pipe",
    }),
  );
  const codes = await Promise.all(procs.map((p) => p.exited));
  const errs = await Promise.all(procs.map((p) => new Response(p.stderr).text()));
  expect({ codes, errs }).toEqual({ codes: [0, 0], errs: ["", ""] });
  const s = openStore(db);
  const conns = s.listConnections();
  expect(conns).toHaveLength(2 * N);
  expect(s.db.query("SELECT COUNT(*) AS n FROM tags").get()).toEqual({ n: 2 * N });
  expect(conns.filter((c) => c.description === "edited")).toHaveLength(2 * Math.ceil(N / 3));
  expect(s.journal({ limit: 1000 })).toHaveLength(2 * N + 2 * Math.ceil(N / 3));
  s.close();
}, 60_000);
