import * as v from "valibot";

/**
 * Process settings, from environment variables (DESIGN.md §3). The packaged units read them
 * from `/etc/nodi-edge/nodi-edge.env`. Every part reads settings through {@link loadSettings};
 * nothing else reads `process.env`.
 */
export interface Settings {
  /** `NE_DB`: SQLite file of the source of truth. Default `./nodi-edge.db` (packaged: `/var/lib/nodi-edge/nodi-edge.db`). */
  db: string;
  /** `NE_REDIS_URL`: Redis server of the TagBus. Default `redis://127.0.0.1:6379`. */
  redisUrl: string;
  /** `NE_REDIS_PREFIX`: prefix of every Redis key. Default `ne:`. */
  redisPrefix: string;
  /** `NE_DATA_DIR`: state directory (OPC UA PKI, …). Default: the directory of `db`. */
  dataDir: string;
  /** `NE_LOG_LEVEL`: `trace|debug|info|warn|error|fatal`. Default `info`. */
  logLevel: "trace" | "debug" | "info" | "warn" | "error" | "fatal";
  /** `NE_OUTBOX_MAX`: tag samples an app buffers while Redis is unreachable. Default 100000. */
  outboxMax: number;
  /** `NE_STREAM_MAXLEN`: approximate entries retained per tag stream. Default 100000. */
  streamMaxLen: number;
  /** `NE_SERVICE_MANAGER`: `auto|systemd|process`. Default `auto` (systemd when `/run/systemd/system` exists). */
  serviceManager: "auto" | "systemd" | "process";
}

const intFrom = (min: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, "must be a whole number"),
    v.transform(Number),
    v.minValue(min),
  );

const EnvSchema = v.object({
  NE_DB: v.optional(v.pipe(v.string(), v.minLength(1)), "./nodi-edge.db"),
  NE_REDIS_URL: v.optional(
    v.pipe(v.string(), v.regex(/^rediss?:\/\//, "must start with redis:// or rediss://")),
    "redis://127.0.0.1:6379",
  ),
  NE_REDIS_PREFIX: v.optional(v.string(), "ne:"),
  NE_DATA_DIR: v.optional(v.string()),
  NE_LOG_LEVEL: v.optional(
    v.picklist(["trace", "debug", "info", "warn", "error", "fatal"]),
    "info",
  ),
  NE_OUTBOX_MAX: v.optional(intFrom(1), "100000"),
  NE_STREAM_MAXLEN: v.optional(intFrom(100), "100000"),
  NE_SERVICE_MANAGER: v.optional(v.picklist(["auto", "systemd", "process"]), "auto"),
});

/**
 * Reads settings from `env` (default `process.env`).
 * @throws Error naming the variable and what was expected, e.g.
 *   `NE_OUTBOX_MAX: must be a whole number (got "lots")`.
 */
export function loadSettings(env: Record<string, string | undefined> = process.env): Settings {
  const picked: Record<string, string> = {};
  for (const key of Object.keys(EnvSchema.entries)) {
    const val = env[key];
    if (val !== undefined && val !== "") picked[key] = val;
  }
  const r = v.safeParse(EnvSchema, picked);
  if (!r.success) {
    const msgs = r.issues.map((i) => {
      const key = i.path?.[0]?.key as string | undefined;
      return `${key ?? "environment"}: ${i.message} (got ${JSON.stringify(key ? picked[key] : undefined)})`;
    });
    throw new Error(`invalid settings: ${msgs.join("; ")}`);
  }
  const o = r.output;
  const db = o.NE_DB;
  return {
    db,
    redisUrl: o.NE_REDIS_URL,
    redisPrefix: o.NE_REDIS_PREFIX,
    dataDir: o.NE_DATA_DIR ?? (db.includes("/") ? db.slice(0, db.lastIndexOf("/")) || "/" : "."),
    logLevel: o.NE_LOG_LEVEL,
    outboxMax: Number(o.NE_OUTBOX_MAX),
    streamMaxLen: Number(o.NE_STREAM_MAXLEN),
    serviceManager: o.NE_SERVICE_MANAGER,
  };
}
