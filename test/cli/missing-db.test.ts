import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { quietBus, runCli } from "../support/run-cli.ts";
import { tempDir } from "../support/tmp.ts";

// A mistyped --db path must not become a new, empty database: only the commands that create
// configuration (db init, import, conn add) may create the file.

const ROOT = join(import.meta.dir, "../..");
const EXAMPLES = join(ROOT, "examples/demo");
const dir = tempDir("ne-cli-nodb-");
afterAll(() => dir.cleanup());

/** A bus that takes everything (the CLI announces changes after a commit). */

function run(argv: string[]) {
  return runCli(argv, { busFactory: quietBus });
}

let n = 0;
/** A path in its own (existing, empty) folder, so that no -wal/-shm file can hide. */
function newPath(): { folder: string; db: string } {
  const folder = join(dir.path, `d${++n}`);
  mkdirSync(folder);
  return { folder, db: join(folder, "path.db") };
}

describe("a database path that does not exist", () => {
  const reads: string[][] = [
    ["db", "info"],
    ["conn", "list"],
    ["conn", "show", "line1"],
    ["conn", "rm", "line1"],
    ["conn", "enable", "line1"],
    ["conn", "disable", "line1"],
    ["conn", "add", "--update", "line1", "port=1"],
    ["export", "OUT"],
    ["status"],
  ];
  for (const argv of reads) {
    test(`${argv.join(" ")} exits 66 with a clear message and creates nothing`, async () => {
      const { folder, db } = newPath();
      const args = argv.map((a) => (a === "OUT" ? join(dir.path, `out${n}`) : a));
      const r = await run(["--db", db, ...args]);
      expect(r.err).toBe(`nodi-edge: no database at ${db}; create it with nodi-edge db init\n`);
      expect(r.code).toBe(66);
      expect(readdirSync(folder)).toEqual([]);
    });
  }

  test("--json: the same exit code and message on stderr", async () => {
    const { db } = newPath();
    const r = await run(["--json", "--db", db, "conn", "list"]);
    expect(r.code).toBe(66);
    expect(r.out).toBe("");
    expect(r.err).toContain(`no database at ${db}`);
  });

  test("db init, import and conn add create it", async () => {
    for (const argv of [
      ["db", "init"],
      ["import", EXAMPLES],
      ["conn", "add", "plc2", "protocol=modbus-tcp", "host=10.0.0.5", "port=502", "unit_id=1"],
    ]) {
      const { db } = newPath();
      const r = await run(["--db", db, ...argv]);
      expect({ argv, err: r.err, code: r.code }).toEqual({ argv, err: "", code: 0 });
      expect(existsSync(db)).toBe(true);
      expect((await run(["--db", db, "db", "info"])).code).toBe(0);
    }
  });

  test("import --dry-run validates against an empty configuration and creates nothing", async () => {
    const { folder, db } = newPath();
    const r = await run(["--db", db, "import", "--dry-run", EXAMPLES]);
    expect(r.code).toBe(0);
    expect(r.out).toContain("dry run");
    expect(r.out).toContain("line1");
    expect(readdirSync(folder)).toEqual([]);
  });
});
