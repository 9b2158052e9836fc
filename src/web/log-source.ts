import { existsSync } from "node:fs";
import { systemTagPath } from "../core/paths.ts";
import { HEALTH_TAGS, parseHealth } from "../intf/health.ts";
import type { TagBus } from "../tagbus/tagbus.ts";

/** One recent log line of an interface app. */
export interface LogLine {
  /** ms since the epoch (when known). */
  ts?: number;
  /** pino level name (`info`, `warn`, `error`, …) or journald priority mapped to one. */
  level?: string;
  msg: string;
  /** Name of the {@link LogSource} that gave the line (set by {@link ChainedLogSource}). */
  source?: string;
}

/** Where the recent log lines of the app of one connection come from. */
export interface LogSource {
  /** Name shown in the UI and docs: `journald`, `health`, `none`. */
  readonly name: string;
  /** The last `n` lines (oldest first) of the app of `connId`; never throws (returns `[]`). */
  recent(connId: string, n: number): Promise<LogLine[]>;
}

const PINO_LEVELS: Record<number, string> = {
  10: "trace",
  20: "debug",
  30: "info",
  40: "warn",
  50: "error",
  60: "fatal",
};
const SYSLOG_LEVELS = ["fatal", "fatal", "fatal", "error", "warn", "info", "info", "debug"];

/**
 * Parses one line the app wrote (a pino JSON line, or plain text) into a {@link LogLine}.
 * Extra pino fields (except the usual bindings) are appended as `key=value`.
 */
export function parseAppLine(text: string, fallbackTs?: number): LogLine {
  try {
    const o = JSON.parse(text) as Record<string, unknown>;
    if (o && typeof o === "object" && typeof o.msg === "string") {
      const ts =
        typeof o.time === "string"
          ? Date.parse(o.time)
          : typeof o.time === "number"
            ? o.time
            : fallbackTs;
      const extra = Object.entries(o)
        .filter(([k]) => !["msg", "time", "level", "name", "pid", "hostname", "conn"].includes(k))
        .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
      return {
        ts,
        level: typeof o.level === "number" ? PINO_LEVELS[o.level] : String(o.level ?? ""),
        msg: extra.length ? `${o.msg} ${extra.join(" ")}` : o.msg,
      };
    }
  } catch {
    // plain text
  }
  return { ts: fallbackTs, msg: text };
}

/**
 * Reads journald: `journalctl -u ne-intf@ID.service -n N -o json --no-pager`. Each entry's
 * `MESSAGE` is the app's pino JSON line; `__REALTIME_TIMESTAMP` (µs) and `PRIORITY` are used
 * when the message is plain text.
 */
export class JournaldLogSource implements LogSource {
  readonly name = "journald";

  async recent(connId: string, n: number): Promise<LogLine[]> {
    try {
      const p = Bun.spawn(
        [
          "journalctl",
          "-u",
          `ne-intf@${connId}.service`,
          "-n",
          String(n),
          "-o",
          "json",
          "--no-pager",
        ],
        { stdout: "pipe", stderr: "ignore" },
      );
      const text = await new Response(p.stdout).text();
      await p.exited;
      const out: LogLine[] = [];
      for (const raw of text.split("\n")) {
        if (!raw.trim()) continue;
        const e = JSON.parse(raw) as Record<string, unknown>;
        const msg = typeof e.MESSAGE === "string" ? e.MESSAGE : "";
        const ts = Math.floor(Number(e.__REALTIME_TIMESTAMP ?? 0) / 1000) || undefined;
        const line = parseAppLine(msg, ts);
        line.level ??= SYSLOG_LEVELS[Number(e.PRIORITY ?? 6)];
        out.push(line);
      }
      return out;
    } catch {
      return [];
    }
  }
}

/** What {@link RecentErrorsLogSource} reads: the live hub's record of `last_error` tags. */
export interface ErrorHistory {
  recentErrors(connId: string): { ts: number; level: string; msg: string }[];
}

/**
 * The app's recent errors as log lines: every `/system/{id}/last_error` value seen by the
 * live hub (which starts watching the connection on the first diagnostics request and keeps
 * watching while the page is open), newest last. The app rate-limits these like its log.
 */
export class RecentErrorsLogSource implements LogSource {
  readonly name = "errors";
  constructor(private readonly history: ErrorHistory) {}
  async recent(connId: string, n: number): Promise<LogLine[]> {
    return this.history.recentErrors(connId).slice(-n);
  }
}

/**
 * The app's own record of its notable log events: `recentLogs` of its
 * `/system/{id}/health` tag (state changes and logged errors, the last
 * {@link import("../intf/health.ts").RECENT_LOGS_MAX}; src/intf/health.ts). Works wherever
 * the TagBus does, so it is the source under the process manager (no journald).
 */
export class HealthLogSource implements LogSource {
  readonly name = "health";
  constructor(private readonly bus: Pick<TagBus, "get">) {}
  async recent(connId: string, n: number): Promise<LogLine[]> {
    try {
      const v = await this.bus.get(systemTagPath(connId, HEALTH_TAGS.health));
      const logs = parseHealth(v?.value)?.recentLogs;
      if (!Array.isArray(logs)) return [];
      return logs.slice(-n).map((l) => ({ ts: l.ts, level: l.level, msg: l.msg }));
    } catch {
      return [];
    }
  }
}

/**
 * Tries each source in order and returns the lines of the first that has any, each line
 * marked with that source's name (`source`).
 */
export class ChainedLogSource implements LogSource {
  private readonly sources: LogSource[];
  constructor(...sources: LogSource[]) {
    this.sources = sources;
  }
  get name(): string {
    return this.sources.map((s) => s.name).join("+");
  }
  async recent(connId: string, n: number): Promise<LogLine[]> {
    for (const s of this.sources) {
      const lines = await s.recent(connId, n);
      if (lines.length > 0) return lines.map((l) => ({ ...l, source: l.source ?? s.name }));
    }
    return [];
  }
}

/** True when systemd is PID 1 (journald holds the apps' logs). */
export function systemdRuns(): boolean {
  return existsSync("/run/systemd/system");
}
