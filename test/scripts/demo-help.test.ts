import { expect, test } from "bun:test";
import { join } from "node:path";

// `npm run demo -- --help` printed `usage: bun run scripts/demo.ts …`, a command a user with
// only Node.js and npm cannot run (bun is in node_modules/.bin, not on the PATH), and no word
// on what the flags do.
test("demo --help: the npm command, every flag with what it does, exit 0, starts nothing", async () => {
  const p = Bun.spawn(
    [process.execPath, "run", join(import.meta.dir, "../../scripts/demo.ts"), "--help"],
    {
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  expect(await p.exited).toBe(0);
  const out = await new Response(p.stdout).text();
  expect(out.split("\n")[0]).toBe(
    "usage: npm run demo -- [--seconds N] [--only id,id] [--no-opcua] [--no-pty] [--no-north] [--keep]",
  );
  for (const flag of [
    "--seconds N",
    "--only id,id",
    "--no-opcua",
    "--no-pty",
    "--no-north",
    "--keep",
  ]) {
    expect(out).toMatch(new RegExp(`^  ${flag}\\s+\\S`, "m"));
  }
  expect(out).not.toContain("[demo]");
});
