import type { ByteOrder, DataType } from "../../store/schema.ts";
import type { LoadError } from "../csv-file.ts";
import { type KepwareAddress, parseKepwareAddress } from "./address.ts";
import { INTEGER_TYPES, KEPWARE_TYPE_NAMES, parseKepwareType } from "./data-types.ts";
import type { KepwareDeviceProperties } from "./device-properties.ts";
import { type Placement, placeTag } from "./place.ts";
import { KEPWARE_COLUMNS, type KepwareColumn, type KepwareRow } from "./read.ts";
import { tagName } from "./tag-name.ts";

/** Options of {@link mapKepwareRow}. */
export interface MapOptions extends KepwareDeviceProperties {
  /** The device on the connection: tag names become `{device}/{name}`. */
  device?: string;
  /** Poll period for every row instead of its `Scan Rate`, ms. */
  scanMs?: number;
}

/** Kepware's default scan rate, ms (a tag whose Scan Rate cell is empty). */
export const KEPWARE_DEFAULT_SCAN_MS = 100;
/** Longest poll period of a tag here, ms (one day, as a block's `period_ms`). */
export const MAX_SCAN_MS = 86_400_000;

/**
 * A Kepware tag mapped to an automatic tag (docs/csv.md, Kepware import): a table and a scan
 * period instead of a block, the planner groups it into requests.
 */
export interface KepwareTag {
  /** The stored tag name: the Kepware name (group path in dots), `{device}/` in front with a device. */
  tag_name: string;
  table: KepwareAddress["table"];
  /** Poll period, ms (the Scan Rate). */
  scan_ms: number;
  /** Zero-based protocol address (the register or bit number on the wire). */
  address: number;
  data_type: DataType;
  bit?: number;
  /** Registers of a string. */
  length?: number;
  /** Elements of an array tag (`400001[10]`, a `… Array` data type); absent = one value. */
  array_length?: number;
  byte_order: ByteOrder;
  scale: number;
  offset: number;
  access: "read" | "read-write";
  unit: string;
  description: string;
}

/** What one row becomes: a tag (perhaps with warnings), a list of reasons it cannot be mapped, or errors in the row. */
export type RowOutcome =
  | { kind: "tag"; tag: KepwareTag; warnings: LoadError[] }
  | { kind: "unmappable"; name: string; reasons: LoadError[] }
  | { kind: "errors"; errors: LoadError[] };

const NUMBER_RE = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$/;

/**
 * Maps one row of a Kepware tag export (see {@link readKepwareCsv}) to an automatic tag.
 *
 * - Errors (bad input, the row is not a valid Kepware Modbus tag): an address that does not
 *   parse, an unknown data type, a type the address cannot hold (Word on a coil), a bit or
 *   item out of range, a value past register 65535, a bad number, Raw Low = Raw High.
 * - Unmappable (a Kepware feature without an equivalent here): Square Root scaling, Char,
 *   Byte, Date, two-dimensional arrays, hexadecimal addresses, write-only access, a 64-bit word order that
 *   is not plain or fully reversed, a scan rate above one day, a name too long.
 * - Warnings (mapped, with a difference said): clamping (not done here), a renamed tag,
 *   R/W on a read-only table or an array, an integer Scaled Data Type (not rounded here), an odd string
 *   length.
 * Every problem is located: file, line, column, Kepware column name.
 */
