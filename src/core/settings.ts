import * as v from "valibot";
import { NodiError } from "./errors.ts";
import { redactUrl } from "./redact-url.ts";

/**
 * Process settings, from environment variables (DESIGN.md §3). The packaged units read them
 * from `/etc/nodi-edge/nodi-edge.env`. Every part reads settings through {@link loadSettings};
 * nothing else reads `process.env`.
 */
export interface Settings {
  /** `NE_DB`: SQLite file of the source of truth. Default `./nodi-edge.db` (packaged: `/var/lib/nodi-edge/nodi-edge.db`). */
  db: string;
  /**
   * `NE_REDIS_URL`: Redis server of the TagBus (`tagbus/connection.ts` `bunRedisUrl`):
   * `redis://[user:password@]host[:port][/db]`, `rediss://…` (TLS) or
   * `unix://[user:password@]/path/to.sock[?db=N]`. Default `redis://127.0.0.1:6379`; the
   * package sets `unix:///run/redis-nodi-edge/redis-server.sock` (docs/security.md). May hold a
   * password: show it only through {@link redactUrl}.
   */
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
  /**
   * `NE_STREAM_MAXAGE_MS`: entries older than this are trimmed (approximately) from tag
   * streams, ms; 0 = no age limit. Default 300000 (5 min: the count limit alone lets Redis
   * outgrow a small box; `DEFAULT_STREAM_MAXAGE_MS` in src/tagbus/redis-tagbus.ts says why).
   */
  streamMaxAgeMs: number;
  /** `NE_SERVICE_MANAGER`: `auto|systemd|process`. Default `auto` (systemd when `/run/systemd/system` exists). */
  serviceManager: "auto" | "systemd" | "process";
  /** `NE_WEB_LISTEN`: `host:port` the web UI listens on. Default `127.0.0.1:8080` (loopback only). */
  webListen: { host: string; port: number };
  /** `NE_WEB_TLS_CERT` / `NE_WEB_TLS_KEY`: PEM files; both set = the web UI serves HTTPS. */
  webTls: { cert: string; key: string } | undefined;
  /**
   * `NE_WEB_ADMIN_PASSWORD`: on first start (no web user yet) the web UI creates user `admin`
   * with this password (stored as an argon2id hash). Ignored once a user exists.
   */
  webAdminPassword: string | undefined;
  /** `NE_WEB_AUTH`: `on` (default: login required) or `off` (trusted, loopback-only setups). */
  webAuth: "on" | "off";
  /**
   * `NE_INTF_CMD`: how the process manager starts an interface app, as a JSON array of
   * strings or a space-separated command; `--conn-id=ID` is appended. Default (`undefined`):
   * the running executable (`ne-intf` of the multi-call binary, or `bun run src/intf/main.ts`
   * from source).
   */
  intfCmd: string[] | undefined;
  /**
   * `NE_NORTH_CMD`: how the process manager starts a northbound app, as `NE_INTF_CMD`;
   * `--north-id=ID` is appended. Default: `ne-north` of the multi-call binary, or
   * `bun run src/north/main.ts` from source.
   */
  northCmd: string[] | undefined;
  /** `NE_RECONCILE_INTERVAL_MS`: period of the supervisor's safety-net reconcile, ms. Default 60000. */
  reconcileIntervalMs: number;
  /**
   * `NE_NORTH_REPLAY_MAX_PER_S`: buffered updates ne-north replays per second at most after an
   * outage (e.g. on a metered cellular link); 0 = no cap beyond the in-flight window. Default 0.
   */
  northReplayMaxPerS: number;
}

/** A whole number ≥ `min` given as text; both failures say so (`must be a whole number ≥ 0`). */
const intFrom = (min: number) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, `must be a whole number ≥ ${min}`),
    v.transform(Number),
    v.minValue(min, `must be a whole number ≥ ${min}`),
  );

const REDIS_URL_EXPECTED =
  "must be a URL like redis://127.0.0.1:6379, rediss://user:password@host:6380 or unix:///run/redis-nodi-edge/redis-server.sock";

/**
 * The URL forms the TagBus takes (`tagbus/connection.ts` `bunRedisUrl`; node-redis's forms,
 * which `nodi-edge bus migrate` also reads): `redis:`/`rediss:` URLs (WHATWG syntax) and
 * `unix://[user[:password]@]/path[?db=N]`; checked here so a bad value is a settings error,
 * exit 78, not a client crash.
 */
