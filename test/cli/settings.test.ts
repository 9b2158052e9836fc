import { expect, test } from "bun:test";
import { join } from "node:path";
import { quietBus, runCli } from "../support/run-cli.ts";

// A bad setting is the machine's configuration, not a bug: one line naming the variable, the
// value and what is expected, exit 78 (EXIT.CONFIG), never "internal error" with a stack trace.

const ROOT = join(import.meta.dir, "../..");

const cases: [Record<string, string>, string][] = [
  [
    { NE_REDIS_URL: "localhost:6379" },
    'NE_REDIS_URL: must be a URL like redis://127.0.0.1:6379, rediss://user:password@host:6380 or unix:///run/redis-nodi-edge/redis-server.sock (got "localhost:6379")',
  ],
  [
    { NE_REDIS_URL: "redis://[bad" },
    'NE_REDIS_URL: must be a URL like redis://127.0.0.1:6379, rediss://user:password@host:6380 or unix:///run/redis-nodi-edge/redis-server.sock (got "redis://[bad")',
  ],
  [
    { NE_LOG_LEVEL: "loud" },
    'NE_LOG_LEVEL: must be one of trace, debug, info, warn, error, fatal (got "loud")',
  ],
];

for (const [env, detail] of cases) {
  for (const argv of [
    ["conn", "list"],
    ["tag", "get", "/line1/speed"],
  ]) {
    test(`${JSON.stringify(env)}: nodi-edge ${argv.join(" ")} → one line, exit 78`, async () => {
      const r = await runCli(["--db", "/nonexistent/x.db", ...argv], { env, busFactory: quietBus });
      expect(r).toEqual({ code: 78, out: "", err: `nodi-edge: invalid settings: ${detail}\n` });
    });
  }
}

test("the real process too: bad NE_REDIS_URL → one line on stderr, exit 78", async () => {
  const p = Bun.spawn([process.execPath, "run", join(ROOT, "src/cli/main.ts"), "status"], {
    env: { ...process.env, NE_REDIS_URL: "localhost:6379" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  expect({ code, out, err }).toEqual({
    code: 78,
    out: "",
    err: `nodi-edge: invalid settings: ${cases[0]![1]}\n`,
  });
});
