import { BoundedMemo } from "../core/bounded-memo.ts";
import type { Logger } from "../core/log.ts";
import type { Quality } from "../core/quality.ts";
import type { TagData, TagSample } from "../core/tag-value.ts";
import { type EncodedSample, encodeSample } from "./codec.ts";
import { type BusClient, backoffMs, runScript, runScriptArgs, scriptSha } from "./connection.ts";
import type { BusKeys } from "./keys.ts";
import { Outbox, type OutboxBatch } from "./outbox.ts";
import { PUBLISH_LUA, RESTORE_LUA } from "./scripts.ts";
import type { PublishOptions } from "./tagbus.ts";

/** Samples per stream entry (one PUBLISH script call) when the outbox is flushed. */
export const FLUSH_CHUNK = 1000;
/** How often an idle publisher checks that Redis still holds its data, ms. */
export const LOSS_CHECK_MS = 2000;
/** PUBLISH calls re-encoded in a row for a moved seq counter before the pump backs off. */
const MAX_RESEQ = 5;

/** A call to the PUBLISH script, kept unchanged until it succeeds (same `counter` on retry). */
interface Flight {
  counter: number;
  samples: EncodedSample[];
  batches: OutboxBatch[];
  dropped: number;
  /** Roots of the dropped samples, registered with the gap marker. */
  droppedRoots?: string[];
  /** A republish of current values after lost data (RESTORE script), not new samples. */
  restore?: boolean;
  /** New samples published with `ifNewer`: committed by the RESTORE script too. */
  ifNewer?: boolean;
}

/**
 * A committed sample as the publisher remembers it for a republish: its value, quality,
 * reason and ts, not its encoded strings. The record of a path is updated in place, so a
 * numeric or boolean tag's update keeps nothing new alive; holding each published
 * {@link EncodedSample} (its JSON strings) kept them reachable at Bun's ~1 s eden
 * collections, which promoted them to the old generation as garbage (docs/performance.md
 * "Publish-path garbage").
 */
interface CurrentSample {
  path: string;
  value: TagData;
  quality: Quality;
  reason: string | undefined;
  ts: number;
}

/** Records `s` as the current value of its path (updating the path's record in place). */
function remember(current: Map<string, CurrentSample>, s: EncodedSample): void {
  const c = current.get(s.path);
  const reason = s.reason ?? undefined;
  if (c === undefined) {
    current.set(s.path, { path: s.path, value: s.value, quality: s.quality, reason, ts: s.ts });
    return;
  }
  c.value = s.value;
  c.quality = s.quality;
  c.reason = reason;
  c.ts = s.ts;
}

/**
 * The producer side of the bus: validates samples, queues them in the {@link Outbox}, and
 * pumps them to Redis in order with the PUBLISH script. A failed call is retried with the
 * same `instance:counter`, which the script uses to ignore a call that had in fact been
 * committed before the connection dropped.
 *
 * Lost data (docs/tagbus.md "Republish after lost data"): the publisher remembers the last
 * committed sample of every path it published and the highest seq it was given. When Redis
 * hands out a seq at or below that one, or its `{p}seq` counter for this producer is below it
 * (checked on every reconnect and every `lossCheckMs`), Redis lost data (restart without its
 * append-only file, an older AOF, FLUSHALL): it republishes every remembered path with the
 * RESTORE script (newer values of other producers win) before the rest of the outbox, and
 * calls the {@link onDataLost} listeners.
 */
export class Publisher {
  readonly outbox: Outbox;
  published = 0;
  private flight: Flight | undefined;
  private counter = 0;
  private pumping = false;
  private failures = 0;
  private retryTimer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;
  /**
   * Last committed sample per path (what this producer holds as current values), one record
   * per path updated in place; encoded again only for a republish.
   */
  private readonly current = new Map<string, CurrentSample>();
  /** Highest seq Redis gave this instance since the last detected loss (0 = none yet). */
  private lastSeq = 0;
  /**
   * The seq Redis is expected to hand out next (its counter + 1), for which the current values
   * of a PUBLISH call are encoded; 0 = not known yet (the first call learns it).
   */
  private nextSeq = 0;
  /** Paths still to republish after a loss. */
  private restoreQueue: string[] = [];
  private readonly lossListeners: ((why: string) => void)[] = [];
  private readonly lossTimer: ReturnType<typeof setInterval>;
  /** Times Redis was found to have lost this producer's data. */
  dataLosses = 0;
  /** Samples republished after lost data. */
  republished = 0;
  /** Keys and arguments that are the same in every PUBLISH call. */
  private readonly streamKey: string;
  private readonly maxLenArg: string;
  private readonly maxAgeArg: string;
  /** The key of each root's current-value hash, built once per root. */
  private readonly curKeys: BoundedMemo<string, string>;

