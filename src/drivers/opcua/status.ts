import type { Quality } from "../../core/quality.ts";

/**
 * The quality of an OPC UA StatusCode, from its severity bits 30–31 (OPC UA Part 4 §7.39):
 * `00` Good, `01` Uncertain, `10`/`11` Bad.
 * @param code the 32-bit StatusCode value (e.g. `0x80340000` BadNodeIdUnknown → `bad`).
 */
export function qualityOfStatus(code: number): Quality {
  const severity = (code >>> 30) & 0b11;
  if (severity === 0) return "good";
  if (severity === 1) return "uncertain";
  return "bad";
}

/**
 * Quality and reason of a StatusCode: the reason is the status code's name (e.g.
 * `BadNodeIdUnknown`, `UncertainLastUsableValue`) and is absent when the quality is good.
 * A code without a known name is given as `0x…` hex.
 */
export function qualityAndReason(
  code: number,
  name: string | undefined,
): {
  quality: Quality;
  reason?: string;
} {
  const quality = qualityOfStatus(code);
  if (quality === "good") return { quality };
  const reason =
    name && name !== "<unknown>" ? name : `0x${(code >>> 0).toString(16).padStart(8, "0")}`;
  return { quality, reason };
}
