import {
  AttributeIds,
  type ClientSession,
  type ClientSessionRawSubscriptionService,
  type ClientSubscription,
  DataChangeFilter,
  type DataChangeNotification,
  DataChangeTrigger,
  DeadbandType,
  MonitoringMode,
  type MonitoringParametersOptions,
  TimestampsToReturn,
} from "node-opcua-client";
import { NodiError } from "../../core/errors.ts";
import type { Logger } from "../../core/log.ts";
import type { Block, Tag } from "../../store/schema.ts";
import type { TagReading } from "../driver.ts";
import { chunk } from "./batch.ts";
import { badReading, readingOf } from "./reading.ts";
import { qualityAndReason } from "./status.ts";

/** Default publishing interval of a block without `period_ms`, ms. */
export const DEFAULT_PUBLISHING_MS = 1000;
/** Wanted keep-alive period of a subscription, ms (the keep-alive count is derived from it). */
const KEEPALIVE_TARGET_MS = 2000;
/**
 * Reason of the bad readings emitted for every tag of a block whose subscription the
 * watchdog declared dead (no publish response, neither data nor keep-alive).
 */
export const REASON_STALLED = "subscription_stalled";
/** Reason of the bad readings emitted when the server reports the subscription gone (status change). */
export const REASON_SUBSCRIPTION_LOST = "subscription_lost";

/**
 * The method node-opcua's ClientSubscriptionImpl (node-opcua-client 2.186,
 * `private/client_subscription_impl.js`) calls with each DataChangeNotification of a publish
 * response, after it promoted opaque structures in it; its own version hands each item to the
 * ClientMonitoredItem registered under the item's client handle. {@link BlockSubscription}
 * replaces it on its own subscription object to hand each item to the tag of that handle.
 */
const DATA_CHANGE_HANDLER = "__on_publish_response_DataChangeNotification";

/** What a subscription needs from its driver. */
export interface SubscriptionContext {
  session: ClientSession;
  maxMonitoredItemsPerCall: number;
  /** Request timeout, ms (added to the keep-alive watchdog's margin). */
  timeoutMs: number;
  log: Logger;
  /** Called when the subscription cannot be rebuilt (the session is gone): link lost. */
  onFailure(error: NodiError): void;
}

/**
 * One block as one OPC UA subscription (OPC UA Part 4 §5.13): the block's `period_ms` is the
 * requested publishing interval, each tag a monitored item on its node's Value with the tag's
 * sampling interval (default: the publishing interval), queue size (default 1) and, when the
 * tag has a deadband, an absolute DataChangeFilter (Part 4 §7.22.2; the deadband is converted
 * to raw units by the tag's scale). Tags with equal parameters share one CreateMonitoredItems
 * call, split by the server's MaxMonitoredItemsPerCall.
 *
 * The monitored items are created with the session's CreateMonitoredItems service directly,
 * not as node-opcua ClientMonitoredItem objects (~2 KiB of JS heap each, with two events per
 * value): the subscription keeps one array from client handle (1, 2, …, set before the request
 * is sent, so a notification that beats the response is not lost) to tag, and each
 * DataChangeNotification's items go from there to `readingOf` (see {@link DATA_CHANGE_HANDLER};
 * docs/performance.md "OPC UA app memory, third pass").
 *
 * A watchdog expects a publish response (data or keep-alive) at least every
 * `publishingInterval × maxKeepAliveCount` (revised values); after twice that plus the
 * request timeout without one, or when the server reports the subscription gone (status
 * change), every tag of the block is emitted bad at once ({@link REASON_STALLED}, or
 * {@link REASON_SUBSCRIPTION_LOST} after a status change): the last values are no longer
 * known to hold. Then the subscription and all its items are deleted and created again on
 * the same session; the new items' first notifications make the tags good again. If that
 * fails, `onFailure` reports the link lost.
 */
export class BlockSubscription {
  private subscription: ClientSubscription | undefined;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private lastAlive = 0;
  private pending: TagReading[] = [];
  private flushQueued = false;
  private rebuilding = false;
  private stopped = false;
  /** How many times the subscription was rebuilt (watchdog or status change). */
  rebuilds = 0;

  constructor(
    private readonly ctx: SubscriptionContext,
    readonly block: Block,
    readonly tags: Tag[],
    public emit: (readings: TagReading[]) => void,
  ) {}

  /** True while the subscription exists on the server. */
  get active(): boolean {
    return !this.stopped && this.subscription !== undefined;
  }

