// node-redis (`@redis/client`) here, not the TagBus's Bun RedisClient (connection.ts): DUMP
// payloads are binary and Bun's client returns bulk strings decoded as UTF-8 text, which
// corrupts them; node-redis hands them over as Buffers. Loaded only by `nodi-edge bus migrate`
// (a dynamic import), so no app and no other CLI command pays for it.
import { createClient, RESP_TYPES } from "@redis/client";
import { NodiError } from "../core/errors.ts";
import { redactUrl } from "../core/redact-url.ts";

/** What {@link migrateBus} did. */
export interface MigrateResult {
  /** Keys copied to the target (DUMP → RESTORE, TTLs kept). */
  copied: number;
  /** Keys the target already had (left as they were there; the source's copy is dropped too). */
  skipped: number;
  /** Keys removed from the source after the copy (0 with `keepSource`). */
  removed: number;
}

/** A Redis glob pattern matching `prefix` literally, then anything (`*?[]\` escaped). */
export function prefixPattern(prefix: string): string {
  return `${prefix.replace(/[*?[\]\\]/g, (c) => `\\${c}`)}*`;
}

async function connect(url: string, role: string) {
  const c = createClient({
    url,
    RESP: 2,
    socket: { connectTimeout: 3000, reconnectStrategy: false },
  });
  c.on("error", () => {});
  try {
    await c.connect();
  } catch (e) {
    throw new NodiError(
      "communication",
      `${role} redis not reachable at ${redactUrl(url)}: ${(e as Error).message}`,
      "disconnected",
    );
  }
  return c.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer });
}

/**
 * Moves the TagBus's keys (every key under `prefix`: producer streams, current values, seq
 * counters, registries, write streams, durable subscribers' cursors; docs/tagbus.md) from the
 * Redis at `from` to the one at `to`, for the package's move from the box's shared Redis to its
 * own instance (docs/security.md "Upgrading"). Run with the apps stopped, so nothing changes
 * meanwhile. Each key is copied with DUMP/RESTORE (same Redis major version on both sides:
 * the same machine's redis-server) keeping its TTL; a key the target already has is kept there.
 * Only once every key is copied are they removed from the source (UNLINK), unless `keepSource`.
 * @throws NodiError `communication` when either Redis cannot be reached (URLs shown redacted);
 *   Redis errors of DUMP/RESTORE as they are (nothing is removed from the source then).
 */
export async function migrateBus(
  from: string,
  to: string,
  prefix: string,
  opts: { keepSource?: boolean } = {},
): Promise<MigrateResult> {
  const src = await connect(from, "source");
  try {
    const dst = await connect(to, "target");
    try {
      const keys: string[] = [];
      let cursor = "0";
      do {
        const [next, batch] = (await src.sendCommand([
          "SCAN",
          cursor,
          "MATCH",
          prefixPattern(prefix),
          "COUNT",
          "1000",
        ])) as [Buffer, Buffer[]];
        cursor = next.toString();
        for (const k of batch) keys.push(k.toString());
      } while (cursor !== "0");
      const result: MigrateResult = { copied: 0, skipped: 0, removed: 0 };
      for (const key of [...new Set(keys)]) {
        const dump = (await src.sendCommand(["DUMP", key])) as Buffer | null;
        if (dump === null) continue; // gone meanwhile
        const pttl = Number(await src.sendCommand(["PTTL", key]));
        try {
          await dst.sendCommand(["RESTORE", key, String(Math.max(pttl, 0)), dump]);
          result.copied++;
        } catch (e) {
          if (!String((e as Error).message).startsWith("BUSYKEY")) throw e;
          result.skipped++;
        }
      }
      if (!opts.keepSource) {
        for (let i = 0; i < keys.length; i += 500) {
          result.removed += Number(await src.sendCommand(["UNLINK", ...keys.slice(i, i + 500)]));
        }
      }
      return result;
    } finally {
      dst.destroy();
    }
  } finally {
    src.destroy();
  }
}
