import type { Logger } from "../core/log.ts";
import type { TagSample } from "../core/tag-value.ts";
import { type EncodedSample, encodeSample } from "./codec.ts";
import { type BusClient, backoffMs, runScript } from "./connection.ts";
import type { BusKeys } from "./keys.ts";
import { Outbox, type OutboxBatch } from "./outbox.ts";
import { PUBLISH_LUA } from "./scripts.ts";

/** Samples per stream entry (one PUBLISH script call) when the outbox is flushed. */
export const FLUSH_CHUNK = 1000;

/** A call to the PUBLISH script, kept unchanged until it succeeds (same `counter` on retry). */
interface Flight {
  counter: number;
  samples: EncodedSample[];
  batches: OutboxBatch[];
  dropped: number;
}

/**
 * The producer side of the bus: validates samples, queues them in the {@link Outbox}, and
 * pumps them to Redis in order with the PUBLISH script. A failed call is retried with the
 * same `instance:counter`, which the script uses to ignore a call that had in fact been
 * committed before the connection dropped.
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
  ) {
    this.outbox = new Outbox(outboxMax);
    client.on("ready", () => this.kick());
  }

  /** See TagBus.publish. */
  async publish(samples: TagSample[]): Promise<void> {
    const enc = samples.map((s) => encodeSample(s, this.producer));
    if (enc.length === 0) return;
    let done!: () => void;
    const committed = new Promise<void>((r) => {
      done = r;
    });
    this.outbox.push(enc, { remaining: enc.length, done }, this.flight?.samples.length ?? 0);
    this.kick();
    if (!this.client.isReady) return;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      committed,
      new Promise<void>((r) => {
        timer = setTimeout(r, this.publishWaitMs);
      }),
    ]);
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

  /** Stops retrying. */
  stop(): void {
    this.closed = true;
    clearTimeout(this.retryTimer);
  }

  /** Starts the pump unless it runs already. */
  kick(): void {
    if (this.pumping || this.closed) return;
    this.pumping = true;
    this.pump()
      .catch((e) => this.log.error({ err: String(e) }, "tagbus: publish pump failed"))
      .finally(() => {
        this.pumping = false;
      });
  }

  private async pump(): Promise<void> {
    while (!this.closed) {
      if (!this.flight && this.outbox.length === 0 && this.outbox.pendingDropped === 0) return;
      if (!this.client.isReady) return this.scheduleRetry();
      if (!this.flight) {
        const { samples, batches } = this.outbox.take(Math.min(FLUSH_CHUNK, this.outbox.max));
        this.flight = {
          counter: ++this.counter,
          samples,
          batches,
          dropped: this.outbox.takeDropped(),
        };
      }
      try {
        await this.send(this.flight);
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
      this.published += this.flight.samples.length;
      Outbox.release(this.flight.batches);
      this.flight = undefined;
    }
  }

  private scheduleRetry(): void {
    if (this.closed || this.retryTimer) return;
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.kick();
    }, backoffMs(this.failures));
  }

  private async send(f: Flight): Promise<void> {
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
      ...roots.map((r) => this.keys.cur(r)),
    ];
    let d = "[";
    for (let i = 0; i < f.samples.length; i++) d += (i ? "," : "") + f.samples[i]!.entry;
    d += "]";
    const args: string[] = [
      this.producer,
      this.instance,
      String(f.counter),
      String(this.streamMaxLen),
      String(this.streamMaxAgeMs),
      String(f.dropped),
      "outbox_overflow",
      d,
      String(f.samples.length),
      String(roots.length),
      ...roots,
    ];
    for (const s of f.samples) args.push(String(rootIdx.get(s.root)), s.path, s.curPrefix);
    await runScript(this.client, PUBLISH_LUA, keys, args);
  }
}
