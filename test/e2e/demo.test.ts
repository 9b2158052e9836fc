import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

// `npm run demo` non-interactively: everything comes up, values are good, and nothing is
// left running afterwards.
test("the demo shows live good values and leaves nothing running", async () => {
  const p = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "../../scripts/demo.ts"),
      "--seconds",
      "6",
      "--no-opcua",
    ],
    { stdout: "pipe", stderr: "pipe", env: { ...process.env, NE_REDIS_URL: "" } },
  );
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  const msg = `${out}\n${err}`;
  expect(code, msg).toBe(0);
  expect(out, msg).toMatch(/line1 .*\[EXECUTE/);
  expect(out, msg).toMatch(/meter1 .*\[EXECUTE/);
  expect(out, msg).toMatch(/speed_actual\s+\d+ rpm\s+good/);
  expect(out, msg).toMatch(/voltage_l1\s+[\d.]+ V\s+good/);
  expect(out).toContain("nothing left running");
  const dir = /logs in (\S+)\/supervisor\.log/.exec(out)?.[1];
  const supPid = Number(/ne-supervisor started \(pid (\d+)\)/.exec(out)?.[1]);
  expect(dir).toBeDefined();
  // no process of this demo survives: none has its temp dir in its environment or command line
  const survivors = readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .filter((n) => {
      try {
        if (/^State:\s+Z/m.test(readFileSync(`/proc/${n}/status`, "utf8"))) return false;
        return (
          Number(n) === supPid ||
          readFileSync(`/proc/${n}/environ`, "utf8").includes(`${dir}/`) ||
          readFileSync(`/proc/${n}/cmdline`, "utf8").includes(`${dir}`)
        );
      } catch {
        return false;
      }
    });
  expect(survivors).toEqual([]);
}, 90_000);
