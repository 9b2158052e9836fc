import { join } from "node:path";
import { spawn } from "bun";
import { silentLogger } from "../../src/core/log.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import type { WebDeps } from "../../src/web/app.ts";
import { startWebServer, type WebServer } from "../../src/web/server.ts";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";

/** A web server on a free port over a fresh SQLite file and a private redis-server. */
export interface WebFixture {
  redis: RedisServer;
  dir: { path: string; cleanup(): void };
  dbPath: string;
  prefix: string;
  store: Store;
  bus: RedisTagBus;
  web: WebServer;
  /** Opens another bus on the same Redis and prefix (a stand-in app, or an observer). */
  otherBus(producer: string): Promise<RedisTagBus>;
  close(): Promise<void>;
}

export async function startWebFixture(
  user = "admin",
  password = "correct horse",
  extra: Pick<WebDeps, "throttle"> = {},
): Promise<WebFixture> {
  const redis = await new RedisServer().start();
  const dir = tempDir("ne-web-");
  const dbPath = `${dir.path}/ne.db`;
  const prefix = uniquePrefix("web");
  const store = openStore(dbPath);
  const busOpts = { url: redis.url, prefix, blockMs: 200 };
  const bus = await createRedisTagBus({ ...busOpts, producer: "web" });
  const others: RedisTagBus[] = [];
  const web = startWebServer({ store, bus, logger: silentLogger, ...extra }, { port: 0 });
  await web.app.auth.setPassword(user, password);
  return {
    redis,
    dir,
    dbPath,
    prefix,
    store,
    bus,
    web,
    async otherBus(producer) {
      const b = await createRedisTagBus({ ...busOpts, producer });
      others.push(b);
      return b;
    },
    async close() {
      await web.stop();
      for (const b of others) await b.close(500);
      await bus.close(500);
      store.close();
      await redis.shutdown();
      dir.cleanup();
    },
  };
}

/** A logged-in browser-like client: keeps the cookie, sends the CSRF token. */
export class Client {
  cookie = "";
  csrf = "";
  constructor(readonly base: string) {}

  async login(username: string, password: string): Promise<Response> {
    const res = await fetch(`${this.base}/api/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    if (res.ok) {
      const setCookie = res.headers.get("set-cookie") ?? "";
      this.cookie = setCookie.split(";")[0]!;
      this.csrf = ((await res.clone().json()) as { csrf: string }).csrf;
    }
    return res;
  }

  async call(
    method: string,
    path: string,
    body?: unknown,
    extra: Record<string, string> = {},
    // biome-ignore lint/suspicious/noExplicitAny: tests read the JSON answers loosely
  ): Promise<{ status: number; body: any; res: Response }> {
    const headers: Record<string, string> = { ...extra };
    if (this.cookie) headers.cookie = this.cookie;
    if (method !== "GET" && this.csrf && !("x-csrf-token" in extra))
      headers["x-csrf-token"] = this.csrf;
    let payload: FormData | string | undefined;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers["content-type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const res = await fetch(`${this.base}${path}`, { method, headers, body: payload });
    const text = await res.clone().text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // CSV or plain text
    }
    return { status: res.status, body: parsed, res };
  }
}

/** Polls `f` until it returns a truthy value or `timeoutMs` passes (then throws `what`). */
export async function until<T>(
  what: string,
  f: () => Promise<T> | T,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** A valid Modbus TCP connection row. */
export function modbusConn(id: string, port = 1502): Record<string, unknown> {
  return { conn_id: id, protocol: "modbus-tcp", host: "127.0.0.1", port, unit_id: 1 };
}

/** A real `ne-web` process (src/web/main.ts) on a free loopback port. */
export interface WebProcess {
  /** `http://127.0.0.1:PORT`. */
  base: string;
  /** SIGTERM, then SIGKILL after 10 s. */
  stop(): Promise<void>;
}

/**
 * Spawns `ne-web` over `dbPath` and Redis `redisUrl` (key prefix from `prefixName`), with an
 * `admin` of password `password`, and waits (up to `waitMs`) until it answers `/api/session`.
 */
export async function spawnWebProcess(o: {
  dbPath: string;
  dataDir: string;
  redisUrl: string;
  prefixName: string;
  password: string;
  waitMs: number;
}): Promise<WebProcess> {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const web = spawn([process.execPath, "run", "src/web/main.ts"], {
    cwd: join(import.meta.dir, "..", ".."),
    env: {
      ...process.env,
      NE_DB: o.dbPath,
      NE_DATA_DIR: o.dataDir,
      NE_REDIS_URL: o.redisUrl,
      NE_REDIS_PREFIX: uniquePrefix(o.prefixName),
      NE_LOG_LEVEL: "warn",
      NE_WEB_LISTEN: `127.0.0.1:${port}`,
      NE_WEB_ADMIN_PASSWORD: o.password,
    },
    stdout: "ignore",
    stderr: "inherit",
  });
  const stop = async () => {
    web.kill("SIGTERM");
    const done = await Promise.race([web.exited.then(() => true), Bun.sleep(10_000)]);
    if (!done) web.kill("SIGKILL");
  };
  try {
    await until(
      "ne-web to listen",
      () =>
        fetch(`${base}/api/session`).then(
          (r) => r.status === 401,
          () => false,
        ),
      o.waitMs,
    );
  } catch (e) {
    await stop();
    throw e;
  }
  return { base, stop };
}
