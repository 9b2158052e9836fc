import { existsSync } from "node:fs";
import { join } from "node:path";
import type { GeneratorSpec } from "../../src/sim/modbus/generators.ts";
import type { SimEntry } from "../../src/sim/modbus/map.ts";
import type { ConnectionConfig } from "../../src/store/schema.ts";

/**
 * The register map a demo simulator serves for one Modbus connection: the file
 * `examples/sim/{conn_id}.json` when it exists, else a map derived from the connection's
 * tags (every tag placed at its address with a plausible generator), so that every
 * configured tag reads good values.
 */
export function simMapFor(
  cfg: ConnectionConfig,
  examplesDir: string,
): { mapFile: string } | { map: Record<string, unknown> } {
  const file = join(examplesDir, "sim", `${cfg.connection.conn_id}.json`);
  if (existsSync(file)) return { mapFile: file };
  const tableOf = new Map(cfg.blocks.map((b) => [b.block_id, b.table]));
  const entries: SimEntry[] = [];
  for (const t of cfg.tags) {
    const table = t.block_id ? tableOf.get(t.block_id) : t.table;
    if (!table || table === "opcua_nodes") continue;
    const e: SimEntry = {
      name: t.tag_name,
      table,
      address: t.address,
      data_type: t.data_type,
      byte_order: t.byte_order,
      scale: t.scale,
      offset: t.offset,
    };
    if (t.bit !== null && t.bit !== undefined) e.bit = t.bit;
    if (t.length !== null && t.length !== undefined) e.length = t.length;
    if (t.data_type === "string") e.value = "DEMO";
    else if (
      table === "coils" ||
      table === "discrete_inputs" ||
      t.data_type === "bool" ||
      t.data_type === "bit"
    ) {
      e.generator = { type: "toggle", every_ms: 3000 };
    } else e.generator = generatorFor(t.tag_name, t.data_type, t.scale, t.offset);
    entries.push(e);
  }
  return { map: { tick_ms: 100, unit_id: cfg.connection.unit_id ?? undefined, entries } };
}

function generatorFor(
  name: string,
  dataType: string,
  scale: number,
  offset: number,
): GeneratorSpec {
  const signed = dataType.startsWith("int") || dataType.startsWith("float");
  const rawMax = dataType === "int16" ? 30_000 : dataType === "uint16" ? 60_000 : 1_000_000;
  const engMax = Math.min(1000, rawMax * Math.abs(scale) + offset);
  if (/count|energy|total|kwh/i.test(name))
    return { type: "counter", start: 0, step: 1, every_ms: 500, max: engMax };
  const period = 5000 + ((name.length * 1371) % 10_000);
  return {
    type: "sine",
    min: signed ? offset : Math.max(0, offset),
    max: engMax,
    period_ms: period,
  };
}
