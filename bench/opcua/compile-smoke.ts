/**
 * Smoke test of a `bun build --compile` of the OPC UA driver (for the packaging engineer):
 * connects to `URL` (default: starts nothing, expects a running `nodi-edge opcua sim`), reads
 * `ns=1;s=Press.Mode` once through the driver and prints the reading as JSON.
 *
 * Build and run:
 *   bun build --compile --external proper-lockfile bench/opcua/compile-smoke.ts --outfile /tmp/opcua-smoke
 *   NE_DATA_DIR=/tmp/x /tmp/opcua-smoke opc.tcp://127.0.0.1:4841
 */
import { EXIT } from "../../src/core/exit-codes.ts";
import { silentLogger } from "../../src/core/log.ts";
import { loadSettings } from "../../src/core/settings.ts";
import { loadDriverFactory } from "../../src/drivers/registry.ts";
import type { Block, Connection, Tag } from "../../src/store/schema.ts";

export async function main(argv: string[]): Promise<number> {
  const url = argv[0] ?? "opc.tcp://127.0.0.1:4841";
  const mode = (argv[1] ?? "None") as Connection["security_mode"];
  const create = await loadDriverFactory("opcua");
  const conn = {
    conn_id: "smoke",
    protocol: "opcua",
    endpoint_url: url,
    security_mode: mode,
    timeout_ms: 3000,
    connect_timeout_ms: 10_000,
  } as Connection;
  const driver = create(conn, { log: silentLogger, dataDir: loadSettings().dataDir });
  await driver.configure(
    [
      {
        conn_id: "smoke",
        block_id: "b",
        table: "opcua_nodes",
        mode: "poll",
        enabled: true,
      } as Block,
    ],
    [
      {
        conn_id: "smoke",
        tag_name: "mode",
        block_id: "b",
        node_id: "ns=1;s=Press.Mode",
        scale: 1,
        offset: 0,
      } as Tag,
    ],
  );
  try {
    await driver.connect();
    console.log(JSON.stringify(await driver.read("b")));
    return EXIT.OK;
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    return EXIT.UNAVAILABLE;
  } finally {
    await driver.close();
  }
}

if (import.meta.main) {
  process.exitCode = await main(process.argv.slice(2));
}
