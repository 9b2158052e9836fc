import { existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { TagValue } from "../../src/core/tag-value.ts";
import { openStore } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir } from "../support/tmp.ts";

const ROOT = join(import.meta.dir, "../..");

/** Polls `cond` every 100 ms until truthy; throws naming `what` after `ms`. */
export async function until<T>(
  what: string,
  cond: () => T | Promise<T>,
  ms = 30_000,
): Promise<Exclude<T, undefined | null | false | 0 | "">> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await cond();
      if (v) return v as Exclude<T, undefined | null | false | 0 | "">;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end)
      throw new Error(
        `timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${last})` : ""}`,
      );
    await Bun.sleep(100);
  }
}

/**
 * One private Nodi Edge for an end-to-end test file: Redis, a temp SQLite SoT, the real CLI
 * (`bun src/cli/main.ts`), the real `ne-supervisor` (process manager) running real `ne-intf`
 * processes. Simulators are started by the test itself.
 */
export class E2E {
  readonly dir = tempDir("ne-e2e-");
  readonly redis: RedisServer;
  readonly dbPath = join(this.dir.path, "nodi-edge.db");
  readonly logFile = join(this.dir.path, "supervisor.log");
  bus!: RedisTagBus;
  supervisor: Subprocess | undefined;

  /**
   * `appendonly`: Redis keeps its data across a restart (the shipped settings, see
   * RedisServer); `env`: extra settings for every process (e.g. `NE_RECONCILE_INTERVAL_MS`).
   */
  constructor(private readonly opts: { appendonly?: boolean; env?: Record<string, string> } = {}) {
    this.redis = new RedisServer({ appendonly: opts.appendonly ?? false });
  }

  get env(): Record<string, string> {
    return {
      NE_DB: this.dbPath,
      NE_REDIS_URL: this.redis.url,
      NE_REDIS_PREFIX: "ne:",
      NE_DATA_DIR: this.dir.path,
      NE_SERVICE_MANAGER: "process",
      NE_LOG_LEVEL: "info",
      ...this.opts.env,
    };
  }

  async start(): Promise<this> {
    await this.redis.start();
    this.bus = await createRedisTagBus({ url: this.redis.url, prefix: "ne:", producer: "e2e" });
    return this;
  }

  /** Runs `nodi-edge ARGS…`; throws with its output when it exits non-zero. */
  async cli(...args: string[]): Promise<string> {
    return (await this.cliFull(...args)).out;
  }

  /** Runs `nodi-edge ARGS…`; returns stdout and stderr; throws when it exits non-zero. */
  async cliFull(...args: string[]): Promise<{ out: string; err: string }> {
    const p = Bun.spawn([process.execPath, join(ROOT, "src/cli/main.ts"), ...args], {
      env: { ...process.env, ...this.env },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, err, code] = await Promise.all([
      new Response(p.stdout).text(),
      new Response(p.stderr).text(),
      p.exited,
    ]);
    if (code !== 0) throw new Error(`nodi-edge ${args.join(" ")} exited ${code}:\n${out}\n${err}`);
    return { out, err };
  }

  /** Writes connections.csv, blocks.csv, tags.csv into a fresh folder and imports them. */
  async importCsv(
    name: string,
    files: { connections: string; blocks: string; tags: string },
  ): Promise<string> {
    return (await this.importCsvFull(name, files)).out;
  }

  /** As {@link importCsv}, returning stdout and stderr (the CLI's warnings). */
  async importCsvFull(
    name: string,
    files: { connections: string; blocks: string; tags: string },
  ): Promise<{ out: string; err: string }> {
    const d = join(this.dir.path, name);
    mkdirSync(d, { recursive: true });
    for (const [k, v] of Object.entries(files)) writeFileSync(join(d, `${k}.csv`), v);
    return await this.cliFull("import", d);
  }

  /**
   * Starts `ne-supervisor` (output appended to {@link logFile}). Creates the SoT first when
   * missing, as the package's postinst does with `nodi-edge db init`: the supervisor refuses
   * an `NE_DB` path without a file.
   */
  startSupervisor(): Subprocess {
    if (!existsSync(this.dbPath)) openStore(this.dbPath, { create: true }).close();
    const fd = openSync(this.logFile, "a");
    this.supervisor = Bun.spawn([process.execPath, join(ROOT, "src/supervisor/main.ts")], {
      env: { ...process.env, ...this.env },
      stdout: fd,
      stderr: fd,
    });
    return this.supervisor;
  }

  /** Stops the supervisor: SIGTERM (clean) or SIGKILL. */
  async stopSupervisor(signal: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<number | null> {
    const s = this.supervisor;
    this.supervisor = undefined;
    if (!s) return null;
    s.kill(signal);
    return await s.exited;
  }

  /** pids of the live `ne-intf --conn-id=ID` processes of THIS test (matched by NE_DB), zombies excluded. */
  appPids(connId: string): number[] {
    const out: number[] = [];
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        const cmd = readFileSync(`/proc/${name}/cmdline`, "utf8").split("\0");
        if (
          !cmd.includes(`--conn-id=${connId}`) ||
          !cmd.some((a) => a.endsWith("intf/main.ts") || a === "ne-intf")
        )
          continue;
        if (cmd[0]?.endsWith("setpriv")) continue;
        const env = readFileSync(`/proc/${name}/environ`, "utf8").split("\0");
        if (!env.includes(`NE_DB=${this.dbPath}`)) continue;
        if (/^State:\s+Z/m.test(readFileSync(`/proc/${name}/status`, "utf8"))) continue;
        out.push(Number(name));
      } catch {
        // gone meanwhile
      }
    }
    return out;
  }

  /** Waits until exactly one app of `connId` runs; returns its pid. */
  async oneApp(connId: string, ms = 30_000): Promise<number> {
    return await until(
      `one ne-intf for ${connId}`,
      () => {
        const p = this.appPids(connId);
        return p.length === 1 ? p[0] : undefined;
      },
      ms,
    );
  }

  async get(path: string): Promise<TagValue | undefined> {
    return await this.bus.get(path);
  }

  /** Waits until `path` has a good value newer than `after` (epoch ms) satisfying `pred`. */
  async goodValue(
    path: string,
    pred: (v: TagValue) => boolean = () => true,
    after = 0,
    ms = 30_000,
  ): Promise<TagValue> {
    return await until(
      `a good value of ${path}`,
      async () => {
        const v = await this.get(path);
        return v && v.quality === "good" && v.ts > after && pred(v) ? v : undefined;
      },
      ms,
    );
  }

  /** The last lines of the supervisor log, for failure messages. */
  logTail(n = 40): string {
    try {
      return readFileSync(this.logFile, "utf8").split("\n").slice(-n).join("\n");
    } catch {
      return "";
    }
  }

  async shutdown(): Promise<void> {
    await this.stopSupervisor("SIGTERM").catch(() => {});
    await this.bus?.close(500).catch(() => {});
    await this.redis.shutdown();
    this.dir.cleanup();
  }
}
