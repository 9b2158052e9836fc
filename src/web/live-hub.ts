import type { Logger } from "../core/log.ts";
import { dataTagPath, systemTagPath } from "../core/paths.ts";
import type { TagValue } from "../core/tag-value.ts";
import { HEALTH_TAGS } from "../intf/health.ts";
import { BUS_PROBE_TIMEOUT_MS, BusProbe } from "../tagbus/bus-probe.ts";
import type { BusEvent, Subscription, TagBus } from "../tagbus/tagbus.ts";

/** One point of a trend: source timestamp (ms), value, quality. */
export interface TrendPoint {
  ts: number;
  value: TagValue["value"];
  quality: TagValue["quality"];
}

/**
 * What a watcher receives: a batch of values, notice of a gap in delivery, or the state of
 * the web server's link to the tag bus (`bus`: sent first on every watch, then on each
 * change; while `connected` is false the values shown are the last received, not live).
 */
export type LiveMessage =
  | { kind: "values"; values: TagValue[] }
  | { kind: "gap"; reason: string }
  | { kind: "bus"; connected: boolean };

/**
 * A watcher's filter (`null` = every tag). A tag of the connection passes when it is one of
 * `names` or matches `match` (either may be absent; both absent = none pass). System tags of
 * the app always pass.
 */
export type TagFilter = {
  names?: ReadonlySet<string>;
  match?: (tag: string) => boolean;
} | null;

/** Longest `match` pattern accepted, characters. */
export const MAX_MATCH_LENGTH = 200;

/**
 * The tag-name test of a filter text, as the live page's filter box means it: case-insensitive;
 * `*` any run of characters, `?` one character, anchored at both ends; a text without `*` or
 * `?` matches anywhere in the name (a substring), e.g. `temp` and `*temp*` are the same.
 * @throws RangeError when longer than {@link MAX_MATCH_LENGTH}.
 */
export function tagMatcher(pattern: string): (tag: string) => boolean {
  if (pattern.length > MAX_MATCH_LENGTH)
    throw new RangeError(`match is ${pattern.length} characters; at most ${MAX_MATCH_LENGTH}`);
  const p = pattern.toLowerCase();
  if (!/[*?]/.test(p)) return (tag) => tag.toLowerCase().includes(p);
  const re = new RegExp(
    `^${p
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("")}$`,
    "s",
  );
  return (tag) => re.test(tag.toLowerCase());
}

interface Watcher {
  filter: TagFilter;
  send: (m: LiveMessage) => void;
  /** Values waiting for the end of this turn of the event loop (one message per bus batch). */
  pending: TagValue[];
}

interface ConnFeed {
  sub: Promise<Subscription>;
  /** The subscription could not be made (bus down): retried when the bus is back. */
  failed?: boolean;
  watchers: Set<Watcher>;
  latest: Map<string, TagValue>;
  history: Map<string, TrendPoint[]>;
  /** Recent `last_error` values of the app, oldest first. */
  errors: { ts: number; level: string; msg: string; key: string }[];
  idleTimer?: ReturnType<typeof setTimeout>;
  /** Resolves once the replay of the last {@link TREND_BACKFILL_MS} has been delivered (best effort, ≤ 3 s). */
  backfilled: Promise<void>;
  /** performance.now() of the last event delivered to the feed. */
  lastEventAt: number;
}

/** How long a connection's feed keeps running (and recording trend history) after its last watcher left, ms. */
export const FEED_LINGER_MS = 10 * 60_000;
/** Trend history kept per tag, ms. */
export const TREND_WINDOW_MS = 15 * 60_000;
/**
 * When a feed starts, the samples of the connection published this long ago and since are
 * replayed from what the TagBus streams retain, so a trend opens with the recent past, ms.
 */
export const TREND_BACKFILL_MS = 5 * 60_000;
/** `last_error` values kept per connection. */
export const MAX_ERRORS = 100;
/** Trend points kept per tag (oldest dropped first). */
export const TREND_MAX_POINTS = 5000;
/** How often the hub checks its link to the tag bus, ms. */
export const BUS_CHECK_MS = 500;

/** Path read by the hub's {@link BusProbe} (nobody publishes it). */
const PROBE_PATH = "/system/web/bus_probe";

/**
 * Shares one TagBus subscription per connection (`/{conn_id}/*` and `/system/{conn_id}/*`)
 * among every browser watching it, filters per watcher on the server (only the tags its page
 * shows), and records a trend history of each tag while the feed runs (from the first watcher
 * until {@link FEED_LINGER_MS} after the last one).
 *
 * It also follows its link to the bus (`stats().connected` and a probe read answered within
 * {@link BUS_PROBE_TIMEOUT_MS}, every {@link BUS_CHECK_MS}) and
 * tells every watcher when it drops and comes back (`{ kind: "bus" }`), so that a page never
 * shows the last values as live during a Redis outage; a feed whose subscription failed
 * because the bus was down subscribes again when it is back.
 */
