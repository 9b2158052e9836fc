// Bun's built-in RedisClient, not node-redis (`@redis/client`): DESIGN.md §3 allows another
// client only where it is what reaches the memory goal. Measured (docs/performance.md,
// "Memory per connection"): `@redis/client` alone evaluates 478 modules and costs an app
// ~20 MiB RSS over a bare Bun, which is more than the whole ≤ 35 MiB budget of an idle
// Modbus app leaves (bare Bun ≈ 23 MiB); the native client costs < 1 MiB. Not a home-made
// RESP client: the protocol is Bun's; this file only keeps the shapes the TagBus reads.
import { RedisClient } from "bun";
import type { Logger } from "../core/log.ts";

type Listener = (arg?: Error) => void;

/**
 * Default command deadline, ms: a command (or a transaction) with no reply within this time,
 * plus its own BLOCK / timeout for a blocking one, closes the connection, which then
 * reconnects (docs/tagbus.md "Connection"). Longer than any reply a healthy Redis gives the
 * bus: its busy-script threshold is 5 s, an `appendfsync everysec` stall delays replies ≤ 2 s.
 * Without it a hung Redis (SIGSTOP, a stalled VM or disk) keeps the connection "ready"
 * forever: the kernel still ACKs, so TCP never notices.
 */
export const COMMAND_TIMEOUT_MS = 10_000;
/**
 * Deadline of one connection attempt (TCP connect and the HELLO handshake), ms: Bun's
 * `connectionTimeout`. A peer that accepts and never answers (a hung Redis, a black-holing
 * firewall) fails the attempt after this and the next one follows with back-off.
 */
export const CONNECT_TIMEOUT_MS = 2000;
/** How often a new connection asks a Redis that is loading its dataset whether it is done, ms. */
export const LOADING_POLL_MS = 100;

/**
 * A Redis connection as the TagBus uses it: raw commands with RESP2-shaped replies, never a
 * queue while disconnected, reconnection forever with {@link backoffMs}. Built on Bun's
 * native `RedisClient` (Zig, RESP3) rather than node-redis (see the note at the top).
 *
 * Events: `ready` after each (re)connection once Redis answers PING (so not while it loads its
 * dataset), `error` with the cause when a connection attempt fails or an open connection is
 * lost.
 */
export class BusClient {
  private c: RedisClient;
  private ready = false;
  private closed = false;
  private retries = 0;
  private retry: ReturnType<typeof setTimeout> | undefined;
  private readonly listeners = { ready: [] as Listener[], error: [] as Listener[] };

  private readonly target: { url: string; db: number };
  /** When the current connection attempt started (ms since epoch), to tell a timeout. */
  private attemptAt = 0;

  /**
   * @param url the TagBus URL (`NE_REDIS_URL`, see {@link bunRedisUrl}).
   * @param commandTimeoutMs the command deadline in ms ({@link COMMAND_TIMEOUT_MS}); 0 = none.
   */
  constructor(
    private readonly url: string,
    readonly commandTimeoutMs: number = COMMAND_TIMEOUT_MS,
  ) {
    this.target = bunRedisUrl(url);
    this.c = this.make();
  }

  private make(): RedisClient {
    const c = new RedisClient(this.target.url, {
      autoReconnect: false,
      enableOfflineQueue: false,
      connectionTimeout: CONNECT_TIMEOUT_MS,
    });
    const up = () => {
      if (this.closed || c !== this.c) return;
      this.ready = true;
      this.retries = 0;
      this.emit("ready");
    };
    c.onconnect = () => {
      if (this.closed || c !== this.c) return;
      // Bun's client takes no database for a unix socket: select it before anything is sent
      const select =
        this.target.db === 0 ? Promise.resolve() : c.send("SELECT", [String(this.target.db)]);
      select
        .then(() => this.loaded(c))
        .then(up, () => {
          try {
            c.close(); // reconnects (onclose), unless dropped already
          } catch {}
        });
    };
    c.onclose = (err: Error) => {
      if (c !== this.c) return;
      if (this.closed) {
        this.ready = false;
        return;
      }
      // an ended connection's client is never connected again: the next attempt is a fresh
      // one, so a late event of this one (a second close after the next connect) is ignored
      this.drop(c, err ?? new Error("connection closed"));
    };
    return c;
  }

