import { NodiError } from "../core/errors.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { isConnId } from "../core/paths.ts";
import type { TagSample, TagScalar, TagValue } from "../core/tag-value.ts";
import { decodeCurrent } from "./codec.ts";
import {
  type BusClient,
  COMMAND_TIMEOUT_MS,
  destroyClient,
  openClient,
  waitReady,
} from "./connection.ts";
import { type BusKeys, busKeys, pathRoot } from "./keys.ts";
import { Publisher } from "./publisher.ts";
import { Subscriber, type SubscriberCounters } from "./subscriber.ts";
import type {
  AckSubscription,
  BusHandler,
  PublishOptions,
  ServeWritesOptions,
  SubscribeOptions,
  Subscription,
  TagBus,
  TagBusStats,
  WriteHandler,
  WriteOptions,
  WriteResult,
} from "./tagbus.ts";
import { Writer, WriteServer } from "./writes.ts";

/** Options of {@link createRedisTagBus}. */
/**
 * Default age retention of the producer streams, ms (5 min; `NE_STREAM_MAXAGE_MS`). The count
 * limit alone (`NE_STREAM_MAXLEN`, 100,000 entries) does not bound Redis on a gateway: 50
 * connections × 100,000 batches of 30 samples ≈ 6.5 GB once the streams are full (≈ 1.3 KB a
 * batch, docs/performance.md "Memory of a running app"), which a 1–2 GiB box never has, and
 * with `maxmemory-policy noeviction` Redis would grow until the kernel kills it. Five minutes
 * cover a subscriber's restart (ne-north, the web) with room to spare and cost
 * (≈ 100 bytes × entries/s + ≈ 45 bytes × samples/s) × 300 s (≈ 220 MB at 15,000 samples/s
 * in 500 entries/s; docs/tagbus.md "Retention and Redis settings"); the north keeps broker
 * outages in its own disk buffer (docs/north.md "Store-and-forward"). A subscriber away
 * longer gets a `trimmed` gap with the exact count.
 */
export const DEFAULT_STREAM_MAXAGE_MS = 300_000;

export interface RedisTagBusOptions {
  /** Redis URL, e.g. `redis://127.0.0.1:6379` (`NE_REDIS_URL`). */
  url: string;
  /** Key prefix (`NE_REDIS_PREFIX`), e.g. `ne:`. */
  prefix: string;
  /** This bus's producer id, stamped on published values (an app_id, or `cli`, `web`, …). */
  producer: string;
  /** Samples buffered while Redis is unreachable (`NE_OUTBOX_MAX`). Default 100000. */
  outboxMax?: number;
  /** Approximate entries (batches) retained per producer stream (`NE_STREAM_MAXLEN`). Default 100000. */
  streamMaxLen?: number;
  /**
   * Entries older than this are trimmed from producer streams (`NE_STREAM_MAXAGE_MS`), ms;
   * 0 = no age limit. Default {@link DEFAULT_STREAM_MAXAGE_MS}.
   */
  streamMaxAgeMs?: number;
  /** Longest time `publish` waits for Redis before leaving the batch in the outbox, ms. Default 500. */
  publishWaitMs?: number;
  /** Time `createRedisTagBus` waits for the first connection, ms. Default 2000. Not fatal. */
  connectWaitMs?: number;
  /** XREAD BLOCK time of subscribers, ms. Default 1000. */
  blockMs?: number;
  /** How often the publisher checks that Redis still holds its data, ms. Default 2000. */
  lossCheckMs?: number;
  /**
   * Command deadline, ms: a command with no reply within this time (plus its own BLOCK time)
   * closes its connection, which reconnects (a hung Redis). 0 = none. Default
   * {@link COMMAND_TIMEOUT_MS} (10 s). docs/tagbus.md "Connection".
   */
  commandTimeoutMs?: number;
  log?: Logger;
}

/** The Redis-specific extension of {@link TagBusStats}. */
export interface RedisTagBusStats extends TagBusStats {
  /** Malformed stream entries skipped by this bus's subscribers. */
  malformed: number;
  /** Subscriber events whose handler threw. */
  handlerErrors: number;
  /** Open subscriptions and write servers. */
  subscriptions: number;
  /** Times Redis was found to have lost this producer's data (docs/tagbus.md). */
  dataLosses: number;
  /** Current values republished after lost data. */
  republished: number;
}

