import type { Logger } from "../core/log.ts";
import type { TagValue } from "../core/tag-value.ts";
import type { AckSubscription, BusEvent } from "../tagbus/tagbus.ts";
import { AckTracker } from "./ack-tracker.ts";
import type { NorthBuffer } from "./buffer.ts";
import type { BusGap, ConnState, NorthFormat, OutMessage } from "./format.ts";
import type { MqttSession } from "./session.ts";
import type { View } from "./view.ts";

/** Tunables of a {@link Pipeline}. */
export interface PipelineOptions {
  /** Live messages unconfirmed at most before the bus handler waits (back-pressure). Default 5000. */
  maxInflight?: number;
  /** Flush a live batch at this many updates (else at the end of a bus read). Default 1000. */
  flushAt?: number;
  /** Buffered updates per replay batch. Default 200. */
  replayBatch?: number;
  /** Buffered updates unconfirmed at most during replay (bounds how far live waits behind replay on the socket). Default 1000. */
  replayWindow?: number;
  /** Replayed updates per second at most; 0 = only the window bounds it. Default 0. */
  replayMaxPerS?: number;
}

/** What the pipeline needs from the app. */
export interface PipelineDeps {
  view: View;
  buffer: NorthBuffer;
  log: Logger;
  format: () => NorthFormat;
  /** The session when data may flow (connected, subscribed, gate open), else undefined. */
  live: () => MqttSession | undefined;
  /** `min_interval_ms` of the configuration. */
  minIntervalMs: () => number;
  /** A gap on the bus (already logged by the bus). */
  onGap: (gap: BusGap) => void;
  /** A connection's state changed. */
  onConnChanged: (now: ConnState, prev: ConnState | undefined) => void;
  /** Updates were dropped by the buffer caps. */
  onDropped: (n: number) => void;
  /** Messages were confirmed by the broker (for msgs/s). */
  onPublished: (n: number) => void;
  /**
   * The buffer could not be written (disk full, I/O error): `n` updates were not stored and
   * are not acknowledged on the bus (a restart reads them again from the TagBus position).
   */
  onBufferFailed: (err: Error, n: number) => void;
  options?: PipelineOptions;
}

/**
 * The data path of ne-north (docs/north.md "Delivery"): TagBus events in, MQTT messages or
 * buffer rows out, bus acknowledgements back.
 *
 * - Selected updates are collected into a batch (one TagBus read, at most `flushAt`), then
 *   either encoded and published live, or appended to the on-disk buffer when no session is
 *   live (broker unreachable, gate held). The batch's bus position is acknowledged once every
 *   message is confirmed, or once the buffer holds the batch.
 * - A live batch whose messages are not all confirmed when the session ends goes to the
 *   buffer (it is replayed, flagged, after the reconnect).
 * - While live and the buffer is not empty, a replay pump sends the oldest rows as
 *   historical, `replayBatch` at a time, at most `replayWindow` unconfirmed; rows are deleted
 *   on confirmation. Live batches are published as they come, between replay batches.
 */
export class Pipeline {
  private tracker: AckTracker | undefined;
  private pending: TagValue[] = [];
  private pendingPos = 0;
  private coveredPos = 0;
  private flushTimer: ReturnType<typeof setTimeout> | undefined;
  private inflight = 0;
  private waiters: (() => void)[] = [];
  private replayAfter = 0;
  private replayInflight = 0;
  private pumping = false;
  private replayWake: (() => void) | undefined;
  private readonly lastSent = new Map<string, number>();
  private readonly deferred = new Map<string, TagValue>();
  private deferTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly o: Required<PipelineOptions>;
  private replayTokens = 0;
  private replayTokensAt = Date.now();
  /** Updates appended to the buffer since start. */
  bufferedIn = 0;
  /** Updates replayed and confirmed since start. */
  replayed = 0;

  constructor(private readonly d: PipelineDeps) {
    this.o = {
      maxInflight: 5000,
      flushAt: 1000,
      replayBatch: 200,
      replayWindow: 1000,
      replayMaxPerS: 0,
      ...d.options,
    };
  }

  /** Binds the bus subscription whose events follow (a new subscription restarts positions). */
  attach(sub: AckSubscription): void {
    this.flush();
    this.tracker = new AckTracker((pos) => sub.ack(pos));
    this.pendingPos = 0;
    this.coveredPos = 0;
  }

  /** Live messages not yet confirmed. */
  get inflightMessages(): number {
    return this.inflight;
  }