  /**
   * Resolves once Redis answers PING on `c` with PONG, asking again every
   * {@link LOADING_POLL_MS} while it answers `-LOADING` (a restarted Redis accepts connections
   * and HELLO before its dataset is loaded, and refuses every other command until then).
   * @throws on any other error, a lost connection or the command deadline.
   */
  private async loaded(c: RedisClient): Promise<void> {
    for (;;) {
      try {
        await this.timed(c.send("PING", []), 0);
        return;
      } catch (e) {
        if (this.closed || c !== this.c || !String((e as Error).message).startsWith("LOADING"))
          throw e;
      }
      await Bun.sleep(LOADING_POLL_MS);
    }
  }

  /**
   * True while connected and Redis serves commands (not while it still loads its dataset).
   */
  get isReady(): boolean {
    return this.ready;
  }

  /** Subscribes to `ready` (connected) or `error` (attempt failed / connection lost). */
  on(event: "ready" | "error", f: Listener): this {
    this.listeners[event].push(f);
    return this;
  }

  /**
   * Calls every listener of `event`, each on its own: one that throws neither keeps the others
   * from hearing it nor stops the reconnection (which is scheduled before any is called).
   */
  private emit(event: "ready" | "error", arg?: Error): void {
    for (const f of this.listeners[event]) {
      try {
        f(arg);
      } catch {
        // a listener's own fault: the connection's state and its retries go on regardless
      }
    }
  }

  /** Starts connecting; rejects when the first attempt fails (reconnection goes on). */
  async connect(): Promise<void> {
    await this.attempt();
  }

  private async attempt(): Promise<void> {
    if (this.closed) return;
    this.attemptAt = Date.now();
    try {
      await this.c.connect();
    } catch (e) {
      let err = e instanceof Error ? e : new Error(String(e));
      const code = (err as { code?: string }).code;
      if (
        code === "ERR_REDIS_CONNECTION_CLOSED" &&
        Date.now() - this.attemptAt >= CONNECT_TIMEOUT_MS - 50
      ) {
        // Bun gives the same error for its connection timeout: no refusal came, just silence
        err = new Error(
          `redis did not answer within ${CONNECT_TIMEOUT_MS} ms of connecting (a hung Redis, ` +
            "a peer that is not Redis, or a firewall dropping the traffic)",
        );
      } else if (code === "ERR_REDIS_CONNECTION_CLOSED") {
        // Bun's client drops the server's reply when its HELLO is refused: say what it may be
        err = new Error(
          "redis closed the connection during the handshake: a wrong user or password (WRONGPASS), " +
            "a password required but not given (NOAUTH), or not a Redis server (Bun's client does not say which)",
        );
      }
      if (!this.closed) {
        // A failed client may not connect again: start over with a fresh one.
        const old = this.c;
        this.c = this.make();
        try {
          old.close();
        } catch {}
        this.schedule();
        this.emit("error", err);
      }
      throw err;
    }
  }

  private schedule(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(
      () => {
        this.retry = undefined;
        this.attempt().catch(() => {});
      },
      backoffMs(this.retries++),
    );
  }

  /** A new, unconnected client to the same server and deadline (for blocking commands). */
  duplicate(): BusClient {
    return new BusClient(this.url, this.commandTimeoutMs);
  }

  /**
   * `p` (a reply of the current connection), with the command deadline: when it has not
   * settled within `commandTimeoutMs` + `blockMs`, the connection is dropped ({@link drop}),
   * which rejects `p` and every other command waiting on it.
   */
  private timed<T>(p: Promise<T>, blockMs: number): Promise<T> {
    if (!(this.commandTimeoutMs > 0)) return p;
    const c = this.c;
    const ms = this.commandTimeoutMs + blockMs;
    const t = setTimeout(() => this.drop(c, new Error(`redis did not reply within ${ms} ms`)), ms);
    return p.finally(() => clearTimeout(t));
  }

  /**
   * Gives up connection `c` (if still the current one): not ready, a fresh client for the next
   * attempt (scheduled with back-off), `c` closed (its pending commands reject), `error` told.
   */
  private drop(c: RedisClient, err: Error): void {
    if (this.closed || c !== this.c) return;
    const was = this.ready;
    this.ready = false;
    this.c = this.make();
    try {
      c.close();
    } catch {}
    this.schedule();
    if (was) this.emit("error", err);
  }

