import type { Logger } from "../core/log.ts";
import { matchesPattern } from "../core/paths.ts";
import { decodeBatch } from "./codec.ts";
import { type BusClient, destroyClient, waitReady } from "./connection.ts";
import { type BusKeys, compareIds, prevId } from "./keys.ts";
import { type Cursor, matchingRegistrations, takeSnapshot } from "./snapshot.ts";
import type {
  AckSubscription,
  BusEvent,
  BusHandler,
  GapEvent,
  ResyncEvent,
  SubscribeOptions,
} from "./tagbus.ts";

/**
 * Longest time a durable subscriber's cursor may lag behind entries that delivered nothing
 * (none of their samples matched), ms: such an entry read again after a crash delivers nothing
 * again, so its cursor is saved with the next delivering entry or within this time.
 */
export const SAVE_QUIET_MS = 1000;

/** Tunables of a subscriber. */
export interface SubscriberOptions {
  /** XREAD BLOCK time in ms (also the idle check period). Default 1000. */
  blockMs?: number;
  /** Entries per XREAD. Default 1000. */
  count?: number;
}

/** Counters shared by the subscribers of one bus. */
export interface SubscriberCounters {
  /** Stream entries that could not be decoded and were skipped. */
  malformed: number;
  /** Events whose handler threw (logged; delivery went on). */
  handlerErrors: number;
}

/**
 * With `manualAck`: the saved cursors after the events up to `pos` are acknowledged. An entry's
 * checkpoint moves one producer's cursor; a resync's replaces them all.
 */
interface Checkpoint {
  pos: number;
  producer?: string;
  cursor?: Cursor;
  snapshot?: Map<string, Cursor>;
}

/**
 * One subscription: a loop of XREAD BLOCK on its own connection over the registration
 * stream and the streams of every producer that published under a matching root
 * (docs/tagbus.md §Subscribe). Checks per-producer seq continuity; on a gap marker, a seq
 * jump, or a stream that went back (Redis lost data) it emits a GapEvent and a ResyncEvent
 * and continues from the resync's cut.
 *
 * With `manualAck` (durable only) two cursor sets exist: the read cursors (what XREAD
 * continues from) and the committed ones (what is saved), which move only through
 * {@link ack}, one whole stream entry at a time.
 */
export class Subscriber implements AckSubscription {
  private cursors = new Map<string, Cursor>();
  private regsId = "0-0";
  private closed = false;
  private loop: Promise<void> | undefined;
  private queue: BusEvent[] = [];
  private dirty = new Set<string>();
  private lastVerify = Date.now();
  /** When the cursors were last saved (durable), ms. */
  private lastSave = 0;
  /** Something was delivered (or reset) since the last save: save before the next XREAD. */
  private mustSave = false;
  private readonly filter: (path: string) => boolean;
  /**
   * `["{literal prefix of a pattern}`: a stream entry whose `d` holds none of these has no
   * sample any pattern can match (paths are JSON strings at the head of each sample), so it
   * is skipped without decoding. `undefined` when a pattern starts with a wildcard.
   */
  private readonly needles: string[] | undefined;
  private readonly manual: boolean;
  /** {@link SubscribeOptions.ignoreProducers}. */
  private readonly ignored: ReadonlySet<string>;
  private committed = new Map<string, Cursor>();
  private committedDirty = new Set<string>();
  private checkpoints: Checkpoint[] = [];
  private cpHead = 0;
  private position = 0;
  private ackedPos = 0;
  /** {@link SubscribeOptions.readGapMs}: when the last XREAD was issued (epoch ms). */
  private lastReadAt = 0;
  /** Ends a {@link SubscribeOptions.readGapMs} wait at once (close). */
  private wakeGap: (() => void) | undefined;

