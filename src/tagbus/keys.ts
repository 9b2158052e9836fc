import { parseTagPath } from "../core/paths.ts";

/**
 * The Redis key layout of the TagBus (docs/tagbus.md §Keys). Every key starts with the
 * `NE_REDIS_PREFIX` (`p`, e.g. `ne:`).
 */
export interface BusKeys {
  /** Stream of one producer's batches: `{p}s:{producer}`. */
  stream(producer: string): string;
  /** Hash of current values of one path root: `{p}cur:{root}` (field = path). */
  cur(root: string): string;
  /** Hash producer → last published `seq`: `{p}seq`. */
  seq: string;
  /** Hash producer → `instance:counter` of the last committed batch (retry de-duplication): `{p}pub`. */
  pub: string;
  /** Hash `"{producer} {root}"` → stream id of the first entry of that producer under that root: `{p}reg`. */
  reg: string;
  /** Stream announcing new `(producer, root)` pairs, read by every subscriber: `{p}regs`. */
  regs: string;
  /** Hash of a durable subscriber's cursors: `{p}sub:{name}`. */
  sub(name: string): string;
  /** Write requests to one owner app, with consumer group {@link WRITE_GROUP}: `{p}w:{appId}`. */
  writes(appId: string): string;
  /** List of write results for one writing bus instance: `{p}wr:{instance}`. */
  replies(instance: string): string;
  /** Marker of a completed write request (de-duplicates a re-delivery): `{p}wd:{requestId}`. */
  writeDone(id: string): string;
  /** Who claimed a write request first, `taken` (the owner) or `withdrawn` (the writer gave up): `{p}wc:{requestId}`. */
  writeClaim(id: string): string;
}

/** Consumer group name on every write stream. */
export const WRITE_GROUP = "owner";

/** Builds the key layout under `prefix`. */
export function busKeys(prefix: string): BusKeys {
  return {
    stream: (producer) => `${prefix}s:${producer}`,
    cur: (root) => `${prefix}cur:${root}`,
    seq: `${prefix}seq`,
    pub: `${prefix}pub`,
    reg: `${prefix}reg`,
    regs: `${prefix}regs`,
    sub: (name) => `${prefix}sub:${name}`,
    writes: (appId) => `${prefix}w:${appId}`,
    replies: (instance) => `${prefix}wr:${instance}`,
    writeDone: (id) => `${prefix}wd:${id}`,
    writeClaim: (id) => `${prefix}wc:${id}`,
  };
}

/**
 * The root of a tag path: the part that names its owner. `/mtc-01/speed` → `mtc-01`;
 * `/system/mtc-01/state` → `system/mtc-01`. `undefined` for an invalid path.
 */
export function pathRoot(path: string): string | undefined {
  const p = parseTagPath(path);
  if (!p) return undefined;
  return p.kind === "data" ? p.connId : `system/${p.appId}`;
}

/**
 * True when some path under `root` could match `pattern` (see `core/paths.ts`
 * `matchesPattern`): lets a subscriber skip the streams and current-value hashes of roots
 * it can never match.
 */
export function rootMayMatch(pattern: string, root: string): boolean {
  const pSegs = pattern.split("/").slice(1);
  const rSegs = root.split("/");
  for (let i = 0; i < rSegs.length; i++) {
    const p = pSegs[i];
    if (p === undefined) return false;
    if (p === "**") return true;
    const last = i === pSegs.length - 1;
    if (p === "*" && last) return true;
    const re = new RegExp(`^${p.replace(/[.+?^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*")}$`);
    if (!re.test(rSegs[i]!)) return false;
    if (last) return false; // pattern ends at the root itself: no tag path is that short
  }
  return true;
}

/** Compares two stream ids (`ms-seq`): negative, zero or positive. */
export function compareIds(a: string, b: string): number {
  const [am, as] = splitId(a);
  const [bm, bs] = splitId(b);
  if (am !== bm) return am < bm ? -1 : 1;
  if (as !== bs) return as < bs ? -1 : 1;
  return 0;
}

/** The greatest stream id lower than `id` (XREAD's id is exclusive, so reading from it includes `id`). */
export function prevId(id: string): string {
  const [ms, seq] = splitId(id);
  if (seq > 0n) return `${ms}-${seq - 1n}`;
  if (ms > 0n) return `${ms - 1n}-18446744073709551615`;
  return "0-0";
}

function splitId(id: string): [bigint, bigint] {
  const i = id.indexOf("-");
  if (i < 0) return [BigInt(id), 0n];
  return [BigInt(id.slice(0, i)), BigInt(id.slice(i + 1))];
}
