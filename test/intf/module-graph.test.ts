import { expect, test } from "bun:test";
import { join } from "node:path";
import { runFreshBun } from "../support/fresh-bun.ts";

/**
 * What an interface app loads (issue 15, docs/performance.md "Memory per connection"): a
 * Modbus app evaluates only its protocol's and its steady state's code. Each case runs in a
 * fresh Bun that imports `src/intf/main.ts` (everything ne-intf imports at start) and the
 * driver the registry loads for the protocol, then lists `require.cache` (which holds ESM
 * modules too).
 */
const ROOT = join(import.meta.dir, "../..");

async function loaded(protocol: string): Promise<string[]> {
  const script = `
    await import(${JSON.stringify(join(ROOT, "src/intf/main.ts"))});
    const { loadDriverFactory } = await import(${JSON.stringify(join(ROOT, "src/drivers/registry.ts"))});
    await loadDriverFactory(${JSON.stringify(protocol)});
    await Bun.write(Bun.stdout, JSON.stringify(Object.keys(require.cache)));
  `;
  const out = await runFreshBun(script, ROOT);
  return (JSON.parse(out) as string[]).map((k) => k.replace(`${ROOT}/`, ""));
}

const pkg = (name: string) => new RegExp(`node_modules/${name.replace("/", "\\/")}/`);

test("a Modbus TCP app loads no OPC UA, CLI, CSV, web, northbound, Redis client library or pino main entry", async () => {
  const mods = await loaded("modbus-tcp");
  expect(mods).toContain("src/drivers/modbus/index.ts");
  const forbidden = [
    /node_modules\/node-opcua/,
    pkg("commander"),
    pkg("csv-parse"),
    pkg("csv-stringify"),
    pkg("mqtt"),
    pkg("protobufjs"),
    pkg("@redis/client"), // the TagBus is on Bun's RedisClient
    pkg("thread-stream"), // pino's transports: src/core/log.ts uses pino's minimal build
    pkg("sonic-boom"),
    pkg("modbus-serial"), // RTU links only, loaded when a serial link opens
    /^src\/(cli|loader|web|north|supervisor|sim)\//,
    /^src\/drivers\/opcua\//,
  ];
  for (const re of forbidden) expect(mods.filter((m) => re.test(m))).toEqual([]);
}, 30_000);

test("an OPC UA app loads the client parts of node-opcua only: no server, no address space", async () => {
  const mods = await loaded("opcua");
  expect(mods.some((m) => pkg("node-opcua-client").test(m))).toBe(true);
  for (const re of [pkg("node-opcua-server"), pkg("node-opcua-address-space"), pkg("commander")])
    expect(mods.filter((m) => re.test(m))).toEqual([]);
}, 30_000);