/**
 * Opens a TagBus on Redis Streams (docs/tagbus.md). Resolves after the first connection or
 * after `connectWaitMs` (then publishing goes to the outbox until Redis is reachable; `get`,
 * `list`, `subscribe` reject with NodiError(communication) while it is not).
 * @throws NodiError(configuration) for an invalid producer id.
 */
export async function createRedisTagBus(o: RedisTagBusOptions): Promise<RedisTagBus> {
  if (
    !(isConnId(o.producer) || /^[a-z0-9][a-z0-9_:.-]{0,62}$/.test(o.producer)) ||
    o.producer.includes(" ")
  ) {
    throw new NodiError(
      "configuration",
      `invalid producer id ${JSON.stringify(o.producer)}`,
      "invalid_producer",
    );
  }
  const log = o.log ?? silentLogger;
  const cmd = openClient(o.url, log, "command", o.commandTimeoutMs ?? COMMAND_TIMEOUT_MS);
  const bus = new RedisTagBus(cmd, o, log);
  await waitReady(cmd, o.connectWaitMs ?? 2000);
  return bus;
}

/** The Redis Streams TagBus. Create with {@link createRedisTagBus}. */
export class RedisTagBus implements TagBus {
  readonly keys: BusKeys;
  /** Unique id of this bus instance (de-duplication of retried publishes, write replies). */
  readonly instance = crypto.randomUUID().slice(0, 13);
  private readonly publisher: Publisher;
  private readonly writer: Writer;
  private readonly subs = new Set<Subscription>();
  private readonly counters: SubscriberCounters = { malformed: 0, handlerErrors: 0 };
  private closed = false;

  constructor(
    readonly client: BusClient,
    private readonly o: RedisTagBusOptions,
    private readonly log: Logger,
  ) {
    this.keys = busKeys(o.prefix);
    this.publisher = new Publisher(
      client,
      this.keys,
      o.producer,
      this.instance,
      o.outboxMax ?? 100_000,
      o.streamMaxLen ?? 100_000,
      o.streamMaxAgeMs ?? DEFAULT_STREAM_MAXAGE_MS,
      o.publishWaitMs ?? 500,
      log,
      o.lossCheckMs,
    );
    this.writer = new Writer(client, this.keys, this.instance, o.producer, log);
  }

  /**
   * Calls `fn(why)` each time Redis turns out to have lost this producer's data; the bus has
   * then already queued the republish of every current value this producer published
   * (docs/tagbus.md "Republish after lost data"). For owners that hold more than that.
   */
  onDataLost(fn: (why: string) => void): void {
    this.publisher.onDataLost(fn);
  }

  publish(samples: TagSample[], options?: PublishOptions): Promise<void> {
    if (this.closed) return Promise.reject(new NodiError("internal", "tagbus closed"));
    return this.publisher.publish(samples, options);
  }

  async get(path: string): Promise<TagValue | undefined> {
    const root = pathRoot(path);
    if (!root) throw invalidPath(path);
    const raw = (await this.command(["HGET", this.keys.cur(root), path])) as string | null;
    return raw === null ? undefined : decodeCurrent(path, raw);
  }

  async list(prefix: string): Promise<TagValue[]> {
    const roots = await this.rootsFor(prefix);
    const out: TagValue[] = [];
    for (const root of roots) {
      const flat = (await this.command(["HGETALL", this.keys.cur(root)])) as string[];
      for (let i = 0; i + 1 < flat.length; i += 2) {
        const path = flat[i]!;
        if (!path.startsWith(prefix)) continue;
        const v = decodeCurrent(path, flat[i + 1]!);
        if (v) out.push(v);
      }
    }
    return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  }

