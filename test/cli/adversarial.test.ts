import { afterAll, expect, test } from "bun:test";
import { copyFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { CliIO } from "../../src/cli/context.ts";
import { main } from "../../src/cli/main.ts";
import { tempDir } from "../support/tmp.ts";

// Wrong file arguments to `import`, found by adversarial testing: documented as usage
// errors (exit 64, docs/cli.md) but they exited 65 (bad data).

const dir = tempDir("ne-cli-adv-");
afterAll(() => dir.cleanup());
const EXAMPLES = join(import.meta.dir, "../../examples/demo");

async function run(argv: string[]) {
  let err = "";
  const io: CliIO = {
    out: () => {},
    err: (s) => {
      err += s;
    },
    env: {},
  };
  const code = await main(["--db", join(dir.path, "a.db"), ...argv], { io });
  return { code, err };
}

test("import with two files of one kind, no connections.csv, or an unknown file name: exit 64", async () => {
  const a = join(dir.path, "a-tags.csv");
  const b = join(dir.path, "b-tags.csv");
  copyFileSync(join(EXAMPLES, "tags.csv"), a);
  copyFileSync(join(EXAMPLES, "tags.csv"), b);
  const other = join(dir.path, "plc.txt");
  writeFileSync(other, "x\n");
  const conn = join(EXAMPLES, "connections.csv");
  expect(await run(["import", conn, a, b])).toEqual({
    code: 64,
    err: `nodi-edge: two tags files: ${a} and ${b}; give one of each kind\n`,
  });
  expect((await run(["import", a])).code).toBe(64);
  expect((await run(["import", conn, other])).code).toBe(64);
});