  /** Closes now; a pending command rejects. Stops reconnecting. */
  destroy(): void {
    this.closed = true;
    this.ready = false;
    if (this.retry) clearTimeout(this.retry);
    this.retry = undefined;
    this.c.close();
  }

  /**
   * A transaction: `exec()` sends MULTI, the commands and EXEC back to back (synchronously
   * queued, so no other command of this client comes between them) and resolves with EXEC's
   * replies. @throws when any part fails (the transaction is then discarded by Redis).
   */
  multi(): {
    addCommand(args: string[]): ReturnType<BusClient["multi"]>;
    exec(): Promise<unknown[]>;
  } {
    const cmds: string[][] = [];
    const tx = {
      addCommand: (args: string[]) => {
        cmds.push(args);
        return tx;
      },
      exec: async () => {
        const sent = [["MULTI"], ...cmds, ["EXEC"]].map(([c, ...a]) => this.c.send(c!, a));
        const replies = await this.timed(Promise.all(sent), 0);
        const out = replies.at(-1);
        // Like node-redis: a command refused inside the transaction fails the whole exec.
        const bad = Array.isArray(out) ? out.find((r) => r instanceof Error) : undefined;
        if (bad) throw bad;
        if (out === null) throw new Error("EXECABORT transaction discarded");
        return resp2(out) as unknown[];
      },
    };
    return tx;
  }

  /**
   * Sends one command. Replies keep the RESP2 shapes the TagBus reads: a RESP3 map becomes a
   * flat `[k, v, …]` array, except the top level of XREAD/XREADGROUP, which becomes
   * `[[stream, entries], …]`.
   * @throws when disconnected, on an error reply (its message starts with the Redis code, e.g.
   *   `NOSCRIPT`), or when no reply came within the command deadline (the connection is then
   *   closed and reconnects; the command may still have run in Redis).
   */
  async sendCommand(args: string[]): Promise<unknown> {
    return this.send(args[0]!, args.slice(1));
  }

  /**
   * {@link sendCommand} with the command name apart from its arguments (`args` is handed to
   * Bun's client as it is, not copied). Same replies and errors.
   */
  async send(cmd: string, args: string[]): Promise<unknown> {
    const name = cmd.toUpperCase();
    const reply = await this.timed(this.c.send(cmd, args), blockingMs(name, args));
    if ((name === "XREAD" || name === "XREADGROUP") && isMap(reply))
      return Object.entries(reply).map(([k, v]) => [k, resp2(v)]);
    return resp2(reply);
  }
}

/**
 * How long Redis may itself hold the reply of command `name` (upper case), ms: the `BLOCK`
 * argument of XREAD / XREADGROUP, the timeout (s, last argument) of BLPOP / BRPOP; else 0.
 * BLOCK 0 (forever) is not used by the TagBus and gets no allowance.
 */
function blockingMs(name: string, args: string[]): number {
  if (name === "XREAD" || name === "XREADGROUP") {
    const i = args.findIndex((a) => a.toUpperCase() === "BLOCK");
    return i < 0 ? 0 : Number(args[i + 1]) || 0;
  }
  if (name === "BLPOP" || name === "BRPOP") return (Number(args.at(-1)) || 0) * 1000;
  return 0;
}

function isMap(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x) && !ArrayBuffer.isView(x);
}

function resp2(x: unknown): unknown {
  if (Array.isArray(x))
    return x.some((e) => typeof e === "object" && e !== null) ? x.map(resp2) : x;
  if (isMap(x)) return Object.entries(x).flatMap(([k, v]) => [k, resp2(v)]);
  return x;
}

/**
 * The URL Bun's `RedisClient` takes for a TagBus URL (`NE_REDIS_URL`, DESIGN.md §3), and the
 * database to SELECT after connecting. `redis://` and `rediss://` pass unchanged (Bun reads
 * user, password and `/db` itself); `unix://[user[:password]@]/path[?db=N]` (node-redis's
 * form, which settings accept) becomes `redis+unix://[user[:password]@]localhost/path`, the
 * form Bun 1.4 parses with credentials, and `db` is returned (Bun ignores it on a socket).
 */
