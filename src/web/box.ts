import { readFileSync, statfsSync, statSync } from "node:fs";
import os from "node:os";
import { dirname } from "node:path";
import { BUILD_INFO } from "../build-info.ts";

/**
 * The gateway box as the Overview page shows it: build, host uptime and load, memory, the
 * free disk where the SoT lives, and CPU and memory per app process (read from Linux
 * `/proc/{pid}/stat` and `/proc/{pid}/status`, proc(5)).
 */
export interface BoxInfo {
  version: string;
  commit: string;
  target: string;
  hostname: string;
  /** Host uptime, s. */
  uptime_s: number;
  /** 1, 5 and 15 minute load averages. */
  load: number[];
  cpus: number;
  mem_total_bytes: number;
  /** Memory available to new work (`MemAvailable` of /proc/meminfo, else free), bytes. */
  mem_available_bytes: number;
  /** The file system holding the SoT. */
  disk: {
    path: string;
    free_bytes: number | null;
    total_bytes: number | null;
    db_bytes: number | null;
  };
  /** One row per running app process. */
  apps: AppProcess[];
}

/** One app process in {@link BoxInfo.apps}. */
export interface AppProcess {
  /** `ne-web`, `ne-supervisor`, `ne-intf`, `ne-north`. */
  app: string;
  /** The connection or northbound id (`""` for ne-web and the supervisor). */
  id: string;
  pid: number;
  /** CPU use since the previous sample of this pid (or over the last 200 ms), % of one core; null when unreadable. */
  cpu_pct: number | null;
  /** Resident memory, bytes; null when unreadable. */
  rss_bytes: number | null;
}

/** Clock ticks per second of `/proc/{pid}/stat` times (USER_HZ, 100 on Linux). */
const USER_HZ = 100;

/** utime + stime of `pid` in clock ticks, or null (no such process, not Linux). */
export function cpuTicks(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the command name (field 2) is in parentheses and may hold spaces: split after it
    const rest = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return Number(rest[11]) + Number(rest[12]); // fields 14 (utime) and 15 (stime)
  } catch {
    return null;
  }
}

/** VmRSS of `pid` in bytes, or null. */
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** Remembers the last CPU sample per pid, so that each request measures since the previous one. */
export class CpuSampler {
  private last = new Map<number, { ticks: number; at: number }>();

  /** CPU % of one core per pid since its previous sample; pids seen for the first time are sampled over 200 ms. */
  async sample(pids: readonly number[]): Promise<Map<number, number | null>> {
    const now = () => performance.now();
    const fresh = pids.filter((p) => !this.last.has(p));
    if (fresh.length > 0) {
      for (const p of fresh) {
        const t = cpuTicks(p);
        if (t !== null) this.last.set(p, { ticks: t, at: now() });
      }
      await Bun.sleep(200);
    }
    const out = new Map<number, number | null>();
    const seen = new Set(pids);
    for (const p of pids) {
      const t = cpuTicks(p);
      const prev = this.last.get(p);
      const at = now();
      if (t === null || !prev || at - prev.at <= 0) out.set(p, null);
      else out.set(p, Math.max(0, (((t - prev.ticks) * 1000) / USER_HZ / (at - prev.at)) * 100));
      if (t !== null) this.last.set(p, { ticks: t, at });
    }
    for (const p of this.last.keys()) if (!seen.has(p)) this.last.delete(p);
    return out;
  }
}

function memAvailable(): number {
  try {
    const m = /^MemAvailable:\s+(\d+) kB/m.exec(readFileSync("/proc/meminfo", "utf8"));
    if (m) return Number(m[1]) * 1024;
  } catch {
    // not Linux
  }
  return os.freemem();
}

function fileBytes(path: string): number | null {
  try {
    let n = statSync(path).size;
    for (const ext of ["-wal", "-shm"]) {
      try {
        n += statSync(path + ext).size;
      } catch {
        // no such file
      }
    }
    return n;
  } catch {
    return null;
  }
}

/**
 * Reads the box: build, host, the disk of `dbPath`, and CPU / memory of `apps` (pid known).
 * Never throws: what cannot be read is null.
 */
export async function readBox(
  dbPath: string,
  apps: readonly Omit<AppProcess, "cpu_pct" | "rss_bytes">[],
  sampler: CpuSampler,
): Promise<BoxInfo> {
  let disk: BoxInfo["disk"] = { path: dbPath, free_bytes: null, total_bytes: null, db_bytes: null };
  try {
    const s = statfsSync(dirname(dbPath));
    disk = {
      path: dbPath,
      free_bytes: s.bavail * s.bsize,
      total_bytes: s.blocks * s.bsize,
      db_bytes: fileBytes(dbPath),
    };
  } catch {
    disk.db_bytes = fileBytes(dbPath);
  }
  const cpu = await sampler.sample(apps.map((a) => a.pid));
  return {
    version: BUILD_INFO.version,
    commit: BUILD_INFO.commit,
    target: BUILD_INFO.target,
    hostname: os.hostname(),
    uptime_s: Math.round(os.uptime()),
    load: os.loadavg().map((x) => Math.round(x * 100) / 100),
    cpus: os.cpus().length,
    mem_total_bytes: os.totalmem(),
    mem_available_bytes: memAvailable(),
    disk,
    apps: apps.map((a) => ({ ...a, cpu_pct: cpu.get(a.pid) ?? null, rss_bytes: rssBytes(a.pid) })),
  };
}
