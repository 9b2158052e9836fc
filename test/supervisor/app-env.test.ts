import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { INTF_APP_ENV, intfAppEnv } from "../../src/supervisor/app-env.ts";
import { ProcessManager } from "../../src/supervisor/process-manager.ts";
import { until } from "../contract/service-manager.contract.ts";
import { tempDir } from "../support/tmp.ts";

// The interface apps' runtime settings (MIMALLOC_PURGE_DELAY=0, BUN_JSC_useConcurrentJIT=0) must
// reach every app, however it is started: the process manager's children and the systemd unit's
// instances.

const dir = tempDir("ne-app-env-");
afterAll(() => dir.cleanup());
/** A child that writes its runtime settings (JSON) to `<dir>/<id>` and waits to be stopped. */
const dump = join(dir.path, "dump.ts");
writeFileSync(
  dump,
  `const id = process.argv.at(-1)!.split("=")[1];
const keys = ["MIMALLOC_PURGE_DELAY", "BUN_JSC_useConcurrentJIT"];
require("node:fs").writeFileSync(${JSON.stringify(dir.path)} + "/" + id, JSON.stringify(Object.fromEntries(keys.map((k) => [k, process.env[k] ?? "<unset>"]))));
setInterval(() => {}, 1000);
`,
);

async function envOfChild(
  env: Record<string, string | undefined>,
  template: "ne-intf" | "ne-north",
  id: string,
): Promise<Record<string, string>> {
  const pm = new ProcessManager({
    command: [process.execPath, dump],
    northCommand: [process.execPath, dump],
    env,
    sink: () => {},
  });
  try {
    await pm.add(id, {}, template);
    return await until(`${id} wrote its environment`, () => {
      try {
        return JSON.parse(readFileSync(join(dir.path, id), "utf8")) as Record<string, string>;
      } catch {
        return undefined;
      }
    });
  } finally {
    await pm.close();
  }
}

const supervisorEnv = {
  ...process.env,
  MIMALLOC_PURGE_DELAY: undefined,
  BUN_JSC_useConcurrentJIT: undefined,
};

test("the process manager starts interface apps with MIMALLOC_PURGE_DELAY=0 and BUN_JSC_useConcurrentJIT=0", async () => {
  expect(INTF_APP_ENV.MIMALLOC_PURGE_DELAY).toBe("0");
  expect(INTF_APP_ENV.BUN_JSC_useConcurrentJIT).toBe("0");
  expect(await envOfChild(supervisorEnv, "ne-intf", "c1")).toEqual({
    MIMALLOC_PURGE_DELAY: "0",
    BUN_JSC_useConcurrentJIT: "0",
  });
});

test("an operator's value in the supervisor's environment wins", async () => {
  const env = await envOfChild(
    { ...supervisorEnv, MIMALLOC_PURGE_DELAY: "50", BUN_JSC_useConcurrentJIT: "1" },
    "ne-intf",
    "c2",
  );
  expect(env).toEqual({ MIMALLOC_PURGE_DELAY: "50", BUN_JSC_useConcurrentJIT: "1" });
  expect(intfAppEnv({ MIMALLOC_PURGE_DELAY: "" }).MIMALLOC_PURGE_DELAY).toBe("");
});

test("northbound apps are started with the supervisor's environment as it is", async () => {
  expect(await envOfChild(supervisorEnv, "ne-north", "n1")).toEqual({
    MIMALLOC_PURGE_DELAY: "<unset>",
    BUN_JSC_useConcurrentJIT: "<unset>",
  });
});

test("ne-intf@.service sets every one of the apps' runtime settings, before its EnvironmentFile=", () => {
  const unit = readFileSync(
    join(import.meta.dir, "../../packaging/systemd/ne-intf@.service"),
    "utf8",
  );
  const lines = unit.split("\n");
  const file = lines.findIndex((l) => l.startsWith("EnvironmentFile="));
  for (const [k, v] of Object.entries(INTF_APP_ENV)) {
    const at = lines.findIndex(
      (l) => l.startsWith("Environment=") && l.slice(12).split(/\s+/).includes(`${k}=${v}`),
    );
    expect(at).toBeGreaterThan(-1);
    // EnvironmentFile= overrides Environment=: the operator's nodi-edge.env still wins
    expect(at).toBeLessThan(file);
  }
});