export function bunRedisUrl(url: string): { url: string; db: number } {
  const m = /^unix:\/\/(?:([^@/]*)@)?(\/[^?#]*)(?:\?([^#]*))?/.exec(url);
  if (!m) return { url, db: 0 };
  const db = Number(new URLSearchParams(m[3] ?? "").get("db") ?? 0) || 0;
  return { url: `redis+unix://${m[1] ? `${m[1]}@` : ""}localhost${m[2]}`, db };
}

/**
 * Reconnect delay after `retries` failed attempts, in ms: 50, 100, 200, … capped at 2000,
 * with ±20 % jitter so that many apps do not reconnect in lock step.
 */
export function backoffMs(retries: number): number {
  const base = Math.min(2000, 50 * 2 ** Math.min(retries, 10));
  return Math.round(base * (0.8 + Math.random() * 0.4));
}

/**
 * Creates a client for `url` that never queues commands while disconnected
 * (`disableOfflineQueue`: a command fails at once instead of growing a queue without bound)
 * and reconnects forever with {@link backoffMs}. Starts connecting; does not wait.
 * Connection errors are logged once per outage at `warn`.
 */
export function openClient(
  url: string,
  log: Logger,
  role: string,
  commandTimeoutMs: number = COMMAND_TIMEOUT_MS,
): BusClient {
  const client = new BusClient(url, commandTimeoutMs);
  let down = false;
  client.on("error", (e) => {
    if (!down) log.warn({ role, err: e?.message }, "tagbus: redis connection lost");
    down = true;
  });
  client.on("ready", () => {
    if (down) log.info({ role }, "tagbus: redis connection restored");
    down = false;
  });
  client.connect().catch((e: Error) => log.debug({ role, err: e.message }, "tagbus: connect"));
  return client;
}

/** Waits until `client` is ready or `timeoutMs` passed; returns readiness. */
export async function waitReady(
  client: BusClient,
  timeoutMs: number,
  stop?: () => boolean,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!client.isReady) {
    if (Date.now() >= deadline || stop?.()) return false;
    await Bun.sleep(20);
  }
  return true;
}

/** Closes a client without waiting for a blocked command. Never throws. */
export function destroyClient(client: BusClient): void {
  try {
    client.destroy();
  } catch {
    // already closed
  }
}

const shas = new Map<string, string>();

/** The SHA-1 (hex) by which Redis knows the script `lua` (EVALSHA), computed once per script. */
export function scriptSha(lua: string): string {
  let sha = shas.get(lua);
  if (!sha) {
    sha = new Bun.CryptoHasher("sha1").update(lua).digest("hex");
    shas.set(lua, sha);
  }
  return sha;
}

/**
 * Runs a Lua script by EVALSHA, loading it (EVAL) when Redis answers NOSCRIPT (first use, or
 * after a Redis restart emptied the script cache).
 */
export async function runScript<T>(
  client: BusClient,
  lua: string,
  keys: string[],
  args: string[],
): Promise<T> {
  return runScriptArgs<T>(client, lua, [scriptSha(lua), String(keys.length), ...keys, ...args]);
}

/**
 * {@link runScript} for a caller that builds the whole EVALSHA argument list itself, in one
 * array (the publish path, once per batch: no copies of ~100 arguments). `argv` is
 * `[scriptSha(lua), numkeys, ...keys, ...args]`; on NOSCRIPT its first element is replaced
 * by the script body and it is sent again as EVAL (so `argv` is changed then).
 * Replies as from {@link BusClient.sendCommand} for a flat array or a scalar (the TagBus
 * scripts' replies); nested replies go through the same RESP2 shaping.
 * @throws like {@link BusClient.sendCommand}.
 */
export async function runScriptArgs<T>(client: BusClient, lua: string, argv: string[]): Promise<T> {
  try {
    return (await client.send("EVALSHA", argv)) as T;
  } catch (e) {
    if (!(e instanceof Error) || !e.message.includes("NOSCRIPT")) throw e;
    argv[0] = lua;
    return (await client.send("EVAL", argv)) as T;
  }
}
