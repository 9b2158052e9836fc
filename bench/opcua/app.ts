/**
 * OPC UA interface app memory as a gateway runs it: the real `ne-intf` of one `opcua`
 * connection with N monitored items (default 1,000) changing every P ms (default 100) on the
 * press simulator (`nodi-edge opcua sim --bench-items`, its own process), publishing to a
 * private Redis. The app runs from source (`bun run src/intf/main.ts`, as the supervisor
 * starts it from source) or, with `--binary PATH`, from the compiled multi-call binary
 * (`PATH ne-intf`, e.g. `dist/linux-x64/nodi-edge` from `bun run build/build.ts`).
 *
 * Measures the app's RSS/PSS/anonymous memory (/proc/PID/smaps_rollup) once every item has
 * published a value ("subscribed"), every 250 ms while measuring (low and peak) and at the end, and
 * the values/s that reached the TagBus; the load average is printed beside every figure.
 *
 * `--restart`: the app is started once, stopped (SIGTERM) once every item had a value, and
 * measured after a second start, as after any restart on a gateway: its PKI and own
 * certificate then exist and are only read (a first start creates them).
 *
 * Run: `bun bench/opcua/app.ts [--binary PATH] [--seconds 20] [--items 1000] [--period 100] [--restart]`.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { join } from "node:path";
import { openStore } from "../../src/store/store.ts";
import { intfAppEnv } from "../../src/supervisor/app-env.ts";
import { createRedisTagBus } from "../../src/tagbus/index.ts";
import { RedisServer } from "../../test/support/redis-server.ts";
import { tempDir } from "../../test/support/tmp.ts";
import { cpuSeconds, loadAverage } from "../support/proc-stats.ts";
import { startBenchSim } from "./sim.ts";

const root = join(import.meta.dir, "../..");

function opt(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
}

/** Rss, Pss and Anonymous of a process in bytes (zeros when gone). */
function rollup(pid: number): { rss: number; pss: number; anon: number } {
  try {
    const t = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    const kb = (k: string) =>
      Number(new RegExp(`^${k}:\\s+(\\d+) kB`, "m").exec(t)?.[1] ?? 0) * 1024;
    return { rss: kb("Rss"), pss: kb("Pss"), anon: kb("Anonymous") };
  } catch {
    return { rss: 0, pss: 0, anon: 0 };
  }
}

/** Anonymous RSS of a process by permissions and mapping name (`rwxp [anon]`, `rw-p [heap]` …), KiB. */
function anonByKind(pid: number): string {
  const by = new Map<string, number>();
  let key = "";
  let anonMap = false;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const h = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (h) {
      key = `${h[1]} ${h[3] || "[anon]"}`;
      anonMap = h[2] === "0";
      continue;
    }
    const m = /^Anonymous:\s+(\d+) kB/.exec(line);
    if (m && Number(m[1]) > 0)
      by.set(
        anonMap ? key : `${key.split(" ")[0]} (file)`,
        (by.get(anonMap ? key : `${key.split(" ")[0]} (file)`) ?? 0) + Number(m[1]),
      );
  }
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 8)
    .map(([k, v]) => `${k} ${(v / 1024).toFixed(1)}`)
    .join(", ");
}

/**
 * File-backed RSS of a process by mapping, MiB: the executable's code (`r-xp`), its read-only
 * data (`r--p`), its writable segment with the embedded JS and bytecode (`rw-p`: Bun's `.bun`
 * section), other files.
 */
function fileByKind(pid: number): string {
  const by = new Map<string, number>();
  const self = exe(pid);
  let key: string | undefined;
  for (const line of readFileSync(`/proc/${pid}/smaps`, "utf8").split("\n")) {
    const h = /^[0-9a-f]+-[0-9a-f]+ (\S+) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (h) {
      const name = h[3] ?? "";
      key = h[2] === "0" ? undefined : `${h[1]} ${name === self ? "exe" : name.split("/").pop()}`;
      continue;
    }
    const m = /^Rss:\s+(\d+) kB/.exec(line);
    if (m && key) by.set(key, (by.get(key) ?? 0) + Number(m[1]));
  }
  return [...by]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 6)
    .map(([k, v]) => `${k} ${(v / 1024).toFixed(1)}`)
    .join(", ");
}

/** Path of a process's executable ("" when gone). */
function exe(pid: number): string {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return "";
  }
}

const mb = (b: number) => (b / 1024 / 1024).toFixed(1);

