/**
 * The cross-compiled linux-arm64 executable runs (under `qemu-aarch64` with Debian's
 * `libc6-arm64-cross` as the library root): `--version`, the DB migration, and one
 * `ne-intf` polling the Modbus simulator into Redis. qemu-user and libc6-arm64-cross are
 * installed with apt-get when missing; when that is impossible the test FAILS with the
 * reason.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@redis/client";
import { type Subprocess, spawn, spawnSync } from "bun";
import { type BuildResult, buildTarget, packageVersion } from "../../build/build.ts";
import { buildDeb } from "../../packaging/build-deb.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir } from "../support/tmp.ts";
import { aptInstall, ensureDebTools, SIM_MAP, until, writeConfig } from "./fixtures.ts";

const QEMU = "/usr/bin/qemu-aarch64";
const SYSROOT = "/usr/aarch64-linux-gnu";

const dir = tempDir("ne-arm64-");
const redis = new RedisServer();
const prefix = "a64:";
let build: BuildResult;
let sim: ModbusSim;
let rc: ReturnType<typeof createClient>;
const procs: Subprocess[] = [];

const env = () => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: dir.path,
  QEMU_LD_PREFIX: SYSROOT,
  NE_DB: join(dir.path, "ne.db"),
  NE_REDIS_URL: redis.url,
  NE_REDIS_PREFIX: prefix,
  NE_LOG_LEVEL: "warn",
});
const qemu = (...args: string[]) => [QEMU, "-L", SYSROOT, build.binary, ...args];

async function run(argv: string[]) {
  const p = spawn(argv, { env: env(), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { out, err, code };
}

function ensureQemu(): void {
  if (existsSync(QEMU) && existsSync(join(SYSROOT, "lib", "ld-linux-aarch64.so.1"))) return;
  aptInstall(["qemu-user", "libc6-arm64-cross"]);
  if (!existsSync(QEMU))
    throw new Error(`arm64.test.ts: ${QEMU} missing after installing qemu-user`);
}

beforeAll(async () => {
  ensureQemu();
  build = buildTarget("linux-arm64", join(dir.path, "dist"));
  await redis.start();
  rc = createClient({ url: redis.url });
  await rc.connect();
  sim = await startModbusSim({ host: "127.0.0.1", port: 0, map: SIM_MAP });
}, 300_000);

afterAll(async () => {
  for (const p of procs) p.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited));
  await rc?.quit().catch(() => {});
  await sim?.stop();
  await redis.shutdown();
  dir.cleanup();
});

describe("linux-arm64 executable under qemu-aarch64", () => {
  test("is an aarch64 ELF and prints its version and target", async () => {
    const head = new Uint8Array(await Bun.file(build.binary).slice(0, 20).arrayBuffer());
    expect(head[18]).toBe(183); // e_machine EM_AARCH64
    const r = await run(qemu("ne-intf", "--version"));
    expect(r.code).toBe(0);
    expect(r.out.trim()).toBe(
      `ne-intf ${packageVersion()} (commit ${build.commit}, bun-linux-arm64)`,
    );
  }, 60_000);

  test("packs into nodi-edge_VERSION_arm64.deb", () => {
    ensureDebTools();
    const deb = buildDeb("linux-arm64", { compile: false, out: join(dir.path, "dist") });
    expect(deb.deb).toEndWith(`nodi-edge_${packageVersion()}_arm64.deb`);
    const info = spawnSync([
      "dpkg-deb",
      "-f",
      deb.deb,
      "Architecture",
      "Depends",
    ]).stdout.toString();
    expect(info).toContain("Architecture: arm64");
    expect(info).toContain("redis-server");
    const files = spawnSync(["dpkg-deb", "-c", deb.deb]).stdout.toString();
    expect(files).toContain("./usr/bin/nodi-edge");
    expect(files).toContain("./lib/systemd/system/ne-intf@.service");
    expect(files).toContain("./lib/systemd/system/ne-north@.service");
  }, 120_000);

  test("creates and migrates the database, imports a configuration", async () => {
    const init = await run(qemu("db", "init"));
    expect(init.code).toBe(0);
    expect(init.out).toContain("schema version");
    const imp = await run(qemu("import", writeConfig(join(dir.path, "cfg"), "arm-01", sim.port)));
    expect(imp.code).toBe(0);
  }, 120_000);

  test("ne-intf polls the simulator into Redis", async () => {
    const p = spawn(qemu("ne-intf", "--conn-id=arm-01"), {
      env: env(),
      stdout: "ignore",
      stderr: "inherit",
    });
    procs.push(p);
    const raw = await until(
      "/arm-01/a in Redis",
      () => rc.hGet(`${prefix}cur:arm-01`, "/arm-01/a"),
      90_000,
      200,
    );
    expect(JSON.parse(raw).slice(0, 2)).toEqual([1234, "good"]);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 120_000);
});
