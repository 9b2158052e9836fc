import { afterAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { EXIT } from "../../src/core/exit-codes.ts";
import { tempDir } from "../support/tmp.ts";

// ne-supervisor as a real process: its arguments and its refusal of a missing NE_DB.

const MAIN = join(import.meta.dir, "../../src/supervisor/main.ts");
const dir = tempDir("ne-sup-main-");
afterAll(() => dir.cleanup());

async function supervisor(args: string[], env: Record<string, string> = {}) {
  const p = Bun.spawn([process.execPath, "run", MAIN, ...args], {
    env: { ...process.env, NE_SERVICE_MANAGER: "process", NE_LOG_LEVEL: "info", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { out, err, code };
}

test("an NE_DB path that does not exist: exit 78 with a clear message, no empty DB created", async () => {
  const folder = join(dir.path, "empty");
  mkdirSync(folder);
  const db = join(folder, "nodi-edge.db");
  const r = await supervisor([], { NE_DB: db, NE_REDIS_URL: "redis://127.0.0.1:1" });
  expect(r.err).toBe(
    `ne-supervisor: no database at ${db} (NE_DB); create it with nodi-edge db init (the package's postinst does), or set NE_DB to the existing database\n`,
  );
  expect(r.code).toBe(EXIT.CONFIG);
  expect(existsSync(db)).toBe(false);
  expect(readdirSync(folder)).toEqual([]);
}, 30_000);

test("--help: usage on stdout, exit 0; a bad setting: one line naming it, exit 78", async () => {
  const help = await supervisor(["--help"]);
  expect(help.code).toBe(0);
  expect(help.out).toStartWith("usage: ne-supervisor");
  expect(help.err).toBe("");
  const bad = await supervisor([], { NE_LOG_LEVEL: "loud" });
  expect(bad.code).toBe(EXIT.CONFIG);
  expect(bad.err).toBe(
    'ne-supervisor: invalid settings: NE_LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal (got "loud")\n',
  );
}, 30_000);