  constructor(
    private readonly cmd: BusClient,
    private readonly blk: BusClient,
    private readonly keys: BusKeys,
    private readonly patterns: string[],
    private readonly handler: BusHandler,
    private readonly options: SubscribeOptions,
    private readonly counters: SubscriberCounters,
    private readonly log: Logger,
    private readonly tun: SubscriberOptions = {},
  ) {
    this.filter = (path) => patterns.some((p) => matchesPattern(p, path));
    const prefixes = patterns.map((p) => (p.includes("*") ? p.slice(0, p.indexOf("*")) : p));
    this.needles = prefixes.some((p) => p.length <= 1) ? undefined : prefixes.map((p) => `["${p}`);
    this.manual = options.manualAck === true;
    this.ignored = new Set(options.ignoreProducers ?? []);
    if (this.manual && !options.durable) throw new Error("manualAck needs a durable name");
  }

  /** The highest acknowledged position (manualAck). */
  get acked(): number {
    return this.ackedPos;
  }

  /** See {@link AckSubscription.ack}. A no-op without `manualAck`. */
  ack(position: number): void {
    if (!this.manual || position <= this.ackedPos) return;
    this.ackedPos = Math.min(position, this.position);
    while (this.cpHead < this.checkpoints.length) {
      const cp = this.checkpoints[this.cpHead]!;
      if (cp.pos > this.ackedPos) break;
      this.commit(cp);
      this.cpHead++;
    }
    if (this.cpHead > 1024 && this.cpHead * 2 > this.checkpoints.length) {
      this.checkpoints = this.checkpoints.slice(this.cpHead);
      this.cpHead = 0;
    }
    if (this.committedDirty.size) this.saveCursors().catch(() => {});
  }

  private checkpoint(cp: Checkpoint): void {
    if (cp.pos <= this.ackedPos) this.commit(cp);
    else this.checkpoints.push(cp);
  }

  private commit(cp: Checkpoint): void {
    this.committedDirty.add("_regs"); // the hash exists from the first commit on
    if (cp.snapshot) {
      this.committed = cp.snapshot;
      for (const p of cp.snapshot.keys()) this.committedDirty.add(p);
    } else if (cp.producer && cp.cursor) {
      this.committed.set(cp.producer, cp.cursor);
      this.committedDirty.add(cp.producer);
    }
  }

  /** Establishes the start position (before resolving, so a later publish is seen) and starts the loop. */
  async start(): Promise<void> {
    if (!(await waitReady(this.blk, 5000))) throw new Error("redis not reachable");
    const name = this.options.durable;
    const restored = name ? await this.restore(name) : false;
    if (restored && this.manual) {
      for (const [p, c] of this.cursors) this.committed.set(p, { ...c });
    }
    if (!restored) {
      if (this.options.from === "retained" && !name) {
        const snap = await takeSnapshot(this.cmd, this.keys, this.patterns, this.filter, false);
        this.regsId = snap.regsId;
        const since = this.options.sinceMs;
        const from = since !== undefined && since > 0 ? `${Math.floor(since)}-0` : "0-0";
        for (const p of snap.cursors.keys()) {
          if (!this.ignored.has(p)) this.cursors.set(p, { id: from, lastSeq: undefined });
        }
      } else {
        // the starting cut is committed at once: nothing before it is owed to this subscriber
        await this.resyncNow(undefined, true);
      }
    } else {
      await this.verify();
    }
    this.loop = this.run();
  }

