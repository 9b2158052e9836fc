import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join } from "node:path";
import type { Logger } from "../../core/log.ts";

/**
 * Where the edge node keeps its birth/death sequence number (`bdSeq`) between CONNECTs and
 * across restarts (Sparkplug 3.0 §5.2, tck-id-message-flow-edge-node-birth-publish-will-message-payload-bdSeq:
 * 0 on the first CONNECT, +1 on every later one, 255 → 0).
 */
export interface BdSeqStore {
  /** The bdSeq of the last CONNECT, or `undefined` before the first. */
  load(): number | undefined;
  /** Records the bdSeq of a CONNECT about to be sent; durable when it returns. */
  save(bdSeq: number): void;
}

/** The next bdSeq after `last` (undefined → 0; 255 → 0). */
export function nextBdSeq(last: number | undefined): number {
  return last === undefined ? 0 : (last + 1) % 256;
}

/** File name of the bdSeq in a northbound's data dir. */
export const BDSEQ_FILE = "sparkplug-bdseq";

/**
 * A {@link BdSeqStore} in `{dir}/sparkplug-bdseq` (decimal text). Written to a temporary file,
 * fsynced and renamed over the old one, so a crash leaves the old or the new number, never a
 * torn file. An unreadable or malformed file is logged and counts as "no previous CONNECT".
 */
export function fileBdSeqStore(dir: string, log: Logger): BdSeqStore {
  const path = join(dir, BDSEQ_FILE);
  return {
    load() {
      let text: string;
      try {
        text = readFileSync(path, "utf8");
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== "ENOENT")
          log.warn(
            { path, err: (e as Error).message },
            "sparkplug: cannot read bdSeq, starting at 0",
          );
        return undefined;
      }
      // decimal digits only: Number("") is 0, so an empty (truncated) file would pass silently
      const n = /^\d{1,3}$/.test(text.trim()) ? Number(text.trim()) : Number.NaN;
      if (!Number.isInteger(n) || n < 0 || n > 255) {
        log.warn(
          { path, content: text.slice(0, 40) },
          "sparkplug: bdSeq file is not 0–255, starting at 0",
        );
        return undefined;
      }
      return n;
    },
    save(bdSeq) {
      const tmp = `${path}.tmp`;
      const fd = openSync(tmp, "w", 0o644);
      try {
        writeSync(fd, `${bdSeq}\n`);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, path);
    },
  };
}

/** A {@link BdSeqStore} in memory (tests). */
export function memoryBdSeqStore(initial?: number): BdSeqStore & { value: number | undefined } {
  const s = {
    value: initial,
    load: () => s.value,
    save: (n: number) => {
      s.value = n;
    },
  };
  return s;
}