  /**
   * Creates the subscription and its monitored items; starts the watchdog.
   * Items the server refuses (e.g. `BadNodeIdUnknown`) are emitted once as bad readings; the
   * others deliver.
   * @throws NodiError `communication` when the subscription cannot be created.
   */
  async start(): Promise<void> {
    this.stopped = false;
    await this.build();
    const periodMs = this.keepAlivePeriodMs();
    this.watchdog = setInterval(
      () => this.checkAlive(),
      Math.max(250, Math.min(periodMs, 5000) / 2),
    );
    this.watchdog.unref?.();
  }

  /** Deletes the subscription (best effort). Never throws. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.watchdog) clearInterval(this.watchdog);
    this.watchdog = undefined;
    await this.teardown();
  }

  /** The server's id of the subscription (undefined while there is none). */
  get subscriptionId(): number | undefined {
    return this.subscription?.subscriptionId;
  }

  /** The server's keep-alive period of this subscription, ms. */
  keepAlivePeriodMs(): number {
    const s = this.subscription;
    return s ? s.publishingInterval * s.maxKeepAliveCount : KEEPALIVE_TARGET_MS;
  }

  private async build(): Promise<void> {
    const publishingMs = this.block.period_ms ?? DEFAULT_PUBLISHING_MS;
    const keepAliveCount = Math.max(3, Math.ceil(KEEPALIVE_TARGET_MS / publishingMs));
    let sub: ClientSubscription;
    try {
      sub = await this.ctx.session.createSubscription2({
        requestedPublishingInterval: publishingMs,
        requestedMaxKeepAliveCount: keepAliveCount,
        requestedLifetimeCount: keepAliveCount * 10,
        maxNotificationsPerPublish: 0,
        publishingEnabled: true,
        priority: 10,
      });
    } catch (e) {
      throw new NodiError(
        "communication",
        `block ${this.block.block_id}: cannot create the subscription: ${e instanceof Error ? e.message : e}`,
        "communication",
        {},
        { cause: e },
      );
    }
    this.subscription = sub;
    this.lastAlive = Date.now();
    const alive = () => {
      this.lastAlive = Date.now();
    };
    sub.on("keepalive", alive);
    sub.on("received_notifications", alive);
    sub.on("status_changed", (status) => {
      if (status.isGood()) return;
      this.ctx.log.warn(
        { block: this.block.block_id, status: status.name },
        "opcua subscription status changed",
      );
      void this.rebuild(`status ${status.name}`, REASON_SUBSCRIPTION_LOST);
    });
    sub.on("internal_error", (err) => {
      this.ctx.log.warn(
        { block: this.block.block_id, err: err.message },
        "opcua subscription error",
      );
    });

    const byParams = new Map<string, { params: MonitoringParametersOptions; tags: Tag[] }>();
    for (const tag of this.tags) {
      const sampling = tag.sampling_interval_ms ?? publishingMs;
      const queue = tag.queue_size ?? 1;
      const deadband = tag.deadband > 0 ? tag.deadband / Math.abs(tag.scale) : 0;
      const key = `${sampling}|${queue}|${deadband}`;
      let g = byParams.get(key);
      if (!g) {
        const params: MonitoringParametersOptions = {
          samplingInterval: sampling,
          queueSize: queue,
          discardOldest: true,
        };
        if (deadband > 0) {
          params.filter = new DataChangeFilter({
            trigger: DataChangeTrigger.StatusValue,
            deadbandType: DeadbandType.Absolute,
            deadbandValue: deadband,
          });
        }
        g = { params, tags: [] };
        byParams.set(key, g);
      }
      g.tags.push(tag);
    }
    // the tag of each monitored item by its client handle; holes for refused items, and
    // handle 0 is not used
    const byHandle: (Tag | undefined)[] = [undefined];
    installDataChangeHandler(sub, (n) => {
      // node-opcua may still hand this subscription a publish response after teardown (its
      // dispatch follows a promise, and DeleteSubscriptions gets 2 s): not this block's any more
      if (this.subscription !== sub) return;
      this.lastAlive = Date.now();
      for (const item of n.monitoredItems ?? []) {
        const tag = byHandle[item.clientHandle];
        if (tag) this.queue(readingOf(tag, item.value));
      }
    });
    const refused: TagReading[] = [];
    const create = async (
      part: Tag[],
      first: number,
      params: MonitoringParametersOptions,
    ): Promise<void> => {
      let results: { statusCode: { isGood(): boolean; value: number; name: string } }[];
      try {
        const session = this.ctx.session as ClientSession & ClientSessionRawSubscriptionService;
        const response = await session.createMonitoredItems({
          subscriptionId: sub.subscriptionId,
          timestampsToReturn: TimestampsToReturn.Both,
          itemsToCreate: part.map((t, i) => ({
            itemToMonitor: { nodeId: t.node_id as string, attributeId: AttributeIds.Value },
            monitoringMode: MonitoringMode.Reporting,
            requestedParameters: { ...params, clientHandle: first + i },
          })),
        });
        results = response.results ?? [];
        if (results.length !== part.length) {
          throw new Error(`${results.length} results for ${part.length} items`);
        }
      } catch (e) {
        // a server that enforces a MaxMonitoredItemsPerCall it does not advertise refuses
        // the whole call: the same items in halves
        if (part.length > 1 && /BadTooManyOperations/.test(String(e))) {
          const half = Math.ceil(part.length / 2);
          await create(part.slice(0, half), first, params);
          await create(part.slice(half), first + half, params);
          return;
        }
        throw new NodiError(
          "communication",
          `block ${this.block.block_id}: cannot create monitored items: ${e instanceof Error ? e.message : e}`,
          "communication",
          {},
          { cause: e },
        );
      }
      results.forEach((r, i) => {
        const sc = r.statusCode;
        if (sc.isGood()) return;
        byHandle[first + i] = undefined;
        refused.push(
          badReading(part[i] as Tag, qualityAndReason(sc.value, sc.name).reason ?? "bad"),
        );
      });
    };
    for (const { params, tags } of byParams.values()) {
      for (const part of chunk(tags, this.ctx.maxMonitoredItemsPerCall)) {
        const first = byHandle.length;
        for (const t of part) byHandle.push(t);
        await create(part, first, params);
      }
    }
    if (refused.length > 0) {
      this.ctx.log.warn(
        {
          block: this.block.block_id,
          refused: refused.map((r) => `${r.tag_name}:${r.reason}`).slice(0, 20),
        },
        "opcua monitored items refused",
      );
      // after start() has resolved: a caller may only accept readings once it knows the
      // block is started (the runtime does)
      const t = setTimeout(() => {
        for (const r of refused) this.queue(r);
      }, 0);
      t.unref?.();
    }
  }

