import type { DataValue } from "node-opcua-client";
import { VariantArrayType } from "node-opcua-variant";
import { REASON } from "../../core/quality.ts";
import type { TagScalar } from "../../core/tag-value.ts";
import type { Tag } from "../../store/schema.ts";
import type { TagReading } from "../driver.ts";
import { qualityAndReason } from "./status.ts";
import { fromVariant } from "./values.ts";

/**
 * Turns one DataValue (a Read result or a data change notification) into a tag reading:
 * quality and reason from the StatusCode (its name, e.g. `BadNodeIdUnknown`), the value in
 * engineering units (see `values.ts`; `null` when bad), the source timestamp in epoch ms
 * (else the server timestamp, else now). A value that cannot be converted is bad
 * `decode_error`.
 */
export function readingOf(tag: Tag, dv: DataValue, now = Date.now()): TagReading {
  const { quality, reason } = qualityAndReason(dv.statusCode.value, dv.statusCode.name);
  const ts = dv.sourceTimestamp?.getTime() ?? dv.serverTimestamp?.getTime() ?? now;
  if (quality === "bad")
    return { tag_name: tag.tag_name, value: null, quality, reason: reason ?? "bad", ts };
  let value: TagScalar;
  try {
    const variant = dv.value;
    value = fromVariant(
      variant.dataType,
      variant.value,
      tag,
      variant.arrayType !== VariantArrayType.Scalar,
    );
  } catch {
    return { tag_name: tag.tag_name, value: null, quality: "bad", reason: REASON.decodeError, ts };
  }
  return reason
    ? { tag_name: tag.tag_name, value, quality, reason, ts }
    : { tag_name: tag.tag_name, value, quality, ts };
}

/** A bad reading for a tag whose item or node failed (e.g. `BadNodeIdUnknown`), stamped now. */
export function badReading(tag: Tag, reason: string, now = Date.now()): TagReading {
  return { tag_name: tag.tag_name, value: null, quality: "bad", reason, ts: now };
}
