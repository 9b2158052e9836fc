/**
 * Running statistics of one measured quantity (lateness or execution time, in ms) with
 * bounded memory: count, last, mean and max over the whole run, and percentiles over the
 * most recent {@link SampleStats.window} samples (a ring buffer; 1024 × 8 bytes).
 */
export class SampleStats {
  private ring: Float64Array;
  private n = 0;
  private sum = 0;
  last = 0;
  max = 0;

  /** @param window number of recent samples kept for percentiles. */
  constructor(readonly window = 1024) {
    this.ring = new Float64Array(window);
  }

  /** Adds one sample, ms. */
  add(x: number): void {
    this.ring[this.n % this.window] = x;
    this.n++;
    this.sum += x;
    this.last = x;
    if (x > this.max) this.max = x;
  }

  /** Samples added since creation. */
  get count(): number {
    return this.n;
  }

  /** Mean over all samples, 0 when none. */
  get mean(): number {
    return this.n === 0 ? 0 : this.sum / this.n;
  }

  /** The `q`-quantile (0..1, nearest rank) of the recent window; 0 when empty. */
  quantile(q: number): number {
    const k = Math.min(this.n, this.window);
    if (k === 0) return 0;
    const sorted = Array.from(this.ring.subarray(0, k)).sort((a, b) => a - b);
    const idx = Math.min(k - 1, Math.max(0, Math.ceil(q * k) - 1));
    return sorted[idx]!;
  }

  /** A JSON-friendly summary, values rounded to µs. */
  summary(): StatSummary {
    const r = (x: number) => Math.round(x * 1000) / 1000;
    return {
      last: r(this.last),
      mean: r(this.mean),
      p50: r(this.quantile(0.5)),
      p99: r(this.quantile(0.99)),
      max: r(this.max),
    };
  }
}

/** Summary of a {@link SampleStats}, ms. `p50`/`p99` cover the recent window only. */
export interface StatSummary {
  last: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}