  private queue(r: TagReading): void {
    this.pending.push(r);
    if (this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      const batch = this.pending;
      this.pending = [];
      if (batch.length === 0 || this.stopped) return;
      this.emit(batch);
    });
  }

  private async teardown(): Promise<void> {
    const sub = this.subscription;
    this.subscription = undefined;
    if (!sub) return;
    sub.removeAllListeners();
    try {
      await Promise.race([sub.terminate(), Bun.sleep(2000)]);
    } catch {
      // the server may already have deleted it
    }
  }

  private checkAlive(): void {
    if (this.stopped || this.rebuilding || !this.subscription) return;
    const limit = 2 * this.keepAlivePeriodMs() + this.ctx.timeoutMs;
    const silent = Date.now() - this.lastAlive;
    if (silent > limit) void this.rebuild(`no keep-alive for ${silent} ms`, REASON_STALLED);
  }

  /**
   * Deletes and re-creates the subscription on the same session (watchdog / status change).
   * With `badReason`, every tag of the block is first emitted bad with it (the subscription
   * is declared dead: its last values must not stay good while it is rebuilt).
   */
  async rebuild(why: string, badReason?: string): Promise<void> {
    if (this.rebuilding || this.stopped) return;
    this.rebuilding = true;
    this.rebuilds++;
    this.ctx.log.warn({ block: this.block.block_id, why }, "opcua subscription rebuilt");
    if (badReason) {
      const now = Date.now();
      for (const tag of this.tags) this.queue(badReading(tag, badReason, now));
    }
    try {
      await this.teardown();
      if (!this.stopped) await this.build();
    } catch (e) {
      this.ctx.onFailure(
        e instanceof NodiError
          ? e
          : new NodiError("communication", `block ${this.block.block_id}: ${e}`),
      );
    } finally {
      this.rebuilding = false;
    }
  }
}

/**
 * Makes `sub` hand every DataChangeNotification of its publish responses to `onDataChange`
 * instead of to node-opcua ClientMonitoredItems (see {@link DATA_CHANGE_HANDLER}).
 * @throws NodiError `internal` when node-opcua's subscription has no such method (a
 *   node-opcua version whose dispatch this driver does not know).
 */
export function installDataChangeHandler(
  sub: ClientSubscription,
  onDataChange: (n: DataChangeNotification) => void,
): void {
  const target = sub as unknown as Record<string, unknown>;
  if (typeof target[DATA_CHANGE_HANDLER] !== "function") {
    throw new NodiError(
      "internal",
      `node-opcua's ClientSubscription has no ${DATA_CHANGE_HANDLER}: this node-opcua version is not supported`,
    );
  }
  target[DATA_CHANGE_HANDLER] = onDataChange;
}
