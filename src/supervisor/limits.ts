import { NodiError } from "../core/errors.ts";

/**
 * Parses a systemd `MemoryMax=` value as the connection stores it (`^\d+[KMG]?$`, base 1024,
 * e.g. `64M`) into bytes.
 * @throws NodiError kind `configuration` for anything else.
 */
export function parseMemoryMax(text: string): number {
  const m = /^(\d+)([KMG]?)$/.exec(text);
  if (!m)
    throw new NodiError(
      "configuration",
      `memory_max must look like 64M (got ${JSON.stringify(text)})`,
    );
  const mult = { "": 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2] as "" | "K" | "M" | "G"];
  return Number(m[1]) * mult;
}

/**
 * Resident set size of a process in bytes, from `/proc/{pid}/status` (`VmRSS`, kB), or
 * `undefined` when the process is gone or /proc is not readable.
 */
export async function readRssBytes(pid: number): Promise<number | undefined> {
  try {
    const text = await Bun.file(`/proc/${pid}/status`).text();
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(text);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}
