import { NodiError, toNodiError } from "../core/errors.ts";
import { actorOf, parseIdentity } from "../core/identity.ts";
import type { Logger } from "../core/log.ts";
import { parseTagPath } from "../core/paths.ts";
import type { TagScalar } from "../core/tag-value.ts";
import { checkValue } from "./codec.ts";
import { type BusClient, destroyClient, runScript, waitReady } from "./connection.ts";
import { type BusKeys, WRITE_GROUP } from "./keys.ts";
import { WRITE_CLAIM_LUA, WRITE_LUA } from "./scripts.ts";
import {
  OUTCOME_UNKNOWN,
  OUTCOME_UNKNOWN_ADVICE,
  type ServeWritesOptions,
  type Subscription,
  type WriteHandler,
  type WriteOptions,
  type WriteRequest,
  type WriteResult,
} from "./tagbus.ts";

/** Default time a writer waits for the owner's result, in ms. */
export const DEFAULT_WRITE_TIMEOUT_MS = 5000;
/**
 * How long a writer waits past the request's deadline for the owner's answer to arrive, ms:
 * the owner answers at the deadline at the latest (docs/intf.md "Writes").
 */
export const WRITE_RESULT_GRACE_MS = 1000;
/** Approximate number of requests kept per write stream. */
export const WRITE_STREAM_MAXLEN = 1000;
/** How long a result list and a done marker live, in seconds. */
export const RESULT_TTL_S = 60;
export const DONE_TTL_S = 3600;

/**
 * The writer side: sends requests with the WRITE script and collects results from this bus
 * instance's reply list (`{p}wr:{instance}`) with BLPOP on a dedicated connection, opened on
 * the first write.
 */
export class Writer {
  private pending = new Map<string, (r: WriteResult) => void>();
  private blk: BusClient | undefined;
  private loop: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly cmd: BusClient,
    private readonly keys: BusKeys,
    private readonly instance: string,
    private readonly defaultOrigin: string,
    private readonly log: Logger,
  ) {}

  /** See TagBus.write. @throws NodiError(configuration) for a bad path or value. */
  async write(path: string, value: TagScalar, options: WriteOptions = {}): Promise<WriteResult> {
    const parsed = parseTagPath(path);
    if (parsed?.kind !== "data") {
      throw new NodiError(
        "configuration",
        `cannot write ${JSON.stringify(path)}: expected a data tag path /{conn_id}/{tag_name}`,
        "invalid_path",
        { path },
      );
    }
    checkValue(path, value, undefined);
    const timeoutMs = options.timeoutMs ?? DEFAULT_WRITE_TIMEOUT_MS;
    const id = crypto.randomUUID();
    const deadline = Date.now() + timeoutMs;
    const stream = this.keys.writes(parsed.connId);
    this.ensureLoop();
    const result = new Promise<WriteResult>((resolve) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        void this.noResult(id, timeoutMs).then(resolve);
      }, timeoutMs + WRITE_RESULT_GRACE_MS);
      this.pending.set(id, (r) => {
        clearTimeout(timer);
        this.pending.delete(id);
        resolve(r);
      });
    });
    // Bun's client sends at once or fails at once (no offline queue): a call made while not
    // connected never left; one that fails after it was sent may have run in Redis
    const connected = this.cmd.isReady;
    try {
      await runScript<string>(
        this.cmd,
        WRITE_LUA,
        [stream],
        [
          WRITE_GROUP,
          String(WRITE_STREAM_MAXLEN),
          id,
          path,
          JSON.stringify(value),
          options.origin ?? (options.identity ? actorOf(options.identity) : this.defaultOrigin),
          String(deadline),
          this.keys.replies(this.instance),
          JSON.stringify(options.identity ?? { via: "app", who: this.defaultOrigin }),
        ],
      );
    } catch (e) {
      // Not sent, or refused by Redis (an error reply: the script did not add it) → nothing was
      // sent. Else (connection lost mid-call, command deadline passed) the request may be in
      // Redis and reach the owner: wait for its result like any other (noResult claims it).
      if (!connected || isErrorReply(e)) {
        this.pending.get(id)?.({
          ok: false,
          reason: "disconnected",
          message: String(e),
          writerSide: true,
        });
      } else {
        this.log.debug({ id, err: String(e) }, "tagbus: write call lost, waiting for a result");
      }
    }
    return result;
  }

  /**
   * The result of a write whose owner gave no answer: `timeout` when the owner never took the
   * request (nothing was sent; the `withdrawn` claim keeps it from ever being handled), or
   * `outcome_unknown` when it took it (it may have written to the device).
   */
  private async noResult(id: string, timeoutMs: number): Promise<WriteResult> {
    const base = `no result within ${timeoutMs} ms`;
    // Claimed even when the WRITE call itself never returned: it may have run in Redis and
    // reached the owner with its reply lost (test/tagbus/lost-reply.test.ts).
    let claim: string;
    try {
      claim = await runScript<string>(
        this.cmd,
        WRITE_CLAIM_LUA,
        [this.keys.writeClaim(id)],
        ["withdrawn", String(DONE_TTL_S)],
      );
    } catch (e) {
      return {
        ok: false,
        reason: OUTCOME_UNKNOWN,
        message: `${base}, and cannot tell whether the app took the request (${String(e)}); ${OUTCOME_UNKNOWN_ADVICE}`,
        writerSide: true,
      };
    }
    if (claim === "withdrawn")
      return { ok: false, reason: "timeout", message: base, writerSide: true };
    return {
      ok: false,
      reason: OUTCOME_UNKNOWN,
      message: `${base}: the app took the request and its answer did not arrive; ${OUTCOME_UNKNOWN_ADVICE}`,
      writerSide: true,
    };
  }

  /** Stops the reply loop; pending writes resolve as timeouts on their own timers. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.blk) destroyClient(this.blk);
    await this.loop?.catch(() => {});
  }

  private ensureLoop(): void {
    if (this.loop || this.closed) return;
    this.blk = this.cmd.duplicate();
    this.blk.on("error", () => {});
    this.blk.connect().catch(() => {});
    this.loop = this.run(this.blk);
  }

  private async run(blk: BusClient): Promise<void> {
    const key = this.keys.replies(this.instance);
    while (!this.closed) {
      try {
        if (!(await waitReady(blk, 60_000, () => this.closed))) continue;
        const r = (await blk.sendCommand(["BLPOP", key, "1"])) as [string, string] | null;
        if (!r) continue;
        const msg = JSON.parse(r[1]) as { id: string; result: WriteResult };
        this.pending.get(msg.id)?.(msg.result);
      } catch (e) {
        if (this.closed) break;
        this.log.debug({ err: String(e) }, "tagbus: write reply loop");
        await Bun.sleep(100);
      }
    }
  }
}

/**
 * The owner side of writes: reads `{p}w:{appId}` with XREADGROUP as the single consumer
 * `owner` of group `owner` on its own connection. Own pending entries (delivered before a
 * restart, never acknowledged) are read first (id `0`), then new ones (`>`). Each request
 * is answered and acknowledged in one MULTI together with a done marker, so a request is
 * handled once even when the owner restarts while it is pending.
 */
