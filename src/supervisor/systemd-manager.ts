import { readFileSync } from "node:fs";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { NodiError } from "../core/errors.ts";
import { type Logger, silentLogger } from "../core/log.ts";
import { type CommandRunner, spawnRunner } from "./command-runner.ts";
import {
  type ActiveState,
  type AppTemplate,
  type InstanceLimits,
  type InstanceStatus,
  type ServiceManager,
  unitName,
} from "./service-manager.ts";

/** Options of {@link SystemdManager}. */
export interface SystemdManagerOptions {
  /** argv prefix of systemctl (default `["systemctl"]`). */
  systemctl?: string[];
  /** Where per-instance drop-ins go (default `/etc/systemd/system`). */
  unitDir?: string;
  /** Runs systemctl (default: spawn it). */
  run?: CommandRunner;
  log?: Logger;
  /**
   * `persistent`: `enable --now` / `disable --now`, limits as drop-in files in `unitDir` with
   * `daemon-reload` (needs root). `runtime`: `start` / `stop`, limits with
   * `systemctl set-property --runtime` (no file written by this process); what the packaged
   * supervisor uses as the unprivileged user `nodi-edge`, whose polkit rule
   * (packaging/polkit/50-nodi-edge.rules) allows exactly start, stop, restart, reset-failed
   * and set-property on `ne-intf@*.service` and `ne-north@*.service`. Boot persistence then comes from the supervisor
   * starting every enabled connection when it starts. Default: `persistent` for root, else
   * `runtime`.
   */
  mode?: "persistent" | "runtime";
}

const SHOW_PROPS = [
  "ActiveState",
  "SubState",
  "Result",
  "NRestarts",
  "ExecMainPID",
  "ExecMainStatus",
  "ExecMainStartTimestampMonotonic",
  "UnitFileState",
];

/**
 * The systemd service manager: one instance of the template `ne-intf@.service` per
 * connection, and of `ne-north@.service` per northbound. Two modes (see {@link SystemdManagerOptions.mode}); in the default
 * `persistent` mode (root): add = `systemctl enable --now ne-intf@ID` (after writing the limits drop-in
 * `ne-intf@ID.service.d/limits.conf` and `daemon-reload`), remove = `disable --now`, status
 * from `systemctl show`. systemd restarts the apps (`Restart=always`) and keeps them running
 * when the supervisor dies; {@link close} leaves them alone.
 */
export class SystemdManager implements ServiceManager {
  readonly kind = "systemd" as const;
  private readonly systemctl: string[];
  private readonly unitDir: string;
  private readonly run: CommandRunner;
  private readonly log: Logger;
  /** See {@link SystemdManagerOptions.mode}. */
  readonly mode: "persistent" | "runtime";
  /** Limits last applied in `runtime` mode (there is no drop-in file to read them back from). */
  private readonly runtimeLimits = new Map<string, InstanceLimits>();

  constructor(opts: SystemdManagerOptions = {}) {
    this.mode = opts.mode ?? (process.getuid?.() === 0 ? "persistent" : "runtime");
    this.systemctl = opts.systemctl ?? ["systemctl"];
    this.unitDir = opts.unitDir ?? "/etc/systemd/system";
    this.run = opts.run ?? spawnRunner;
    this.log = opts.log ?? silentLogger;
  }

  async add(
    connId: string,
    limits: InstanceLimits = {},
    template: AppTemplate = "ne-intf",
  ): Promise<void> {
    const unit = unitName(connId, template);
    if (this.mode === "runtime") {
      await this.setRuntimeLimits(unit, limits);
      const st = await this.status(connId, template);
      if (st && (st.state === "failed" || st.state === "inactive"))
        await this.ctl("reset-failed", unit).catch(() => {});
      await this.ctl("start", unit);
      this.log.info({ conn: connId, unit }, "unit started");
      return;
    }
    if (await this.writeLimits(unit, limits)) await this.ctl("daemon-reload");
    const st = await this.status(connId, template);
    if (st && (st.state === "failed" || st.state === "inactive"))
      await this.ctl("reset-failed", unit).catch(() => {});
    await this.ctl("enable", "--now", unit);
    this.log.info({ conn: connId, unit }, "unit enabled and started");
  }

