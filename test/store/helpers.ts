import type { ConnectionConfig } from "../../src/store/schema.ts";

/** A valid Modbus TCP connection config for tests (override any part). */
export function modbusConfig(
  connId = "plc1",
  over: Partial<Record<string, unknown>> = {},
): ConnectionConfig {
  return {
    connection: {
      conn_id: connId,
      protocol: "modbus-tcp",
      host: "127.0.0.1",
      port: 502,
      unit_id: 1,
      ...over,
    },
    blocks: [
      {
        conn_id: connId,
        block_id: "hr",
        table: "holding_registers",
        address: 0,
        count: 10,
        period_ms: 100,
      },
    ],
    tags: [
      { conn_id: connId, tag_name: "speed", block_id: "hr", address: 0, data_type: "uint16" },
      { conn_id: connId, tag_name: "temp", block_id: "hr", address: 2, data_type: "float32" },
    ],
  } as unknown as ConnectionConfig;
}
