import type { Block, Connection, Tag } from "../../../src/store/schema.ts";

/** A connection row with the schema's defaults, for tests. */
export function connection(over: Partial<Connection> = {}): Connection {
  return {
    conn_id: "plc",
    protocol: "modbus-tcp",
    enabled: true,
    description: "",
    host: "127.0.0.1",
    port: 502,
    unit_id: 1,
    timeout_ms: 2000,
    connect_timeout_ms: 3000,
    inter_request_delay_ms: 0,
    max_registers_per_request: 125,
    max_bits_per_request: 2000,
    backoff_initial_ms: 500,
    backoff_max_ms: 30_000,
    ...over,
  } as Connection;
}

/** A block row. */
export function block(
  block_id: string,
  table: Block["table"],
  address: number,
  count: number,
): Block {
  return {
    conn_id: "plc",
    block_id,
    table,
    address,
    count,
    period_ms: 1000,
    enabled: true,
    description: "",
  } as Block;
}

/** A tag row with defaults (ABCD, scale 1, offset 0, read-write). */
export function tag(
  tag_name: string,
  block_id: string,
  address: number,
  over: Partial<Tag> = {},
): Tag {
  return {
    conn_id: "plc",
    tag_name,
    block_id,
    address,
    data_type: "uint16",
    byte_order: "ABCD",
    scale: 1,
    offset: 0,
    deadband: 0,
    access: "read-write",
    unit: "",
    description: "",
    ...over,
  } as Tag;
}

/** Polls `fn` until it returns true (or throws after `ms`). */
export async function until(
  fn: () => boolean | Promise<boolean>,
  ms = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await fn()) return;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}
