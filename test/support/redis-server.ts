import { join } from "node:path";
import type { Subprocess } from "bun";
import { startPeer } from "./peer.ts";
import { freePort } from "./ports.ts";
import { tempDir } from "./tmp.ts";

/** The Redis settings the package ships (appendonly, appendfsync, maxmemory-policy). */
export const SHIPPED_REDIS_CONF = join(import.meta.dir, "../../packaging/redis/nodi-edge.conf");

/**
 * A private `redis-server` on a free loopback port, in its own temp dir, for one test file.
 * `appendonly` starts it with the settings the package ships ({@link SHIPPED_REDIS_CONF}:
 * append-only file, `appendfsync everysec`, `noeviction`) so a restart keeps the data;
 * `appendfsync` overrides the fsync policy (benchmarks). `stop()`/`start()` kill and restart
 * it on the same port and dir; `shutdown()` removes all.
 */
export class RedisServer {
  port = 0;
  private proc: Subprocess | undefined;
  private dir = tempDir("ne-redis-");

  constructor(
    private readonly opts: {
      appendonly?: boolean;
      appendfsync?: "always" | "everysec" | "no";
      /** Also listen on a Unix socket `redis.sock` in the server's dir (mode 0700). */
      unixSocket?: boolean;
      /** `requirepass`: clients must AUTH with this password (user `default`). */
      password?: string;
      /**
       * More `redis-server` options, e.g. `["--key-load-delay", "100"]` (µs per key while it
       * loads its dataset at start: a Redis that answers `-LOADING` for a while).
       */
      args?: string[];
      /** How long `start()` waits for PONG, ms (default 10,000; longer for a slow load). */
      startTimeoutMs?: number;
    } = {},
  ) {}

  /** The server's working directory (`--dir`: the append-only files live under it). */
  get dataDir(): string {
    return this.dir.path;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  /** The Unix socket's path (with `unixSocket`). */
  get socketPath(): string {
    return join(this.dir.path, "redis.sock");
  }

  /**
   * Starts the server (on a new free port the first time) and waits until it answers PING with
   * PONG (so not while it still loads its dataset, see {@link ping}).
   */
  async start(): Promise<this> {
    if (this.port === 0) this.port = await freePort();
    const args = [
      "redis-server",
      ...(this.opts.appendonly ? [SHIPPED_REDIS_CONF] : []),
      "--port",
      String(this.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      this.dir.path,
      "--save",
      "",
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
    ];
    if (this.opts.appendfsync) args.push("--appendfsync", this.opts.appendfsync);
    if (this.opts.unixSocket) args.push("--unixsocket", this.socketPath, "--unixsocketperm", "700");
    if (this.opts.password) args.push("--requirepass", this.opts.password);
    if (this.opts.args) args.push(...this.opts.args);
    this.proc = await startPeer(args, () => this.ping(), {
      name: "redis-server",
      timeoutMs: this.opts.startTimeoutMs,
    });
    return this;
  }

  /** Kills the server (SIGKILL when `hard`, else SIGTERM) and waits for it to exit. */
  async stop(hard = false): Promise<void> {
    const p = this.proc;
    this.proc = undefined;
    if (!p) return;
    p.kill(hard ? "SIGKILL" : "SIGTERM");
    await p.exited;
  }

  /**
   * Sends `sig` to the server, e.g. `SIGSTOP` to make it hang with its connections open (a
   * stalled Redis) and `SIGCONT` to resume it.
   */
  signal(sig: NodeJS.Signals): void {
    this.proc?.kill(sig);
  }

  /** Stops the server and removes its directory. */
  async shutdown(): Promise<void> {
    await this.stop(true);
    this.dir.cleanup();
  }

  /**
   * True when the server answers `PING` with `+PONG` within 1000 ms. Only TCP accepted is not
   * enough: a Redis loading its dataset accepts connections and answers every command with
   * `-LOADING`, and a test that starts then would race the load. With `password`, AUTHs first.
   */
  async ping(): Promise<boolean> {
    const req = this.opts.password ? `AUTH ${this.opts.password}\r\nPING\r\n` : "PING\r\n";
    const { promise, resolve } = Promise.withResolvers<boolean>();
    let got = "";
    let sock: Awaited<ReturnType<typeof Bun.connect>> | undefined;
    const timer = setTimeout(() => resolve(false), 1000);
    try {
      sock = await Bun.connect({
        hostname: "127.0.0.1",
        port: this.port,
        socket: {
          data(_s, chunk) {
            got += chunk.toString();
            if (got.includes("+PONG\r\n")) resolve(true);
            else if (got.includes("-")) resolve(false); // -LOADING, -NOAUTH, …
          },
          close() {
            resolve(false);
          },
          error() {
            resolve(false);
          },
        },
      });
      sock.write(req);
      return await promise;
    } catch {
      return false;
    } finally {
      clearTimeout(timer);
      sock?.end();
    }
  }
}
