import { writeSync } from "node:fs";

/**
 * A structured logger: one JSON line per event on stdout (journald stores it), in pino's line
 * format — `{"level":30,"time":"<ISO>",<bindings…>,<fields…>,"msg":"…"}`, levels trace 10,
 * debug 20, info 30, warn 40, error 50, fatal 60, an `Error` value as
 * `{"type","message","stack"}` — so that readers of pino lines (web log view, `jq`) keep
 * working. Written here rather than with pino because pino (with sonic-boom, thread-stream and
 * the Node streams it loads) costs ~10 MiB of RSS in every process (docs/performance.md,
 * "Footprint of ne-intf"). A pino logger satisfies this interface (tests may pass one).
 */
export interface Logger {
  /** Minimum level written: `trace|debug|info|warn|error|fatal|silent`; settable. */
  level: string;
  trace: LogFn;
  debug: LogFn;
  info: LogFn;
  warn: LogFn;
  error: LogFn;
  fatal: LogFn;
  /** A logger that adds `bindings` to every line (after the parent's). */
  child(bindings: Record<string, unknown>): Logger;
  isLevelEnabled(level: string): boolean;
}

/** `log.info("msg")` or `log.info({ field: value }, "msg")`; `%s %d %j %o` take extra args. */
export interface LogFn {
  (obj: object, msg?: string, ...args: unknown[]): void;
  (msg: string, ...args: unknown[]): void;
}

const LEVELS: Record<string, number> = {
  trace: 10,
  debug: 20,
  info: 30,
  warn: 40,
  error: 50,
  fatal: 60,
  silent: Number.POSITIVE_INFINITY,
};

function replacer(_k: string, v: unknown): unknown {
  if (v instanceof Error) return { type: v.name, message: v.message, stack: v.stack };
  if (typeof v === "bigint") return v.toString();
  return v;
}

function format(msg: string, args: unknown[]): string {
  if (args.length === 0) return msg;
  let i = 0;
  return msg.replace(/%[sdjo%]/g, (m) => {
    if (m === "%%") return "%";
    if (i >= args.length) return m;
    const a = args[i++];
    if (m === "%d") return String(Number(a));
    if (m === "%s") return String(a);
    return JSON.stringify(a, replacer);
  });
}

/** Writes all of `line` to fd 1, waiting out a full non-blocking pipe (EAGAIN). */
function writeOut(line: string): void {
  let buf = Buffer.from(line);
  for (let tries = 0; buf.length > 0 && tries < 1000; ) {
    try {
      const n = writeSync(1, buf);
      buf = buf.subarray(n);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EAGAIN") return; // stdout gone: drop the line
      tries++;
      Bun.sleepSync(1);
    }
  }
}

class JsonLogger implements Logger {
  private min: number;
  private name: string;

  constructor(
    level: string,
    /** `,"k":v,…` of the bindings, already serialised (pino's "chindings"). */
    private readonly chindings: string,
    private readonly write: (line: string) => void,
  ) {
    this.name = level;
    this.min = LEVELS[level] ?? 30;
  }

  get level(): string {
    return this.name;
  }

  set level(l: string) {
    if (!(l in LEVELS)) throw new Error(`unknown log level ${JSON.stringify(l)}`);
    this.name = l;
    this.min = LEVELS[l]!;
  }

  isLevelEnabled(level: string): boolean {
    return (LEVELS[level] ?? 0) >= this.min;
  }

  child(bindings: Record<string, unknown>): Logger {
    const c = new JsonLogger(this.name, this.chindings + fields(bindings), this.write);
    return c;
  }

  private emit(level: number, a: unknown, rest: unknown[]): void {
    if (level < this.min) return;
    let obj = "";
    let msg: unknown;
    if (typeof a === "object" && a !== null) {
      const o = a instanceof Error ? { err: a } : (a as Record<string, unknown>);
      const { msg: m, ...others } = o as { msg?: unknown };
      obj = fields(others);
      msg =
        typeof rest[0] === "string"
          ? format(rest[0], rest.slice(1))
          : a instanceof Error
            ? a.message
            : m;
    } else msg = typeof a === "string" ? format(a, rest) : a;
    const m = msg === undefined ? "" : `,"msg":${JSON.stringify(msg, replacer)}`;
    this.write(
      `{"level":${level},"time":"${new Date().toISOString()}"${this.chindings}${obj}${m}}\n`,
    );
  }

  trace: LogFn = (a: unknown, ...rest: unknown[]) => this.emit(10, a, rest);
  debug: LogFn = (a: unknown, ...rest: unknown[]) => this.emit(20, a, rest);
  info: LogFn = (a: unknown, ...rest: unknown[]) => this.emit(30, a, rest);
  warn: LogFn = (a: unknown, ...rest: unknown[]) => this.emit(40, a, rest);
  error: LogFn = (a: unknown, ...rest: unknown[]) => this.emit(50, a, rest);
  fatal: LogFn = (a: unknown, ...rest: unknown[]) => this.emit(60, a, rest);
}

/** `,"k":v` for each defined field of `o` (undefined ones are left out, like JSON.stringify). */
function fields(o: Record<string, unknown>): string {
  const s = JSON.stringify(o, replacer);
  return s === "{}" ? "" : `,${s.slice(1, -1)}`;
}

/**
 * Creates the logger of one process or part.
 * @param name    the component, e.g. `ne-intf` (becomes the `name` field).
 * @param level   minimum level (`NE_LOG_LEVEL`).
 * @param bindings fields added to every line, e.g. `{ conn: "mtc-01" }`.
 * @param write   where lines go (default: stdout, synchronously); tests pass a collector.
 */
export function createLogger(
  name: string,
  level: string = "info",
  bindings: Record<string, unknown> = {},
  write: (line: string) => void = writeOut,
): Logger {
  return new JsonLogger(level, fields({ ...bindings, name }), write);
}

/** A logger that writes nothing, for tests and library defaults. */
export const silentLogger: Logger = new JsonLogger("silent", "", () => {});