  /** The TagBus handler (durable, manualAck). */
  readonly handle = (e: BusEvent): undefined | Promise<void> => {
    const pos = e.position ?? 0;
    if (e.kind === "value") {
      const v = e.value;
      if (v.path.startsWith("/system/")) {
        const ch = this.d.view.applyState(v);
        if (ch) {
          this.flush();
          this.d.onConnChanged(ch.now, ch.prev);
        }
        this.cover(pos);
      } else if (this.d.view.selects(v.path)) {
        this.d.view.setValue(v);
        this.pending.push(v);
        this.pendingPos = pos;
        if (this.pending.length >= this.o.flushAt) this.flush();
        else this.flushTimer ??= setTimeout(() => this.flush(), 0);
      } else {
        this.cover(pos);
      }
    } else if (e.kind === "gap") {
      this.flush();
      const gap: BusGap = { reason: e.reason, ts: Date.now() };
      if (e.producer !== undefined) gap.producer = e.producer;
      if (e.dropped !== undefined) gap.dropped = e.dropped;
      this.d.onGap(gap);
      this.cover(pos);
    } else {
      // a resync (first start, or after a gap): its current values are published like
      // updates, so a consumer starts from (or gets back to) the current state
      this.flush();
      for (const v of e.values) {
        if (v.path.startsWith("/system/")) {
          const ch = this.d.view.applyState(v);
          if (ch) this.d.onConnChanged(ch.now, ch.prev);
        } else if (this.d.view.selects(v.path)) {
          this.d.view.setValue(v);
          this.pending.push(v);
        }
      }
      if (this.pending.length) {
        this.pendingPos = pos;
        this.flush();
      } else this.cover(pos);
    }
    if (this.inflight >= this.o.maxInflight) {
      return new Promise<void>((r) => this.waiters.push(r));
    }
    return undefined;
  };

  /** Marks events up to `pos` as needing nothing (no pending batch in front of them). */
  private cover(pos: number): void {
    if (this.pending.length) {
      this.pendingPos = pos;
      return;
    }
    if (pos > this.coveredPos && this.tracker) {
      this.coveredPos = pos;
      this.tracker.add(pos, true);
    }
  }

