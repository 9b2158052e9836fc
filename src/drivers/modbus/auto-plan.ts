import type {
  Block,
  Connection,
  ConnectionConfig,
  Device,
  ModbusTable,
  Tag,
} from "../../store/schema.ts";
import { spanOf } from "./codec.ts";
import { LIMITS } from "./pdu.ts";
import { isBitTable, READ_FC } from "./plan.ts";

/**
 * Automatic blocks (issue 14, docs/modbus.md "Automatic blocks"): the pure planner that turns
 * a connection's *auto tags* (tags with an empty `block_id`, a `table` and a `scan_ms`) into
 * generated blocks, one read request each. Explicit blocks are left as they are.
 *
 * Rules, per group of auto tags of one device, table and scan rate, in address order:
 * - neighbours are merged into one block while the block stays within one read request
 *   (`max_registers_per_request` / `max_bits_per_request`, themselves at most the protocol's
 *   125 registers / 2000 bits, Modbus Application Protocol v1.1b3 §6.1–6.4) and the unused
 *   addresses between two tags are at most `max_gap_registers` / `max_gap_bits`;
 * - a tag is never cut (it lies in one block, so its value comes from one reply);
 * - never across a span the device refused ({@link RefusedSpan}): a refused span with tag
 *   boundaries inside it is cut at its middle boundary (so the block that failed is read in two
 *   halves, and a half that fails again is cut again: a bisection, one refusal per step);
 *   a refused span without a boundary inside (one tag, or tags overlapping) is read on its own,
 *   never merged with anything outside it, and its tags stay bad with the device's reason.
 */

/**
 * A span the device refused with exception 02 ILLEGAL_DATA_ADDRESS (Modbus Application
 * Protocol v1.1b3 §7): the range of a generated block whose read it refused. Addresses in the
 * connection's `address_base` (as the tags'), `end` exclusive; `device` `""` = the default
 * device. Learned at run time by the interface app (`src/intf/refused-spans.ts`).
 */
export interface RefusedSpan {
  device: string;
  table: ModbusTable;
  start: number;
  end: number;
}

/** Options of {@link planBlocks}. */
export interface PlanOptions {
  /** Spans the device refused (learned at run time); default none. */
  refused?: readonly RefusedSpan[];
}

/** One generated block, as `nodi-edge conn plan` shows it. */
export interface AutoBlock {
  block_id: string;
  /** `""` = the connection's default device. */
  device: string;
  unit_id: number;
  table: ModbusTable;
  /** Modbus read function code (1–4). */
  fc: number;
  /** First address, in the connection's `address_base`. */
  address: number;
  /** Registers or bits read. */
  count: number;
  period_ms: number;
  /** Auto tags read by the block, in address order. */
  tags: string[];
  /** True when the block lies inside a span the device refused: its tags are bad. */
  refused: boolean;
}

/** The outcome of {@link planBlocks}. */
export interface AutoPlan {
  /** The explicit blocks, then the generated ones (in plan order). */
  blocks: Block[];
  /** Every tag; an auto tag with `block_id` set to its generated block. */
  tags: Tag[];
  /** The generated blocks, for display. */
  auto: AutoBlock[];
  /** The refused spans the plan honoured (those of this connection's devices and tables). */
  refused: RefusedSpan[];
}

const TABLE_SHORT: Record<ModbusTable, string> = {
  coils: "co",
  discrete_inputs: "di",
  holding_registers: "hr",
  input_registers: "ir",
};

/** True for a tag with no block (an auto tag). */
export function isAutoTag(t: Pick<Tag, "block_id">): boolean {
  return t.block_id === null || t.block_id === undefined || t.block_id === "";
}

/**
 * The device of an auto tag: the first segment of its name when that names a device of the
 * connection (`meter3/volts` → `meter3`), else `""`, the connection's default device.
 */
export function autoTagDevice(t: Pick<Tag, "tag_name">, devices: readonly Device[]): string {
  const slash = t.tag_name.indexOf("/");
  if (slash < 0) return "";
  const d = t.tag_name.slice(0, slash);
  return devices.some((x) => x.device === d) ? d : "";
}

/** Registers (or bits, on coils and discrete inputs) an auto tag occupies. */
export function autoTagSpan(t: Tag, table: ModbusTable): number {
  return spanOf(t, isBitTable(table));
}

interface Item {
  tag: Tag;
  start: number;
  end: number;
}

/**
 * Plans the auto tags of `config` (see the module comment for the rules). Pure; never throws
 * on a configuration that passed `validateConfig` (an auto tag longer than one request is
 * planned as a block of its own, which the driver then splits).
 * @returns the blocks and tags an interface app runs, and the generated blocks for display.
 */
