import { systemTagPath } from "../../core/paths.ts";
import type { TagValue } from "../../core/tag-value.ts";
import { HEALTH_TAGS } from "../../intf/health.ts";
import { buildNorthStatus, type NorthStatus } from "../../supervisor/north-status.ts";
import { SUPERVISOR_STATE_PATH, type SupervisorStateValue } from "../../supervisor/service-tags.ts";
import type { Ctx } from "../app.ts";
import { type AppProcess, CpuSampler, readBox } from "../box.ts";
import { json } from "../http.ts";
import type { Router } from "../router.ts";
import { type WebConnStatus, webStatus } from "../status.ts";

/** One connection on the Overview page: its status plus what needs attention. */
export interface OverviewConn {
  conn_id: string;
  protocol: string;
  enabled: boolean;
  tag_count: number;
  status: WebConnStatus;
  /** Tag samples published per second: between the last two health tags seen, else since the app started; null before any health. */
  rate_per_s: number | null;
  /** Tags of the connection whose current value is `bad` / `uncertain`. */
  bad_tags: number;
  uncertain_tags: number;
  /** Devices of the link currently demoted. */
  demoted_devices: number;
  /** Why it needs attention, most serious first (empty = fine). */
  attention: string[];
  /** Sort rank: 0 = worst (RECOVER, not running), … 4 = fine, 5 = disabled. */
  rank: number;
}

/**
 * States that mean the device data is not coming: the app said so, is not running, or runs
 * but has not reported for too long (`silent`, `supervisor/status.ts`: hung or frozen).
 */
const DOWN_STATES = new Set(["RECOVER", "FAILED", "STOP", "stopped", "silent"]);

/** Previous health sample per connection (samples published, health tag time), per app instance. */
const previous = new WeakMap<object, Map<string, { samples: number; ts: number; rate: number }>>();
const samplers = new WeakMap<object, CpuSampler>();

/** Samples per second of one connection's app from its health tag (see {@link OverviewConn.rate_per_s}). */
function rateOf(
  seen: Map<string, { samples: number; ts: number; rate: number }>,
  s: WebConnStatus,
  healthTs: number | undefined,
): number | null {
  const h = s.health;
  if (!h || healthTs === undefined) return null;
  const samples = h.counters.samplesPublished;
  const prev = seen.get(s.conn_id);
  let rate: number;
  if (prev && prev.ts === healthTs) rate = prev.rate;
  else if (prev && healthTs > prev.ts && samples >= prev.samples)
    rate = ((samples - prev.samples) * 1000) / (healthTs - prev.ts);
  else rate = healthTs > h.startedAt ? (samples * 1000) / (healthTs - h.startedAt) : 0;
  seen.set(s.conn_id, { samples, ts: healthTs, rate });
  return Math.round(rate * 10) / 10;
}

/** Ranks and explains one connection (see {@link OverviewConn.attention}). */
export function attentionOf(
  c: Pick<OverviewConn, "enabled" | "bad_tags" | "uncertain_tags" | "demoted_devices"> & {
    status: Pick<WebConnStatus, "state" | "reason" | "error_total">;
  },
): { rank: number; attention: string[] } {
  if (!c.enabled) return { rank: 5, attention: [] };
  const why: string[] = [];
  let rank = 4;
  const st = c.status.state;
  if (DOWN_STATES.has(st)) {
    why.push(`${st}${c.status.reason ? `: ${c.status.reason}` : ""}`);
    rank = 0;
  } else if (st !== "EXECUTE") {
    why.push(st);
    rank = 3;
  }
  if (c.demoted_devices > 0) {
    why.push(`${c.demoted_devices} device(s) demoted`);
    rank = Math.min(rank, 1);
  }
  if (c.bad_tags > 0) {
    why.push(`${c.bad_tags} bad tag(s)`);
    rank = Math.min(rank, 2);
  }
  if (c.uncertain_tags > 0) {
    why.push(`${c.uncertain_tags} uncertain tag(s)`);
    rank = Math.min(rank, 3);
  }
  return { rank, attention: why };
}

