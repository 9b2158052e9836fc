import type { NodiError } from "../../../src/core/errors.ts";
import { silentLogger } from "../../../src/core/log.ts";
import type { TagReading } from "../../../src/drivers/driver.ts";
import { OpcuaDriver } from "../../../src/drivers/opcua/index.ts";
import { type OpcuaSim, startOpcuaSim } from "../../../src/sim/opcua/server.ts";
import type { Block, Connection, Tag } from "../../../src/store/schema.ts";
import { freePort } from "../../support/ports.ts";

/** An `opcua` connection row for tests (defaults of schema.ts filled in). */
export function opcuaConnection(over: Partial<Connection> & { endpoint_url: string }): Connection {
  return {
    conn_id: "press1",
    protocol: "opcua",
    enabled: true,
    description: "",
    security_mode: "None",
    security_policy: "None",
    timeout_ms: 3000,
    connect_timeout_ms: 10_000,
    inter_request_delay_ms: 0,
    max_registers_per_request: 125,
    max_bits_per_request: 2000,
    backoff_initial_ms: 200,
    backoff_max_ms: 2000,
    ...over,
  } as Connection;
}

/** An `opcua_nodes` block row. */
export function opcuaBlock(block_id: string, over: Partial<Block> = {}): Block {
  return {
    conn_id: "press1",
    block_id,
    table: "opcua_nodes",
    address: 0,
    count: 0,
    period_ms: 200,
    mode: "subscribe",
    enabled: true,
    description: "",
    ...over,
  } as Block;
}

/** A tag on `node_id` in block `block_id`. */
export function opcuaTag(
  tag_name: string,
  block_id: string,
  node_id: string,
  over: Partial<Tag> = {},
): Tag {
  return {
    conn_id: "press1",
    tag_name,
    block_id,
    address: 0,
    data_type: "float64",
    byte_order: "ABCD",
    scale: 1,
    offset: 0,
    deadband: 0,
    access: "read",
    unit: "",
    description: "",
    node_id,
    ...over,
  } as Tag;
}

/** Polls `cond` every 50 ms until it is truthy or `timeoutMs` passes (then throws `what`). */
export async function waitFor<T>(
  cond: () => T | Promise<T>,
  timeoutMs: number,
  what: string,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** Collects pushed readings: the last reading per tag and a count. */
export class Collector {
  last = new Map<string, TagReading>();
  perTag = new Map<string, number>();
  count = 0;
  emit = (readings: TagReading[]) => {
    for (const r of readings) {
      this.last.set(r.tag_name, r);
      this.perTag.set(r.tag_name, (this.perTag.get(r.tag_name) ?? 0) + 1);
      this.count++;
    }
  };
}

/**
 * `n` float64 tags `v0…v{n-1}` of block `blockId` on the simulator's bench variables
 * `ns=1;s=Press.Bench.V0000…` (see {@link startBenchSim}).
 */
export function benchTags(n: number, blockId: string): Tag[] {
  return Array.from({ length: n }, (_, i) =>
    opcuaTag(`v${i}`, blockId, `ns=1;s=Press.Bench.V${String(i).padStart(4, "0")}`),
  );
}

/**
 * The OPC UA simulator with `items` bench variables, each changing every 100 ms, its PKI
 * under `pkiRoot`/sim-pki, on `port` (a free one when 0 or absent); `tickMs` is the plant
 * simulation's tick (0 = off, the default).
 */
export async function startBenchSim(o: {
  pkiRoot: string;
  items: number;
  port?: number;
  tickMs?: number;
}): Promise<OpcuaSim> {
  return startOpcuaSim({
    port: o.port || (await freePort()),
    pkiDir: `${o.pkiRoot}/sim-pki`,
    tickMs: o.tickMs ?? 0,
    benchItems: o.items,
    benchPeriodMs: 100,
  });
}

/**
 * An OpcuaDriver for `endpointUrl` (its certificates under `dataDir`, logs silent), configured
 * with `blocks` and `tags`, with `onLinkLost` registered, connected.
 * @throws what the driver's connect throws.
 */
export async function connectedDriver(o: {
  endpointUrl: string;
  dataDir: string;
  blocks: Block[];
  tags: Tag[];
  onLinkLost?: (e: NodiError) => void;
}): Promise<OpcuaDriver> {
  const driver = new OpcuaDriver(opcuaConnection({ endpoint_url: o.endpointUrl }), {
    log: silentLogger,
    dataDir: o.dataDir,
  });
  if (o.onLinkLost) driver.onLinkLost(o.onLinkLost);
  driver.configure(o.blocks, o.tags);
  await driver.connect();
  return driver;
}
