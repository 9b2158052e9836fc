import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import ModbusRTU from "modbus-serial";
import type { TagValue } from "../../src/core/tag-value.ts";
import { openStore } from "../../src/store/store.ts";
import { buildStatus } from "../../src/supervisor/status.ts";
import type { BusEvent, Subscription } from "../../src/tagbus/index.ts";
import { startPeer, tcpAccepts } from "../support/peer.ts";
import { freePort } from "../support/ports.ts";
import { E2E } from "./harness.ts";

/**
 * The chaos run of issue 12 §8: three Modbus TCP connections against simulators (each in its
 * own process) under the real supervisor (process manager) and a Redis with the shipped
 * persistence (append-only file, `appendfsync everysec`). At seeded random moments it kills -9
 * an app, the supervisor, Redis or a simulator, or freezes a simulator (SIGSTOP) and thaws it.
 * A checker compares, continuously, what the bus and the status (`buildStatus`, what
 * `nodi-edge status` prints) claim with the truth, and counts a violation for:
 *
 * - `good_but_false`: a data tag claimed good whose value the device did not hold at any time
 *   within the last {@link ChaosOptions.lagMs} (the device is dead, or holds another value);
 * - `good_from_dead_app`: a data tag still good more than 2 s after every app of its
 *   connection died (issue 12 §2: within 1 s);
 * - `state_untrue`: `/system/{id}/state` or the status row claims a running state while no
 *   app process exists, or `stopped` while one runs, for more than 2 s (a just started app
 *   says `INIT starting (pid N)` through the supervisor, docs/supervisor.md); or `EXECUTE
 *   connected` while the device has been down or frozen for longer than a request timeout +
 *   2 s (the true claim is `RECOVER`, or `EXECUTE no reply (timeout)`, docs/intf.md);
 * - `state_missing`: an app runs but its state tag has been missing for more than 5 s
 *   (issue 12 §3);
 * - `update_lost`: a durable subscriber sees a seq jump of a producer without a gap event
 *   (docs/tagbus.md: every loss is reported);
 * - `left_behind`: an app process of this run still alive after the supervisor stopped.
 *
 * The truth of a device is what the checker itself wrote to its holding register 0 (through
 * an independent client, modbus-serial) and when; a killed simulator holds nothing until it is
 * restarted with its map's initial value 0; a frozen one keeps what it held (no writes are
 * sent to it while frozen).
 */
export interface ChaosOptions {
  /** Length of the fault phase, s. */
  seconds: number;
  /** Seed of the fault schedule (same seed, same schedule). */
  seed: number;
  /** Block period of the connections, ms. Default 200. */
  periodMs?: number;
  /** Lag allowed between the device and the bus for a good value, ms. Default period + 1,500. */
  lagMs?: number;
  /** Mean pause between two faults, ms. Default 4,000. */
  faultEveryMs?: number;
  /** Progress lines (default: none). */
  log?: (line: string) => void;
}

export type FaultKind = "kill_app" | "kill_supervisor" | "kill_redis" | "kill_sim" | "freeze_sim";
export type ViolationKind =
  | "good_but_false"
  | "good_from_dead_app"
  | "state_untrue"
  | "state_missing"
  | "update_lost"
  | "left_behind";

export interface Violation {
  kind: ViolationKind;
  /** ms since the start of the run. */
  at: number;
  detail: string;
}

export interface ChaosReport {
  faults: Record<FaultKind, number>;
  checks: Record<"data" | "state" | "status" | "updates", number>;
  /** Checks skipped because Redis was down. */
  skipped: number;
  violations: Violation[];
  /** Violation counts by kind. */
  byKind: Record<ViolationKind, number>;
  /** The summary table, ready to print. */
  table: string;
}

const RUNNING_STATES = new Set(["INIT", "CONFIGURE", "CONNECT", "EXECUTE", "RECOVER"]);
const CONNS = ["chaos-a", "chaos-b", "chaos-c"] as const;
/** One round of faults (apps are killed twice as often: the commonest fault in the field). */
const FAULT_ROUND: readonly FaultKind[] = [
  "kill_app",
  "kill_app",
  "kill_supervisor",
  "kill_redis",
  "kill_sim",
  "freeze_sim",
];

