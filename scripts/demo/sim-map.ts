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
):
  | { mapFile: string }
  | { map: Record<string, unknown> }
  | { units: { unitId: number; map: Record<string, unknown> }[] } {
  const file = join(examplesDir, "sim", `${cfg.connection.conn_id}.json`);
  if (existsSync(file)) return { mapFile: file };
  const devices = cfg.devices ?? [];
  if (devices.length > 0) {
    // Several devices on the link: one simulated device per unit id, each serving its own
    // tags (`{device}/…`) at their addresses.
    return {
      units: devices.map((d) => ({
        unitId: d.unit_id,
        map: {
          tick_ms: 100,
          entries: entriesOf(cfg, (name) => name.startsWith(`${d.device}/`)),
        },
      })),
    };
  }
  return {
    map: {
      tick_ms: 100,
      unit_id: cfg.connection.unit_id ?? undefined,
      entries: entriesOf(cfg, () => true),
    },
  };
}

/** Simulator entries for the tags of `cfg` that `pick` takes, each with a plausible generator. */
function entriesOf(cfg: ConnectionConfig, pick: (tagName: string) => boolean): SimEntry[] {
  const tableOf = new Map(cfg.blocks.map((b) => [b.block_id, b.table]));
  const entries: SimEntry[] = [];
  for (const t of cfg.tags) {
    if (!pick(t.tag_name) || t.block_id === null || t.block_id === undefined) continue;
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
  return entries;
}

function generatorFor(
  name: string,
  dataType: string,
  scale: number,
  offset: number,
): GeneratorSpec {
  // Plausible values for what an energy meter or a drive reports.
  const around = (min: number, max: number): GeneratorSpec => ({
    type: "sine",
    min,
    max,
    // a period per tag (and device) from its name, so three meters do not move in step
    period_ms: 5000 + ([...name].reduce((a, ch) => a * 31 + ch.charCodeAt(0), 7) % 10_000),
  });
  if (dataType.startsWith("float")) {
    if (/frequency/i.test(name)) return around(49.9, 50.1);
    if (/power_factor/i.test(name)) return around(0.9, 0.99);
    if (/voltage_l\d_l\d|voltage_ll/i.test(name)) return around(395, 405);
    if (/voltage/i.test(name)) return around(228, 234);
    if (/current/i.test(name)) return around(5, 40);
  }
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