  async remove(connId: string, template: AppTemplate = "ne-intf"): Promise<void> {
    const unit = unitName(connId, template);
    if (this.mode === "runtime") {
      await this.ctl("stop", unit);
      await this.ctl("reset-failed", unit).catch(() => {});
      this.runtimeLimits.delete(unit);
      this.log.info({ conn: connId, unit }, "unit stopped");
      return;
    }
    await this.ctl("disable", "--now", unit);
    await this.ctl("reset-failed", unit).catch(() => {});
    const dir = this.dropInDir(unit);
    if (await exists(join(dir, "limits.conf"))) {
      await rm(join(dir, "limits.conf"), { force: true });
      await rm(dir, { recursive: false, force: true }).catch(() => {});
      await this.ctl("daemon-reload");
    }
    this.log.info({ conn: connId, unit }, "unit stopped and disabled");
  }

  async list(template: AppTemplate = "ne-intf"): Promise<string[]> {
    const out = await this.ctl(
      "list-units",
      `${template}@*`,
      "--all",
      "--plain",
      "--no-legend",
      "--no-pager",
    );
    return parseListUnits(out, template);
  }

  async status(
    connId: string,
    template: AppTemplate = "ne-intf",
  ): Promise<InstanceStatus | undefined> {
    const unit = unitName(connId, template);
    const out = await this.ctl("show", "-p", SHOW_PROPS.join(","), unit);
    const props = parseShow(out);
    const limits = await this.readLimits(unit);
    return statusFromShow(connId, props, limits, monotonicNowMs(), template);
  }

  /** Nothing to release: the apps belong to systemd and keep running. */
  async close(): Promise<void> {}

  private dropInDir(unit: string): string {
    return join(this.unitDir, `${unit}.d`);
  }

  /** Writes (or removes) the limits drop-in; true when the file changed. */
  private async writeLimits(unit: string, limits: InstanceLimits): Promise<boolean> {
    const file = join(this.dropInDir(unit), "limits.conf");
    const text = limitsDropIn(limits);
    const old = await readFile(file, "utf8").catch(() => undefined);
    if (text === undefined) {
      if (old === undefined) return false;
      await rm(file, { force: true });
      return true;
    }
    if (old === text) return false;
    await mkdir(this.dropInDir(unit), { recursive: true });
    await writeFile(file, text);
    return true;
  }

  /**
   * `systemctl set-property --runtime` with both limits (an absent one is reset:
   * `MemoryMax=infinity`, `CPUQuota=`), only when they differ from the last applied.
   */
  private async setRuntimeLimits(unit: string, limits: InstanceLimits): Promise<void> {
    const want = { memoryMax: limits.memoryMax ?? null, cpuQuota: limits.cpuQuota ?? null };
    const had = this.runtimeLimits.get(unit);
    const same = had && had.memoryMax === want.memoryMax && had.cpuQuota === want.cpuQuota;
    if (same || (!had && !want.memoryMax && !want.cpuQuota)) {
      this.runtimeLimits.set(unit, want);
      return;
    }
    await this.ctl(
      "set-property",
      "--runtime",
      unit,
      `MemoryMax=${want.memoryMax ?? "infinity"}`,
      `CPUQuota=${want.cpuQuota ?? ""}`,
    );
    this.runtimeLimits.set(unit, want);
  }

  private async readLimits(unit: string): Promise<InstanceLimits> {
    if (this.mode === "runtime") {
      const l = this.runtimeLimits.get(unit);
      const out: InstanceLimits = {};
      if (l?.memoryMax) out.memoryMax = l.memoryMax;
      if (l?.cpuQuota) out.cpuQuota = l.cpuQuota;
      return out;
    }
    const text = await readFile(join(this.dropInDir(unit), "limits.conf"), "utf8").catch(() => "");
    const limits: InstanceLimits = {};
    const mem = /^MemoryMax=(.+)$/m.exec(text);
    const cpu = /^CPUQuota=(.+)$/m.exec(text);
    if (mem) limits.memoryMax = mem[1]!;
    if (cpu) limits.cpuQuota = cpu[1]!;
    return limits;
  }

  private async ctl(...args: string[]): Promise<string> {
    const argv = [...this.systemctl, ...args];
    const r = await this.run(argv);
    if (r.code !== 0) {
      throw new NodiError(
        "internal",
        `${argv.join(" ")} failed (exit ${r.code}): ${r.stderr.trim()}`,
        "systemctl",
        {
          argv,
          code: r.code,
        },
      );
    }
    return r.stdout;
  }
}

