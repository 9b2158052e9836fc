import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { isControlChar } from "../../src/core/control-chars.ts";
import { openStore } from "../../src/store/store.ts";
import { quietBus, runCli } from "../support/run-cli.ts";
import { tempDir } from "../support/tmp.ts";

// The CLI never prints a raw control character from the DB: rows stored before validation
// refused them (or written around it) show ESC, BEL, NUL, CSI as escapes, and a description
// with a line feed stays on its line.

const EXAMPLES = join(import.meta.dir, "../../examples/demo");
const dir = tempDir("ne-cli-ctl-");
const db = join(dir.path, "ne.db");
afterAll(() => dir.cleanup());

// A terminal title change + screen clear + bell, and a C1 CSI, as an old row may hold them.
const EVIL = "Line 1\u001b]0;owned\u0007\u001b[2J\u0000\u009b31m\nfake: line";

/** Any control character but LF, which may only end lines of the CLI's own output. */
const rawControl = (s: string) =>
  [...s].filter((c) => c !== "\n" && isControlChar(c.charCodeAt(0)));

test("conn show, conn list and --json print control characters from old rows escaped", async () => {
  expect((await runCli(["--db", db, "import", EXAMPLES], { busFactory: quietBus })).code).toBe(0);
  const store = openStore(db);
  store.db.run("UPDATE connections SET description = ? WHERE conn_id = 'line1'", [EVIL]);
  store.db.run("UPDATE tags SET unit = ? WHERE conn_id = 'line1'", ["\u001b[31mrpm"]);
  store.close();

  const show = await runCli(["--db", db, "conn", "show", "line1"]);
  expect(show.code).toBe(0);
  expect(rawControl(show.out)).toEqual([]);
  expect(show.out).toContain(
    "description: Line 1\\u001b]0;owned\\u0007\\u001b[2J\\u0000\\u009b31m\\u000afake: line\n",
  );
  expect(show.out).not.toMatch(/^fake: line/m);
  expect(show.out).toContain("\\u001b[31mrpm");

  const list = await runCli(["--db", db, "conn", "list"]);
  expect(list.code).toBe(0);
  expect(rawControl(list.out)).toEqual([]);
  expect(list.out).toContain("Line 1\\u001b]0;owned");
  expect(list.out.split("\n").filter((l) => l.startsWith("fake"))).toEqual([]);

  const json = await runCli(["--db", db, "--json", "conn", "show", "line1"]);
  expect(rawControl(json.out)).toEqual([]);
  expect(JSON.parse(json.out).connection.description).toBe(EVIL); // still the stored value
});

test("a new control character is refused by conn add, located at its field", async () => {
  const r = await runCli(
    [
      "--db",
      db,
      "conn",
      "add",
      "plc9",
      "protocol=modbus-tcp",
      "host=10.0.0.9",
      "port=502",
      "description=bell\u0007",
    ],
    { busFactory: quietBus },
  );
  expect(r.code).toBe(65);
  expect(r.err).toContain(
    "description must not contain control characters, found BEL (U+0007) at character 5",
  );
  expect(rawControl(r.err)).toEqual([]);
});
