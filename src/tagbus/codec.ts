import { BoundedMemo } from "../core/bounded-memo.ts";
import { NodiError } from "../core/errors.ts";
import { QUALITIES, type Quality } from "../core/quality.ts";
import type { TagData, TagSample, TagValue } from "../core/tag-value.ts";
import { pathRoot } from "./keys.ts";

/** Largest string value, in UTF-8 bytes (64 KiB). Longer strings are refused. */
export const MAX_STRING_BYTES = 64 * 1024;
/** Most elements of an array value (an array tag: at most 2000 coils, Modbus spec §6.1). */
export const MAX_ARRAY_ELEMENTS = 2000;
/** Largest `reason`, in characters. */
export const MAX_REASON_CHARS = 256;

/** A validated sample with what the publish script needs. */
export interface EncodedSample {
  path: string;
  root: string;
  /** JSON of the sample in a stream entry: `[path, value, quality, ts, reason?]`. */
  entry: string;
  /** JSON of the current value without its closing `seq]`: `[value,quality,reason,ts,producer,`. */
  curPrefix: string;
  /** The sample's source timestamp, ms since the epoch (the RESTORE script compares it). */
  ts: number;
  /** The sample's value, quality and reason as given (re-encoded for a republish). */
  value: TagData;
  quality: Quality;
  reason: string | null;
  /** Published with `ifNewer` (TagBus `PublishOptions`): committed by the RESTORE script. */
  ifNewer?: true;
}

/**
 * Checks one sample and encodes it.
 * @throws NodiError(kind `configuration`, reason `invalid_path` | `invalid_value` |
 *   `value_too_large` | `invalid_quality` | `invalid_ts`) naming the path and the problem.
 */
export function encodeSample(s: TagSample, producer: string): EncodedSample {
  const p = typeof s.path === "string" ? pathCache.get(s.path) : checkPath(s.path);
  const value = s.value;
  let v: string;
  if (typeof value === "number" && Number.isFinite(value)) v = String(value);
  else if (typeof value === "boolean") v = value ? "true" : "false";
  else {
    checkValue(s.path, value, s.quality);
    v = JSON.stringify(value);
  }
  if (!QUALITIES.includes(s.quality)) {
    throw new NodiError(
      "configuration",
      `${s.path}: quality must be good, uncertain or bad (got ${JSON.stringify(s.quality)})`,
      "invalid_quality",
      { path: s.path },
    );
  }
  if (typeof s.ts !== "number" || !Number.isFinite(s.ts)) {
    throw new NodiError(
      "configuration",
      `${s.path}: ts must be a finite number of ms since the epoch (got ${JSON.stringify(s.ts)})`,
      "invalid_ts",
      { path: s.path },
    );
  }
  const reason =
    s.reason === undefined || s.reason === null
      ? null
      : String(s.reason).slice(0, MAX_REASON_CHARS);
  // the samples of one scan share their ts: its decimal form is made once, not twice per sample
  if (s.ts !== lastTs) {
    lastTs = s.ts;
    lastTsText = String(s.ts);
  }
  const ts = lastTsText;
  const entry =
    reason === null
      ? `[${p.json},${v},"${s.quality}",${ts}]`
      : `[${p.json},${v},"${s.quality}",${ts},${JSON.stringify(reason)}]`;
  const curPrefix = `[${v},"${s.quality}",${reason === null ? "null" : JSON.stringify(reason)},${ts},${producerJson(producer)},`;
  return {
    path: s.path,
    root: p.root,
    entry,
    curPrefix,
    ts: s.ts,
    value,
    quality: s.quality,
    reason,
  };
}

interface KnownPath {
  root: string;
  /** The path as a JSON string. */
  json: string;
}

/** Validates a path; its root and JSON. @throws NodiError(invalid_path). */
function checkPath(path: unknown): KnownPath {
  const root = typeof path === "string" ? pathRoot(path) : undefined;
  if (!root) {
    throw new NodiError(
      "configuration",
      `invalid tag path ${JSON.stringify(path)}: expected /{conn_id}/{tag_name} or /system/{app_id}/{name}`,
      "invalid_path",
      { path },
    );
  }
  return { root, json: JSON.stringify(path) };
}

/**
 * Valid paths seen lately, with root and JSON (a producer publishes the same paths again and
 * again); at most 20,000. An invalid path is never held (checkPath throws).
 */
