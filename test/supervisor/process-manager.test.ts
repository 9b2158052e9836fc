import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { ProcessManager } from "../../src/supervisor/process-manager.ts";
import { alive, serviceManagerContract, until } from "../contract/service-manager.contract.ts";
import { tempDir } from "../support/tmp.ts";

const fixtureApp = join(import.meta.dir, "../contract/fake-systemd/fixture-app.ts");
const dir = tempDir("ne-pm-");
const env = { ...process.env, FIXTURE_DIR: dir.path };
afterAll(() => dir.cleanup());

serviceManagerContract("process", async () => ({
  fixtureDir: dir.path,
  make: async (policy) =>
    new ProcessManager({
      command: [process.execPath, fixtureApp],
      northCommand: [process.execPath, fixtureApp],
      env,
      policy,
      sink: () => {},
    }),
  cleanup: async () => {},
}));

test("process manager: logs are prefixed by conn_id; close stops every child", async () => {
  const lines: string[] = [];
  const pm = new ProcessManager({
    command: [process.execPath, fixtureApp],
    env,
    sink: (id, stream, line) => lines.push(`${id}|${stream}|${line}`),
  });
  await pm.add("p1");
  await pm.add("p2");
  const pids = await until("both active", async () => {
    const a = (await pm.status("p1"))?.pid;
    const b = (await pm.status("p2"))?.pid;
    return a && b ? [a, b] : undefined;
  });
  await until("log lines", () => lines.length >= 2);
  expect(lines).toContain("p1|stdout|hello from p1");
  await pm.close();
  for (const pid of pids) expect(alive(pid)).toBe(false);
  expect(await pm.list()).toEqual([]);
});
