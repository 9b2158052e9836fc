import { TAG_NAME_MAX, TAG_NAME_RE } from "../../core/paths.ts";
import { type ByteOrder, type DataType, REGISTERS_OF } from "../../store/schema.ts";
import type { LoadError } from "../csv-file.ts";
import { type KepwareAddress, parseKepwareAddress } from "./address.ts";
import {
  INTEGER_TYPES,
  KEPWARE_TYPE_NAMES,
  KEPWARE_TYPES,
  NO_EQUIVALENT,
  parseKepwareType,
} from "./data-types.ts";
import { KEPWARE_COLUMNS, type KepwareColumn, type KepwareRow } from "./read.ts";

/**
 * The device properties of the Kepware Modbus device the export comes from (Modbus TCP/IP
 * Ethernet driver manual, "Device Properties — Settings": Data Access and Data Encoding).
 * They are not in the tag export, so the import is told them; the defaults are Kepware's.
 */
export interface KepwareDeviceProperties {
  /** "Zero-Based Addressing" (default on): item 1 (40001) is register 0 on the wire; off: item n is register n. */
  zeroBased: boolean;
  /** "Zero-Based Bit Addressing" (default on): register bits are .0–.15; off: .1–.16. */
  zeroBasedBits: boolean;
  /** "Modicon Bit Ordering" (default off): on, bit 0 is the most significant bit. */
  modiconBitOrder: boolean;
  /** "Modbus Byte Order" (default on): big-endian bytes in a register; off: byte-swapped. */
  modbusByteOrder: boolean;
  /** "First Word Low in 32-Bit Data Types" (default on): the first register is the low word. */
  firstWordLow: boolean;
  /** "First DWord Low in 64-Bit Data Types" (default on): the first two registers are the low dword. */
  firstDwordLow: boolean;
}

/** Kepware's defaults of {@link KepwareDeviceProperties}. */
export const KEPWARE_DEFAULTS: Readonly<KepwareDeviceProperties> = {
  zeroBased: true,
  zeroBasedBits: true,
  modiconBitOrder: false,
  modbusByteOrder: true,
  firstWordLow: true,
  firstDwordLow: true,
};

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
 *   Byte, Date, arrays, hexadecimal addresses, write-only access, a 64-bit word order that
 *   is not plain or fully reversed, a scan rate above one day, a name too long.
 * - Warnings (mapped, with a difference said): clamping (not done here), a renamed tag,
 *   R/W on a read-only table, an integer Scaled Data Type (not rounded here), an odd string
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

/** Where a tag lies and how it is decoded (the part of a {@link KepwareTag} its address and type give). */
type Placement = Pick<
  KepwareTag,
  "table" | "address" | "data_type" | "bit" | "length" | "byte_order"
>;

type Report = (
  where: KepwareColumn,
  kind: "error" | "unmappable" | "warning",
  message: string,
) => void;