/**
 * The drop-in text for `limits` (systemd.resource-control(5) `MemoryMax=`, `CPUQuota=`), or
 * `undefined` when there is no limit.
 */
export function limitsDropIn(limits: InstanceLimits): string | undefined {
  const lines: string[] = [];
  if (limits.memoryMax) lines.push(`MemoryMax=${limits.memoryMax}`);
  if (limits.cpuQuota) lines.push(`CPUQuota=${limits.cpuQuota}`);
  if (lines.length === 0) return undefined;
  return `# Written by ne-supervisor from the connection's memory_max / cpu_quota.\n[Service]\n${lines.join("\n")}\n`;
}

/** Ids of the `{template}@ID.service` units in `systemctl list-units --plain --no-legend` output, sorted. */
export function parseListUnits(out: string, template: AppTemplate = "ne-intf"): string[] {
  const ids = new Set<string>();
  for (const line of out.split("\n")) {
    const cols = line
      .replace(/^[^\w]+/, "")
      .trim()
      .split(/\s+/);
    const head = `${template}@`;
    const unit = cols[0] ?? "";
    const m =
      unit.startsWith(head) && unit.endsWith(".service")
        ? [unit, unit.slice(head.length, -8)]
        : null;
    if (m && cols[1] !== "not-found") ids.add(m[1]!);
  }
  return [...ids].sort();
}

/** `Key=Value` lines of `systemctl show` as a record. */
export function parseShow(out: string): Record<string, string> {
  const props: Record<string, string> = {};
  for (const line of out.split("\n")) {
    const i = line.indexOf("=");
    if (i > 0) props[line.slice(0, i)] = line.slice(i + 1);
  }
  return props;
}

/**
 * The system's monotonic clock now, ms since boot: the clock of systemd's
 * `…TimestampMonotonic` properties (µs of CLOCK_MONOTONIC). Not `process.hrtime`: under Bun
 * it counts from the start of the process (Node's counts from boot), which made every
 * `since` (and so `nodi-edge status`'s uptime) off by the supervisor's own age. Read from
 * `/proc/uptime` (proc(5): seconds since boot, 10 ms resolution; that is CLOCK_BOOTTIME,
 * equal to CLOCK_MONOTONIC on a machine that has not been suspended, as a gateway is not).
 */
export function monotonicNowMs(): number {
  return Number(readFileSync("/proc/uptime", "utf8").split(" ")[0]) * 1000;
}

/**
 * Maps `systemctl show` properties to an {@link InstanceStatus}; `undefined` for an instance
 * systemd does not run and that is not enabled (any `ne-intf@X` "exists" through the template).
 * `template` is recorded in the status (default `ne-intf`).
 */
export function statusFromShow(
  connId: string,
  p: Record<string, string>,
  limits: InstanceLimits,
  monoNowMs: number,
  template: AppTemplate = "ne-intf",
): InstanceStatus | undefined {
  const active = p.ActiveState ?? "inactive";
  const enabled = (p.UnitFileState ?? "").startsWith("enabled");
  if (active === "inactive" && !enabled && p.Result !== "exit-code") return undefined;
  const state: ActiveState =
    active === "active" || active === "reloading"
      ? "active"
      : active === "activating" || active === "deactivating"
        ? "activating"
        : active === "failed"
          ? "failed"
          : "inactive";
  const s: InstanceStatus = {
    connId,
    template,
    state,
    subState: p.Result && p.Result !== "success" ? p.Result : (p.SubState ?? "dead"),
    restarts: Number(p.NRestarts ?? 0) || 0,
    limits,
  };
  const pid = Number(p.ExecMainPID ?? 0);
  if (state === "active" && pid > 0) s.pid = pid;
  const mono = Number(p.ExecMainStartTimestampMonotonic ?? 0);
  if (mono > 0) s.since = Math.round(Date.now() - (monoNowMs - mono / 1000));
  if (state !== "active" && mono > 0 && p.ExecMainStatus !== undefined)
    s.lastExitCode = Number(p.ExecMainStatus);
  return s;
}

async function exists(path: string): Promise<boolean> {
  return (await readFile(path)
    .then(() => true)
    .catch(() => false)) as boolean;
}
