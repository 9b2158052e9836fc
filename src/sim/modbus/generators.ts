/**
 * Value generators of the simulator: functions of elapsed time (ms since the simulator
 * started) giving an engineering value. `random_walk` keeps state between ticks.
 */
export type GeneratorSpec =
  | { type: "ramp"; from: number; to: number; period_ms: number }
  | { type: "sine"; min: number; max: number; period_ms: number }
  | { type: "counter"; start?: number; step?: number; every_ms?: number; max?: number }
  | { type: "random_walk"; start?: number; step: number; min: number; max: number }
  | { type: "toggle"; every_ms: number };

/** A running generator: `next(t)` returns the value at `t` ms after start. */
export type Generator = (t: number) => number | boolean;

/**
 * Creates a generator.
 * - `ramp`: linear from `from` to `to` over `period_ms`, then starts over.
 * - `sine`: between `min` and `max`, period `period_ms`.
 * - `counter`: `start + step` every `every_ms` (default 1000), wrapping to `start` above `max`.
 * - `random_walk`: each call moves by at most ±`step`, kept inside [min, max].
 * - `toggle`: a boolean that flips every `every_ms`.
 */
export function createGenerator(g: GeneratorSpec, random: () => number = Math.random): Generator {
  switch (g.type) {
    case "ramp":
      return (t) => g.from + ((g.to - g.from) * (t % g.period_ms)) / g.period_ms;
    case "sine": {
      const mid = (g.min + g.max) / 2;
      const amp = (g.max - g.min) / 2;
      return (t) => mid + amp * Math.sin((2 * Math.PI * t) / g.period_ms);
    }
    case "counter": {
      const start = g.start ?? 0;
      const step = g.step ?? 1;
      const every = g.every_ms ?? 1000;
      return (t) => {
        const n = Math.floor(t / every);
        if (g.max === undefined) return start + n * step;
        const span = Math.floor((g.max - start) / step) + 1;
        return start + (n % span) * step;
      };
    }
    case "random_walk": {
      let v = g.start ?? (g.min + g.max) / 2;
      return () => {
        v = Math.min(g.max, Math.max(g.min, v + (random() * 2 - 1) * g.step));
        return v;
      };
    }
    case "toggle":
      return (t) => Math.floor(t / g.every_ms) % 2 === 1;
  }
}