/**
 * `GET /api/overview`: the gateway at a glance (docs/api.md): every connection with its state,
 * update rate, last good poll, errors, bad tags and demoted devices, the ones needing
 * attention first; counts by state; the TagBus link; every northbound with its app's health;
 * the box (build, host, disk of the SoT, CPU and memory per app process).
 */
export function overviewRoutes(r: Router<Ctx>): void {
  r.on("GET", "/api/overview", async (_req, _p, ctx) => {
    const now = Date.now();
    const configs = ctx.deps.store.getAllConfigs();
    const norths = ctx.deps.store.listNorthbounds();
    let system: TagValue[] = [];
    try {
      system = await ctx.deps.bus.list("/system/");
    } catch {
      // Redis unreachable: states unknown
    }
    const byPath = new Map(system.map((v) => [v.path, v]));
    const statuses = webStatus(
      configs.map((c) => c.connection),
      system,
      now,
    );
    let seen = previous.get(ctx.live);
    if (!seen) {
      seen = new Map();
      previous.set(ctx.live, seen);
    }
    const qualities = await Promise.all(
      configs.map(async (c) => {
        if (!c.connection.enabled) return [];
        try {
          return await ctx.deps.bus.list(`/${c.connection.conn_id}/`);
        } catch {
          return [];
        }
      }),
    );
    const connections: OverviewConn[] = configs.map((c, i) => {
      const status = statuses[i]!;
      const values = qualities[i]!;
      const base = {
        conn_id: c.connection.conn_id,
        protocol: c.connection.protocol,
        enabled: c.connection.enabled,
        tag_count: c.tags.length,
        status,
        rate_per_s: rateOf(
          seen,
          status,
          byPath.get(systemTagPath(status.conn_id, HEALTH_TAGS.health))?.ts,
        ),
        bad_tags: values.filter((v) => v.quality === "bad").length,
        uncertain_tags: values.filter((v) => v.quality === "uncertain").length,
        demoted_devices: (status.devices ?? []).filter((d) => d.state === "demoted").length,
      };
      return { ...base, ...attentionOf(base) };
    });
    connections.sort((a, b) => a.rank - b.rank || a.conn_id.localeCompare(b.conn_id));
    const byState: Record<string, number> = {};
    for (const c of connections) {
      const k = c.enabled ? c.status.state : "disabled";
      byState[k] = (byState[k] ?? 0) + 1;
    }
    const northStatus: NorthStatus[] = buildNorthStatus(norths, system, now);
    const apps: Omit<AppProcess, "cpu_pct" | "rss_bytes">[] = [
      { app: "ne-web", id: "", pid: process.pid },
    ];
    const sup = supervisorOf(byPath.get(SUPERVISOR_STATE_PATH));
    if (sup) apps.push({ app: "ne-supervisor", id: "", pid: sup.pid });
    for (const s of statuses) if (s.pid) apps.push({ app: "ne-intf", id: s.conn_id, pid: s.pid });
    for (const n of northStatus)
      if (n.pid) apps.push({ app: "ne-north", id: n.north_id, pid: n.pid });
    let sampler = samplers.get(ctx.live);
    if (!sampler) {
      sampler = new CpuSampler();
      samplers.set(ctx.live, sampler);
    }
    return json({
      ts: now,
      by_state: byState,
      attention: connections.filter((c) => c.rank < 4).length,
      connections,
      northbounds: northStatus,
      bus: { ...ctx.deps.bus.stats(), connected: ctx.live.busConnected },
      supervisor: sup,
      box: await readBox(ctx.deps.store.path, apps, sampler),
    });
  });
}

function supervisorOf(v: TagValue | undefined): SupervisorStateValue | null {
  if (!v || typeof v.value !== "string") return null;
  try {
    const o = JSON.parse(v.value) as SupervisorStateValue;
    return o.state === "running" && typeof o.pid === "number" ? o : null;
  } catch {
    return null;
  }
}
