import { NodiError } from "../../core/errors.ts";
import type { Block, BlockTable, Tag } from "../../store/schema.ts";
import { spanOf } from "./codec.ts";
import { LIMITS } from "./pdu.ts";

/** Read function code of each Modbus table (spec §6.1–6.4). */
export const READ_FC: Record<Exclude<BlockTable, "opcua_nodes">, 1 | 2 | 3 | 4> = {
  coils: 1,
  discrete_inputs: 2,
  holding_registers: 3,
  input_registers: 4,
};

/** True for the two one-bit tables. */
export const isBitTable = (t: BlockTable) => t === "coils" || t === "discrete_inputs";

/** One read request of a block: `count` registers or bits from `address`. */
export interface PlannedRequest {
  address: number;
  count: number;
}

/** Device limits per read request (already bounded by the protocol's 125 / 2000). */
export interface RequestLimits {
  maxRegisters: number;
  maxBits: number;
}

/**
 * Splits a block into read requests of at most the device's maximum (registers or bits),
 * never larger than the protocol limits (125 registers, spec §6.3/6.4; 2000 bits, §6.1/6.2).
 * A split never cuts a multi-register tag in two when the tag fits in one request, so each
 * value comes from one reply (one moment in the device).
 * @param spans the [start, end) address ranges of the block's tags.
 * @returns requests covering [block.address, block.address + count) in order.
 */
export function planRequests(
  block: Pick<Block, "address" | "count" | "table">,
  spans: Array<[number, number]>,
  limits: RequestLimits,
): PlannedRequest[] {
  const bits = isBitTable(block.table);
  const max = bits
    ? Math.min(limits.maxBits, LIMITS.readBits)
    : Math.min(limits.maxRegisters, LIMITS.readRegisters);
  const end = block.address + block.count;
  const out: PlannedRequest[] = [];
  let start = block.address;
  while (start < end) {
    let stop = Math.min(start + max, end);
    if (stop < end) {
      for (const [a, b] of spans) {
        if (a < stop && b > stop && a > start) stop = Math.min(stop, a);
      }
    }
    out.push({ address: start, count: stop - start });
    start = stop;
  }
  return out;
}

/**
 * Checks that a tag lies inside its block and fits the block's table.
 * @throws NodiError `configuration` naming the tag and the rule.
 */
export function checkTag(block: Block, tag: Tag): void {
  const where = `tag ${tag.tag_name} (block ${block.block_id})`;
  const bad = (rule: string) =>
    new NodiError("configuration", `${where}: ${rule}`, "configuration", { tag: tag.tag_name });
  if (isBitTable(block.table)) {
    if (tag.data_type !== "bool")
      throw bad(`a ${block.table} tag must be data_type bool, not ${tag.data_type}`);
  } else {
    if (tag.data_type === "bit" && (tag.bit === null || tag.bit === undefined))
      throw bad("data_type bit needs a bit number 0-15");
    if (tag.data_type === "string" && !tag.length)
      throw bad("data_type string needs a length in registers");
  }
  const n = spanOf(tag, isBitTable(block.table));
  if (tag.address < block.address || tag.address + n > block.address + block.count) {
    throw bad(
      `address ${tag.address}..${tag.address + n - 1} is outside the block ${block.address}..${block.address + block.count - 1}`,
    );
  }
}