  constructor(
    private readonly client: BusClient,
    private readonly keys: BusKeys,
    private readonly producer: string,
    private readonly instance: string,
    outboxMax: number,
    private readonly streamMaxLen: number,
    private readonly streamMaxAgeMs: number,
    private readonly publishWaitMs: number,
    private readonly log: Logger,
    lossCheckMs: number = LOSS_CHECK_MS,
  ) {
    this.outbox = new Outbox(outboxMax);
    this.streamKey = keys.stream(producer);
    this.maxLenArg = String(streamMaxLen);
    this.maxAgeArg = String(streamMaxAgeMs);
    this.curKeys = new BoundedMemo(10_000, (root) => keys.cur(root));
    client.on("ready", () => {
      void this.checkLost("reconnected");
      this.kick();
    });
    this.lossTimer = setInterval(() => void this.checkLost("check"), lossCheckMs);
    this.lossTimer.unref?.();
  }

  /** Calls `fn(why)` each time Redis is found to have lost this producer's data. */
  onDataLost(fn: (why: string) => void): void {
    this.lossListeners.push(fn);
  }

  /**
   * Compares the producer's seq counter in Redis with the highest seq this instance was
   * given; a counter below it (or gone) means Redis lost data. Never throws.
   */
  async checkLost(why: string): Promise<void> {
    const mine = this.lastSeq;
    if (mine === 0 || this.closed || !this.client.isReady) return;
    try {
      const raw = (await this.client.sendCommand(["HGET", this.keys.seq, this.producer])) as
        | string
        | null;
      const counter = raw === null ? 0 : Number(raw);
      // commands on one connection run in order: a counter read after our commits is ≥ mine
      if (counter < mine && this.lastSeq === mine) {
        this.dataLost(`${why}: seq counter ${counter} < ${mine}`);
      }
    } catch {
      // Redis unreachable: checked again on reconnect
    }
  }

  private dataLost(detail: string): void {
    this.lastSeq = 0;
    this.dataLosses++;
    this.restoreQueue = [...this.current.keys()];
    this.log.warn(
      { producer: this.producer, detail, republish: this.restoreQueue.length },
      "tagbus: Redis lost this producer's data; republishing its current values",
    );
    for (const fn of this.lossListeners) {
      try {
        fn(detail);
      } catch (e) {
        this.log.error({ err: String(e) }, "tagbus: data-lost listener threw");
      }
    }
    this.kick();
  }

  /** See TagBus.publish. */
  async publish(samples: TagSample[], options?: PublishOptions): Promise<void> {
    const enc = samples.map((s) => encodeSample(s, this.producer));
    if (options?.ifNewer) for (const e of enc) e.ifNewer = true;
    if (enc.length === 0) return;
    // One promise, settled by whichever comes first: the batch's commit or `publishWaitMs`
    // (a `Promise.race` of two promises was one more promise and reaction per publish).
    let done!: () => void;
    const settled = new Promise<void>((r) => {
      done = r;
    });
    const inFlight = this.flight && !this.flight.restore ? this.flight.samples.length : 0;
    this.outbox.push(enc, { remaining: enc.length, done }, inFlight);
    this.kick();
    if (!this.client.isReady) return;
    const timer = setTimeout(done, this.publishWaitMs);
    await settled;
    clearTimeout(timer);
  }

  /** Samples not yet on the bus (outbox plus the call in flight). */
  get pending(): number {
    return this.outbox.length + (this.flight?.samples.length ?? 0);
  }

