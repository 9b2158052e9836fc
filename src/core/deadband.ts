import type { Quality } from "./quality.ts";
import type { TagScalar } from "./tag-value.ts";

/**
 * Decides whether a new reading must be published, given the last published one.
 * Absolute deadband in engineering units, as in OPC UA Part 8 §6.2 (AbsoluteDeadband): a
 * numeric change is published when |new − last| > deadband. A deadband of 0 publishes every
 * change. A change of quality or reason, a non-numeric change, or no previous value always
 * publishes. Equal values are never republished here; the runtime republishes on its own
 * heartbeat where needed.
 */
export function passesDeadband(
  last: { value: TagScalar; quality: Quality; reason?: string } | undefined,
  next: { value: TagScalar; quality: Quality; reason?: string },
  deadband: number,
): boolean {
  if (!last) return true;
  if (last.quality !== next.quality || last.reason !== next.reason) return true;
  if (typeof last.value === "number" && typeof next.value === "number") {
    if (Number.isNaN(last.value) !== Number.isNaN(next.value)) return true;
    return deadband > 0 ? Math.abs(next.value - last.value) > deadband : next.value !== last.value;
  }
  return last.value !== next.value;
}
