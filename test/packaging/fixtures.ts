import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Register map of the packaging tests' Modbus simulator: HR0 = 1234, HR1 = 5678, HR2 counts. */
export const SIM_MAP = {
  unit_id: 1,
  tick_ms: 100,
  holding_registers: { "0": [1234, 5678] },
  entries: [
    {
      name: "count",
      table: "holding_registers",
      address: 2,
      data_type: "uint16",
      generator: { type: "counter", start: 0, step: 1, every_ms: 200 },
    },
  ],
};

/**
 * Writes a configuration directory (connections.csv, blocks.csv, tags.csv) with one Modbus
 * TCP connection `connId` to 127.0.0.1:`port`, block `hr` (HR 0..3 every `periodMs`) and the
 * tags `a` (HR0), `b` (HR1), plus `count` (HR2) when `extraTag`; `memoryMax`/`cpuQuota`
 * fill the connection's service limits (`256M`, `80%`).
 * @returns the directory.
 */
export function writeConfig(
  dir: string,
  connId: string,
  port: number,
  opts: { extraTag?: boolean; periodMs?: number; memoryMax?: string; cpuQuota?: string } = {},
): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, "connections.csv"),
    `conn_id,protocol,host,port,unit_id,timeout_ms,connect_timeout_ms,backoff_initial_ms,backoff_max_ms,memory_max,cpu_quota\n${connId},modbus-tcp,127.0.0.1,${port},1,1000,2000,200,2000,${opts.memoryMax ?? ""},${opts.cpuQuota ?? ""}\n`,
  );
  writeFileSync(
    join(dir, "blocks.csv"),
    `conn_id,block_id,table,address,count,period_ms\n${connId},hr,holding_registers,0,4,${opts.periodMs ?? 100}\n`,
  );
  const tags = [
    "conn_id,tag_name,block_id,address,data_type",
    `${connId},a,hr,0,uint16`,
    `${connId},b,hr,1,uint16`,
  ];
  if (opts.extraTag) tags.push(`${connId},count,hr,2,uint16`);
  writeFileSync(join(dir, "tags.csv"), `${tags.join("\n")}\n`);
  return dir;
}

/** Polls `f` every `everyMs` until it returns a truthy value; throws `what` after `ms`. */
export async function until<T>(
  what: string,
  f: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  ms = 30_000,
  everyMs = 100,
): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await f();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await Bun.sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? ` (last error: ${String(last)})` : ""}`);
}

/**
 * Installs Debian packages with apt-get (as root), running `apt-get update` and retrying once
 * when the first attempt fails (a fresh machine may have no package lists).
 * @throws Error with apt's output when the packages cannot be installed.
 */
export function aptInstall(packages: string[]): void {
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const install = () =>
    Bun.spawnSync(["apt-get", "install", "-y", "-q", "--no-install-recommends", ...packages], {
      env,
      stdout: "pipe",
      stderr: "pipe",
    });
  let r = install();
  if (r.exitCode !== 0) {
    Bun.spawnSync(["apt-get", "update", "-q"], { env, stdout: "ignore", stderr: "ignore" });
    r = install();
  }
  if (r.exitCode !== 0) {
    throw new Error(
      `apt-get install ${packages.join(" ")} failed (exit ${r.exitCode}): ${r.stderr.toString().slice(-800)}`,
    );
  }
}

/** Installs dpkg-dev (dpkg-gencontrol, dpkg-shlibdeps) when missing: packaging/build-deb.ts needs it. */
export function ensureDebTools(): void {
  if (
    Bun.spawnSync(["sh", "-c", "command -v dpkg-gencontrol && command -v dpkg-shlibdeps"])
      .exitCode !== 0
  ) {
    aptInstall(["dpkg-dev"]);
  }
}
