import type { TagBus } from "../tagbus/tagbus.ts";
import type { EditResult } from "./apply.ts";
import { type ConnChange, systemTagSamples } from "./changes.ts";
import { northSystemTagSamples } from "./north-changes.ts";

/** The part of a TagBus that announcing changes needs (a test can pass a recorder). */
export type Publisher = Pick<TagBus, "publish">;

/**
 * Publishes the system tags for committed changes in one batch: a connection's (see
 * {@link systemTagSamples}) and a northbound's (see {@link northSystemTagSamples}), given as
 * the connections' `changes` or a whole {@link EditResult}. Call only AFTER the DB
 * transaction committed: listeners re-read the DB when they see the tag.
 * @returns the number of samples published (0 when nothing needs announcing).
 */
export async function notifyChanges(
  bus: Publisher,
  changes: readonly ConnChange[] | Pick<EditResult, "changes" | "northChanges">,
  now: number = Date.now(),
): Promise<number> {
  const r = "changes" in changes ? changes : { changes, northChanges: [] };
  const samples = [
    ...systemTagSamples(r.changes, now),
    ...northSystemTagSamples(r.northChanges, now),
  ];
  if (samples.length > 0) await bus.publish(samples);
  return samples.length;
}