/** mulberry32: a small seeded PRNG, uniform in [0, 1). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What a device held over time: intervals [from, to) of one value (`null` = device dead). */
class DeviceTruth {
  private spans: Array<{ v: number | null; from: number; to: number }> = [];

  /** A value possibly held from `at` on (write sent, restart); earlier ones stay possible until {@link settle}. */
  hold(v: number | null, at: number): void {
    this.spans.push({ v, from: at, to: Number.POSITIVE_INFINITY });
  }

  /** The last value is certain from `at` on: every earlier one ends there. */
  settle(at: number): void {
    for (let i = 0; i < this.spans.length - 1; i++) {
      const s = this.spans[i]!;
      if (s.to === Number.POSITIVE_INFINITY) s.to = at;
    }
  }

  /** Values possibly held at some time in [a, b]. */
  heldWithin(a: number, b: number): Set<number | null> {
    const out = new Set<number | null>();
    for (const s of this.spans) if (s.from <= b && s.to >= a) out.add(s.v);
    return out;
  }

  /** The span of the last time `v` was held (for a violation's detail). */
  lastSpan(v: number | null): { from: number; to: number } | undefined {
    for (let i = this.spans.length - 1; i >= 0; i--)
      if (this.spans[i]!.v === v) return this.spans[i];
    return undefined;
  }

  /** Since when the device has been down without a break (`undefined` when it is up). */
  downSince(): number | undefined {
    const last = this.spans[this.spans.length - 1];
    return last && last.v === null ? last.from : undefined;
  }
}

interface Sim {
  conn: (typeof CONNS)[number];
  port: number;
  mapFile: string;
  proc?: Subprocess;
  frozenSince?: number;
  client?: ModbusRTU;
  truth: DeviceTruth;
}

