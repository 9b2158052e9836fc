/**
 * Start-up of the executables: time from spawn to the first Modbus request on the wire
 * (`ne-intf --conn-id=…` against the simulator, through a byte-counting TCP proxy), and
 * from spawn to exit for `--version`. Compared against `bun run src/…` (the baseline) in
 * the same run.
 *
 *     bun run bench/packaging/startup.ts [--runs 10]
 *
 * Prints a table: median and p90 in ms, ratio of medians to the baseline.
 */
import { rmSync, writeFileSync } from "node:fs";
import { createServer, connect as netConnect, type Server } from "node:net";
import { join, resolve } from "node:path";
import { spawn } from "bun";
import { buildTarget, hostTarget } from "../../build/build.ts";
import { startModbusSim } from "../../src/sim/modbus/index.ts";
import { writeConfig } from "../../test/packaging/fixtures.ts";
import { freePort } from "../../test/support/ports.ts";
import { RedisServer } from "../../test/support/redis-server.ts";
import { tempDir } from "../../test/support/tmp.ts";

const ROOT = resolve(import.meta.dir, "../..");
const runsArg = process.argv.indexOf("--runs");
const RUNS = runsArg > 0 ? Number(process.argv[runsArg + 1]) : 10;

const dir = tempDir("ne-bench-start-");
const redis = await new RedisServer().start();
const sim = await startModbusSim({ host: "127.0.0.1", port: 0 });
const target = hostTarget();
if (!target) throw new Error("needs a linux-x64 or linux-arm64 host");
console.error("compiling…");
const build = buildTarget(target, join(dir.path, "dist"));

// A proxy in front of the simulator that reports when the first request bytes arrive.
let firstByteAt: ((t: number) => void) | undefined;
const proxyPort = await freePort();
const proxy: Server = createServer((client) => {
  const up = netConnect(sim.port, "127.0.0.1");
  client.once("data", () => firstByteAt?.(performance.now()));
  client.pipe(up).pipe(client);
  const end = () => {
    client.destroy();
    up.destroy();
  };
  client.on("error", end).on("close", end);
  up.on("error", end).on("close", end);
});
await new Promise<void>((r) => proxy.listen(proxyPort, "127.0.0.1", r));

const env = {
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: dir.path,
  NE_DB: join(dir.path, "ne.db"),
  NE_REDIS_URL: redis.url,
  NE_REDIS_PREFIX: "bench:",
  NE_LOG_LEVEL: "error",
};
const cfg = writeConfig(join(dir.path, "cfg"), "bench-01", proxyPort);
const init = spawn([build.binary, "import", cfg], { env, stdout: "ignore", stderr: "inherit" });
if ((await init.exited) !== 0) throw new Error("import failed");

const bun = process.execPath;
const variants: { name: string; intf: string[]; version: string[] }[] = [
  {
    name: "bun run src/ (baseline)",
    intf: [bun, "run", join(ROOT, "src/bin.ts"), "ne-intf", "--conn-id=bench-01"],
    version: [bun, "run", join(ROOT, "src/bin.ts"), "ne-intf", "--version"],
  },
  {
    name: "compiled (build/build.ts)",
    intf: [join(build.dir, "ne-intf"), "--conn-id=bench-01"],
    version: [join(build.dir, "ne-intf"), "--version"],
  },
];

async function firstPoll(argv: string[]): Promise<number> {
  const got = new Promise<number>((r) => {
    firstByteAt = r;
  });
  const t0 = performance.now();
  const p = spawn(argv, { env, stdout: "ignore", stderr: "inherit" });
  const t = await Promise.race([got, Bun.sleep(10_000).then(() => Number.NaN)]);
  p.kill("SIGTERM");
  await p.exited;
  return t - t0;
}

async function versionTime(argv: string[]): Promise<number> {
  const t0 = performance.now();
  const p = spawn(argv, { env, stdout: "ignore", stderr: "inherit" });
  await p.exited;
  return performance.now() - t0;
}

const stats = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return {
    median: s[Math.floor(s.length / 2)]!,
    p90: s[Math.min(s.length - 1, Math.floor(s.length * 0.9))]!,
  };
};

const rows: { name: string; poll: ReturnType<typeof stats>; ver: ReturnType<typeof stats> }[] = [];
for (const v of variants) {
  await firstPoll(v.intf); // warm the page cache
  const poll: number[] = [];
  const ver: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    poll.push(await firstPoll(v.intf));
    ver.push(await versionTime(v.version));
  }
  rows.push({ name: v.name, poll: stats(poll), ver: stats(ver) });
}

const base = rows[0]!;
const f = (n: number) => n.toFixed(0).padStart(6);
console.log(
  `\nne-intf start-up, ${RUNS} runs each (${target}, binary ${(build.bytes / 1e6).toFixed(1)} MB)\n`,
);
console.log(
  "| variant                   | first poll median | p90    | ratio | --version median | ratio |",
);
console.log(
  "| ------------------------- | ----------------- | ------ | ----- | ---------------- | ----- |",
);
for (const r of rows) {
  console.log(
    `| ${r.name.padEnd(25)} | ${f(r.poll.median)} ms         | ${f(r.poll.p90)} | ${(r.poll.median / base.poll.median).toFixed(2)}  | ${f(r.ver.median)} ms        | ${(r.ver.median / base.ver.median).toFixed(2)}  |`,
  );
}

proxy.close();
await sim.stop();
await redis.shutdown();
rmSync(dir.path, { recursive: true, force: true });
writeFileSync("/dev/null", "");
process.exit(0);
