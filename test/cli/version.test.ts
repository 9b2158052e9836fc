import { expect, test } from "bun:test";
import { join } from "node:path";
import pkg from "../../package.json" with { type: "json" };
import { runCli } from "../support/run-cli.ts";

// `nodi-edge --version` answered "unknown option '--version'", exit 64, from a clone (only the
// compiled multi-call binary knew it): the first thing an operator reports with a problem.

const expected = `nodi-edge ${pkg.version} (commit dev, bun-${process.platform}-${process.arch} (not compiled))\n`;

for (const flag of ["--version", "-V"]) {
  test(`nodi-edge ${flag}: the version line on stdout, exit 0`, async () => {
    expect(await runCli([flag])).toEqual({ code: 0, out: expected, err: "" });
  });
}

test("the real process: bun run src/cli/main.ts --version", async () => {
  const p = Bun.spawn(
    [process.execPath, "run", join(import.meta.dir, "../../src/cli/main.ts"), "--version"],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  expect(await p.exited).toBe(0);
  expect(await new Response(p.stdout).text()).toBe(expected);
});