/** Runs the chaos run; never throws for a violation (they are in the report). */
export async function runChaos(opts: ChaosOptions): Promise<ChaosReport> {
  const period = opts.periodMs ?? 200;
  const lag = opts.lagMs ?? period + 1500;
  const timeoutMs = 500;
  const log = opts.log ?? (() => {});
  const rand = prng(opts.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;

  const faults: ChaosReport["faults"] = {
    kill_app: 0,
    kill_supervisor: 0,
    kill_redis: 0,
    kill_sim: 0,
    freeze_sim: 0,
  };
  const checks: ChaosReport["checks"] = { data: 0, state: 0, status: 0, updates: 0 };
  let skipped = 0;
  const violations: Violation[] = [];
  const t0 = Date.now();
  // A violation is counted once per episode: while the same claim (kind + subject) stays
  // untrue on consecutive checks it is one violation, not one per check.
  let openNow = new Set<string>();
  let openBefore = new Set<string>();
  const violate = (kind: ViolationKind, subject: string, detail: string) => {
    const key = `${kind} ${subject}`;
    openNow.add(key);
    if (openBefore.has(key)) return;
    violations.push({ kind, at: Date.now() - t0, detail });
    log(`VIOLATION ${kind} at +${Date.now() - t0} ms: ${detail}`);
  };

  const e2e = new E2E({ appendonly: true, env: { NE_LOG_LEVEL: "warn" } });
  await e2e.start();
  const sims: Sim[] = [];
  let sub: Subscription | undefined;
  try {
    for (const conn of CONNS) {
      const mapFile = join(e2e.dir.path, `${conn}.json`);
      writeFileSync(
        mapFile,
        JSON.stringify({
          unit_id: 1,
          tick_ms: 100,
          holding_registers: { "0": 0 },
          entries: [
            {
              name: "counter",
              table: "holding_registers",
              address: 2,
              data_type: "uint32",
              generator: { type: "counter", start: 0, step: 1, every_ms: 300 },
            },
          ],
        }),
      );
      const sim: Sim = { conn, port: await freePort(), mapFile, truth: new DeviceTruth() };
      sims.push(sim);
      await startSim(sim);
    }
    await e2e.importCsv("config", {
      connections: `conn_id,protocol,host,port,timeout_ms,connect_timeout_ms,backoff_initial_ms,backoff_max_ms\n${sims
        .map((s) => `${s.conn},modbus-tcp,127.0.0.1,${s.port},${timeoutMs},1000,200,2000`)
        .join("\n")}\n`,
      blocks: `conn_id,block_id,table,address,count,period_ms\n${sims
        .map((s) => `${s.conn},hr,holding_registers,0,4,${period}`)
        .join("\n")}\n`,
      tags: `conn_id,tag_name,block_id,address,data_type\n${sims
        .map((s) => `${s.conn},value,hr,0,uint16\n${s.conn},counter,hr,2,uint32`)
        .join("\n")}\n`,
    });
    e2e.startSupervisor();
    for (const s of sims) await e2e.goodValue(`/${s.conn}/value`, () => true, 0, 60_000);
    log("all three connections good; faults start");

    // Loss checker: a durable subscriber; a seq jump of a producer without a gap is a loss.
    const lastSeq = new Map<string, number>();
    const gapAllowed = new Set<string>();
    let allGaps = false;
    sub = await e2e.bus.subscribe(
      // Every path: an app's seq counts its data and its /system/{id}/… tags alike.
      ["/**"],
      (ev: BusEvent) => {
        if (ev.kind === "gap") {
          if (ev.producer) gapAllowed.add(ev.producer);
          else allGaps = true;
          return;
        }
        if (ev.kind === "resync") {
          for (const v of ev.values)
            lastSeq.set(v.producer, Math.max(lastSeq.get(v.producer) ?? 0, v.seq));
          return;
        }
        const v = ev.value;
        if (!(CONNS as readonly string[]).includes(v.producer)) return;
        checks.updates++;
        const prev = lastSeq.get(v.producer);
        if (prev !== undefined && v.seq > prev + 1 && !gapAllowed.has(v.producer) && !allGaps) {
          violate(
            "update_lost",
            `${v.producer} ${v.seq}`,
            `${v.producer}: seq ${prev} then ${v.seq} with no gap event`,
          );
        }
        if (prev === undefined || v.seq > prev) lastSeq.set(v.producer, v.seq);
        gapAllowed.delete(v.producer);
        allGaps = false;
      },
      { durable: "chaos-checker" },
    );

    // Truth about processes, remembered with the time it last changed.
    const aliveSince = new Map<string, number>();
    const deadSince = new Map<string, number>();
    const observeProcesses = (now: number) => {
      for (const c of CONNS) {
        const alive = e2e.appPids(c).length > 0;
        if (alive) {
          deadSince.delete(c);
          if (!aliveSince.has(c)) aliveSince.set(c, now);
        } else {
          aliveSince.delete(c);
          if (!deadSince.has(c)) deadSince.set(c, now);
        }
      }
    };
    const store = openStore(e2e.dbPath);
    const connections = store.listConnections();
    store.close();

    let redisDownUntil = 0;
    let supervisorDownUntil = 0;
    const pending: Array<{ at: number; run: () => Promise<void> }> = [];
    let nextFault = Date.now() + (opts.faultEveryMs ?? 4000) * (0.5 + rand());
    let nextWrite = 0;
    let nextCheck = 0;
    const end = Date.now() + opts.seconds * 1000;

    const check = async (now: number) => {
      openBefore = openNow;
      openNow = new Set();
      observeProcesses(now);
      let values: TagValue[];
      try {
        values = [...(await e2e.bus.list("/chaos-")), ...(await e2e.bus.list("/system/"))];
      } catch {
        skipped++;
        return;
      }
      // Issue 12 §3: after Redis comes back, claims are right again within 5 s.
      if (now < redisDownUntil + 5000) {
        skipped++;
        return;
      }
      const byPath = new Map(values.map((v) => [v.path, v]));
      // The truth up to the moment the bus answered: a value written meanwhile (the writes
      // of this loop turn, seconds under load) may be on the bus already.
      const readAt = Date.now();
      for (const s of sims) {
        const c = s.conn;
        const dead = deadSince.get(c);
        const v = byPath.get(`/${c}/value`);
        checks.data++;
        if (v && v.quality === "good") {
          const held = s.truth.heldWithin(now - lag, readAt);
          if (!held.has(v.value as number)) {
            violate(
              "good_but_false",
              c,
              `/${c}/value good ${v.value} (ts +${v.ts - t0}) but the device held ${[...held].map((x) => x ?? "nothing (dead)").join(", ")} from +${now - lag - t0} to +${readAt - t0} ms${spanNote(s.truth.lastSpan(v.value as number))}`,
            );
          }
          if (dead !== undefined && now - dead > 2000) {
            violate(
              "good_from_dead_app",
              c,
              `/${c}/value still good ${now - dead} ms after its app died`,
            );
          }
        }
        const st = byPath.get(`/system/${c}/state`);
        checks.state++;
        const alive = aliveSince.get(c);
        if (!st) {
          // Issue 12 §3: republished within 5 s of an app start or of Redis coming back.
          const since = Math.max(alive ?? now, redisDownUntil);
          if (alive !== undefined && now - since > 5000) {
            violate(
              "state_missing",
              c,
              `${c}: app running, Redis up, no state tag for ${now - since} ms`,
            );
          }
        } else {
          stateClaim(`state tag of ${c}`, String(st.value), st.reason, s, now);
        }
      }
      checks.status++;
      for (const row of buildStatus(connections, values, now)) {
        const s = sims.find((x) => x.conn === row.conn_id)!;
        if (row.state !== "unknown")
          stateClaim(`status of ${row.conn_id}`, row.state, row.reason ?? undefined, s, now);
      }
      function stateClaim(
        what: string,
        state: string,
        reason: string | undefined,
        s: Sim,
        at: number,
      ) {
        const dead = deadSince.get(s.conn);
        const alive = aliveSince.get(s.conn);
        if (RUNNING_STATES.has(state) && dead !== undefined && at - dead > 2000) {
          violate("state_untrue", what, `${what} says ${state} ${at - dead} ms after its app died`);
        }
        if (
          !RUNNING_STATES.has(state) &&
          alive !== undefined &&
          at - alive > 2000 &&
          now > supervisorDownUntil + 3000
        ) {
          violate(
            "state_untrue",
            what,
            `${what} says ${state} while its app has run for ${at - alive} ms`,
          );
        }
        const down = s.frozenSince ?? s.truth.downSince();
        if (
          state === "EXECUTE" &&
          reason === "connected" &&
          down !== undefined &&
          at - down > timeoutMs + 2000
        ) {
          violate(
            "state_untrue",
            what,
            `${what} says EXECUTE connected ${at - down} ms after the device went down`,
          );
        }
      }
    };

    // Faults come in rounds, each a shuffled FAULT_ROUND, so every kind occurs in a short run.
    const shuffled = <T>(xs: readonly T[]): T[] => {
      const a = [...xs];
      for (let i = a.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [a[i], a[j]] = [a[j]!, a[i]!];
      }
      return a;
    };
    let bag: FaultKind[] = [];
    const inject = async (now: number) => {
      if (bag.length === 0) bag = shuffled(FAULT_ROUND);
      const kind = bag.pop()!;
      if (kind === "kill_app") {
        const pids = CONNS.flatMap((c) => e2e.appPids(c));
        if (pids.length === 0) return;
        process.kill(pick(pids), "SIGKILL");
      } else if (kind === "kill_supervisor") {
        if (!e2e.supervisor) return;
        await e2e.stopSupervisor("SIGKILL");
        const back = now + 500 + rand() * 2000;
        supervisorDownUntil = back;
        pending.push({ at: back, run: async () => void e2e.startSupervisor() });
      } else if (kind === "kill_redis") {
        if (redisDownUntil > now) return;
        await e2e.redis.stop(true);
        const back = now + 1000 + rand() * 3000;
        redisDownUntil = back;
        pending.push({ at: back, run: async () => void (await e2e.redis.start()) });
      } else if (kind === "kill_sim") {
        const s = pick(sims.filter((x) => x.proc && x.frozenSince === undefined));
        if (!s) return;
        await stopSim(s);
        pending.push({ at: now + 1500 + rand() * 3000, run: () => startSim(s) });
      } else {
        const s = pick(sims.filter((x) => x.proc && x.frozenSince === undefined));
        if (!s) return;
        s.proc!.kill("SIGSTOP");
        s.frozenSince = Date.now();
        pending.push({
          at: now + 1500 + rand() * 3000,
          run: async () => {
            s.proc?.kill("SIGCONT");
            s.frozenSince = undefined;
          },
        });
      }
      faults[kind]++;
      log(`+${now - t0} ms fault ${kind}`);
    };

    while (Date.now() < end || pending.length > 0) {
      const now = Date.now();
      for (const p of pending.filter((x) => x.at <= now)) {
        pending.splice(pending.indexOf(p), 1);
        await p.run();
      }
      if (now < end && now >= nextFault) {
        await inject(now);
        nextFault = now + (opts.faultEveryMs ?? 4000) * (0.5 + rand());
      }
      if (now >= nextWrite) {
        for (const s of sims) await writeValue(s, 1 + Math.floor(rand() * 60000));
        nextWrite = now + 700;
      }
      if (now >= nextCheck) {
        // not `now`: the writes above may have taken seconds under load
        await check(Date.now());
        nextCheck = now + 250;
      }
      await Bun.sleep(20);
    }

    // Everything restored: within a few seconds every claim is true again.
    log("faults over; settling");
    const settleEnd = Date.now() + 8000;
    while (Date.now() < settleEnd) {
      await check(Date.now());
      await Bun.sleep(250);
    }
    await sub.close();
    sub = undefined;
    await e2e.stopSupervisor("SIGTERM");
    const leftEnd = Date.now() + 12_000;
    let left = CONNS.flatMap((c) => e2e.appPids(c));
    while (left.length > 0 && Date.now() < leftEnd) {
      await Bun.sleep(200);
      left = CONNS.flatMap((c) => e2e.appPids(c));
    }
    if (left.length > 0)
      violate(
        "left_behind",
        "apps",
        `ne-intf pids ${left.join(", ")} alive after the supervisor stopped`,
      );
  } finally {
    await sub?.close().catch(() => {});
    for (const s of sims) await stopSim(s).catch(() => {});
    await e2e.shutdown();
  }

  const byKind: ChaosReport["byKind"] = {
    good_but_false: 0,
    good_from_dead_app: 0,
    state_untrue: 0,
    state_missing: 0,
    update_lost: 0,
    left_behind: 0,
  };
  for (const v of violations) byKind[v.kind]++;
  const rows: string[][] = [
    [
      "faults injected",
      Object.entries(faults)
        .map(([k, n]) => `${k}=${n}`)
        .join(" "),
    ],
    [
      "checks made",
      `${Object.entries(checks)
        .map(([k, n]) => `${k}=${n}`)
        .join(" ")} (skipped while Redis down: ${skipped})`,
    ],
    [
      "violations",
      `${violations.length}: ${Object.entries(byKind)
        .map(([k, n]) => `${k}=${n}`)
        .join(" ")}`,
    ],
  ];
  const w = Math.max(...rows.map((r) => r[0]!.length));
  const table = rows.map((r) => `${r[0]!.padEnd(w)}  ${r[1]}`).join("\n");
  return { faults, checks, skipped, violations, byKind, table };

  function spanNote(span: { from: number; to: number } | undefined): string {
    if (!span) return " (it never held that value)";
    const to = span.to === Number.POSITIVE_INFINITY ? "now" : `+${span.to - t0}`;
    return ` (it held that value from +${span.from - t0} to ${to})`;
  }

  async function startSim(s: Sim): Promise<void> {
    const argv = [
      process.execPath,
      join(import.meta.dir, "../../src/cli/main.ts"),
      "sim",
      "modbus",
      "--map",
      s.mapFile,
      "--port",
      String(s.port),
    ];
    s.proc = await startPeer(argv, () => tcpAccepts(s.port), {
      name: `simulator ${s.conn}`,
      timeoutMs: 20_000,
    });
    s.truth.hold(0, Date.now());
    s.truth.settle(Date.now());
  }

  async function stopSim(s: Sim): Promise<void> {
    const p = s.proc;
    s.proc = undefined;
    s.client?.close(() => {});
    s.client = undefined;
    if (!p) return;
    p.kill("SIGKILL");
    await p.exited;
    s.frozenSince = undefined;
    s.truth.hold(null, Date.now());
    s.truth.settle(Date.now());
  }

  async function writeValue(s: Sim, v: number): Promise<void> {
    if (!s.proc || s.frozenSince !== undefined) return;
    try {
      if (!s.client) {
        const c = new ModbusRTU();
        c.setTimeout(timeoutMs);
        await c.connectTCP("127.0.0.1", { port: s.port });
        c.setID(1);
        s.client = c;
      }
      s.truth.hold(v, Date.now());
      await s.client.writeRegister(0, v);
      s.truth.settle(Date.now());
    } catch {
      s.client?.close(() => {});
      s.client = undefined;
    }
  }
}
