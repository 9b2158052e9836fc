import type { RefusedSpan } from "../drivers/modbus/auto-plan.ts";
import type { Block, ModbusTable } from "../store/schema.ts";

/**
 * The spans a device refused with exception 02 ILLEGAL_DATA_ADDRESS (Modbus Application
 * Protocol v1.1b3 §7) on a generated block, as the interface app learned them (docs/modbus.md
 * "Automatic blocks"). Kept for the life of the process (across reloads and reconnects: a
 * device's address map does not change with our configuration); a restart forgets them.
 * Published as `/system/{app_id}/refused_spans` (a JSON array of {@link RefusedSpan}).
 */
export class RefusedSpans {
  private readonly spans: RefusedSpan[] = [];

  /** Every span learned, in learning order. */
  list(): readonly RefusedSpan[] {
    return this.spans;
  }

  /**
   * Records that the device refused the read of `block` (a generated block: one request).
   * @returns the span when it is new (the caller replans), undefined when already known.
   */
  add(block: Pick<Block, "device" | "table" | "address" | "count">): RefusedSpan | undefined {
    const span: RefusedSpan = {
      device: block.device ?? "",
      table: block.table as ModbusTable,
      start: block.address,
      end: block.address + block.count,
    };
    const known = this.spans.some(
      (s) =>
        s.device === span.device &&
        s.table === span.table &&
        s.start === span.start &&
        s.end === span.end,
    );
    if (known) return undefined;
    this.spans.push(span);
    return span;
  }
}

/** Parses the `refused_spans` system tag's value; `[]` for anything else. */
export function parseRefusedSpans(value: unknown): RefusedSpan[] {
  if (typeof value !== "string") return [];
  try {
    const v = JSON.parse(value) as unknown;
    if (!Array.isArray(v)) return [];
    return v.filter(
      (s): s is RefusedSpan =>
        !!s &&
        typeof s === "object" &&
        typeof (s as RefusedSpan).device === "string" &&
        typeof (s as RefusedSpan).table === "string" &&
        Number.isInteger((s as RefusedSpan).start) &&
        Number.isInteger((s as RefusedSpan).end),
    );
  } catch {
    return [];
  }
}
