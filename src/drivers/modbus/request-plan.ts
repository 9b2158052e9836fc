import { NodiError } from "../../core/errors.ts";
import type { ConnectionConfig, ModbusTable } from "../../store/schema.ts";
import { isAutoTag, planBlocks, type RefusedSpan } from "./auto-plan.ts";
import { spanOf } from "./codec.ts";
import { LIMITS } from "./pdu.ts";
import { isBitTable, planRequests, READ_FC } from "./plan.ts";

/**
 * The read requests of a Modbus connection as its interface app sends them: the explicit
 * blocks (split at the device maximum, `plan.ts`) and the generated blocks of its auto tags
 * (`auto-plan.ts`), one row per request. What `nodi-edge conn plan ID` prints and
 * `GET /api/connections/:id/plan` returns: the plan an engineer checks against a packet
 * capture.
 */

/** One read request. Addresses in the connection's `address_base` (as in tags.csv). */
export interface PlanRequest {
  block_id: string;
  /** True for a generated block (auto tags). */
  auto: boolean;
  /** `""` = the connection's default device. */
  device: string;
  unit_id: number;
  table: ModbusTable;
  /** Modbus read function code (1–4, Modbus Application Protocol v1.1b3 §6.1–6.4). */
  fc: number;
  /** First and last address read (inclusive). */
  first: number;
  last: number;
  /** Registers or bits. */
  count: number;
  /** Poll period, ms; `null` = a write-only block (never read). */
  period_ms: number | null;
  /** Tags decoded from the request. */
  tags: string[];
  /** True when the device refused the span this request reads (its tags are bad). */
  refused: boolean;
}

/** The plan of one connection. */
export interface RequestPlan {
  conn_id: string;
  /** 0 or 1: the wire address is `address − address_base`. */
  address_base: number;
  requests: PlanRequest[];
  /** Spans the running app learned the device refuses (exception 02), when known. */
  refused: RefusedSpan[];
}

/**
 * Builds the plan of `config` with the refused spans `refused` (those the running app
 * published; none for the static plan). Enabled blocks only; generated blocks after the
 * explicit ones.
 * @throws NodiError `configuration` for an OPC UA connection (it has no request plan).
 */
export function requestPlan(
  config: ConnectionConfig,
  refused: readonly RefusedSpan[] = [],
): RequestPlan {
  const conn = config.connection;
  if (conn.protocol === "opcua") {
    throw new NodiError(
      "configuration",
      `connection "${conn.conn_id}" is opcua: the request plan is for Modbus connections`,
    );
  }
  const p = planBlocks(config, { refused });
  const autoIds = new Map(p.auto.map((a) => [a.block_id, a]));
  const units = new Map((config.devices ?? []).map((d) => [d.device, d.unit_id]));
  const limits = {
    maxRegisters: Math.min(
      conn.max_registers_per_request ?? LIMITS.readRegisters,
      LIMITS.readRegisters,
    ),
    maxBits: Math.min(conn.max_bits_per_request ?? LIMITS.readBits, LIMITS.readBits),
  };
  const requests: PlanRequest[] = [];
  for (const b of p.blocks) {
    if (!b.enabled || b.table === "opcua_nodes") continue;
    const bits = isBitTable(b.table);
    const tags = p.tags
      .filter((t) => t.block_id === b.block_id)
      .map((t) => ({
        name: t.tag_name,
        start: t.address,
        end: t.address + spanOf(t, bits),
      }));
    const device = b.device ?? "";
    const unit = device === "" ? (conn.unit_id ?? 1) : (units.get(device) ?? conn.unit_id ?? 1);
    const auto = autoIds.get(b.block_id);
    for (const r of planRequests(
      b,
      tags.map((t) => [t.start, t.end]),
      limits,
    )) {
      requests.push({
        block_id: b.block_id,
        auto: auto !== undefined,
        device,
        unit_id: unit,
        table: b.table,
        fc: READ_FC[b.table],
        first: r.address,
        last: r.address + r.count - 1,
        count: r.count,
        period_ms: b.period_ms ?? null,
        tags: tags
          .filter((t) => t.start < r.address + r.count && t.end > r.address)
          .map((t) => t.name),
        refused: auto?.refused ?? false,
      });
    }
  }
  return {
    conn_id: conn.conn_id,
    address_base: conn.address_base ?? 0,
    requests,
    refused: p.refused,
  };
}

/** True when the configuration has auto tags (its plan depends on what the device refused). */
export function hasAutoTags(config: ConnectionConfig): boolean {
  return config.tags.some(isAutoTag);
}