  /** Publishes or buffers the pending batch. */
  flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = undefined;
    }
    const values = this.pending;
    if (values.length === 0) return;
    const pos = this.pendingPos;
    this.pending = [];
    this.coveredPos = pos;
    const unit = this.tracker?.add(pos);
    const done = () => {
      if (unit) this.tracker?.complete(unit);
    };
    const session = this.d.live();
    if (!session) {
      if (this.toBuffer(values)) done();
      return;
    }
    const send = this.rateLimit(values);
    const msgs = this.encode(send, false);
    if (msgs.length === 0) {
      done();
      return;
    }
    this.inflight += msgs.length;
    Promise.all(msgs.map((m) => session.publish(m))).then(
      () => {
        this.release(msgs.length);
        this.d.onPublished(msgs.length);
        done();
      },
      () => {
        this.release(msgs.length);
        if (this.toBuffer(send)) done();
      },
    );
  }

  /** With `min_interval_ms`: values of a tag sent less than that ago wait (the latest wins). */
  private rateLimit(values: TagValue[]): TagValue[] {
    const min = this.d.minIntervalMs();
    if (min <= 0) return values;
    const now = Date.now();
    const out: TagValue[] = [];
    for (const v of values) {
      const last = this.lastSent.get(v.path);
      if (last !== undefined && now - last < min) {
        this.deferred.set(v.path, v);
        continue;
      }
      this.deferred.delete(v.path);
      this.lastSent.set(v.path, now);
      out.push(v);
    }
    if (this.deferred.size && !this.deferTimer) {
      this.deferTimer = setTimeout(() => {
        this.deferTimer = undefined;
        this.sendDeferred();
      }, min);
    }
    return out;
  }

  private sendDeferred(): void {
    const session = this.d.live();
    const now = Date.now();
    const min = this.d.minIntervalMs();
    const due: TagValue[] = [];
    for (const [path, v] of this.deferred) {
      if (now - (this.lastSent.get(path) ?? 0) >= min) {
        due.push(v);
        this.deferred.delete(path);
        this.lastSent.set(path, now);
      }
    }
    if (due.length) {
      if (session) {
        for (const m of this.encode(due, false)) session.publish(m).catch(() => {});
      } else this.toBuffer(due);
    }
    if (this.deferred.size) {
      this.deferTimer = setTimeout(() => {
        this.deferTimer = undefined;
        this.sendDeferred();
      }, min);
    }
  }

  private encode(values: readonly TagValue[], historical: boolean): OutMessage[] {
    try {
      return this.d.format().encode(values, { historical });
    } catch (e) {
      this.d.log.error(
        { err: String(e), updates: values.length, historical },
        "north: the format could not encode updates; they are dropped",
      );
      return [];
    }
  }

  /** Appends to the buffer; false (and `onBufferFailed`) when it cannot be written. Never throws. */
  private toBuffer(values: readonly TagValue[]): boolean {
    let dropped: number;
    try {
      dropped = this.d.buffer.append(values);
    } catch (e) {
      this.d.onBufferFailed(e instanceof Error ? e : new Error(String(e)), values.length);
      return false;
    }
    this.bufferedIn += values.length;
    if (dropped > 0) this.d.onDropped(dropped);
    return true;
  }

  private release(n: number): void {
    this.inflight -= n;
    if (this.inflight < this.o.maxInflight && this.waiters.length) {
      for (const w of this.waiters.splice(0)) w();
    }
  }

  /** Starts the replay pump when it is not running (call when a session goes live). */
  kick(): void {
    this.replayWake?.();
    if (this.pumping) return;
    this.pumping = true;
    void this.pump()
      .catch((e) => this.d.log.error({ err: String(e) }, "north: replay failed"))
      .finally(() => {
        this.pumping = false;
      });
  }

  /** A new session: rows sent but unconfirmed in the previous one are sent again. */
  resetReplay(): void {
    this.replayAfter = 0;
  }

  private async pump(): Promise<void> {
    for (;;) {
      const session = this.d.live();
      if (!session) return;
      if (this.replayInflight >= this.o.replayWindow) {
        await new Promise<void>((r) => {
          this.replayWake = r;
        });
        this.replayWake = undefined;
        continue;
      }
      let n = this.o.replayBatch;
      if (this.o.replayMaxPerS > 0) {
        const now = Date.now();
        this.replayTokens = Math.min(
          this.o.replayMaxPerS,
          this.replayTokens + ((now - this.replayTokensAt) * this.o.replayMaxPerS) / 1000,
        );
        this.replayTokensAt = now;
        if (this.replayTokens < 1) {
          await Bun.sleep(Math.ceil(1000 / this.o.replayMaxPerS));
          continue;
        }
        n = Math.min(n, Math.floor(this.replayTokens));
      }
      const rows = this.d.buffer.peek(n, this.replayAfter);
      if (rows.length === 0) {
        if (this.replayInflight === 0) return;
        await new Promise<void>((r) => {
          this.replayWake = r;
        });
        this.replayWake = undefined;
        continue;
      }
      this.replayTokens -= rows.length;
      this.replayAfter = rows[rows.length - 1]!.id;
      const ids = rows.map((r) => r.id);
      const msgs = this.encode(
        rows.map((r) => r.value),
        true,
      );
      this.replayInflight += rows.length;
      const finish = () => {
        this.replayInflight -= rows.length;
        this.replayWake?.();
      };
      Promise.all(msgs.map((m) => session.publish(m))).then(
        () => {
          try {
            this.d.buffer.remove(ids);
          } catch (e) {
            // the rows stay and are sent again (replay duplicates, docs/north.md "Duplicates")
            this.d.onBufferFailed(e instanceof Error ? e : new Error(String(e)), 0);
          }
          this.replayed += rows.length;
          this.d.onPublished(msgs.length);
          finish();
        },
        () => {
          this.replayAfter = 0;
          finish();
        },
      );
      await Bun.sleep(0); // let live batches in between
    }
  }

  /** Stops timers; the pending batch is left unacknowledged (the bus delivers it again). */
  stop(): void {
    if (this.flushTimer) clearTimeout(this.flushTimer);
    if (this.deferTimer) clearTimeout(this.deferTimer);
    this.flushTimer = undefined;
    this.deferTimer = undefined;
    this.pending = [];
    this.replayWake?.();
    for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves once no live message is in flight, or after `timeoutMs`. */
  async settle(timeoutMs: number): Promise<void> {
    const end = Date.now() + timeoutMs;
    while ((this.inflight > 0 || this.replayInflight > 0) && Date.now() < end) await Bun.sleep(20);
  }
}
