import { NodiError } from "../../core/errors.ts";
import { applyScale } from "../../core/scaling.ts";
import type { TagArray, TagScalar } from "../../core/tag-value.ts";
import { writeBool, writeIntegerText, writeNumber } from "../../core/write-value.ts";
import { type ByteOrder, type DataType, REGISTERS_OF } from "../../store/schema.ts";
import { BCD_DIGITS, fromPackedBcd, toPackedBcd } from "./bcd.ts";

/**
 * Tag codec: pure functions from Modbus registers (16-bit words, as they arrive on the wire,
 * Modbus Application Protocol v1.1b3 §4.2: big-endian within a register) to engineering values
 * and back. No I/O, no state.
 *
 * Byte order names follow `src/store/schema.ts`: the order in which the bytes of the
 * big-endian value A B C D arrive. `CDAB` swaps words, `BADC` swaps bytes inside each word,
 * `DCBA` does both. For 64-bit values the word swap reverses all four words; for 16-bit values
 * only the byte swap matters; for strings only the byte order within a register matters.
 * Packed BCD (`bcd`, `lbcd`: `bcd.ts`) follows the same rule: `lbcd` in `CDAB` has its low four
 * digits in the first register.
 */

/** What the codec needs of a tag (a subset of the store's `Tag`). */
export interface TagFormat {
  data_type: DataType;
  byte_order: ByteOrder;
  /** Bit 0–15 for `bit` (0 = least significant). */
  bit?: number | null;
  /** Registers of a `string`. */
  length?: number | null;
  /** An array tag's element count (`float32[10]`: 10); empty = one value. */
  array_length?: number | null;
  /** Engineering value = raw × scale + offset. */
  scale: number;
  offset: number;
  /** The tag's name, for error messages (optional). */
  tag_name?: string;
}

/** How an error message names the tag: `tag setpoint (uint16)`. */
const label = (f: Pick<TagFormat, "data_type" | "tag_name">) =>
  `${f.tag_name ? `tag ${f.tag_name}` : "tag"} (${f.data_type})`;

/** Registers one value of a tag spans (`string`: its `length`; an array tag: one element). */
export function registersOf(f: Pick<TagFormat, "data_type" | "length">): number {
  return f.data_type === "string" ? (f.length ?? 1) : REGISTERS_OF[f.data_type];
}

/**
 * Registers (or, with `bits`, coils / discrete inputs) a whole tag spans: its elements ×
 * {@link registersOf} (1 per element on a bit table). `float32[10]` spans 20 registers.
 */
export function spanOf(
  f: Pick<TagFormat, "data_type" | "length" | "array_length">,
  bits: boolean,
): number {
  return (f.array_length ?? 1) * (bits ? 1 : registersOf(f));
}

const wordSwap = (o: ByteOrder) => o === "CDAB" || o === "DCBA";
const byteSwap = (o: ByteOrder) => o === "BADC" || o === "DCBA";

/**
 * Puts `n` registers starting at `regs[at]` into `out` as the big-endian bytes of the value
 * (A B C D …), undoing the tag's byte order.
 */
function toBigEndian(
  regs: ArrayLike<number>,
  at: number,
  n: number,
  order: ByteOrder,
  out: Uint8Array,
) {
  const ws = wordSwap(order);
  const bs = byteSwap(order);
  for (let i = 0; i < n; i++) {
    const r = regs[at + (ws ? n - 1 - i : i)] ?? 0;
    out[2 * i] = bs ? r & 0xff : r >> 8;
    out[2 * i + 1] = bs ? r >> 8 : r & 0xff;
  }
}

/** Inverse of {@link toBigEndian}: big-endian value bytes → registers in the tag's order. */
function fromBigEndian(bytes: Uint8Array, n: number, order: ByteOrder): number[] {
  const ws = wordSwap(order);
  const bs = byteSwap(order);
  const regs = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const hi = bytes[2 * i] ?? 0;
    const lo = bytes[2 * i + 1] ?? 0;
    regs[ws ? n - 1 - i : i] = bs ? (lo << 8) | hi : (hi << 8) | lo;
  }
  return regs;
}

const scratch = new Uint8Array(8);
const view = new DataView(scratch.buffer);

/**
 * Decodes the raw (unscaled) value of a register tag starting at `regs[at]`.
 * @returns number, boolean (`bool`: register ≠ 0; `bit`), bigint (`int64`/`uint64`), string.
 * @throws NodiError `decode` when the registers do not cover the tag (reason `decode_error`)
 *   or a `bcd`/`lbcd` register holds a nibble above 9 (reason `invalid_bcd`).
 */
