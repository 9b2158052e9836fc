import type { Quality } from "./quality.ts";
import type { TagData, TagScalar } from "./tag-value.ts";

/**
 * Decides whether a new reading must be published, given the last published one.
 * Absolute deadband in engineering units, as in OPC UA Part 8 §6.2 (AbsoluteDeadband): a
 * numeric change is published when |new − last| > deadband. A deadband of 0 publishes every
 * change. A change of quality or reason, a non-numeric change, or no previous value always
 * publishes. An array tag (`TagArray`) publishes when its length changes or any element passes
 * the deadband. Equal values are never republished here; the runtime republishes on its own
 * heartbeat where needed.
 */
export function passesDeadband(
  last: { value: TagData; quality: Quality; reason?: string } | undefined,
  next: { value: TagData; quality: Quality; reason?: string },
  deadband: number,
): boolean {
  if (!last) return true;
  if (last.quality !== next.quality || last.reason !== next.reason) return true;
  const a = last.value;
  const b = next.value;
  if (Array.isArray(a) || Array.isArray(b)) {
    // an array tag: published when its length or any element passes the deadband
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return true;
    return a.some((x, i) => changed(x, b[i] as TagScalar, deadband));
  }
  return changed(a as TagScalar, b as TagScalar, deadband);
}

/** One value against the last one, by the rule of {@link passesDeadband}. */
function changed(last: TagScalar, next: TagScalar, deadband: number): boolean {
  if (typeof last === "number" && typeof next === "number") {
    if (Number.isNaN(last) !== Number.isNaN(next)) return true;
    return deadband > 0 ? Math.abs(next - last) > deadband : next !== last;
  }
  return last !== next;
}
