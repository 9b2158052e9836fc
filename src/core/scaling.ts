/**
 * Linear scaling of tag values: engineering value = raw × scale + offset (the `scale` and
 * `offset` fields of a tag). Shared by every driver so that a tag reads the same whatever its
 * protocol.
 */

/**
 * raw × scale + offset. A scale of the form 1/k (0.1, 0.01 …) divides by k instead, so that
 * 364 × 0.1 gives exactly 36.4 (multiplying gives 36.400000000000006).
 */
export function applyScale(raw: number, scale: number, offset: number): number {
  if (scale === 1) return raw + offset;
  const inv = 1 / scale;
  const k = Math.round(inv);
  const scaled = k !== 0 && Math.abs(inv - k) < 1e-9 * Math.abs(inv) ? raw / k : raw * scale;
  return offset === 0 ? scaled : scaled + offset;
}