export function decodeRaw(
  f: TagFormat,
  regs: ArrayLike<number>,
  at = 0,
): number | boolean | bigint | string {
  const n = registersOf(f);
  if (at < 0 || at + n > regs.length) {
    throw new NodiError(
      "decode",
      `tag needs registers ${at}..${at + n - 1}, reply has ${regs.length}`,
      "decode_error",
    );
  }
  switch (f.data_type) {
    case "bool":
      return (regs[at] ?? 0) !== 0;
    case "bit":
      return (((regs[at] ?? 0) >> (f.bit ?? 0)) & 1) === 1;
    case "string":
      return decodeString(regs, at, n, f.byte_order);
    default:
      break;
  }
  toBigEndian(regs, at, n, f.byte_order, scratch);
  switch (f.data_type) {
    case "int16":
      return view.getInt16(0);
    case "uint16":
      return view.getUint16(0);
    case "int32":
      return view.getInt32(0);
    case "uint32":
      return view.getUint32(0);
    case "float32":
      return view.getFloat32(0);
    case "float64":
      return view.getFloat64(0);
    case "int64":
      return view.getBigInt64(0);
    case "uint64":
      return view.getBigUint64(0);
    case "bcd":
      return fromPackedBcd(view.getUint16(0), BCD_DIGITS.bcd, label(f));
    case "lbcd":
      return fromPackedBcd(view.getUint32(0), BCD_DIGITS.lbcd, label(f));
  }
}

/** A string over `n` registers, 2 characters each, Latin-1; trailing NULs are removed. */
function decodeString(regs: ArrayLike<number>, at: number, n: number, order: ByteOrder): string {
  const bs = byteSwap(order);
  let s = "";
  for (let i = 0; i < n; i++) {
    const r = regs[at + i] ?? 0;
    const first = bs ? r & 0xff : r >> 8;
    const second = bs ? r >> 8 : r & 0xff;
    s += String.fromCharCode(first, second);
  }
  return s.replace(/\0+$/, "");
}

/**
 * Applies scale and offset: engineering = raw × scale + offset. A scale of the form 1/k
 * (0.1, 0.01 …) divides by k, so int16 364 × 0.1 gives exactly 36.4. 64-bit integers that do
 * not fit in ±2^53 with scale 1 and offset 0 are returned as decimal strings (see `TagScalar`).
 */
export function scaleValue(
  raw: number | boolean | bigint | string,
  scale: number,
  offset: number,
): TagScalar {
  if (typeof raw === "boolean" || typeof raw === "string") return raw;
  if (typeof raw === "bigint") {
    if (scale === 1 && offset === 0) {
      return raw <= BigInt(Number.MAX_SAFE_INTEGER) && raw >= BigInt(Number.MIN_SAFE_INTEGER)
        ? Number(raw)
        : raw.toString();
    }
    return applyScale(Number(raw), scale, offset);
  }
  return applyScale(raw, scale, offset);
}

/** Decodes a register tag into its engineering value (decodeRaw + scaleValue). */
export function decodeRegisters(f: TagFormat, regs: ArrayLike<number>, at = 0): TagScalar {
  return scaleValue(decodeRaw(f, regs, at), f.scale, f.offset);
}

/**
 * Decodes an array tag (`array_length` elements of its data type, consecutive registers from
 * `at`, each in the tag's byte order and scaled): element `i` starts at register
 * `at + i × registersOf(f)`.
 * @throws NodiError `decode` when the registers end before the last element.
 */
export function decodeArray(f: TagFormat, regs: ArrayLike<number>, at = 0): TagArray {
  const one = { ...f, array_length: null };
  const n = registersOf(f);
  const out: (number | boolean | string)[] = [];
  for (let i = 0; i < (f.array_length ?? 1); i++) {
    const v = decodeRegisters(one, regs, at + i * n);
    if (v === null)
      throw new NodiError("decode", `${label(f)}: element ${i} has no value`, "decode_error");
    out.push(v);
  }
  return out;
}

const INT_RANGE: Partial<Record<DataType, [number, number]>> = {
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
  bcd: [0, 9999],
  lbcd: [0, 99_999_999],
};

const outOfRange = (f: TagFormat, value: unknown, why: string) =>
  new NodiError(
    "out_of_range",
    `${label(f)}: value ${JSON.stringify(value)} does not fit ${f.data_type}: ${why}`,
    "out_of_range",
    {
      data_type: f.data_type,
    },
  );

/**
 * Interprets a boolean write value by the shared rule of `src/core/write-value.ts`:
 * `true`/`false`, 1/0, "true"/"false"/"1"/"0" (exactly).
 * @throws NodiError `out_of_range` naming the tag, the value and what was expected.
 */
