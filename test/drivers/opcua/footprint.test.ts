import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { runFreshBun } from "../../support/fresh-bun.ts";
import { tempDir } from "../../support/tmp.ts";

// Runs small scripts in a fresh `bun` so that module loading can be observed from scratch.
const root = join(import.meta.dir, "../../..");
const dir = tempDir("ne-opcua-foot-");
afterAll(() => dir.cleanup());

async function run(script: string, env: Record<string, string> = {}): Promise<string> {
  const out = await runFreshBun(script, root, env);
  return out.trim().split("\n").at(-1) ?? "";
}

describe("footprint: node-opcua only in OPC UA apps", () => {
  test("loading the Modbus driver through the registry loads no node-opcua module", async () => {
    const out = await run(`
      const { loadDriverFactory } = await import("./src/drivers/registry.ts");
      await loadDriverFactory("modbus-tcp");
      const keys = Object.keys(require.cache);
      console.log(JSON.stringify({ total: keys.length, opcua: keys.filter((k) => k.includes("node-opcua")).length }));
    `);
    const r = JSON.parse(out);
    expect(r.total).toBeGreaterThan(0);
    expect(r.opcua).toBe(0);
  }, 30_000);

  test("loading the nodi-edge CLI (with its opcua group) loads no node-opcua module", async () => {
    const out = await run(`
      const { buildProgram } = await import("./src/cli/main.ts");
      buildProgram({ out() {}, err() {}, env: {} });
      console.log(Object.keys(require.cache).filter((k) => k.includes("node-opcua")).length);
    `);
    expect(Number(out)).toBe(0);
  }, 30_000);

  test("the OPC UA driver does load it (the check above can see it)", async () => {
    const out = await run(`
      const { loadDriverFactory } = await import("./src/drivers/registry.ts");
      await loadDriverFactory("opcua");
      console.log(Object.keys(require.cache).filter((k) => k.includes("node-opcua-client")).length);
    `);
    expect(Number(out)).toBeGreaterThan(0);
  }, 30_000);

  test("a connect writes nothing to the home directory (PKI under the data dir)", async () => {
    const home = join(dir.path, "home");
    const data = join(dir.path, "data");
    const out = await run(
      `
      const { startOpcuaSim } = await import("./src/sim/opcua/server.ts");
      const { freePort } = await import("./test/support/ports.ts");
      const { createOpcuaDriver } = await import("./src/drivers/opcua/index.ts");
      const { silentLogger } = await import("./src/core/log.ts");
      const sim = await startOpcuaSim({ port: await freePort(), pkiDir: ${JSON.stringify(join(data, "sim"))}, tickMs: 0 });
      const d = createOpcuaDriver({ conn_id: "p1", protocol: "opcua", endpoint_url: sim.endpointUrl, security_mode: "None",
        security_policy: "None", timeout_ms: 3000, connect_timeout_ms: 10000 }, { log: silentLogger, dataDir: ${JSON.stringify(data)} });
      await d.configure([], []);
      await d.connect();
      await d.close();
      await sim.stop();
      console.log("ok");
    `,
      { HOME: home, XDG_CONFIG_HOME: join(home, ".config"), APPDATA: join(home, "appdata") },
    );
    expect(out).toBe("ok");
    const inHome = existsSync(home) ? readdirSync(home, { recursive: true }).map(String) : [];
    expect(
      inHome.filter((f) => f.toLowerCase().includes("opcua") || f.toLowerCase().includes("pki")),
    ).toEqual([]);
    expect(existsSync(join(data, "pki", "p1", "own", "certs"))).toBe(true);
  }, 60_000);
});
