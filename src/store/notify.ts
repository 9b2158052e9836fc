import type { TagBus } from "../tagbus/tagbus.ts";
import { type ConnChange, systemTagSamples } from "./changes.ts";

/** The part of a TagBus that announcing changes needs (a test can pass a recorder). */
export type Publisher = Pick<TagBus, "publish">;

/**
 * Publishes the system tags for committed `changes` in one batch (see
 * {@link systemTagSamples}). Call only AFTER the DB transaction committed: listeners re-read
 * the DB when they see the tag.
 * @returns the number of samples published (0 when nothing needs announcing).
 */
export async function notifyChanges(
  bus: Publisher,
  changes: readonly ConnChange[],
  now: number = Date.now(),
): Promise<number> {
  const samples = systemTagSamples(changes, now);
  if (samples.length > 0) await bus.publish(samples);
  return samples.length;
}
