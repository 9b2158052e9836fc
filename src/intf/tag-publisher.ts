import { BoundedMemo } from "../core/bounded-memo.ts";
import { passesDeadband } from "../core/deadband.ts";
import { dataTagPath } from "../core/paths.ts";
import type { Quality } from "../core/quality.ts";
import type { TagData, TagSample } from "../core/tag-value.ts";
import type { TagReading } from "../drivers/driver.ts";
import type { TagBus } from "../tagbus/tagbus.ts";

/** A tag's last published sample; one record per tag, updated in place. */
interface Last {
  value: TagData;
  quality: Quality;
  reason: string | undefined;
  /** Epoch ms of the publish. */
  at: number;
}

/** Default republish interval of unchanged values, ms. */
export const HEARTBEAT_MS = 60_000;

/**
 * Turns a block's readings into one TagBus batch, applying each tag's deadband against the
 * last *published* sample (so slow drift still accumulates past the deadband).
 *
 * Rules:
 * - a sample passes when {@link passesDeadband} says so (quality/reason change, change beyond
 *   the deadband, first sample), or when the tag's last publish is older than `heartbeatMs`
 *   (a republish of an unchanged value, so readers can tell "unchanged" from "app dead" and
 *   a freshly started subscriber's snapshot is never older than the heartbeat);
 * - bad samples carry `value: null`: a last value is never republished as good.
 */
export class TagPublisher {
  private last = new Map<string, Last>();
  private readonly next: Last = { value: null, quality: "bad", reason: undefined, at: 0 };
  /**
   * `/{connId}/{tag_name}` per tag name, built once: a path made per reading was a new string
   * per sample, carried to the TagBus publisher (docs/performance.md "Publish-path garbage").
   */
  private readonly paths: BoundedMemo<string, string>;

  /**
   * @param connId paths are `/{connId}/{tag_name}`.
   * @param heartbeatMs republish interval of unchanged values, ms (0 = never).
   * @param now clock, epoch ms.
   */
  constructor(
    private readonly connId: string,
    private readonly bus: TagBus,
    private readonly heartbeatMs = HEARTBEAT_MS,
    private readonly now: () => number = Date.now,
  ) {
    this.paths = new BoundedMemo(100_000, (tagName) => dataTagPath(connId, tagName));
  }

  /** The samples of `readings` that must be published (and records them as published). */
  select(readings: readonly TagReading[], deadbandOf: (tagName: string) => number): TagSample[] {
    const out: TagSample[] = [];
    const t = this.now();
    // the reading as it would be published, in one scratch record (no object per reading)
    const next = this.next;
    for (const r of readings) {
      const good = r.quality === "good";
      next.value = good || r.quality === "uncertain" ? r.value : null;
      next.quality = r.quality;
      next.reason = good ? undefined : r.reason;
      const path = this.paths.get(r.tag_name);
      const last = this.last.get(path);
      const due = last !== undefined && this.heartbeatMs > 0 && t - last.at >= this.heartbeatMs;
      if (!due && !passesDeadband(last, next, deadbandOf(r.tag_name))) continue;
      if (last === undefined) {
        this.last.set(path, {
          value: next.value,
          quality: next.quality,
          reason: next.reason,
          at: t,
        });
      } else {
        last.value = next.value;
        last.quality = next.quality;
        last.reason = next.reason;
        last.at = t;
      }
      const s: TagSample = { path, value: next.value, quality: next.quality, ts: r.ts };
      if (next.reason !== undefined) s.reason = next.reason;
      out.push(s);
    }
    next.value = null; // holds no reading's value between polls
    return out;
  }

  /** Publishes what passes of `readings` as one batch. @returns the number of samples sent. */
  async publish(
    readings: readonly TagReading[],
    deadbandOf: (tagName: string) => number,
  ): Promise<number> {
    const samples = this.select(readings, deadbandOf);
    if (samples.length > 0) await this.bus.publish(samples);
    return samples.length;
  }

  /**
   * Publishes `tagNames` as bad with `reason` (value null), skipping tags already bad for
   * the same reason (unless the heartbeat is due). @returns the number of samples sent.
   */
  publishBad(tagNames: readonly string[], reason: string, ts = this.now()): Promise<number> {
    return this.publish(
      tagNames.map((tag_name) => ({ tag_name, value: null, quality: "bad" as const, reason, ts })),
      () => 0,
    );
  }

  /** The last published value of a tag (`null` when it was bad), or `undefined` before its first. */
  lastValue(tagName: string): TagData | undefined {
    return this.last.get(dataTagPath(this.connId, tagName))?.value;
  }

  /** Forgets a tag's last sample (the next one publishes unconditionally). */
  forget(tagName: string): void {
    this.last.delete(dataTagPath(this.connId, tagName));
  }
}