function isRedisUrl(u: string): boolean {
  if (u.startsWith("unix:")) {
    const m = /^unix:\/\/(?:[^:@/]*(?::[^@/]*)?@)?(\/[^?#]*)(?:\?[^#]*)?(?:#.*)?$/.exec(u);
    return m !== null && m[1] !== "/";
  }
  return /^rediss?:\/\//.test(u) && URL.canParse(u);
}

/** Variables whose value is a secret (or may hold one): quoted only redacted in errors. */
const SHOWN: Readonly<Record<string, (value: string) => string>> = {
  NE_REDIS_URL: redactUrl,
  NE_WEB_ADMIN_PASSWORD: (value) => `${value.length} characters`,
};

const EnvSchema = v.object({
  NE_DB: v.optional(v.pipe(v.string(), v.minLength(1)), "./nodi-edge.db"),
  NE_REDIS_URL: v.optional(
    v.pipe(v.string(), v.check(isRedisUrl, REDIS_URL_EXPECTED)),
    "redis://127.0.0.1:6379",
  ),
  NE_REDIS_PREFIX: v.optional(v.string(), "ne:"),
  NE_DATA_DIR: v.optional(v.string()),
  NE_LOG_LEVEL: v.optional(
    v.picklist(
      ["trace", "debug", "info", "warn", "error", "fatal"],
      "must be one of trace, debug, info, warn, error, fatal",
    ),
    "info",
  ),
  NE_OUTBOX_MAX: v.optional(intFrom(1), "100000"),
  NE_STREAM_MAXLEN: v.optional(intFrom(100), "100000"),
  NE_STREAM_MAXAGE_MS: v.optional(intFrom(0), "300000"),
  NE_SERVICE_MANAGER: v.optional(
    v.picklist(["auto", "systemd", "process"], "must be one of auto, systemd, process"),
    "auto",
  ),
  NE_INTF_CMD: v.optional(v.pipe(v.string(), v.minLength(1))),
  NE_NORTH_CMD: v.optional(v.pipe(v.string(), v.minLength(1))),
  NE_RECONCILE_INTERVAL_MS: v.optional(intFrom(100), "60000"),
  NE_NORTH_REPLAY_MAX_PER_S: v.optional(intFrom(0), "0"),
  NE_WEB_LISTEN: v.optional(
    v.pipe(
      v.string(),
      v.regex(/^(\[[0-9a-fA-F:]+\]|[^\s:]+):\d{1,5}$/, "must look like 127.0.0.1:8080"),
    ),
    "127.0.0.1:8080",
  ),
  NE_WEB_TLS_CERT: v.optional(v.string()),
  NE_WEB_TLS_KEY: v.optional(v.string()),
  NE_WEB_ADMIN_PASSWORD: v.optional(
    v.pipe(v.string(), v.minLength(8, "must be at least 8 characters")),
  ),
  NE_WEB_AUTH: v.optional(v.picklist(["on", "off"], "must be on or off"), "on"),
});

/**
 * A setting that cannot be used: a {@link NodiError} of kind `configuration`, reason
 * `invalid_settings` (every executable exits 78, `EXIT.CONFIG`, on it), whose one-line message
 * names the variable, the value and what is expected.
 */
function invalidSettings(detail: string, variable?: string): NodiError {
  return new NodiError(
    "configuration",
    `invalid settings: ${detail}`,
    "invalid_settings",
    variable ? { variable } : {},
  );
}

/** True when `e` is the error {@link loadSettings} throws for a bad setting. */
export function isSettingsError(e: unknown): e is NodiError {
  return e instanceof NodiError && e.reason === "invalid_settings";
}

/**
 * Reads settings from `env` (default `process.env`).
 * @throws NodiError kind `configuration`, reason `invalid_settings` (see {@link isSettingsError}),
 *   naming the variable, the value and what was expected, e.g.
 *   `invalid settings: NE_OUTBOX_MAX: must be a whole number (got "lots")`.
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
      const got = key ? picked[key] : undefined;
      const shown = got !== undefined && key && SHOWN[key] ? SHOWN[key](got) : got;
      return `${key ?? "environment"}: ${i.message} (got ${JSON.stringify(shown)})`;
    });
    const first = r.issues[0]?.path?.[0]?.key as string | undefined;
    throw invalidSettings(msgs.join("; "), first);
  }
  if ((picked.NE_WEB_TLS_CERT === undefined) !== (picked.NE_WEB_TLS_KEY === undefined)) {
    throw invalidSettings("NE_WEB_TLS_CERT and NE_WEB_TLS_KEY must be set together");
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
    streamMaxAgeMs: Number(o.NE_STREAM_MAXAGE_MS),
    serviceManager: o.NE_SERVICE_MANAGER,
    webListen: parseListen(o.NE_WEB_LISTEN),
    webTls:
      o.NE_WEB_TLS_CERT && o.NE_WEB_TLS_KEY
        ? { cert: o.NE_WEB_TLS_CERT, key: o.NE_WEB_TLS_KEY }
        : undefined,
    webAdminPassword: o.NE_WEB_ADMIN_PASSWORD,
    webAuth: o.NE_WEB_AUTH,
    intfCmd: o.NE_INTF_CMD === undefined ? undefined : parseCommand(o.NE_INTF_CMD),
    northCmd:
      o.NE_NORTH_CMD === undefined ? undefined : parseCommand(o.NE_NORTH_CMD, "NE_NORTH_CMD"),
    reconcileIntervalMs: Number(o.NE_RECONCILE_INTERVAL_MS),
    northReplayMaxPerS: Number(o.NE_NORTH_REPLAY_MAX_PER_S),
  };
}

/** Splits `NE_INTF_CMD` / `NE_NORTH_CMD` (`name`): a JSON array of strings, or words separated by spaces. */
function parseCommand(text: string, name = "NE_INTF_CMD"): string[] {
  if (text.trimStart().startsWith("[")) {
    let arr: unknown;
    try {
      arr = JSON.parse(text);
    } catch {
      arr = undefined;
    }
    if (!Array.isArray(arr) || arr.length === 0 || !arr.every((a) => typeof a === "string")) {
      throw invalidSettings(
        `${name}: must be a JSON array of strings (got ${JSON.stringify(text)})`,
        name,
      );
    }
    return arr;
  }
  return text.trim().split(/\s+/);
}

/** Splits `host:port` (IPv6 hosts in brackets) of `NE_WEB_LISTEN`. */
function parseListen(listen: string): { host: string; port: number } {
  const i = listen.lastIndexOf(":");
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, "$1");
  const port = Number(listen.slice(i + 1));
  if (port < 1 || port > 65535) {
    throw invalidSettings(`NE_WEB_LISTEN: port must be 1–65535 (got "${listen}")`, "NE_WEB_LISTEN");
  }
  return { host, port };
}
