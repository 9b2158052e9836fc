import type { EncodedSample } from "./codec.ts";

/** One `publish()` call waiting in the outbox; `done` runs when its last sample left it. */
export interface OutboxBatch {
  remaining: number;
  done: () => void;
}

/**
 * A bounded FIFO of encoded samples waiting to be published (docs/tagbus.md §Outbox).
 * Holds at most `max` samples; a push over the limit drops the oldest samples and counts
 * them in {@link Outbox.pendingDropped} (to be reported by a gap marker) and
 * {@link Outbox.droppedTotal}. Pure: no I/O.
 *
 * It keeps no reference to a sample once taken or dropped (its slot is cleared, and the
 * array emptied whenever it is drained). A slot kept until the next compaction held ~1,000
 * published samples (3 s of a 300 values/s app) reachable from this long-lived array, so each
 * of Bun's ~1 s eden collections promoted them to the old generation, where they stayed as
 * garbage until a full collection (~150 KB/s, the app's JS heap a 3.6 → 12 MiB sawtooth;
 * docs/performance.md "Memory of a running app").
 *
 * Samples and their batches sit in two parallel arrays (no wrapper object per sample), and
 * the arrays keep their capacity when drained (their slots are cleared, not their length):
 * emptying them after every publish made each poll grow them again from nothing
 * (docs/performance.md "Per-update CPU of an interface app").
 */
export class Outbox {
  /** Samples waiting, from `head` to `tail` (slots outside that range hold `undefined`). */
  private samples: (EncodedSample | undefined)[] = [];
  /** The batch of each sample, parallel to {@link samples}. */
  private owners: (OutboxBatch | undefined)[] = [];
  private head = 0;
  private tail = 0;
  /** Samples dropped since the last gap marker was taken with {@link takeDropped}. */
  pendingDropped = 0;
  /** Samples dropped since start. */
  droppedTotal = 0;
  /** Roots (`/{conn_id}`) of the samples counted in {@link pendingDropped}. */
  private droppedRoots = new Set<string>();

  constructor(readonly max: number) {}

  /** Samples waiting. */
  get length(): number {
    return this.tail - this.head;
  }

  /**
   * Appends one batch; drops the oldest samples when the outbox plus `reserved` samples held
   * elsewhere (a publish call in flight) would exceed `max`.
   */
  push(samples: EncodedSample[], batch: OutboxBatch, reserved = 0): void {
    for (const s of samples) {
      this.samples[this.tail] = s;
      this.owners[this.tail++] = batch;
    }
    const over = Math.min(this.length, this.length + reserved - this.max);
    if (over > 0) {
      for (let i = 0; i < over; i++) {
        const s = this.samples[this.head]!;
        const b = this.owners[this.head]!;
        this.samples[this.head] = undefined;
        this.owners[this.head++] = undefined;
        this.droppedRoots.add(s.root);
        b.remaining--;
        if (b.remaining === 0) b.done();
      }
      this.pendingDropped += over;
      this.droppedTotal += over;
    }
    this.compact();
  }

  /** Whether the oldest sample waiting was published with `ifNewer` (false when empty). */
  get headIfNewer(): boolean {
    return this.head < this.tail && this.samples[this.head]!.ifNewer === true;
  }

  /**
   * Removes and returns up to `n` of the oldest samples with their batches, all of one kind:
   * it stops before the first sample whose `ifNewer` differs from the oldest one's (the two
   * kinds go to Redis through different scripts).
   */
  take(n: number): { samples: EncodedSample[]; batches: OutboxBatch[] } {
    const end = Math.min(this.tail, this.head + n);
    const samples: EncodedSample[] = [];
    const batches: OutboxBatch[] = [];
    const kind = this.headIfNewer;
    let i = this.head;
    for (; i < end; i++) {
      const s = this.samples[i]!;
      if ((s.ifNewer === true) !== kind) break;
      samples.push(s);
      batches.push(this.owners[i]!);
      this.samples[i] = undefined;
      this.owners[i] = undefined;
    }
    this.head = i;
    this.compact();
    return { samples, batches };
  }

  /** Returns and resets the count of samples dropped since the last call. */
  takeDropped(): number {
    const d = this.pendingDropped;
    this.pendingDropped = 0;
    return d;
  }

  /**
   * Returns and resets the roots of the samples dropped since the last call (the gap marker
   * registers them, so that a subscriber that never saw this producer under those roots
   * still reads the marker).
   */
  takeDroppedRoots(): string[] {
    const r = [...this.droppedRoots];
    this.droppedRoots.clear();
    return r;
  }

  /** Marks one sample of each listed batch as gone (published or dropped). */
  static release(batches: OutboxBatch[]): void {
    for (const b of batches) {
      b.remaining--;
      if (b.remaining === 0) b.done();
    }
  }

  private compact(): void {
    if (this.head === this.tail) {
      // drained (the usual case: every publish is taken whole); every slot is cleared already
      this.head = 0;
      this.tail = 0;
      if (this.samples.length > 4096) {
        // capacity kept for the usual batch, not for the largest backlog ever seen
        this.samples = [];
        this.owners = [];
      }
    } else if (this.head > 1024 && this.head * 2 > this.tail) {
      this.samples = this.samples.slice(this.head, this.tail);
      this.owners = this.owners.slice(this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
    }
  }
}