export function mapKepwareRow(row: KepwareRow, opts: MapOptions): RowOutcome {
  const errors: LoadError[] = [];
  const unmappable: LoadError[] = [];
  const warnings: LoadError[] = [];
  const at = (key: KepwareColumn, message: string): LoadError => ({
    file: row.file,
    line: row.line,
    column: row.cols[key] ?? 0,
    field: KEPWARE_COLUMNS[key][0],
    message,
  });
  const cell = (key: KepwareColumn) => row.cells[key] ?? "";
  const bool01 = (key: KepwareColumn): boolean => {
    const c = cell(key);
    if (c === "" || c === "0") return false;
    if (c === "1") return true;
    errors.push(at(key, `expected 1 or 0, got "${c}"`));
    return false;
  };
  const num = (key: KepwareColumn): number | undefined => {
    const c = cell(key);
    if (c === "") return undefined;
    if (!NUMBER_RE.test(c) || !Number.isFinite(Number(c))) {
      errors.push(at(key, `expected a number, got "${c}"`));
      return undefined;
    }
    return Number(c);
  };

  // Name: Kepware names hold no dots; an export writes a subgroup's tags as Group.Tag.
  const written = cell("name");
  const name = tagName(written, opts.device, at, errors, unmappable, warnings);

  // Address and type
  const addr = parseKepwareAddress(cell("address"));
  const type = parseKepwareType(cell("dataType"));
  if (type === undefined) {
    errors.push(
      at(
        "dataType",
        `expected a Kepware data type (${KEPWARE_TYPE_NAMES.join(", ")}, or "… Array"), got "${cell("dataType")}"`,
      ),
    );
  }
  let tag: Placement | undefined;
  if ("error" in addr) errors.push(at("address", addr.error));
  else if ("unmappable" in addr) unmappable.push(at("address", addr.unmappable));
  else if (type !== undefined) {
    tag = placeTag(addr, type.base, type.array, cell("dataType"), opts, (where, kind, m) =>
      (kind === "error" ? errors : kind === "unmappable" ? unmappable : warnings).push(
        at(where, m),
      ),
    );
  }

  // Access: RO / R/W (WO in older versions); empty = R/W where the table allows writing.
  const acc = cell("access").toUpperCase().replace(/\s+/g, "");
  let access: "read" | "read-write" = "read-write";
  if (acc === "RO" || acc === "READONLY") access = "read";
  else if (acc === "WO" || acc === "WRITEONLY") {
    unmappable.push(
      at(
        "access",
        "write-only tags (WO) have no equivalent: a tag here is read (polled), or read and written",
      ),
    );
  } else if (!(acc === "" || acc === "R/W" || acc === "RW" || acc === "READ/WRITE")) {
    errors.push(at("access", `expected RO or R/W, got "${cell("access")}"`));
  }
  if (
    tag &&
    access === "read-write" &&
    (tag.table === "discrete_inputs" || tag.table === "input_registers")
  ) {
    if (acc !== "") {
      warnings.push(at("access", `${tag.table} are read-only on the wire: imported as RO`));
    }
    access = "read";
  }

  if (tag?.array_length !== undefined && access === "read-write") {
    // Array tags are read-only here (their writes are refused), Kepware's are not.
    warnings.push(
      at(
        "access",
        "array tags are read-only here (write each element as its own tag): imported as RO",
      ),
    );
    access = "read";
  }

  // Scan rate, ms
  let scanMs = opts.scanMs ?? KEPWARE_DEFAULT_SCAN_MS;
  if (opts.scanMs === undefined && cell("scanRate") !== "") {
    const c = cell("scanRate");
    if (!/^\d+$/.test(c) || Number(c) < 1) {
      errors.push(at("scanRate", `expected a scan rate in ms (a whole number ≥ 1), got "${c}"`));
    } else if (Number(c) > MAX_SCAN_MS) {
      unmappable.push(
        at(
          "scanRate",
          `a scan rate of ${c} ms is longer than the longest poll period here (${MAX_SCAN_MS} ms, one day)`,
        ),
      );
    } else scanMs = Number(c);
  }

  // Scaling: engineering = raw × scale + offset; Kepware's Linear is the line through
  // (Raw Low, Scaled Low) and (Raw High, Scaled High).
  let scale = 1;
  let offset = 0;
  const scaling = cell("scaling").toLowerCase().replace(/\s+/g, " ");
  const rl = num("rawLow");
  const rh = num("rawHigh");
  const sl = num("scaledLow");
  const sh = num("scaledHigh");
  if (scaling === "linear") {
    const missing = (["rawLow", "rawHigh", "scaledLow", "scaledHigh"] as const).filter(
      (k) => cell(k) === "",
    );
    for (const k of missing)
      errors.push(
        at(
          k,
          "Linear scaling needs Raw Low, Raw High, Scaled Low and Scaled High, got an empty cell",
        ),
      );
    if (rl !== undefined && rh !== undefined && sl !== undefined && sh !== undefined) {
      if (rl === rh) {
        errors.push(at("rawHigh", `Raw High must differ from Raw Low, got ${rl} for both`));
      } else {
        scale = (sh - sl) / (rh - rl);
        // (SL·RH − SH·RL) / (RH − RL): the same line, without SL − RL·scale's rounding error
        offset = (sl * rh - sh * rl) / (rh - rl);
        if (scale === 0)
          unmappable.push(
            at(
              "scaledHigh",
              "Scaled High equals Scaled Low: a constant value, no scale here (scale must not be 0)",
            ),
          );
      }
    }
    clampWarnings();
    const st = cell("scaledType").toLowerCase();
    if (st !== "" && parseKepwareType(st) === undefined) {
      errors.push(at("scaledType", `expected a Kepware data type, got "${cell("scaledType")}"`));
    } else if (INTEGER_TYPES.has(st)) {
      warnings.push(
        at(
          "scaledType",
          `Scaled Data Type ${cell("scaledType")}: the scaled value is published as a number, not rounded to an integer`,
        ),
      );
    }
  } else if (scaling === "square root") {
    unmappable.push(
      at(
        "scaling",
        "Square Root scaling has no equivalent: scaling here is linear (raw × scale + offset)",
      ),
    );
  } else if (!(scaling === "" || scaling === "none")) {
    errors.push(
      at("scaling", `expected Linear, Square Root or an empty cell, got "${cell("scaling")}"`),
    );
  }
  if (bool01("negate")) {
    scale = -scale;
    offset = offset === 0 ? 0 : -offset;
  }
  bool01("respect"); // checked only: it concerns OPC clients' requested types

  function clampWarnings() {
    const lo = bool01("clampLow");
    const hi = bool01("clampHigh");
    if (lo || hi) {
      const which = lo && hi ? "Clamp Low and Clamp High" : lo ? "Clamp Low" : "Clamp High";
      warnings.push(
        at(
          lo ? "clampLow" : "clampHigh",
          `${which}: values are not clamped here; a raw value outside Raw Low–Raw High gives a value outside Scaled Low–Scaled High`,
        ),
      );
    }
  }

  if (
    tag &&
    (scale !== 1 || offset !== 0) &&
    (tag.data_type === "bool" || tag.data_type === "bit" || tag.data_type === "string")
  ) {
    errors.push(
      at(
        cell("scaling") !== "" ? "scaling" : "negate",
        `a ${tag.data_type === "string" ? "String" : "Boolean"} tag cannot be scaled or negated`,
      ),
    );
  }

  if (errors.length > 0) return { kind: "errors", errors };
  if (unmappable.length > 0 || tag === undefined || name === undefined) {
    return { kind: "unmappable", name: name ?? written, reasons: unmappable };
  }
  return {
    kind: "tag",
    tag: {
      tag_name: name,
      ...tag,
      scan_ms: scanMs,
      scale,
      offset,
      access,
      unit: cell("units"),
      description: cell("description"),
    },
    warnings,
  };
}
