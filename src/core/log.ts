import { writeSync } from "node:fs";
import type pino from "pino";
// pino's own minimal build (the `browser` entry of the pino package): the same logger API
// (levels, child loggers with bindings, `%s` formatting, serializers) without the Node
// machinery the main entry loads at import (thread-stream and worker_threads for transports,
// sonic-boom, pino-std-serializers, redaction): in the compiled binary the main entry costs
// an app +11.6 MiB RSS / +3.1 MiB anonymous over a bare Bun, this one +0.7 / +0.2 over the
// `node:fs` the app loads anyway (docs/performance.md "Memory per connection"). Lines are
// written here, synchronously, as one JSON object each, in pino's field names.
import pinoMinimal from "pino/browser.js";

/** A structured logger (pino's API). One JSON line per event on stdout; journald stores it. */
export type Logger = pino.Logger;

/**
 * pino's `err` serializer shape (`type`, `message`, `stack`, own fields), for an `err` field
 * that holds an Error; anything else is kept as it is.
 */
function errValue(e: unknown): unknown {
  if (!(e instanceof Error)) return e;
  const out: Record<string, unknown> = { type: e.constructor.name, message: e.message };
  if (e.stack) out.stack = e.stack;
  for (const [k, v] of Object.entries(e)) if (!(k in out)) out[k] = v;
  return out;
}

/** Writes one line to stdout (fd 1) in full; retries while a non-blocking pipe is full. */
function writeLine(line: string): void {
  let buf = Buffer.from(line);
  for (let tries = 0; buf.length > 0 && tries < 1000; ) {
    try {
      const n = writeSync(1, buf);
      buf = buf.subarray(n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") return; // stdout gone: drop
      tries++;
      Bun.sleepSync(1);
    }
  }
}

function write(o: object): void {
  const rec = o as Record<string, unknown>;
  if (rec.err instanceof Error) rec.err = errValue(rec.err);
  writeLine(`${JSON.stringify(rec)}\n`);
}

/**
 * Creates the logger of one process or part. Each line is a JSON object with pino's fields:
 * `level` (number: 10 trace … 60 fatal), `time` (ISO 8601), `name`, the bindings, the logged
 * object's fields and `msg`.
 * @param name    the component, e.g. `ne-intf` (becomes the `name` field).
 * @param level   minimum level (`NE_LOG_LEVEL`).
 * @param bindings fields added to every line, e.g. `{ conn: "mtc-01" }`.
 */
export function createLogger(
  name: string,
  level: string = "info",
  bindings: Record<string, unknown> = {},
): Logger {
  const root = (pinoMinimal as unknown as typeof pino)({
    level,
    timestamp: () => new Date().toISOString() as unknown as string,
    browser: { asObject: true, write, serialize: false },
  } as pino.LoggerOptions);
  return root.child({ name, ...bindings });
}

/** A logger that writes nothing, for tests and library defaults. */
export const silentLogger: Logger = (pinoMinimal as unknown as typeof pino)({
  level: "silent",
  browser: { write: () => {} },
} as pino.LoggerOptions);
