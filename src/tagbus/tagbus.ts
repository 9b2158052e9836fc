import type { Identity } from "../core/identity.ts";
import type { TagSample, TagScalar, TagValue } from "../core/tag-value.ts";

/**
 * The TagBus: how tag values, system tags and writes travel between the parts of Nodi Edge
 * (DESIGN.md §2–3). Implemented on Redis Streams (`redis-tagbus.ts`); every implementation
 * must pass `test/contract/tagbus.contract.ts`.
 *
 * Guarantees:
 * - `publish` never loses a sample silently: while the bus is unreachable samples wait in a
 *   bounded outbox and are flushed in order; overflow drops the oldest and is reported to
 *   subscribers as a {@link GapEvent}.
 * - a subscriber gets every matching sample once, in order per producer; where that became
 *   impossible it gets a {@link GapEvent} followed by a {@link ResyncEvent}.
 */
/** Options of {@link TagBus.publish}. */
export interface PublishOptions {
  /**
   * Commit each sample only when its path has no current value or one with an OLDER `ts`
   * (compared in Redis when the sample is committed, like the restore after lost data):
   * for a value published on behalf of another producer that must never overwrite what the
   * owner published since, however late it reaches Redis (e.g. the supervisor's
   * `INIT starting` of an app it just spawned, docs/supervisor.md). Skipped samples enter
   * neither the current values nor the stream.
   */
  ifNewer?: boolean;
}

export interface TagBus {
  /**
   * Publishes one batch (e.g. one block scan) in one round trip. Stamps `producer` (this
   * bus's producer id) and a per-producer `seq` on each sample.
   * Resolves once the batch is on the bus or in the outbox; does not throw on an outage.
   * @throws NodiError(kind `configuration`) for an invalid path or a value over the size limit.
   */
  publish(samples: TagSample[], options?: PublishOptions): Promise<void>;

  /** The latest value of one tag, or `undefined` when it was never published. */
  get(path: string): Promise<TagValue | undefined>;

  /** The latest values of all tags whose path starts with `prefix` (e.g. `/mtc-01/`), sorted by path. */
  list(prefix: string): Promise<TagValue[]>;

  /**
   * Subscribes to samples whose path matches one of `patterns` (see `core/paths.ts`
   * `matchesPattern`). The handler is awaited before the next event is delivered.
   * With `durable`, the subscriber's position survives its own restart (same name, same
   * position); without it, delivery starts with a {@link ResyncEvent} of current values.
   */
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

  /**
   * Requests a write of `value` to the tag at `path` (a data tag) and waits for the owning
   * app's result. Delivered to the owner exactly once, even across the owner's restart.
   * The owner answers by the request's deadline (`timeoutMs` from now); the writer waits
   * `WRITE_RESULT_GRACE_MS` (1 s, writes.ts) more for the answer, then resolves with `{ ok: false,
   * reason: "timeout" }` when the owner never took the request (nothing was sent) or
   * `{ ok: false, reason: "outcome_unknown" }` when it took it and did not answer.
   */
  write(path: string, value: TagScalar, options?: WriteOptions): Promise<WriteResult>;

  /**
   * Serves writes addressed to `/{appId}/…` data tags: `handler` is called once per request
   * (in arrival order) and its result is returned to the writer. Requests that arrived while
   * no server ran are served when it starts (unless the writer gave up: expired ones are
   * answered `timeout` without calling the handler).
   */
  serveWrites(
    appId: string,
    handler: WriteHandler,
    options?: ServeWritesOptions,
  ): Promise<Subscription>;

  /** Flushes the outbox (best effort within `timeoutMs`) and closes every connection. */
  close(timeoutMs?: number): Promise<void>;

  /** Counters for health tags. */
  stats(): TagBusStats;
}

/** Options of {@link TagBus.subscribe}. */
export interface SubscribeOptions {
  /** Name of a durable subscriber (e.g. `supervisor`, `historian`). */
  durable?: string;
  /** Without `durable`: start from now (default) or replay what is retained (`"retained"`). */
  from?: "now" | "retained";
  /**
   * With `from: "retained"`: replay only the entries published at or after this time (epoch
   * ms; a stream entry's id is its publish time), not the whole retention. Tags not published
   * since are not delivered: read them with {@link TagBus.list}.
   */
  sinceMs?: number;
  /**
   * With `durable`: the saved position moves only when the subscriber calls
   * {@link AckSubscription.ack}, not when the handler returns. Every event then carries a
   * `position`; after a restart delivery resumes after the last fully acknowledged stream
   * entry of each producer, so at most one partly acknowledged entry per producer (one publish
   * batch) comes again, whole. The starting cut of a new subscriber is committed at once. For a consumer that hands events on to something slower (ne-north → MQTT broker).
   */
  manualAck?: boolean;
  /**
   * Producers whose streams this subscription does not read: their samples are never
   * delivered as value events (resync snapshots still hold every current value, whoever
   * published it). For an app that subscribes under its own root but never needs its own
   * samples back (an interface app's `/system/{app_id}/config_reload`: it would otherwise read
   * and skip every batch it publishes; issue 15).
   */
  ignoreProducers?: string[];
  /**
   * Least time between the starts of two stream reads, ms (default 0: the next XREAD is issued
   * as soon as a reply is handled). Entries published meanwhile are delivered together, up to
   * this much later, with one XREAD instead of one per publish: for a subscriber that follows
   * every producer's stream for a few rare tags and needs no sub-second delivery (the
   * supervisor's `/system/...` patterns: each of its XREADs over every stream cost Redis
   * ~130 µs, once per publish of any app; issue 15). Nothing is skipped or lost.
   */
  readGapMs?: number;
}