export class WriteServer implements Subscription {
  private closed = false;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly cmd: BusClient,
    private readonly blk: BusClient,
    private readonly keys: BusKeys,
    private readonly appId: string,
    private readonly handler: WriteHandler,
    private readonly log: Logger,
    private readonly options: ServeWritesOptions = {},
  ) {}

  /** Creates the consumer group (from id 0) and starts serving. */
  async start(): Promise<void> {
    if (!(await waitReady(this.blk, 5000)))
      throw new NodiError("communication", "redis not reachable");
    try {
      await this.blk.sendCommand([
        "XGROUP",
        "CREATE",
        this.keys.writes(this.appId),
        WRITE_GROUP,
        "0",
        "MKSTREAM",
      ]);
    } catch (e) {
      if (!String(e).includes("BUSYGROUP")) throw e;
    }
    this.loop = this.run();
  }

  async close(): Promise<void> {
    this.closed = true;
    destroyClient(this.blk);
    await this.loop?.catch(() => {});
  }

  private async run(): Promise<void> {
    const key = this.keys.writes(this.appId);
    let backlog = true;
    while (!this.closed) {
      try {
        const args = backlog
          ? ["XREADGROUP", "GROUP", WRITE_GROUP, WRITE_GROUP, "COUNT", "100", "STREAMS", key, "0"]
          : [
              "XREADGROUP",
              "GROUP",
              WRITE_GROUP,
              WRITE_GROUP,
              "COUNT",
              "100",
              "BLOCK",
              "1000",
              "STREAMS",
              key,
              ">",
            ];
        const reply = (await this.blk.sendCommand(args)) as
          | [string, [string, string[] | null][]][]
          | null;
        const entries = reply?.[0]?.[1] ?? [];
        if (backlog && entries.length === 0) backlog = false;
        for (const [entryId, flat] of entries) {
          if (this.closed) return;
          await this.serveOne(key, entryId, flat);
        }
      } catch (e) {
        if (this.closed) break;
        const msg = String(e);
        if (msg.includes("NOGROUP")) {
          await this.blk
            .sendCommand(["XGROUP", "CREATE", key, WRITE_GROUP, "0", "MKSTREAM"])
            .catch(() => {});
        } else {
          this.log.warn({ err: msg }, "tagbus: write server read failed, resuming");
        }
        await Bun.sleep(200);
        await waitReady(this.blk, 60_000, () => this.closed);
        backlog = true;
      }
    }
  }

  private async serveOne(key: string, entryId: string, flat: string[] | null): Promise<void> {
    const f: Record<string, string> = {};
    for (let i = 0; flat && i + 1 < flat.length; i += 2) f[flat[i]!] = flat[i + 1]!;
    const ack = ["XACK", key, WRITE_GROUP, entryId];
    // The reply key must be a writer's reply list: anything else (another key of the bus,
    // a key of another application) would be written to, or fail forever with WRONGTYPE.
    const rk = f.rk ?? "";
    const rkOk = rk.startsWith(this.keys.replies("")) && rk.length <= 512;
    if (!f.id || !f.path || !rkOk || f.v === undefined || !f.dl) {
      this.log.warn(
        { entryId, fields: Object.keys(f), ...(rk && !rkOk ? { rk: rk.slice(0, 100) } : {}) },
        "tagbus: skipped a malformed write request",
      );
      await this.blk.sendCommand(ack);
      return;
    }
    let value: unknown;
    let invalid: string | undefined;
    try {
      value = JSON.parse(f.v);
      checkValue(f.path, value, undefined);
    } catch (e) {
      invalid = e instanceof NodiError ? e.message : `${f.path}: value is not JSON`;
    }
    const req: WriteRequest = {
      id: f.id,
      path: f.path,
      value: value as WriteRequest["value"],
      origin: f.o ?? "unknown",
      identity: parseIdentity(f.a) ?? { via: "unknown", who: (f.o ?? "unknown").slice(0, 200) },
      deadline: Number(f.dl),
    };
    const done = (await this.blk.sendCommand(["EXISTS", this.keys.writeDone(req.id)])) as number;
    if (done) {
      await this.blk.sendCommand(ack);
      return;
    }
    let result: WriteResult | undefined;
    if (invalid !== undefined) {
      result = { ok: false, reason: "invalid_value", message: invalid };
    } else if (Date.now() > req.deadline) {
      result = { ok: false, reason: "timeout", message: "request expired before it was served" };
    } else if (!(await this.take(req.id))) {
      result = { ok: false, reason: "timeout", message: "the writer gave up before it was served" };
    }
    if (result) {
      try {
        this.options.onUnhandled?.(req, result);
      } catch (e) {
        this.log.warn({ id: req.id, err: String(e) }, "tagbus: onUnhandled failed");
      }
    } else {
      try {
        result = await this.handler(req);
      } catch (e) {
        const ne = toNodiError(e);
        result = { ok: false, reason: ne.reason, message: ne.message };
      }
    }
    this.log.info(
      { id: req.id, path: req.path, origin: req.origin, ok: result.ok },
      "tagbus: write served",
    );
    await this.answer(key, entryId, req, result, rk);
  }

  /** Claims a request before handling it; false when its writer withdrew it first. */
  private async take(id: string): Promise<boolean> {
    const claim = await runScript<string>(
      this.cmd,
      WRITE_CLAIM_LUA,
      [this.keys.writeClaim(id)],
      ["taken", String(DONE_TTL_S)],
    );
    return claim === "taken";
  }

  /** Sends the result, the done marker and the XACK in one MULTI; retries until it succeeds or closes. */
  private async answer(
    key: string,
    entryId: string,
    req: WriteRequest,
    result: WriteResult,
    rk: string,
  ) {
    const msg = JSON.stringify({ id: req.id, result });
    for (let attempt = 0; ; attempt++) {
      try {
        await this.cmd
          .multi()
          .addCommand(["RPUSH", rk, msg])
          .addCommand(["EXPIRE", rk, String(RESULT_TTL_S)])
          .addCommand(["SET", this.keys.writeDone(req.id), "1", "EX", String(DONE_TTL_S)])
          .addCommand(["XACK", key, WRITE_GROUP, entryId])
          .exec();
        return;
      } catch (e) {
        if (this.closed) throw e;
        // Connected, yet refused (e.g. WRONGTYPE on a hand-made reply key): retrying cannot
        // help, and would block every later write of this app. Redis ran the other commands
        // of the MULTI (the XACK, the done marker) anyway.
        if (this.cmd.isReady && attempt >= 2) {
          this.log.error(
            { id: req.id, rk, err: String(e) },
            "tagbus: write result refused by redis, dropped",
          );
          return;
        }
        if (attempt === 0)
          this.log.warn({ err: String(e) }, "tagbus: write result not sent, retrying");
        await Bun.sleep(Math.min(1000, 50 * 2 ** attempt));
      }
    }
  }
}

/**
 * Whether `e` is an error reply of Redis (the command ran and was refused: `-ERR`, `-NOSCRIPT`,
 * `-LOADING`, `-OOM` …), as opposed to a connection that failed or was dropped under the call.
 */
function isErrorReply(e: unknown): boolean {
  return (e as { code?: string } | null)?.code === "ERR_REDIS_SERVER_ERROR";
}
