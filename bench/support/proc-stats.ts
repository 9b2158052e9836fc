import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/** Clock ticks per second of /proc/PID/stat times (USER_HZ; 100 on every Linux we ship to). */
const HZ = 100;

/** utime+stime of one process in seconds, or 0 when it is gone. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / HZ;
  } catch {
    return 0;
  }
}

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
export function machineJiffies(): { busy: number; total: number } {
  const f = readFileSync("/proc/stat", "utf8")
    .split("\n")[0]!
    .trim()
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = (f[3] ?? 0) + (f[4] ?? 0);
  return { busy: total - idle, total };
}

/** Rss and Pss of one process in bytes, from /proc/PID/smaps_rollup (zeros when gone). */
export function memory(pid: number): { rss: number; pss: number } {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (k: string) =>
      Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(t)?.[1] ?? 0) * 1024;
    return { rss: kb("Rss"), pss: kb("Pss") };
  } catch {
    return { rss: 0, pss: 0 };
  }
}

/** pids of every descendant of `root` (children, grandchildren, …), from /proc/PID/stat ppid. */
export function descendants(root: number): number[] {
  const parent = new Map<number, number>();
  for (const n of readdirSync("/proc")) {
    if (!/^\d+$/.test(n)) continue;
    try {
      const s = readFileSync(`/proc/${n}/stat`, "utf8");
      parent.set(Number(n), Number(s.slice(s.lastIndexOf(")") + 2).split(" ")[1]));
    } catch {}
  }
  const out: number[] = [];
  const walk = (p: number) => {
    for (const [c, pp] of parent) {
      if (pp === p) {
        out.push(c);
        walk(c);
      }
    }
  };
  walk(root);
  return out;
}

/** The command line of a process, `""` when gone. */
export function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
}

export const MiB = 1024 * 1024;

/**
 * The machine's load average (1, 5, 15 min) as printed beside every bench figure, e.g.
 * `load 2.31 / 1.80 / 1.02`: the machine is shared, so a figure means little without it.
 */
export function loadAverage(): string {
  try {
    const f = readFileSync("/proc/loadavg", "utf8").split(" ");
    return `load ${f[0]} / ${f[1]} / ${f[2]}`;
  } catch {
    return "load ?";
  }
}

/**
 * Redis's own time per command since the last `CONFIG RESETSTAT`, from `INFO commandstats`:
 * command name (lower case) → calls and total µs. `send` is a raw `sendCommand`.
 */
export async function redisCommandStats(
  send: (args: string[]) => Promise<unknown>,
): Promise<Map<string, { calls: number; usec: number }>> {
  const info = String(await send(["INFO", "commandstats"]));
  const out = new Map<string, { calls: number; usec: number }>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    out.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  }
  return out;
}

/** Memory of one process by kind of mapping, bytes (from /proc/PID/smaps). */
export interface MemDetail {
  rss: number;
  pss: number;
  /** Anonymous pages (JS heap, malloc, JIT code, stacks): private to the process. */
  anon: number;
  /** Pages of the executable that runs (the Bun runtime, or the compiled binary). */
  exeRss: number;
  exePss: number;
  /** Private_Clean + Private_Dirty / Shared_Clean + Shared_Dirty over all mappings. */
  private: number;
  shared: number;
  /** The largest mappings by RSS: `name rssKiB`. */
  top: string[];
}

/**
 * Splits a process's memory by mapping (/proc/PID/smaps): anonymous, the executable's own
 * file pages (shared by every process started from it), other files.
 * @returns zeros when the process is gone.
 */
export function memoryDetail(pid: number): MemDetail {
  const d: MemDetail = {
    rss: 0,
    pss: 0,
    anon: 0,
    exeRss: 0,
    exePss: 0,
    private: 0,
    shared: 0,
    top: [],
  };
  let text: string;
  let exe = "";
  try {
    text = readFileSync(`/proc/${pid}/smaps`, "utf8");
    exe = readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return d;
  }
  const byName = new Map<string, number>();
  let name = "";
  for (const line of text.split("\n")) {
    const head = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (head) {
      name = head[1] || "[anon]";
      continue;
    }
    const m = /^(\w+):\s+(\d+) kB/.exec(line);
    if (!m) continue;
    const v = Number(m[2]) * 1024;
    switch (m[1]) {
      case "Rss":
        d.rss += v;
        byName.set(name, (byName.get(name) ?? 0) + v);
        if (name === exe) d.exeRss += v;
        break;
      case "Pss":
        d.pss += v;
        if (name === exe) d.exePss += v;
        break;
      case "Anonymous":
        d.anon += v;
        break;
      case "Private_Clean":
      case "Private_Dirty":
        d.private += v;
        break;
      case "Shared_Clean":
      case "Shared_Dirty":
        d.shared += v;
        break;
    }
  }
  d.top = [...byName]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([n, v]) => `${n.replace(/^.*\//, "")} ${Math.round(v / 1024)}`);
  return d;
}