export class LiveHub {
  private readonly feeds = new Map<string, ConnFeed>();
  private busUp: boolean | undefined;
  private busTimer: ReturnType<typeof setInterval> | undefined;
  private readonly probe: BusProbe;

  constructor(
    private readonly bus: TagBus,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {
    this.probe = new BusProbe(bus, PROBE_PATH, BUS_PROBE_TIMEOUT_MS, now);
  }

  /** Whether the hub's link to the tag bus is up (as of the last check). */
  get busConnected(): boolean {
    return this.busUp ?? this.probe.up;
  }

  /**
   * Starts delivering the values of `connId` to `send` (first the current values, then every
   * update) filtered by `filter`. @returns a function that stops it.
   */
  watch(connId: string, filter: TagFilter, send: (m: LiveMessage) => void): () => void {
    const feed = this.feed(connId);
    this.checkBus(); // the others hear of a change now; this one gets the state below
    const w: Watcher = { filter, send, pending: [] };
    feed.watchers.add(w);
    send({ kind: "bus", connected: this.busConnected });
    const current = [...feed.latest.values()].filter((v) => passes(connId, filter, v.path));
    if (current.length > 0) send({ kind: "values", values: current });
    return () => {
      feed.watchers.delete(w);
      if (feed.watchers.size === 0) {
        clearTimeout(feed.idleTimer);
        feed.idleTimer = setTimeout(() => this.drop(connId), FEED_LINGER_MS);
        feed.idleTimer.unref?.();
      }
    };
  }

  /**
   * The recorded trend of `/{connId}/{tag}` since `sinceMs` once the feed has replayed the
   * recent past from the streams (starts the feed if needed; see {@link TREND_BACKFILL_MS}).
   */
  async trendWhenReady(connId: string, tag: string, sinceMs: number): Promise<TrendPoint[]> {
    this.trend(connId, tag, sinceMs);
    await this.feeds.get(connId)?.backfilled;
    return this.trend(connId, tag, sinceMs);
  }

  /** The recorded trend of `/{connId}/{tag}` since `sinceMs` (starts the feed if needed). */
  trend(connId: string, tag: string, sinceMs: number): TrendPoint[] {
    const feed = this.feed(connId);
    if (feed.watchers.size === 0 && feed.idleTimer === undefined) {
      feed.idleTimer = setTimeout(() => this.drop(connId), FEED_LINGER_MS);
      feed.idleTimer.unref?.();
    }
    return (feed.history.get(dataTagPath(connId, tag)) ?? []).filter((p) => p.ts >= sinceMs);
  }

  /**
   * The app's `last_error` values seen since the feed started (at most {@link MAX_ERRORS}),
   * as log lines, oldest first. Starts the feed when none runs (see {@link trend}).
   */
  recentErrors(connId: string): { ts: number; level: string; msg: string }[] {
    this.trend(connId, "", Number.POSITIVE_INFINITY);
    return (this.feeds.get(connId)?.errors ?? []).map(({ ts, level, msg }) => ({ ts, level, msg }));
  }

  /** Closes every feed. */
  async close(): Promise<void> {
    clearInterval(this.busTimer);
    this.busTimer = undefined;
    await Promise.all([...this.feeds.keys()].map((id) => this.drop(id)));
  }

  private feed(connId: string): ConnFeed {
    let feed = this.feeds.get(connId);
    if (feed) {
      clearTimeout(feed.idleTimer);
      feed.idleTimer = undefined;
      return feed;
    }
    const f: ConnFeed = {
      watchers: new Set(),
      latest: new Map(),
      history: new Map(),
      errors: [],
      sub: Promise.resolve(undefined as unknown as Subscription),
      backfilled: Promise.resolve(),
      lastEventAt: 0,
    };
    this.subscribeFeed(connId, f);
    this.feeds.set(connId, f);
    this.startBusCheck();
    feed = f;
    return feed;
  }

  private subscribeFeed(connId: string, f: ConnFeed): void {
    f.failed = false;
    // Replays the last TREND_BACKFILL_MS from the streams (trend history at once), then live;
    // tags not published in that time come from the current values.
    f.sub = this.bus.subscribe(
      [`/${connId}/*`, `/system/${connId}/*`],
      (e) => this.onEvent(connId, f, e),
      { from: "retained", sinceMs: this.now() - TREND_BACKFILL_MS },
    );
    const seeded = f.sub.then(() =>
      Promise.all([this.bus.list(`/${connId}/`), this.bus.list(`/system/${connId}/`)]).then(
        ([data, system]) =>
          this.onEvent(connId, f, { kind: "resync", values: [...data, ...system] }),
      ),
    );
    // Caught up: the seed read, then no replayed entry for 150 ms (the replay comes in
    // batches of XREAD), or 3 s at most.
    f.backfilled = seeded
      .then(async () => {
        const t0 = performance.now();
        while (performance.now() - t0 < 3000 && performance.now() - f.lastEventAt < 150)
          await Bun.sleep(50);
      })
      .catch(() => {});
    f.sub.catch((err) => {
      this.log.warn({ err: String(err), conn: connId }, "live feed subscription failed");
      // kept with its watchers; subscribed again once the bus is reachable
      if (this.feeds.get(connId) === f) f.failed = true;
    });
  }

  private startBusCheck(): void {
    if (this.busTimer) return;
    this.busTimer = setInterval(() => this.checkBus(), BUS_CHECK_MS);
    this.busTimer.unref?.();
  }

  /** Tells every watcher when the bus link changed; re-subscribes failed feeds when it is up. */
  private checkBus(): void {
    this.probe.step();
    const up = this.probe.up;
    if (up) {
      for (const [id, f] of this.feeds) if (f.failed) this.subscribeFeed(id, f);
    }
    if (up === this.busUp) return;
    const was = this.busUp;
    this.busUp = up;
    if (was === undefined && up) return; // first check, and all is well: watchers were told at watch()
    this.log.info({ connected: up }, up ? "live: tag bus back" : "live: tag bus unreachable");
    for (const f of this.feeds.values()) {
      for (const w of f.watchers) w.send({ kind: "bus", connected: up });
    }
  }

  private onEvent(connId: string, feed: ConnFeed, e: BusEvent): void {
    feed.lastEventAt = performance.now();
    if (e.kind === "gap") {
      for (const w of feed.watchers) w.send({ kind: "gap", reason: e.reason });
      return;
    }
    // A resync (the current values read at the start, or after lost data) may come after
    // newer replayed or live samples: only values newer than those seen count.
    const values =
      e.kind === "resync"
        ? e.values.filter((v) => (feed.latest.get(v.path)?.ts ?? Number.NEGATIVE_INFINITY) < v.ts)
        : [e.value];
    if (values.length === 0) return;
    for (const v of values) {
      feed.latest.set(v.path, v);
      if (!v.path.startsWith("/system/")) this.record(feed, v);
      else if (v.path === systemTagPath(connId, HEALTH_TAGS.lastError)) this.recordError(feed, v);
    }
    // Values of one bus batch (an XREAD reply is delivered value by value, in one turn) go
    // out as one message per watcher: thousands of updates per second are a few SSE events.
    for (const w of feed.watchers) {
      const mine = values.filter((v) => passes(connId, w.filter, v.path));
      if (mine.length === 0) continue;
      if (w.pending.length === 0) {
        setImmediate(() => {
          const batch = w.pending;
          w.pending = [];
          if (feed.watchers.has(w)) w.send({ kind: "values", values: batch });
        });
      }
      for (const v of mine) w.pending.push(v);
    }
  }

  private recordError(feed: ConnFeed, v: TagValue): void {
    if (typeof v.value !== "string") return;
    let msg = v.value;
    let ts = v.ts;
    try {
      const e = JSON.parse(v.value) as {
        at?: number;
        where?: string;
        reason?: string;
        message?: string;
      };
      msg = `${e.where ?? ""}: ${e.message ?? ""}${e.reason ? ` (${e.reason})` : ""}`;
      ts = typeof e.at === "number" ? e.at : ts;
    } catch {
      // a plain string
    }
    const key = `${ts}|${msg}`;
    if (feed.errors.some((e) => e.key === key)) return;
    feed.errors.push({ ts, level: "error", msg, key });
    if (feed.errors.length > MAX_ERRORS) feed.errors.splice(0, feed.errors.length - MAX_ERRORS);
  }

  private record(feed: ConnFeed, v: TagValue): void {
    let h = feed.history.get(v.path);
    if (!h) {
      h = [];
      feed.history.set(v.path, h);
    }
    const last = h[h.length - 1];
    if (last && last.ts > v.ts) return; // a chart's time axis only goes forward
    if (last && last.ts === v.ts && last.value === v.value && last.quality === v.quality) return;
    h.push({ ts: v.ts, value: v.value, quality: v.quality });
    const cutoff = this.now() - TREND_WINDOW_MS;
    let drop = 0;
    while (drop < h.length && (h[drop]!.ts < cutoff || h.length - drop > TREND_MAX_POINTS)) drop++;
    if (drop > 0) h.splice(0, drop);
  }

  private async drop(connId: string): Promise<void> {
    const feed = this.feeds.get(connId);
    if (!feed) return;
    this.feeds.delete(connId);
    clearTimeout(feed.idleTimer);
    try {
      await (await feed.sub).close();
    } catch {
      // the subscription never started or the bus is closing
    }
  }
}

function passes(connId: string, filter: TagFilter, path: string): boolean {
  if (path.startsWith("/system/")) return true;
  if (filter === null) return true;
  const tag = path.slice(connId.length + 2);
  return filter.names?.has(tag) === true || filter.match?.(tag) === true;
}
