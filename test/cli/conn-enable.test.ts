import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { quietBus, runCli } from "../support/run-cli.ts";
import { tempDir } from "../support/tmp.ts";

// `conn disable X` printed "X  removed (updated)" (the change kind of the supervisor), not
// what the user did.

const dir = tempDir("ne-cli-enable-");
afterAll(() => dir.cleanup());
const db = join(dir.path, "c.db");

function run(...argv: string[]) {
  return runCli(["--db", db, ...argv], { busFactory: quietBus });
}

test("conn disable / enable print what the user did; --json keeps the change list", async () => {
  for (const id of ["plc1", "plc22"]) {
    const add = await run(
      "conn",
      "add",
      id,
      "protocol=modbus-tcp",
      "host=h",
      "port=502",
      "unit_id=1",
    );
    expect(add.code).toBe(0);
  }
  const off = await run("conn", "disable", "plc1", "plc22");
  expect(off.code).toBe(0);
  expect(off.out).toBe(
    "plc1 disabled (its app will be stopped)\nplc22 disabled (its app will be stopped)\n",
  );
  const again = await run("conn", "disable", "plc1");
  expect(again.out).toBe("plc1 already disabled\n");
  const on = await run("conn", "enable", "plc1");
  expect(on.out).toBe("plc1 enabled (its app will be started)\n");
  expect((await run("conn", "enable", "plc1")).out).toBe("plc1 already enabled\n");
  const json = await run("--json", "conn", "disable", "plc1");
  expect(JSON.parse(json.out)).toMatchObject({
    ok: true,
    changes: [{ conn_id: "plc1", kind: "removed", stored: "updated" }],
    notified: true,
  });
});