  async close(): Promise<void> {
    if (this.closed) return this.loop;
    this.closed = true;
    this.wakeGap?.();
    destroyClient(this.blk);
    await this.loop?.catch(() => {});
    await this.saveCursors().catch(() => {});
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closed) {
      try {
        await this.drainQueue();
        if (this.closed) break;
        if (this.manual ? this.committedDirty.size : this.dirty.size && this.saveDue())
          await this.saveCursors().catch(() => {});
        const gap = this.options.readGapMs ?? 0;
        if (gap > 0) {
          const wait = this.lastReadAt + gap - Date.now();
          if (wait > 0) await this.sleepUnlessClosed(wait);
          if (this.closed) break;
          this.lastReadAt = Date.now();
        }
        const reply = await this.read();
        failures = 0;
        if (!reply) {
          if (Date.now() - this.lastVerify > 5000) await this.verify();
          continue;
        }
        await this.handleReply(reply);
      } catch (e) {
        if (this.closed) break;
        failures++;
        if (failures === 1)
          this.log.warn({ err: String(e) }, "tagbus: subscriber read failed, resuming");
        await Bun.sleep(Math.min(1000, 50 * failures));
        await waitReady(this.blk, 60_000, () => this.closed);
        if (this.closed) break;
        try {
          await this.verify();
        } catch {
          // retried on the next turn
        }
      }
    }
  }

  /** Sleeps `ms`, or less when {@link close} is called meanwhile. */
  private sleepUnlessClosed(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wakeGap = done;
    }).then(() => {
      this.wakeGap = undefined;
    });
  }

  private async read(): Promise<[string, [string, string[]][]][] | null> {
    const streams = [this.keys.regs];
    const ids = [this.regsId];
    for (const [p, c] of this.cursors) {
      streams.push(this.keys.stream(p));
      ids.push(c.id);
    }
    const args = [
      "XREAD",
      "COUNT",
      String(this.tun.count ?? 1000),
      "BLOCK",
      String(this.tun.blockMs ?? 1000),
    ];
    return (await this.blk.sendCommand([...args, "STREAMS", ...streams, ...ids])) as
      | [string, [string, string[]][]][]
      | null;
  }

  private async handleReply(reply: [string, [string, string[]][]][]): Promise<void> {
    const streamPrefix = this.keys.stream("");
    for (const [key, entries] of reply) {
      if (this.closed) return;
      if (key === this.keys.regs) {
        for (const [id, f] of entries) {
          this.regsId = id;
          this.onRegistration(fieldsOf(f));
        }
        this.dirty.add("_regs");
        continue;
      }
      const producer = key.slice(streamPrefix.length);
      for (const [id, f] of entries) {
        if (this.closed) return;
        const r = await this.onEntry(producer, id, fieldsOf(f));
        if (r === "resynced") return; // the rest of this reply is behind the new cut
      }
    }
  }

  private onRegistration(f: Record<string, string>): void {
    const producer = f.p;
    const root = f.r;
    const id = f.id;
    if (!producer || !root || !id) return;
    if (this.cursors.has(producer) || this.ignored.has(producer)) return;
    if (matchingRegistrations([{ producer, root, id }], this.patterns).length === 0) return;
    // just before the first entry under a matching root; its seq (when recorded) lets a
    // trimmed stream be detected even for a producer seen for the first time
    const seq = f.s ? Number(f.s) : Number.NaN;
    this.cursors.set(producer, { id: prevId(id), lastSeq: seq > 0 ? seq - 1 : undefined });
    this.dirty.add(producer);
  }

  private async onEntry(
    producer: string,
    id: string,
    f: Record<string, string>,
  ): Promise<"ok" | "resynced"> {
    const cur = this.cursors.get(producer);
    if (!cur) return "ok";
    if (f.g !== undefined) {
      await this.gap({
        kind: "gap",
        producer,
        dropped: Number(f.g),
        reason: f.r ?? "outbox_overflow",
      });
      return "resynced";
    }
    const seq0 = Number(f.s);
    const n = Number(f.n);
    const wellFramed =
      f.d !== undefined && Number.isInteger(seq0) && Number.isInteger(n) && seq0 > 0;
    if (wellFramed && n > 0 && this.cannotMatch(f.d!)) {
      // none of its samples can match: only its seq range matters (continuity), no decoding
      const jump = await this.seqJump(producer, cur, seq0);
      if (jump) return jump;
      this.advance(producer, cur, id, seq0 + n - 1);
      return "ok";
    }
    const values = wellFramed ? decodeBatch(f.d!, producer, seq0) : undefined;
    if (!values || values.length !== n) {
      this.counters.malformed++;
      this.log.warn(
        { producer, id, fields: Object.keys(f) },
        "tagbus: skipped a malformed stream entry",
      );
      cur.id = id;
      this.dirty.add(producer);
      if (this.manual) this.checkpoint({ pos: this.position, producer, cursor: { ...cur } });
      return "ok";
    }
    const jump = await this.seqJump(producer, cur, seq0);
    if (jump) return jump;
    let delivered = 0;
    for (const value of values) {
      if (this.closed) return "ok";
      if (!this.filter(value.path)) continue;
      delivered++;
      await this.deliver(
        this.manual
          ? { kind: "value", value, position: ++this.position }
          : { kind: "value", value },
      );
    }
    this.advance(producer, cur, id, seq0 + n - 1);
    // An entry that delivered nothing is saved with the next one that does, or within
    // SAVE_QUIET_MS: delivered again after a crash, it delivers nothing again.
    if (this.options.durable && (delivered > 0 || this.manual)) this.saveCursors().catch(() => {});
    return "ok";
  }

  /** Whether the (non-manual) cursors are due to be saved before the next XREAD. */
  private saveDue(): boolean {
    return this.mustSave || Date.now() - this.lastSave >= SAVE_QUIET_MS;
  }

  /** True when `d` is framed as samples and none can match a pattern (see {@link needles}). */
  private cannotMatch(d: string): boolean {
    const needles = this.needles;
    if (!needles || !d.startsWith('[["') || !d.endsWith("]]")) return false;
    for (const x of needles) if (d.includes(x)) return false;
    return true;
  }

  /** A gap (then a resync) when `seq0` does not follow the cursor's last seq; else undefined. */
  private async seqJump(
    producer: string,
    cur: Cursor,
    seq0: number,
  ): Promise<"resynced" | undefined> {
    if (cur.lastSeq === undefined) return undefined;
    const expected = cur.lastSeq + 1;
    if (seq0 > expected) {
      await this.gap({ kind: "gap", producer, dropped: seq0 - expected, reason: "trimmed" });
      return "resynced";
    }
    if (seq0 < expected) {
      await this.gap({ kind: "gap", producer, reason: "redis_data_lost" });
      return "resynced";
    }
    return undefined;
  }

  /** Moves a producer's read cursor past entry `id` (last seq `lastSeq`). */
  private advance(producer: string, cur: Cursor, id: string, lastSeq: number): void {
    cur.id = id;
    cur.lastSeq = lastSeq;
    this.dirty.add(producer);
    if (this.manual) this.checkpoint({ pos: this.position, producer, cursor: { ...cur } });
  }

  /** Emits `gap`, then resynchronises from current values. */
  private async gap(ev: GapEvent): Promise<void> {
    this.log.warn({ ...ev }, "tagbus: gap, resynchronising");
    await this.resyncNow(ev);
    await this.drainQueue();
  }

  private async resyncNow(gap: GapEvent | undefined, initial = false): Promise<void> {
    const snap = await takeSnapshot(this.cmd, this.keys, this.patterns, this.filter, true, [
      ...this.cursors.keys(),
    ]);
    this.regsId = snap.regsId;
    this.cursors.clear();
    for (const [p, c] of snap.cursors) {
      if (!this.ignored.has(p)) this.cursors.set(p, { id: c.id, lastSeq: c.lastSeq });
    }
    for (const k of this.cursors.keys()) this.dirty.add(k);
    this.dirty.add("_regs");
    if (gap) this.queue.push(this.manual ? { ...gap, position: ++this.position } : gap);
    const resync: ResyncEvent = { kind: "resync", values: snap.values };
    if (this.manual) {
      resync.position = ++this.position;
      const copy = new Map<string, Cursor>();
      for (const [p, c] of this.cursors) copy.set(p, { ...c });
      this.checkpoint({ pos: initial ? 0 : resync.position, snapshot: copy });
    }
    this.queue.push(resync);
    if (this.options.durable) await this.saveCursors().catch(() => {});
  }

  /**
   * Checks that every stream still holds our position: a missing stream or a last id below
   * the cursor means Redis lost data (restart without the append-only file, flush).
   */
  private async verify(): Promise<void> {
    this.lastVerify = Date.now();
    const snap = await takeSnapshot(this.cmd, this.keys, this.patterns, this.filter, false, [
      ...this.cursors.keys(),
    ]);
    const lost: string[] = [];
    for (const [p, c] of this.cursors) {
      const s = snap.cursors.get(p);
      if (!s) continue;
      if (c.id === "0-0") continue;
      const back =
        !s.exists ||
        compareIds(s.id, c.id) < 0 ||
        (c.lastSeq !== undefined && s.lastSeq !== undefined && s.lastSeq < c.lastSeq);
      if (back) lost.push(p);
    }
    if (compareIds(snap.regsId, this.regsId) < 0) lost.push("");
    if (lost.length) {
      const producer = lost.length === 1 && lost[0] ? lost[0] : undefined;
      await this.resyncNow({
        kind: "gap",
        ...(producer ? { producer } : {}),
        reason: "redis_data_lost",
      });
      return;
    }
    // registrations we missed (e.g. patterns changed across a durable restart)
    for (const r of matchingRegistrations(snap.registrations, this.patterns)) {
      if (!this.cursors.has(r.producer)) {
        const seq = r.seq === undefined ? "" : String(r.seq);
        this.onRegistration({ p: r.producer, r: r.root, id: r.id, s: seq });
      }
    }
  }

  private async drainQueue(): Promise<void> {
    while (this.queue.length && !this.closed) await this.deliver(this.queue.shift()!);
  }

  /** Calls the handler; an error it throws is logged and counted, and delivery goes on. */
  private async deliver(e: BusEvent): Promise<void> {
    try {
      const r = this.handler(e);
      if (r instanceof Promise) await r;
    } catch (err) {
      this.counters.handlerErrors++;
      this.log.error({ err: String(err), event: e.kind }, "tagbus: subscriber handler threw");
    }
  }

  private async restore(name: string): Promise<boolean> {
    const flat = (await this.cmd.sendCommand(["HGETALL", this.keys.sub(name)])) as string[];
    if (!flat.length) return false;
    for (let i = 0; i + 1 < flat.length; i += 2) {
      const k = flat[i]!;
      const v = flat[i + 1]!;
      if (k === "_regs") this.regsId = v;
      else if (k.startsWith("c:") && !this.ignored.has(k.slice(2))) {
        const [id, seq] = v.split(" ");
        this.cursors.set(k.slice(2), { id: id!, lastSeq: seq ? Number(seq) : undefined });
      }
    }
    return true;
  }

  private async saveCursors(): Promise<void> {
    const name = this.options.durable;
    // manualAck saves the committed cursors; the regs cursor may run ahead of them: a producer
    // registered but not yet committed is found again from `{p}reg` by verify() on restart
    const cursors = this.manual ? this.committed : this.cursors;
    const dirty = this.manual ? this.committedDirty : this.dirty;
    if (!name || dirty.size === 0) return;
    const args: string[] = ["HSET", this.keys.sub(name), "_regs", this.regsId];
    for (const p of dirty) {
      const c = cursors.get(p);
      if (c) args.push(`c:${p}`, `${c.id} ${c.lastSeq ?? ""}`);
    }
    dirty.clear();
    this.mustSave = false;
    this.lastSave = Date.now();
    try {
      await this.cmd.sendCommand(args);
    } catch (e) {
      for (const p of cursors.keys()) dirty.add(p);
      this.mustSave = true;
      throw e;
    }
  }
}

function fieldsOf(flat: string[] | null): Record<string, string> {
  const o: Record<string, string> = {};
  if (!flat) return o;
  for (let i = 0; i + 1 < flat.length; i += 2) o[flat[i]!] = flat[i + 1]!;
  return o;
}