/** One update of one tag. */
export interface ValueEvent {
  kind: "value";
  value: TagValue;
  /** With `manualAck`: this event's position, increasing by one per event of the subscription. */
  position?: number;
}

/**
 * Updates were lost between two positions: `dropped` samples of `producer` (when known) were
 * never delivered, because of outbox overflow, retention trimming past the cursor or lost
 * Redis data. A {@link ResyncEvent} follows.
 */
export interface GapEvent {
  kind: "gap";
  producer?: string;
  /** Number of lost samples when known. */
  dropped?: number;
  reason: "outbox_overflow" | "trimmed" | "redis_data_lost" | string;
  /** With `manualAck`: see {@link ValueEvent.position}. */
  position?: number;
}

/** The current values of every matching tag; delivery continues from this snapshot's position. */
export interface ResyncEvent {
  kind: "resync";
  values: TagValue[];
  /** With `manualAck`: see {@link ValueEvent.position}; acknowledging it commits the snapshot's cut. */
  position?: number;
}

export type BusEvent = ValueEvent | GapEvent | ResyncEvent;
export type BusHandler = (event: BusEvent) => void | Promise<void>;

/** A live subscription or write server. */
export interface Subscription {
  /** Stops delivery; resolves once the handler will not be called again. */
  close(): Promise<void>;
}

/** A subscription with `manualAck` (see {@link SubscribeOptions.manualAck}). */
export interface AckSubscription extends Subscription {
  /**
   * Acknowledges every event up to and including `position` (positions need not be acked one
   * by one; an ack below an earlier one is ignored). The saved position moves to the last stream
   * entry all of whose events are acknowledged; it is written to Redis without waiting.
   */
  ack(position: number): void;
  /** The highest acknowledged position (0 = none). */
  readonly acked: number;
}

/** Options of {@link TagBus.write}. */
export interface WriteOptions {
  /** How long the owner may take, ms (default 5000). */
  timeoutMs?: number;
  /** A short text naming the writer for logs (default: `actorOf(identity)`, else the producer). */
  origin?: string;
  /**
   * Who asks, as established by how they authenticated (core/identity.ts); travels with the
   * request (field `a`) and is what the owning app records in the audit trail. Default
   * `{ via: "app", who: PRODUCER }`.
   */
  identity?: Identity;
}

/** Options of {@link TagBus.serveWrites}. */
export interface ServeWritesOptions {
  /**
   * Called for each request answered WITHOUT calling the handler (its value is invalid, its
   * deadline had passed, or its writer withdrew it), with that answer, so that the owner can
   * record it as it records handled ones. Not called for a request already answered before
   * (a done marker: a redelivery).
   */
  onUnhandled?: (req: WriteRequest, result: WriteResult) => void;
}

/** A write as the owning app receives it. */
export interface WriteRequest {
  /** Unique id of this request. */
  id: string;
  path: string;
  value: TagScalar;
  /** Who asked (e.g. `cli:root`, `web:alice`), for logs. */
  origin: string;
  /**
   * Who asked, as the writer's bus client sent it (`{ via: "unknown", who: origin }` for a
   * request without one: an older writer, or one added to the bus by hand). Only as truthful
   * as the bus's authentication: any client allowed on the bus can send any identity
   * (docs/security.md "Who a write comes from").
   */
  identity: Identity;
  /** Epoch ms after which the writer no longer waits. */
  deadline: number;
}

/**
 * The outcome of a write. `reason` on failure: a device exception name
 * (`ILLEGAL_DATA_ADDRESS`), `timeout`, `read_only`, `out_of_range`, `not_found`,
 * `disconnected`, or an OPC UA status code name: in all these cases the value was **not**
 * applied (`timeout` here means nothing was sent: the owner never took the request, or its
 * deadline passed before the link was free). {@link OUTCOME_UNKNOWN} is the one failure that
 * does not say so: the request was sent, no reply came, and the device may have applied it.
 */
export type WriteResult =
  | { ok: true }
  | {
      ok: false;
      reason: string;
      message?: string;
      /**
       * True when the writer's own bus client made this result because no answer came from the
       * owning app (`timeout` not taken, `outcome_unknown` taken and not answered,
       * `disconnected`): the app may have recorded nothing, so the writer records it.
       */
      writerSide?: true;
    };

/**
 * `reason` of a write that was sent to the device without a reply within its timeout (device
 * timeout, link lost after sending, unreadable reply), or that the owner took and never
 * answered: the device may have applied it.
 */
export const OUTCOME_UNKNOWN = "outcome_unknown";

/** What to tell whoever asked for a write whose outcome is unknown. */
export const OUTCOME_UNKNOWN_ADVICE = "the device may have applied it; read back before retrying";

export type WriteHandler = (req: WriteRequest) => Promise<WriteResult>;

/** Counters of one TagBus client. */
export interface TagBusStats {
  published: number;
  /** Samples waiting in the outbox. */
  outboxLength: number;
  /** Samples dropped from a full outbox since start. */
  outboxDropped: number;
  connected: boolean;
}