const pathCache = new BoundedMemo<string, KnownPath>(20_000, checkPath);

/** The last `ts` encoded and its decimal text (JSON of a finite number is `String(n)`). */
let lastTs = Number.NaN;
let lastTsText = "NaN";

let lastProducer = "";
let lastProducerJson = '""';
function producerJson(producer: string): string {
  if (producer !== lastProducer) {
    lastProducer = producer;
    lastProducerJson = JSON.stringify(producer);
  }
  return lastProducerJson;
}

/**
 * Checks a value for a sample or a write: a finite number, a boolean, a string of at most
 * {@link MAX_STRING_BYTES} bytes, or `null` (only with a bad quality); for a sample (not a
 * write: `quality` given) also an array tag's value, an array of at most
 * {@link MAX_ARRAY_ELEMENTS} finite numbers, booleans or decimal strings (core/tag-value.ts
 * `TagArray`), carried as a JSON array.
 * @throws NodiError(kind `configuration`) otherwise.
 */
export function checkValue(path: string, value: unknown, quality: Quality | undefined): void {
  const bad = (msg: string, reason = "invalid_value") =>
    new NodiError("configuration", `${path}: ${msg}`, reason, { path });
  if (Array.isArray(value)) {
    if (quality === undefined)
      throw bad("a write of an array is not supported (array tags are read-only)");
    if (value.length > MAX_ARRAY_ELEMENTS) {
      throw bad(
        `array of ${value.length} elements is over the limit of ${MAX_ARRAY_ELEMENTS}`,
        "value_too_large",
      );
    }
    for (const e of value) {
      const ok =
        (typeof e === "number" && Number.isFinite(e)) ||
        typeof e === "boolean" ||
        (typeof e === "string" && e.length <= 64);
      if (!ok)
        throw bad(
          `array elements must be finite numbers, booleans or short strings (got ${JSON.stringify(e)})`,
        );
    }
    return;
  }
  if (value === null) {
    if (quality !== undefined && quality !== "bad") throw bad("null value needs quality bad");
    if (quality === undefined) throw bad("a write needs a value (got null)");
    return;
  }
  switch (typeof value) {
    case "number":
      if (!Number.isFinite(value)) throw bad(`number must be finite (got ${value})`);
      return;
    case "boolean":
      return;
    case "string": {
      // a UTF-16 code unit is at most 3 bytes of UTF-8: short strings need no count
      if (value.length * 3 <= MAX_STRING_BYTES) return;
      const bytes = Buffer.byteLength(value, "utf8");
      if (bytes > MAX_STRING_BYTES) {
        throw bad(
          `string of ${bytes} bytes is over the limit of ${MAX_STRING_BYTES}`,
          "value_too_large",
        );
      }
      return;
    }
    default:
      throw bad(`value must be a number, boolean, string or null (got ${typeof value})`);
  }
}

/** Decodes the `d` field of a stream entry into values, or `undefined` when malformed. */
export function decodeBatch(d: string, producer: string, seq0: number): TagValue[] | undefined {
  let arr: unknown;
  try {
    arr = JSON.parse(d);
  } catch {
    return undefined;
  }
  if (!Array.isArray(arr)) return undefined;
  const out: TagValue[] = [];
  for (let i = 0; i < arr.length; i++) {
    const e = arr[i];
    if (!Array.isArray(e) || typeof e[0] !== "string" || typeof e[2] !== "string") return undefined;
    const v: TagValue = {
      path: e[0],
      value: e[1] as TagData,
      quality: e[2] as Quality,
      ts: Number(e[3]),
      producer,
      seq: seq0 + i,
    };
    if (typeof e[4] === "string") v.reason = e[4];
    out.push(v);
  }
  return out;
}

/** Decodes one field of a current-value hash, or `undefined` when malformed. */
export function decodeCurrent(path: string, json: string): TagValue | undefined {
  try {
    const a = JSON.parse(json) as unknown[];
    if (!Array.isArray(a) || a.length < 6) return undefined;
    const v: TagValue = {
      path,
      value: a[0] as TagData,
      quality: a[1] as Quality,
      ts: Number(a[3]),
      producer: String(a[4]),
      seq: Number(a[5]),
    };
    if (typeof a[2] === "string") v.reason = a[2];
    return v;
  } catch {
    return undefined;
  }
}