export function planBlocks(config: ConnectionConfig, opts: PlanOptions = {}): AutoPlan {
  const conn = config.connection;
  const devices = config.devices ?? [];
  const explicit = config.blocks;
  const taken = new Set(explicit.map((b) => b.block_id));
  const groups = new Map<
    string,
    { device: string; table: ModbusTable; scan: number; items: Item[] }
  >();
  for (const t of config.tags) {
    if (!isAutoTag(t) || !t.table || t.scan_ms == null) continue;
    const device = autoTagDevice(t, devices);
    const key = JSON.stringify([device, t.table, t.scan_ms]);
    let g = groups.get(key);
    if (!g) {
      g = { device, table: t.table, scan: t.scan_ms, items: [] };
      groups.set(key, g);
    }
    g.items.push({ tag: t, start: t.address, end: t.address + autoTagSpan(t, t.table) });
  }
  const refusedAll = opts.refused ?? [];
  const refused = refusedAll.filter(
    (r) =>
      (r.device === "" || devices.some((d) => d.device === r.device)) &&
      [...groups.values()].some((g) => g.device === r.device && g.table === r.table),
  );
  const auto: AutoBlock[] = [];
  const blockOf = new Map<string, string>();
  const ordered = [...groups.values()].sort(
    (a, b) => a.device.localeCompare(b.device) || a.table.localeCompare(b.table) || a.scan - b.scan,
  );
  for (const g of ordered) {
    g.items.sort((a, b) => a.start - b.start || a.end - b.end);
    const bits = isBitTable(g.table);
    const max = bits
      ? Math.min(conn.max_bits_per_request ?? LIMITS.readBits, LIMITS.readBits)
      : Math.min(conn.max_registers_per_request ?? LIMITS.readRegisters, LIMITS.readRegisters);
    const gap = bits ? (conn.max_gap_bits ?? 16) : (conn.max_gap_registers ?? 4);
    const spans = refused.filter((r) => r.device === g.device && r.table === g.table);
    const cuts = cutsOf(g.items, spans);
    const unitId = unitOf(conn, devices, g.device);
    let cur: Item[] = [];
    let gs = 0;
    let ge = 0;
    const close = () => {
      if (cur.length === 0) return;
      const id = uniqueId(`auto.${g.device || "_"}.${TABLE_SHORT[g.table]}.${g.scan}.${gs}`, taken);
      const names = cur.map((i) => i.tag.tag_name);
      for (const n of names) blockOf.set(n, id);
      auto.push({
        block_id: id,
        device: g.device,
        unit_id: unitId,
        table: g.table,
        fc: READ_FC[g.table],
        address: gs,
        count: ge - gs,
        period_ms: g.scan,
        tags: names,
        refused: spans.some((r) => r.start <= gs && ge <= r.end && !cutInside(cuts, r)),
      });
      cur = [];
    };
    for (const it of g.items) {
      if (cur.length > 0) {
        const end = Math.max(ge, it.end);
        const fits = it.start - ge <= gap && end - gs <= max;
        const crosses = cuts.some((c) => gs < c && end > c);
        if (fits && !crosses) {
          cur.push(it);
          ge = end;
          continue;
        }
        close();
      }
      cur = [it];
      gs = it.start;
      ge = it.end;
    }
    close();
  }
  const blocks: Block[] = [
    ...explicit,
    ...auto.map(
      (a): Block => ({
        conn_id: conn.conn_id,
        block_id: a.block_id,
        table: a.table,
        address: a.address,
        count: a.count,
        period_ms: a.period_ms,
        phase_ms: null,
        mode: null,
        enabled: true,
        description: `automatic block: ${a.tags.length} auto tag${a.tags.length === 1 ? "" : "s"}`,
        device: a.device === "" ? null : a.device,
      }),
    ),
  ];
  const tags = config.tags.map((t) => {
    const id = isAutoTag(t) ? blockOf.get(t.tag_name) : undefined;
    return id === undefined ? t : { ...t, block_id: id };
  });
  return { blocks, tags, auto, refused };
}

/**
 * The addresses no block of a group may cross (`gs < c < ge`): for each refused span, the
 * middle of the tag boundaries strictly inside it (a boundary: a tag's start that no tag of the
 * group straddles); a span without one is fenced at both of its ends, so what lies inside it is
 * read on its own.
 */
function cutsOf(items: readonly Item[], spans: readonly RefusedSpan[]): number[] {
  const out: number[] = [];
  for (const r of spans) {
    const inside = [
      ...new Set(
        items
          .map((i) => i.start)
          .filter((p) => p > r.start && p < r.end)
          .filter((p) => !items.some((i) => i.start < p && i.end > p)),
      ),
    ].sort((a, b) => a - b);
    if (inside.length > 0) out.push(inside[Math.floor((inside.length - 1) / 2)] as number);
    else out.push(r.start, r.end);
  }
  return [...new Set(out)].sort((a, b) => a - b);
}

/** True when a cut lies strictly inside the span (it is being bisected, not fenced). */
function cutInside(cuts: readonly number[], r: RefusedSpan): boolean {
  return cuts.some((c) => c > r.start && c < r.end);
}

function unitOf(conn: Connection, devices: readonly Device[], device: string): number {
  if (device === "") return conn.unit_id ?? 1;
  return devices.find((d) => d.device === device)?.unit_id ?? conn.unit_id ?? 1;
}

/** `id`, or `id-2`, `id-3`… when an explicit block already has it. */
function uniqueId(id: string, taken: Set<string>): string {
  let out = id;
  for (let n = 2; taken.has(out); n++) out = `${id}-${n}`;
  taken.add(out);
  return out;
}

/**
 * `config` with its auto tags planned ({@link planBlocks}): the generated blocks appended to
 * the explicit ones and each auto tag given its block, so the driver and the block set see
 * ordinary blocks. A configuration without auto tags is returned as it is.
 */
export function withAutoBlocks(config: ConnectionConfig, opts: PlanOptions = {}): ConnectionConfig {
  if (!config.tags.some(isAutoTag)) return config;
  const p = planBlocks(config, opts);
  return { ...config, blocks: p.blocks, tags: p.tags };
}
