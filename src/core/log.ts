import pino from "pino";

/** A structured logger (pino). One JSON line per event on stdout; journald stores it. */
export type Logger = pino.Logger;

/**
 * Creates the logger of one process or part.
 * @param name    the component, e.g. `ne-intf` (becomes the `name` field).
 * @param level   minimum level (`NE_LOG_LEVEL`).
 * @param bindings fields added to every line, e.g. `{ conn: "mtc-01" }`.
 */
export function createLogger(
  name: string,
  level: string = "info",
  bindings: Record<string, unknown> = {},
): Logger {
  return pino({ name, level, base: { ...bindings }, timestamp: pino.stdTimeFunctions.isoTime });
}

/** A logger that writes nothing, for tests and library defaults. */
export const silentLogger: Logger = pino({ level: "silent" });
