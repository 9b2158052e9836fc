import pino from "pino";
import type { Logger } from "../../src/core/log.ts";

/**
 * A logger (level `debug`) that keeps every line it writes, parsed: `level` (pino's number,
 * 40 = warn), `msg` and the logged fields, for tests that check what a part logs.
 */
export function captureLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const log = pino(
    { level: "debug" },
    { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) },
  ) as unknown as Logger;
  return { log, lines };
}