  /** Tries to flush everything within `timeoutMs`; true when nothing is left. */
  async flush(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (this.pending > 0 || this.outbox.pendingDropped > 0) {
      if (Date.now() >= deadline) return false;
      this.kick();
      await Bun.sleep(10);
    }
    return true;
  }

  /** Stops retrying and checking. */
  stop(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
    clearInterval(this.lossTimer);
  }

  /** Starts the pump unless it runs already. */
  kick(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    this.pump().catch((e) => this.log.error({ err: String(e) }, "tagbus: publish pump failed"));
  }

  /**
   * Sends the outbox (and any republish) until it is empty, Redis is not ready, or a call
   * fails. `pumping` is cleared in the same job as the last look at the outbox: cleared a few
   * microtasks later (a `.finally` on the call, as before), a publish made in between found
   * the pump "running" and its batch waited for `publishWaitMs`.
   */
  private async pump(): Promise<void> {
    try {
      while (!this.closed) {
        if (
          !this.flight &&
          this.restoreQueue.length === 0 &&
          this.outbox.length === 0 &&
          this.outbox.pendingDropped === 0
        )
          return;
        if (!this.client.isReady) return this.scheduleRetry();
        if (!this.flight && this.restoreQueue.length > 0) {
          const paths = this.restoreQueue.splice(0, FLUSH_CHUNK);
          const samples: EncodedSample[] = [];
          for (const p of paths) {
            const c = this.current.get(p);
            if (c !== undefined) samples.push(encodeSample(c, this.producer));
          }
          if (samples.length === 0) continue;
          this.flight = {
            counter: ++this.counter,
            samples,
            batches: [],
            dropped: 0,
            restore: true,
          };
        }
        if (!this.flight && this.outbox.pendingDropped > 0 && this.outbox.headIfNewer) {
          // the RESTORE script writes no gap marker: send it alone, before the conditional samples
          this.flight = {
            counter: ++this.counter,
            samples: [],
            batches: [],
            dropped: this.outbox.takeDropped(),
            droppedRoots: this.outbox.takeDroppedRoots(),
          };
        }
        if (!this.flight) {
          const ifNewer = this.outbox.headIfNewer;
          const { samples, batches } = this.outbox.take(Math.min(FLUSH_CHUNK, this.outbox.max));
          this.flight = {
            counter: ++this.counter,
            samples,
            batches,
            dropped: ifNewer ? 0 : this.outbox.takeDropped(),
            droppedRoots: ifNewer ? [] : this.outbox.takeDroppedRoots(),
            ifNewer,
          };
        }
        let seq0 = 0;
        let n = 0;
        try {
          [seq0, n] =
            this.flight.restore || this.flight.ifNewer
              ? await this.sendRestore(this.flight)
              : [await this.send(this.flight), this.flight.samples.length];
        } catch (e) {
          this.failures++;
          if (this.failures === 1) {
            this.log.warn(
              { err: String(e), pending: this.pending },
              "tagbus: publish failed, kept in outbox",
            );
          }
          return this.scheduleRetry();
        }
        this.failures = 0;
        const f = this.flight;
        this.flight = undefined;
        if (f.restore) this.republished += n;
        else {
          this.published += f.samples.length;
          for (const s of f.samples) {
            // An `ifNewer` sample is a claim on another producer's behalf (the supervisor's
            // `INIT starting (pid N)` for an app it spawned): the owner's own values supersede
            // it, so it is not restored after lost data, nor is what it superseded here.
            if (f.ifNewer) this.current.delete(s.path);
            else remember(this.current, s);
          }
          Outbox.release(f.batches);
        }
        if (seq0 > 0) {
          // a seq handed out again: Redis forgot the ones it gave us
          if (seq0 <= this.lastSeq) this.dataLost(`seq ${seq0} given again (had ${this.lastSeq})`);
          else this.lastSeq = seq0 + n - 1;
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, backoffMs(this.failures));
  }

  /**
   * One PUBLISH call (repeated when Redis's seq counter is not the one the current values were
   * encoded for: first call of this instance, lost data, another instance of the producer).
   * @returns the first seq it was given, or 0 (a de-duplicated retry).
   * @throws Error after {@link MAX_RESEQ} such repeats in a row (retried by the pump).
   */
  private async send(f: Flight): Promise<number> {
    const samples = f.samples;
    const n = samples.length;
    // Only the last sample of each path in the call becomes its current value.
    const lastOf = new Map<string, number>();
    for (let i = 0; i < n; i++) lastOf.set(samples[i]!.path, i);
    // Roots in order of first appearance; per root, the indices of those last samples.
    const roots: string[] = [];
    const fields: number[][] = [];
    const rootAt = new Map<string, number>();
    let prevRoot = "";
    let r = -1;
    for (let i = 0; i < n; i++) {
      const s = samples[i]!;
      if (s.root !== prevRoot) {
        prevRoot = s.root;
        r = rootAt.get(prevRoot) ?? -1;
        if (r < 0) {
          r = roots.length;
          rootAt.set(prevRoot, r);
          roots.push(prevRoot);
          fields.push([]);
        }
      }
      if (lastOf.get(s.path) === i) fields[r]!.push(i);
    }
    // roots only the dropped samples were under: registered with the gap marker, no values
    for (const root of f.droppedRoots ?? []) {
      if (!rootAt.has(root)) {
        rootAt.set(root, roots.length);
        roots.push(root);
        fields.push([]);
      }
    }
    let d = "[";
    for (let i = 0; i < n; i++) d += i === 0 ? samples[i]!.entry : `,${samples[i]!.entry}`;
    d += "]";
    const nroots = String(roots.length);
    for (let attempt = 0; ; attempt++) {
      const seq0 = this.nextSeq;
      // EVALSHA's arguments in one array (see PUBLISH_LUA for KEYS and ARGV)
      const argv: string[] = [
        scriptSha(PUBLISH_LUA),
        String(5 + roots.length),
        this.streamKey,
        this.keys.seq,
        this.keys.pub,
        this.keys.reg,
        this.keys.regs,
      ];
      for (const root of roots) argv.push(this.curKeys.get(root));
      argv.push(
        this.producer,
        this.instance,
        String(f.counter),
        this.maxLenArg,
        this.maxAgeArg,
        String(f.dropped),
        "outbox_overflow",
        d,
        String(n),
        String(seq0),
        nroots,
      );
      for (const root of roots) argv.push(root);
      for (const idx of fields) {
        argv.push(String(idx.length));
        for (const i of idx) {
          const s = samples[i]!;
          argv.push(s.path, `${s.curPrefix}${seq0 + i}]`);
        }
      }
      const r = await runScriptArgs<[number, string | number]>(this.client, PUBLISH_LUA, argv);
      const first = Number(r[0]);
      if (first !== -1) {
        if (first > 0) this.nextSeq = first + n;
        return first || 0;
      }
      this.nextSeq = Number(r[1]) + 1;
      if (attempt >= MAX_RESEQ) throw new Error(`seq counter of ${this.producer} keeps moving`);
    }
  }

  /** One RESTORE call. @returns [first seq, samples kept], [0, 0] when none was kept. */
  private async sendRestore(f: Flight): Promise<[number, number]> {
    const roots: string[] = [];
    const rootIdx = new Map<string, number>();
    for (const s of f.samples) {
      if (!rootIdx.has(s.root)) {
        roots.push(s.root);
        rootIdx.set(s.root, roots.length);
      }
    }
    const keys = [
      this.keys.stream(this.producer),
      this.keys.seq,
      this.keys.pub,
      this.keys.reg,
      this.keys.regs,
      ...roots.map((r) => this.curKeys.get(r)),
    ];
    const args: string[] = [
      this.producer,
      this.instance,
      String(f.counter),
      String(this.streamMaxLen),
      String(this.streamMaxAgeMs),
      String(f.samples.length),
      String(roots.length),
      ...roots,
    ];
    for (const s of f.samples) {
      args.push(String(rootIdx.get(s.root)), s.path, s.curPrefix, String(s.ts), s.entry);
    }
    const r = await runScript<[number, string, number]>(this.client, RESTORE_LUA, keys, args);
    const seq0 = Number(r[0]) || 0;
    const kept = Number(r[2]) || 0;
    if (seq0 > 0) this.nextSeq = seq0 + kept;
    return [seq0, kept];
  }
}