export async function main(): Promise<number> {
  const seconds = Number(opt("seconds") ?? 20);
  const items = Number(opt("items") ?? 1000);
  const period = Number(opt("period") ?? 100);
  const binary = opt("binary");
  const restart = process.argv.includes("--restart");
  const dir = tempDir("ne-bench-opcua-app-");
  const redis = await new RedisServer().start();
  const sim = await startBenchSim({ items, period, dir: dir.path });
  let app: ReturnType<typeof Bun.spawn> | undefined;
  const prefix = "bench:";
  try {
    const db = join(dir.path, "ne.db");
    const store = openStore(db);
    store.apply({
      origin: "bench",
      put: [
        {
          connection: {
            conn_id: "bench",
            protocol: "opcua",
            endpoint_url: sim.endpointUrl,
            security_mode: "None",
            security_policy: "None",
            timeout_ms: 3000,
            connect_timeout_ms: 10_000,
          },
          blocks: [
            {
              conn_id: "bench",
              block_id: "fast",
              table: "opcua_nodes",
              mode: "subscribe",
              period_ms: period,
            },
          ],
          tags: Array.from({ length: items }, (_, i) => ({
            conn_id: "bench",
            tag_name: `v${i}`,
            block_id: "fast",
            data_type: "float64" as const,
            node_id: `ns=1;s=Press.Bench.V${String(i).padStart(4, "0")}`,
          })),
        },
      ],
    });
    store.close();

    const bus = await createRedisTagBus({ url: redis.url, prefix, producer: "bench-reader" });
    const seen = new Set<string>();
    let counting = false;
    let values = 0;
    const sub = await bus.subscribe(["/bench/*"], (ev) => {
      if (ev.kind !== "value") return;
      seen.add(ev.value.path);
      if (counting) values++;
    });
    const cmd = binary
      ? [binary, "ne-intf", "--conn-id=bench"]
      : [process.execPath, "run", join(root, "src/intf/main.ts"), "--conn-id=bench"];
    const spawnApp = () =>
      Bun.spawn(cmd, {
        cwd: root,
        // the environment the supervisor and ne-intf@.service give an app (MIMALLOC_PURGE_DELAY,
        // useConcurrentJIT), so the figures are those of an app as a gateway runs it
        env: intfAppEnv({
          ...process.env,
          NE_DB: db,
          NE_REDIS_URL: redis.url,
          NE_REDIS_PREFIX: prefix,
          NE_DATA_DIR: dir.path,
          NE_LOG_LEVEL: "warn",
        }),
        stdout: "ignore",
        stderr: "inherit",
      });
    const waitAll = async (p: ReturnType<typeof Bun.spawn>, t0: number) => {
      while (seen.size < items) {
        if (performance.now() - t0 > 60_000) throw new Error(`only ${seen.size} tags in 60 s`);
        if (p.exitCode !== null) throw new Error(`ne-intf exited ${p.exitCode}`);
        await Bun.sleep(100);
      }
    };
    if (restart) {
      // first start: creates the app's PKI and certificate; measured is the second
      const first = spawnApp();
      await waitAll(first, performance.now());
      first.kill("SIGTERM");
      await first.exited;
      seen.clear();
    }
    const t0 = performance.now();
    app = spawnApp();
    await waitAll(app, t0);
    const firstAllMs = performance.now() - t0;
    const atSubscribed = { ...rollup(app.pid), load: loadAverage() };
    const mapsSubscribed = anonByKind(app.pid);
    await Bun.sleep(3000); // warm-up
    counting = true;
    const loadStart = loadAverage();
    const start = performance.now();
    const cpu0 = cpuSeconds(app.pid);
    let peak = 0;
    let low = Number.POSITIVE_INFINITY;
    let sum = 0;
    let samples = 0;
    const timer = setInterval(() => {
      const rss = rollup(app?.pid ?? 0).rss;
      peak = Math.max(peak, rss);
      low = Math.min(low, rss);
      sum += rss;
      samples++;
    }, 250);
    await Bun.sleep(seconds * 1000);
    counting = false;
    const elapsed = (performance.now() - start) / 1000;
    const cpuPct = ((cpuSeconds(app.pid) - cpu0) / elapsed) * 100;
    clearInterval(timer);
    const end = { ...rollup(app.pid), load: loadAverage() };
    const mapsEnd = anonByKind(app.pid);
    const filesEnd = fileByKind(app.pid);
    peak = Math.max(peak, end.rss);
    await sub.close();
    await bus.close(500);

    const expected = (items * 1000) / period;
    console.log(
      `\nOPC UA ne-intf ${binary ? `compiled (${binary})` : "from source"}${restart ? ", restarted" : ""}: ${items} monitored items every ${period} ms, ` +
        `${elapsed.toFixed(1)} s measured (${loadStart} at the start)\n`,
    );
    const rows: Array<[string, string, string]> = [
      ["values/s expected (items × 1000 / period)", expected.toFixed(0), ""],
      [
        "values/s on the TagBus",
        (values / elapsed).toFixed(0),
        `${(values / elapsed / expected).toFixed(2)} of expected`,
      ],
      ["CPU of the app while measuring, % of one core", cpuPct.toFixed(1), ""],
      ["every item's first value on the TagBus after spawn, ms", firstAllMs.toFixed(0), ""],
      [
        "RSS / PSS / anonymous when every item has a value, MiB",
        `${mb(atSubscribed.rss)} / ${mb(atSubscribed.pss)} / ${mb(atSubscribed.anon)}`,
        atSubscribed.load,
      ],
      [
        "RSS low / mean / peak while measuring (every 250 ms), MiB",
        `${mb(low)} / ${mb(sum / Math.max(1, samples))} / ${mb(peak)}`,
        "",
      ],
      [
        "RSS / PSS / anonymous at the end, MiB",
        `${mb(end.rss)} / ${mb(end.pss)} / ${mb(end.anon)}`,
        end.load,
      ],
    ];
    const w = Math.max(...rows.map((r) => r[0].length));
    for (const [m, v, r] of rows) console.log(`${m.padEnd(w)}  ${v.padStart(20)}  ${r}`);
    console.log(`\nanonymous MiB by mapping, when every item has a value: ${mapsSubscribed}`);
    console.log(`anonymous MiB by mapping, at the end: ${mapsEnd}`);
    console.log(`file-backed RSS MiB by mapping, at the end: ${filesEnd}`);
    return 0;
  } finally {
    app?.kill("SIGTERM");
    await app?.exited;
    await sim.stop();
    await redis.shutdown();
    dir.cleanup();
  }
}

if (import.meta.main) {
  process.exitCode = await main();
}