/** The table, address, data type, bit, length and byte order of a tag at `addr`. */
function placeTag(
  addr: KepwareAddress,
  base: string,
  array: boolean,
  typeCell: string,
  opts: KepwareDeviceProperties,
  report: Report,
): Placement | undefined {
  if (array || addr.array) {
    report(
      addr.array ? "address" : "dataType",
      "unmappable",
      "arrays have no equivalent yet: import each element as its own tag (40001, 40002, …)",
    );
    return undefined;
  }
  const mapped = KEPWARE_TYPES[base];
  if (mapped === null || mapped === undefined) {
    report(
      "dataType",
      "unmappable",
      NO_EQUIVALENT[base] ?? `Kepware ${typeCell} has no equivalent`,
    );
    return undefined;
  }
  const bits = addr.table === "coils" || addr.table === "discrete_inputs";
  const slot = bits
    ? "bit"
    : addr.bit !== undefined
      ? "bit of a register"
      : addr.string
        ? "string"
        : "register";
  const wanted: DataType =
    mapped !== "default"
      ? mapped
      : slot === "bit"
        ? "bool"
        : slot === "bit of a register"
          ? "bit"
          : slot === "string"
            ? "string"
            : "uint16";
  const fits =
    slot === "bit" || slot === "bit of a register"
      ? wanted === "bool" || wanted === "bit"
      : slot === "string"
        ? wanted === "string"
        : wanted !== "bool" && wanted !== "bit" && wanted !== "string";
  const dataType: DataType = slot === "bit of a register" ? "bit" : wanted;
  const kind = slot;
  if (!fits) {
    const hint =
      wanted === "bool"
        ? " (a Boolean in a register names its bit: 40001.0)"
        : wanted === "string"
          ? " (a String names its length in bytes and byte order: 40001.20H)"
          : "";
    report(
      "dataType",
      "error",
      `a ${kind} address (${addr.table}) cannot hold Kepware ${typeCell}${hint}`,
    );
    return undefined;
  }

  // The wire address: with zero-based addressing (Kepware's default) item n is register n − 1.
  const address = opts.zeroBased ? addr.item - 1 : addr.item;
  if (address < 0) {
    report(
      "address",
      "error",
      "item 0 does not exist with zero-based addressing (item 1 is register 0 on the wire)",
    );
    return undefined;
  }
  const span =
    dataType === "string" ? Math.ceil((addr.string?.bytes ?? 0) / 2) : REGISTERS_OF[dataType];
  if (address + span > 65536) {
    report(
      "address",
      "error",
      `the tag takes ${span === 1 ? "register" : "registers"} ${address}${span > 1 ? `–${address + span - 1}` : ""} on the wire, past the last one (65535)`,
    );
    return undefined;
  }
  const out: Placement = { table: addr.table, address, data_type: dataType, byte_order: "ABCD" };
  if (addr.bit !== undefined) {
    const lo = opts.zeroBasedBits ? 0 : 1;
    if (addr.bit < lo || addr.bit > lo + 15) {
      report(
        "address",
        "error",
        `a register bit runs from ${lo} to ${lo + 15}${opts.zeroBasedBits ? " (zero-based bit addressing)" : ""}, got .${addr.bit}`,
      );
      return undefined;
    }
    const b = addr.bit - lo;
    out.bit = opts.modiconBitOrder ? 15 - b : b;
  }
  if (addr.string) {
    const n = addr.string.bytes;
    if (n < 1 || n > 250) {
      report(
        "address",
        "error",
        `a string is 1 to 250 bytes long (125 registers), got .${n}${addr.string.order}`,
      );
      return undefined;
    }
    if (n % 2 === 1) {
      report(
        "address",
        "warning",
        `a string of ${n} bytes takes ${span} registers: it is read as ${span * 2} characters (trailing NULs dropped)`,
      );
    }
    out.length = span;
    out.byte_order = addr.string.order === "H" ? "ABCD" : "BADC";
    return out;
  }
  const order = byteOrder(dataType, opts);
  if (order === undefined) {
    report(
      "dataType",
      "unmappable",
      `a 64-bit value with "First Word Low" ${opts.firstWordLow ? "on" : "off"} and "First DWord Low" ${opts.firstDwordLow ? "on" : "off"} has a word order no byte_order here gives (only all words in order or all reversed)`,
    );
    return undefined;
  }
  out.byte_order = order;
  return out;
}

/**
 * The `byte_order` of a register type under the Data Encoding properties: "Modbus Byte Order"
 * off swaps the bytes of each register (BADC); "First Word Low" reverses the words of a 32-bit
 * value (CDAB); a 64-bit value is reversed when both "First Word Low" and "First DWord Low"
 * are on and in order when both are off.
 * @returns the order, or `undefined` for a 64-bit word order without an equivalent.
 */
export function byteOrder(dt: DataType, p: KepwareDeviceProperties): ByteOrder | undefined {
  const regs = dt === "string" ? 1 : REGISTERS_OF[dt];
  let wordSwap = false;
  if (regs === 2) wordSwap = p.firstWordLow;
  else if (regs === 4) {
    if (p.firstWordLow !== p.firstDwordLow) return undefined;
    wordSwap = p.firstWordLow;
  }
  const byteSwap = !p.modbusByteOrder;
  if (dt === "bool" || dt === "bit") return "ABCD";
  return wordSwap ? (byteSwap ? "DCBA" : "CDAB") : byteSwap ? "BADC" : "ABCD";
}

/**
 * The stored tag name of a Kepware tag: its name (a subgroup's tag is `Group.Tag`), with
 * characters our names do not allow (spaces, `#`, …) replaced by `_` (a warning), and
 * `{device}/` in front with a device.
 */
function tagName(
  written: string,
  device: string | undefined,
  at: (key: KepwareColumn, message: string) => LoadError,
  errors: LoadError[],
  unmappable: LoadError[],
  warnings: LoadError[],
): string | undefined {
  if (written === "") {
    errors.push(at("name", "a tag name is required, got an empty cell"));
    return undefined;
  }
  const segments = written.split(".");
  if (segments.some((s) => s === "")) {
    errors.push(at("name", `a name's group path has no empty part (Group.Tag), got "${written}"`));
    return undefined;
  }
  let name = segments.map((s) => s.replace(/[^A-Za-z0-9_-]+/g, "_")).join(".");
  if (name.startsWith("-")) name = `_${name.slice(1)}`;
  if (name !== written) {
    warnings.push(
      at(
        "name",
        `renamed "${written}" to "${name}": tag names hold letters, digits, _, - and . (the group separator)`,
      ),
    );
  }
  if (!TAG_NAME_RE.test(name) || (device ? device.length + 1 : 0) + name.length > TAG_NAME_MAX) {
    unmappable.push(
      at(
        "name",
        `the name "${name}" is longer than a tag name may be (128 characters${device ? `, ${TAG_NAME_MAX} with the device` : ""})`,
      ),
    );
    return undefined;
  }
  return device ? `${device}/${name}` : name;
}
