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

/**
 * A 32-bit hash of a tag name (FNV-1a, then murmur3's final mix), so that each tag (and each
 * device's copy of it) gets a period and a level of its own. Integer arithmetic: a hash kept
 * in a float (`a * 31 + c` without bound) loses its last characters to rounding, and
 * `voltage_l1`, `voltage_l2`, `voltage_l3` came out alike (equal phase voltages in the demo).
 */
export function nameHash(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** A number in [0, 1] from a hash. */
const frac = (h: number): number => (h % 10_007) / 10_006;

/**
 * A plausible generator for a tag of a derived simulator map, by its name: what an energy
 * meter or a drive reports. Each tag swings slowly around a level of its own; the phases of
 * one meter (`voltage_l1` … `_l3`, `voltage_l1_l2` …) sit apart like a real meter's (230 V
 * ± a few volts, 400 V ± a few for line to line), never equal.
 */
function generatorFor(
  name: string,
  dataType: string,
  scale: number,
  offset: number,
): GeneratorSpec {
  const h = nameHash(name);
  const period_ms = 5000 + (h % 10_000);
  const wave = (centre: number, amp: number): GeneratorSpec => ({
    type: "sine",
    min: centre - amp,
    max: centre + amp,
    period_ms,
  });
  // somewhere in [min, max], a quarter of the range wide
  const within = (min: number, max: number): GeneratorSpec => {
    const amp = (max - min) / 4;
    return wave(min + amp + frac(h) * (max - min - 2 * amp), amp);
  };
  // one level per meter (within ± gap of nominal), phase n at (n - 2) gaps from it, with a
  // jitter of ± gap / 6: two phases are at least 2/3 gap apart, more than two swings (amp)
  const phases = (nominal: number, gap: number, amp: number): GeneratorSpec => {
    const phase = Number(/_l([123])/i.exec(name)?.[1] ?? 2);
    const meter = nameHash(name.replace(/_l[123]/gi, "_l"));
    const level = nominal + (frac(meter) * 2 - 1) * gap;
    return wave(level + (phase - 2) * gap + (frac(h) - 0.5) * (gap / 3), amp);
  };
  if (dataType.startsWith("float")) {
    if (/frequency/i.test(name)) return within(49.9, 50.1);
    if (/power_factor/i.test(name)) return within(0.9, 0.99);
    if (/voltage_l\d_l\d|voltage_ll/i.test(name)) return phases(400, 2.5, 0.7);
    if (/voltage/i.test(name)) return phases(230, 1.5, 0.4);
    if (/current/i.test(name)) return within(5, 40);
  }
  const signed = dataType.startsWith("int") || dataType.startsWith("float");
  const rawMax = dataType === "int16" ? 30_000 : dataType === "uint16" ? 60_000 : 1_000_000;
  const engMax = Math.min(1000, rawMax * Math.abs(scale) + offset);
  if (/count|energy|total|kwh/i.test(name))
    return { type: "counter", start: 0, step: 1, every_ms: 500, max: engMax };
  return within(signed ? offset : Math.max(0, offset), engMax);
}
