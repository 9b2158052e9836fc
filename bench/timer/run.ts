/**
 * Timer benchmark (issue 4): N blocks on PeriodicTimer beside the same N blocks on a naive
 * `setInterval`, in one process, for a given duration. Reports tick lateness p50/p99/max
 * (actual start − grid deadline `origin + phase + k·period`, ms) and cumulative drift (the
 * lateness of each block's last tick: how far its schedule has wandered from the grid).
 *
 *   bun run bench/timer/run.ts [--seconds 10] [--blocks 20] [--periods 10,50,100] [--work-ms 0.05] [--spin-ms 0]
 *
 * Schedulers run side by side on the same blocks: PeriodicTimer on the default clock
 * (`setTimeout`), the naive baseline, and with `--spin-ms N` also PeriodicTimer on
 * `spinningClock(N)` (precise but CPU-hungry).
 * Each tick does `--work-ms` of busy work (a stand-in for decoding a reply).
 */
import { monotonicClock, spinningClock, type TimerClock } from "../../src/timer/clock.ts";
import { PeriodicTimer } from "../../src/timer/periodic-timer.ts";

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : def;
}

const seconds = Number(arg("seconds", "10"));
const blocks = Number(arg("blocks", "20"));
const periods = arg("periods", "10,50,100").split(",").map(Number);
const workMs = Number(arg("work-ms", "0.05"));
const spinMs = Number(arg("spin-ms", "0"));

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {}
}

interface Series {
  lateness: number[];
  lastLateness: number[];
  ticks: number;
  skipped: number;
}
const newSeries = (): Series => ({ lateness: [], lastLateness: [], ticks: 0, skipped: 0 });

const pt = newSeries();
const spin = newSeries();
const naive = newSeries();
const timers: PeriodicTimer[] = [];
const spinTimers: PeriodicTimer[] = [];
const lastSpin: number[] = [];
const intervals: ReturnType<typeof setInterval>[] = [];
const lastPt: number[] = [];
const lastNaive: number[] = [];

for (let b = 0; b < blocks; b++) {
  const period = periods[b % periods.length]!;
  // Blocks of one period are spread over it; the three schedulers are shifted by a third of
  // a period from each other so that their ticks (and busy work) do not collide.
  const slot = (Math.floor(b / periods.length) * period) / Math.ceil(blocks / periods.length);
  const phase = slot / 3;
  // PeriodicTimer
  const t = new PeriodicTimer({
    periodMs: period,
    phaseMs: phase,
    onTick: (tick) => {
      pt.lateness.push(tick.lateness);
      lastPt[b] = tick.lateness;
      pt.ticks++;
      busy(workMs);
    },
  });
  timers.push(t);
  const mk = (series: Series, last: number[], clock: TimerClock) =>
    new PeriodicTimer({
      periodMs: period,
      phaseMs: phase + period / 3,
      clock,
      onTick: (tick) => {
        series.lateness.push(tick.lateness);
        last[b] = tick.lateness;
        series.ticks++;
        busy(workMs);
      },
    });
  if (spinMs > 0) spinTimers.push(mk(spin, lastSpin, spinningClock(spinMs)));
  void monotonicClock;
  // naive: setTimeout to the same phase, then setInterval(period); the k-th callback is
  // measured against the same grid origin + phase + k·period.
  const start = performance.now();
  setTimeout(
    () => {
      let k = 0;
      const base = start + phase + (2 * period) / 3;
      const tick = () => {
        const late = performance.now() - (base + k * period);
        naive.lateness.push(late);
        lastNaive[b] = late;
        naive.ticks++;
        k++;
        busy(workMs);
      };
      tick();
      intervals.push(setInterval(tick, period));
    },
    phase + (2 * period) / 3,
  );
  t.start();
  spinTimers[b]?.start();
}

await Bun.sleep(seconds * 1000);
for (const i of intervals) clearInterval(i);
await Promise.all([...timers, ...spinTimers].map((t) => t.stop()));
pt.skipped = timers.reduce((s, t) => s + t.stats().skippedTicks, 0);
spin.skipped = spinTimers.reduce((s, t) => s + t.stats().skippedTicks, 0);
pt.lastLateness = lastPt;
spin.lastLateness = lastSpin;
naive.lastLateness = lastNaive;

function q(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(p * s.length) - 1))] ?? 0;
}
const f = (x: number) => x.toFixed(3);
const row = (name: string, s: Series) => ({
  name,
  ticks: s.ticks,
  p50: q(s.lateness, 0.5),
  p99: q(s.lateness, 0.99),
  max: Math.max(...s.lateness),
  driftMean: s.lastLateness.reduce((a, b) => a + b, 0) / s.lastLateness.length,
  driftMax: Math.max(...s.lastLateness),
  skipped: s.skipped,
});
const a = row("PeriodicTimer", pt);
const sp = row(`PeriodicTimer, spinningClock(${spinMs})`, spin);
const n = row("setInterval (baseline)", naive);
const ratio = (x: number, y: number) => (y === 0 ? "n/a" : `${(x / y).toFixed(2)}×`);

console.log(
  `timer bench: ${blocks} blocks, periods ${periods.join("/")} ms, ${seconds} s, work ${workMs} ms/tick, bun ${Bun.version}`,
);
console.log(
  "| timer | ticks | lateness p50 ms | p99 ms | max ms | drift at end mean ms | drift max ms | skipped ticks |",
);
console.log("|---|---:|---:|---:|---:|---:|---:|---:|");
const shown = spinMs > 0 ? [a, sp, n] : [a, n];
for (const r of shown) {
  console.log(
    `| ${r.name} | ${r.ticks} | ${f(r.p50)} | ${f(r.p99)} | ${f(r.max)} | ${f(r.driftMean)} | ${f(r.driftMax)} | ${r.skipped} |`,
  );
}
for (const r of shown.slice(0, -1)) {
  console.log(
    `| ratio ${r.name} / setInterval | | ${ratio(r.p50, n.p50)} | ${ratio(r.p99, n.p99)} | ${ratio(r.max, n.max)} | ${ratio(r.driftMean, n.driftMean)} | ${ratio(r.driftMax, n.driftMax)} | |`,
  );
}
const cpu = process.cpuUsage();
console.log(
  `process CPU: ${(((cpu.user + cpu.system) / 1000 / (seconds * 1000)) * 100).toFixed(1)}% of one core (all schedulers together)`,
);