export function toBool(f: Pick<TagFormat, "data_type" | "tag_name">, value: TagScalar): boolean {
  return writeBool(value, label(f));
}

/**
 * Encodes an engineering value into the registers of a register tag, reversing scale and
 * offset (raw = (value − offset) / scale, rounded to the nearest integer for integer types,
 * `bcd` and `lbcd` included: 0–9999 / 0–99999999, written as packed BCD).
 * `bit` is not encoded here (it needs the register's other bits: see the driver).
 * @returns the registers in wire order, length {@link registersOf}.
 * @throws NodiError `out_of_range` when the value is not a number by the strict rule of
 *   `src/core/write-value.ts` (a finite number or plain decimal text: no hex, spaces, NaN), is
 *   not a string for `string`, or does not fit the data type; nothing is written then.
 */
export function encodeRegisters(f: TagFormat, value: TagScalar): number[] {
  const n = registersOf(f);
  if (f.data_type === "bool") return [toBool(f, value) ? 1 : 0];
  if (f.data_type === "bit")
    throw new NodiError("configuration", "a bit tag is written by read-modify-write");
  if (f.data_type === "string") return encodeString(f, value, n);
  if (f.data_type === "int64" || f.data_type === "uint64") return encode64(f, value, n);
  const num = writeNumber(value, label(f));
  const raw = (num - f.offset) / f.scale;
  if (f.data_type === "float32") {
    if (Math.abs(raw) > 3.4028234663852886e38) throw outOfRange(f, value, "beyond ±3.4028235e38");
    view.setFloat32(0, raw);
  } else if (f.data_type === "float64") {
    view.setFloat64(0, raw);
  } else {
    const r = Math.round(raw);
    const range = INT_RANGE[f.data_type];
    if (!range) throw outOfRange(f, value, "unsupported type");
    if (r < range[0] || r > range[1])
      throw outOfRange(f, value, `raw ${r} outside ${range[0]}..${range[1]}`);
    if (f.data_type === "int16") view.setInt16(0, r);
    else if (f.data_type === "uint16") view.setUint16(0, r);
    else if (f.data_type === "int32") view.setInt32(0, r);
    else if (f.data_type === "uint32") view.setUint32(0, r);
    else if (f.data_type === "bcd") view.setUint16(0, toPackedBcd(r, BCD_DIGITS.bcd));
    else view.setUint32(0, toPackedBcd(r, BCD_DIGITS.lbcd));
  }
  return fromBigEndian(scratch, n, f.byte_order);
}

function encode64(f: TagFormat, value: TagScalar, n: number): number[] {
  let big: bigint;
  try {
    const exact = f.scale === 1 && f.offset === 0 ? writeIntegerText(value) : undefined;
    if (exact !== undefined) {
      big = exact;
    } else {
      const num = writeNumber(value, label(f));
      big = BigInt(Math.round((num - f.offset) / f.scale));
    }
  } catch (e) {
    if (e instanceof NodiError) throw e;
    throw outOfRange(f, value, "not an integer");
  }
  const signed = f.data_type === "int64";
  const min = signed ? -(2n ** 63n) : 0n;
  const max = signed ? 2n ** 63n - 1n : 2n ** 64n - 1n;
  if (big < min || big > max) throw outOfRange(f, value, `raw ${big} outside ${min}..${max}`);
  if (signed) view.setBigInt64(0, big);
  else view.setBigUint64(0, big);
  return fromBigEndian(scratch, n, f.byte_order);
}

function encodeString(f: TagFormat, value: TagScalar, n: number): number[] {
  if (typeof value !== "string") throw outOfRange(f, value, "expected a string");
  if (value.length > 2 * n)
    throw outOfRange(f, value, `longer than ${2 * n} characters (${n} registers)`);
  const bytes = new Uint8Array(2 * n);
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff)
      throw outOfRange(f, value, `character ${JSON.stringify(value[i])} is not Latin-1`);
    bytes[i] = c;
  }
  const bs = byteSwap(f.byte_order);
  const regs = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const a = bytes[2 * i] ?? 0;
    const b = bytes[2 * i + 1] ?? 0;
    regs[i] = bs ? (b << 8) | a : (a << 8) | b;
  }
  return regs;
}

/**
 * Sets or clears bit `bit` of `register` (read-modify-write of a `bit` tag).
 * @returns the new 16-bit register value.
 */
export function withBit(register: number, bit: number, on: boolean): number {
  return (on ? register | (1 << bit) : register & ~(1 << bit)) & 0xffff;
}