  subscribe(
    patterns: string[],
    handler: BusHandler,
    options: SubscribeOptions & { durable: string; manualAck: true },
  ): Promise<AckSubscription>;
  subscribe(
    patterns: string[],
    handler: BusHandler,
    options?: SubscribeOptions,
  ): Promise<Subscription>;
  async subscribe(
    patterns: string[],
    handler: BusHandler,
    options: SubscribeOptions = {},
  ): Promise<AckSubscription> {
    if (options.manualAck && options.durable === undefined)
      throw new NodiError("configuration", "manualAck needs a durable subscriber name");
    if (patterns.length === 0)
      throw new NodiError("configuration", "subscribe needs at least one pattern");
    for (const p of patterns) {
      if (!p.startsWith("/")) {
        throw new NodiError(
          "configuration",
          `invalid pattern ${JSON.stringify(p)}: must start with /`,
          "invalid_pattern",
        );
      }
    }
    if (options.durable !== undefined && !/^[A-Za-z0-9_.:-]{1,64}$/.test(options.durable)) {
      throw new NodiError(
        "configuration",
        `invalid durable name ${JSON.stringify(options.durable)}`,
      );
    }
    this.requireReady();
    const blk = this.client.duplicate();
    blk.on("error", () => {});
    blk.connect().catch(() => {});
    const sub = new Subscriber(
      this.client,
      blk,
      this.keys,
      patterns,
      handler,
      options,
      this.counters,
      this.log,
      {
        blockMs: this.o.blockMs ?? 1000,
      },
    );
    try {
      await sub.start();
    } catch (e) {
      destroyClient(blk);
      throw new NodiError(
        "communication",
        `subscribe failed: ${String(e)}`,
        "communication",
        {},
        { cause: e },
      );
    }
    return this.track(sub);
  }

  write(path: string, value: TagScalar, options?: WriteOptions): Promise<WriteResult> {
    return this.writer.write(path, value, options);
  }

  async serveWrites(
    appId: string,
    handler: WriteHandler,
    options: ServeWritesOptions = {},
  ): Promise<Subscription> {
    if (!isConnId(appId))
      throw new NodiError("configuration", `invalid app id ${JSON.stringify(appId)}`);
    const blk = this.client.duplicate();
    blk.on("error", () => {});
    blk.connect().catch(() => {});
    const srv = new WriteServer(this.client, blk, this.keys, appId, handler, this.log, options);
    try {
      await srv.start();
    } catch (e) {
      destroyClient(blk);
      throw e;
    }
    return this.track(srv);
  }

  async close(timeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const flushed = await this.publisher.flush(timeoutMs);
    if (!flushed) {
      this.log.warn(
        { pending: this.publisher.pending },
        "tagbus: closing with samples not published",
      );
    }
    this.publisher.stop();
    await Promise.all([...this.subs].map((s) => s.close()));
    await this.writer.close();
    destroyClient(this.client);
  }

  stats(): RedisTagBusStats {
    return {
      published: this.publisher.published,
      outboxLength: this.publisher.pending,
      outboxDropped: this.publisher.outbox.droppedTotal,
      connected: this.client.isReady,
      malformed: this.counters.malformed,
      handlerErrors: this.counters.handlerErrors,
      subscriptions: this.subs.size,
      dataLosses: this.publisher.dataLosses,
      republished: this.publisher.republished,
    };
  }

  private track<T extends Subscription>(s: T): T {
    this.subs.add(s);
    const close = s.close.bind(s);
    s.close = async () => {
      this.subs.delete(s);
      await close();
    };
    return s;
  }

  private requireReady(): void {
    if (!this.client.isReady) {
      throw new NodiError("communication", `redis not reachable at ${this.o.url}`, "disconnected");
    }
  }

  private async command(args: string[]): Promise<unknown> {
    this.requireReady();
    try {
      return await this.client.sendCommand(args);
    } catch (e) {
      throw new NodiError("communication", `redis: ${String(e)}`, "disconnected", {}, { cause: e });
    }
  }

  /** Roots whose paths may start with `prefix` (from the registrations). */
  private async rootsFor(prefix: string): Promise<string[]> {
    const fields = (await this.command(["HKEYS", this.keys.reg])) as string[];
    const roots = new Set<string>();
    for (const f of fields) {
      const root = f.slice(f.indexOf(" ") + 1);
      const rp = `/${root}/`;
      if (rp.startsWith(prefix) || prefix.startsWith(rp)) roots.add(root);
    }
    return [...roots].sort();
  }
}

function invalidPath(path: string): NodiError {
  return new NodiError(
    "configuration",
    `invalid tag path ${JSON.stringify(path)}: expected /{conn_id}/{tag_name} or /system/{app_id}/{name}`,
    "invalid_path",
    { path },
  );
}
