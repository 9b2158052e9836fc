import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type StackOptions, startStack } from "../../scripts/demo/stack.ts";
import { createRedisTagBus } from "../../src/tagbus/index.ts";
import { cmdline, descendants, type MemDetail, memoryDetail } from "./proc-stats.ts";

/** RSS and PSS of one process, bytes. */
export type Mem = { rss: number; pss: number };

/**
 * Writes connections/blocks/tags CSVs for `n` Modbus TCP connections `c000…` (ports 20000+i),
 * each with one holding-register block of `tags` uint16 tags `v00…` polled every `periodMs`.
 */
export function writeModbusBenchConfig(
  dir: string,
  n: number,
  periodMs: number,
  tags: number,
): void {
  mkdirSync(dir, { recursive: true });
  const ids = Array.from({ length: n }, (_, i) => `c${String(i).padStart(3, "0")}`);
  writeFileSync(
    join(dir, "connections.csv"),
    `conn_id,protocol,host,port,unit_id\n${ids.map((id, i) => `${id},modbus-tcp,127.0.0.1,${20000 + i},1`).join("\n")}\n`,
  );
  writeFileSync(
    join(dir, "blocks.csv"),
    `conn_id,block_id,table,address,count,period_ms\n${ids.map((id) => `${id},hr,holding_registers,0,${tags},${periodMs}`).join("\n")}\n`,
  );
  const rows = ids.flatMap((id) =>
    Array.from({ length: tags }, (_, t) => `${id},v${String(t).padStart(2, "0")},hr,${t},uint16`),
  );
  writeFileSync(
    join(dir, "tags.csv"),
    `conn_id,tag_name,block_id,address,data_type\n${rows.join("\n")}\n`,
  );
}

/**
 * Memory of one idle Modbus `ne-intf` (1 connection, 10 uint16 tags at 1 s) started by the
 * real supervisor against the simulator and a private Redis, measured `settleS` seconds after
 * its first value, beside a bare `bun -e` process measured at the same moment.
 * @throws Error when no value arrives within 60 s or the app process is not found.
 */
export async function measureIdleApp(o: {
  base: string;
  label: string;
  env?: Record<string, string>;
  settleS?: number;
  supervisorCmd?: string[];
  simMap?: StackOptions["simMap"];
}): Promise<{ app: MemDetail; bare: MemDetail }> {
  const cfgDir = join(o.base, o.label.replace(/\W+/g, "-"));
  writeModbusBenchConfig(cfgDir, 1, 1000, 10);
  const bare = Bun.spawn([process.execPath, "-e", "setInterval(() => {}, 1000)"], {
    stdout: "ignore",
  });
  const stack = await startStack({
    configDir: cfgDir,
    freePorts: true,
    env: { NE_LOG_LEVEL: "warn", ...o.env },
    ...(o.simMap ? { simMap: o.simMap } : {}),
    ...(o.supervisorCmd ? { supervisorCmd: o.supervisorCmd } : {}),
  });
  try {
    const bus = await createRedisTagBus({
      url: stack.redisUrl,
      prefix: stack.prefix,
      producer: "bench",
    });
    const t0 = Date.now();
    while (!(await bus.get("/c000/v00")) && Date.now() - t0 < 60_000) await Bun.sleep(200);
    const got = await bus.get("/c000/v00");
    await bus.close(500);
    if (!got) throw new Error(`${o.label}: no value within 60 s; see ${stack.logFile}`);
    await Bun.sleep((o.settleS ?? 10) * 1000);
    const pid = descendants(stack.supervisor.pid).find((p) =>
      cmdline(p).includes("--conn-id=c000"),
    );
    if (!pid) throw new Error(`${o.label}: ne-intf process not found`);
    return { app: memoryDetail(pid), bare: memoryDetail(bare.pid) };
  } finally {
    bare.kill();
    await stack.stop();
  }
}
