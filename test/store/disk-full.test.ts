import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, rmSync, statfsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { isNodiError } from "../../src/core/errors.ts";
import { openStore } from "../../src/store/store.ts";
import { modbusConfig } from "../store/helpers.ts";
import { quietBus, runCli } from "../support/run-cli.ts";
import { tempDir } from "../support/tmp.ts";

// A full disk during an import was "internal error: SQLiteError … disk is full" with a stack
// trace, and a full disk at open advised "move it away and run db init", which would throw
// away a healthy database. Here the disk is really full: a 512 KiB tmpfs mounted in the test's
// temp dir (the suite runs as root, as the packaging tests do).

const EXAMPLES = join(import.meta.dir, "../../examples/demo");
const dir = tempDir("ne-diskfull-");
const mnt = join(dir.path, "small");
const db = join(mnt, "ne.db");
const filler = join(mnt, "filler");
let mounted = false;

/** A CSV folder with 200 connections whose descriptions need more room than is left. */
function bigImport(): string {
  const d = join(dir.path, "big");
  mkdirSync(d, { recursive: true });
  const rows = Array.from(
    { length: 200 },
    (_, i) => `c${i},modbus-tcp,127.0.0.1,502,${"x".repeat(500)}\n`,
  );
  writeFileSync(
    join(d, "connections.csv"),
    `conn_id,protocol,host,port,description\n${rows.join("")}`,
  );
  return d;
}

/** Fills the tmpfs but for `keep` bytes. */
function fill(keep: number): void {
  rmSync(filler, { force: true });
  const s = statfsSync(mnt);
  const free = s.bavail * s.bsize;
  if (free > keep) execFileSync("fallocate", ["-l", String(free - keep), filler]);
}

beforeAll(async () => {
  mkdirSync(mnt);
  try {
    execFileSync("mount", ["-t", "tmpfs", "-o", "size=512k", "tmpfs", mnt], { stdio: "pipe" });
  } catch (e) {
    throw new Error(
      `disk-full.test.ts mounts a small tmpfs and needs root (CAP_SYS_ADMIN): ${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`,
    );
  }
  mounted = true;
  const r = await runCli(["--db", db, "import", EXAMPLES], { busFactory: quietBus });
  expect(r.code).toBe(0);
});

afterAll(() => {
  if (mounted) execFileSync("umount", [mnt]);
  dir.cleanup();
});

describe("a full disk", () => {
  test("during an import: one line saying what happened, that nothing changed, what to free; exit 69", async () => {
    const before = (await runCli(["--db", db, "--json", "conn", "list"])).out;
    fill(64 * 1024); // room to open the database (WAL index), not for the import
    const r = await runCli(["--db", db, "import", bigImport()], { busFactory: quietBus });
    expect(r.code).toBe(69);
    expect(r.out).toBe("");
    expect(r.err.split("\n")).toHaveLength(2); // one line and its end
    expect(r.err).toStartWith(
      `nodi-edge: disk full: cannot write database ${db}: database or disk is full (SQLITE_FULL); nothing was changed (the transaction was rolled back). The filesystem holding it is full (`,
    );
    expect(r.err).toContain(` free of 524 kB on ${mnt}): free space there`);
    expect(r.err).toContain("the database itself is intact");
    expect(r.err).not.toContain("internal error");
    expect(r.err).not.toContain("db init");
    expect(r.err).not.toContain("    at ");
    rmSync(filler);
    expect((await runCli(["--db", db, "--json", "conn", "list"])).out).toBe(before);
  });

  test("at open: an I/O error, never the advice to re-create the database", async () => {
    // With no room at all SQLite cannot even create its WAL index: SQLITE_IOERR_SHMSIZE.
    for (const f of [`${db}-wal`, `${db}-shm`]) rmSync(f, { force: true });
    fill(0);
    const r = await runCli(["--db", db, "conn", "list"]);
    expect(r.code).toBe(69);
    expect(r.err).toStartWith(
      `nodi-edge: I/O error on database ${db}: disk I/O error (SQLITE_IOERR`,
    );
    expect(r.err).toContain("the database was not changed");
    expect(r.err).toContain(`0 B free of 524 kB on ${mnt}`);
    expect(r.err).toContain("do not delete or re-create the database");
    expect(r.err).not.toContain("db init");
    rmSync(filler);
    expect(existsSync(db)).toBe(true);
    const ok = await runCli(["--db", db, "conn", "list"]);
    expect(ok.code).toBe(0);
    expect(ok.out).toContain("line1");
  });
});

test("SQLITE_FULL from the database's page limit: Store.apply rolls back and the handle keeps working", () => {
  const s = openStore(join(dir.path, "limit.db"));
  try {
    s.apply({ origin: "test", put: [modbusConfig("plc1")] });
    const pages = (s.db.query("PRAGMA page_count").get() as { page_count: number }).page_count;
    s.db.run(`PRAGMA max_page_count = ${pages}`);
    const many = Array.from({ length: 50 }, (_, i) =>
      modbusConfig(`p${i}`, { description: "y".repeat(2000) }),
    );
    let err: unknown;
    try {
      s.apply({ origin: "test", put: many });
    } catch (e) {
      err = e;
    }
    expect(isNodiError(err, "communication")).toBe(true);
    expect((err as { reason: string }).reason).toBe("disk_full");
    expect((err as Error).message).toContain(
      "nothing was changed (the transaction was rolled back)",
    );
    expect(s.db.inTransaction).toBe(false);
    expect(s.listConnections().map((c) => c.conn_id)).toEqual(["plc1"]);
    s.db.run("PRAGMA max_page_count = 1073741823");
    s.apply({ origin: "test", put: [modbusConfig("plc2")] });
    expect(s.listConnections().map((c) => c.conn_id)).toEqual(["plc1", "plc2"]);
  } finally {
    s.close();
  }
});
