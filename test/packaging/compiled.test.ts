/**
 * The compiled multi-call executable (`build/build.ts`, host target) does what the sources
 * do: `--version` through every link, `db init`, `import`, `conn list`, the Modbus simulator,
 * `ne-intf` polling it into Redis (Modbus and OPC UA, so node-opcua is checked in the
 * compiled form), and `ne-supervisor` (process manager) starting compiled `ne-intf` children.
 * It also holds the size budget: the executable (the package's only big file) stays within
 * 1.2 Bun runtimes (issue 8; docs/packaging.md), and packages this build as a `.deb` to check
 * its contents (`dpkg-deb -c`): every docs page the product points to is shipped.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient } from "@redis/client";
import { type Subprocess, spawn } from "bun";
import { type BuildResult, buildTarget, hostTarget, PROGRAM_LINKS } from "../../build/build.ts";
import { buildDeb } from "../../packaging/build-deb.ts";
import { startOpcuaSim } from "../../src/sim/opcua/server.ts";
import { freePort } from "../support/ports.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir } from "../support/tmp.ts";
import { SIM_MAP, until, writeConfig } from "./fixtures.ts";

const target = hostTarget();
if (!target)
  throw new Error(
    `compiled.test.ts needs a linux-x64 or linux-arm64 host (got ${process.platform}-${process.arch})`,
  );

/** Issue 8: the installed package holds at most ~1.2 Bun runtimes. */
const BUDGET_RUNTIMES = 1.2;
const dir = tempDir("ne-compiled-");
const redis = new RedisServer();
const prefix = "cpt:";
let build: BuildResult;
let rc: ReturnType<typeof createClient>;
let simPort = 0;
const procs: Subprocess[] = [];

function env(extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: dir.path,
    NE_DB: join(dir.path, "ne.db"),
    NE_REDIS_URL: redis.url,
    NE_REDIS_PREFIX: prefix,
    NE_LOG_LEVEL: process.env.NE_TEST_LOG_LEVEL ?? "warn",
    ...extra,
  };
}

async function run(argv: string[], extra: Record<string, string> = {}) {
  const p = spawn(argv, { env: env(extra), stdout: "pipe", stderr: "pipe" });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { out, err, code };
}

function start(argv: string[], extra: Record<string, string> = {}): Subprocess {
  const p = spawn(argv, {
    env: env(extra),
    stdout: process.env.NE_TEST_LOG_LEVEL ? "inherit" : "ignore",
    stderr: "inherit",
  });
  procs.push(p);
  return p;
}

const bin = (name: string) => join(build.dir, name);
const current = async (connId: string, tag: string) => {
  const raw = await rc.hGet(`${prefix}cur:${connId}`, `/${connId}/${tag}`);
  return raw ? (JSON.parse(raw) as [unknown, string, ...unknown[]]) : undefined;
};

beforeAll(async () => {
  build = buildTarget(target, join(dir.path, "dist"));
  await redis.start();
  rc = createClient({ url: redis.url });
  await rc.connect();
  simPort = await freePort();
  const map = join(dir.path, "sim.json");
  writeFileSync(map, JSON.stringify(SIM_MAP));
  start([bin("nodi-edge"), "sim", "modbus", "--map", map, "--port", String(simPort)]);
  await until("the compiled simulator to listen", async () => {
    const s = await Bun.connect({ hostname: "127.0.0.1", port: simPort, socket: { data() {} } });
    s.end();
    return true;
  });
}, 120_000);

afterAll(async () => {
  for (const p of procs) p.kill("SIGKILL");
  await Promise.all(procs.map((p) => p.exited));
  await rc?.quit().catch(() => {});
  await redis.shutdown();
  dir.cleanup();
});

describe(`compiled executable (${target})`, () => {
  test("one binary, links for every program, --version with version, commit and target", async () => {
    for (const link of PROGRAM_LINKS) expect(readlinkSync(bin(link))).toBe("nodi-edge");
    const version = JSON.parse(readFileSync("package.json", "utf8")).version;
    for (const name of ["nodi-edge", ...PROGRAM_LINKS]) {
      const r = await run([bin(name), "--version"]);
      expect(r.code).toBe(0);
      expect(r.out.trim()).toBe(`${name} ${version} (commit ${build.commit}, bun-${target})`);
    }
    // The first argument names the program too (how the supervisor starts apps).
    const r = await run([bin("nodi-edge"), "ne-intf", "--version"]);
    expect(r.out).toStartWith(`ne-intf ${version}`);
    const bad = await run([bin("nodi-edge"), "no-such-program"]);
    expect(bad.code).not.toBe(0);
  });

  test("size budget: the executable is at most 1.2 Bun runtimes", () => {
    // The runtime measured in the same run: the bun that builds (and is embedded in) the
    // host-target executable, node_modules/bun/bin/bun.exe under `npm test`.
    const runtime = statSync(process.execPath).size;
    const ratio = build.bytes / runtime;
    const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
    const line = `nodi-edge ${target}: ${mb(build.bytes)} = ${ratio.toFixed(3)} Bun runtimes (${process.execPath}: ${mb(runtime)}); budget ${BUDGET_RUNTIMES} = ${mb(runtime * BUDGET_RUNTIMES)}, headroom ${mb(runtime * BUDGET_RUNTIMES - build.bytes)}`;
    console.log(line);
    if (ratio > BUDGET_RUNTIMES) {
      throw new Error(
        `size budget exceeded: ${line}. Something large entered the bundle (a dependency, embedded data, or a build flag): see docs/packaging.md and docs/performance.md`,
      );
    }
    expect(ratio).toBeLessThanOrEqual(BUDGET_RUNTIMES);
  });

  test("db init, import and conn list", async () => {
    const init = await run([bin("nodi-edge"), "db", "init"]);
    expect(init.code).toBe(0);
    expect(init.out).toContain("schema version");
    const cfg = writeConfig(join(dir.path, "cfg1"), "sim-01", simPort);
    const imp = await run([bin("nodi-edge"), "import", cfg]);
    expect(imp.code).toBe(0);
    const list = await run([bin("nodi-edge"), "--json", "conn", "list"]);
    expect(list.code).toBe(0);
    expect(list.out).toContain("sim-01");
  }, 60_000);

  test("ne-intf polls the simulator into Redis and stops cleanly on SIGTERM", async () => {
    const p = start([bin("ne-intf"), "--conn-id=sim-01"]);
    const a = await until("/sim-01/a in Redis", () => current("sim-01", "a"), 30_000);
    expect(a[0]).toBe(1234);
    expect(a[1]).toBe("good");
    expect((await current("sim-01", "b"))?.[0]).toBe(5678);
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  }, 60_000);

  test("ne-supervisor (process manager) starts compiled ne-intf children", async () => {
    await rc.hDel(`${prefix}cur:sim-01`, ["/sim-01/a", "/sim-01/b"]);
    const sup = start([bin("ne-supervisor")], { NE_SERVICE_MANAGER: "process" });
    await until("the supervisor's child to publish", () => current("sim-01", "b"), 45_000);
    const child = await until("an ne-intf child of the compiled binary", () =>
      readdirSync("/proc")
        .filter((d) => /^\d+$/.test(d))
        .find((pid) => {
          try {
            const cmd = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
            return (
              cmd.includes("--conn-id=sim-01") &&
              cmd.includes("ne-intf") &&
              readlinkSync(`/proc/${pid}/exe`) === build.binary
            );
          } catch {
            return false;
          }
        }),
    );
    expect(Number(child)).toBeGreaterThan(0);
    sup.kill("SIGTERM");
    expect(await sup.exited).toBe(0);
    // The process manager stops its children with the supervisor.
    await until("the child to exit", () => {
      try {
        readFileSync(`/proc/${child}/cmdline`);
        return false;
      } catch {
        return true;
      }
    });
  }, 90_000);

  test("nodi-edge opcua sim: the press simulator runs compiled (was ENOENT '/$bunfs/package.json')", async () => {
    const port = await freePort();
    const sim = spawn(
      [bin("nodi-edge"), "opcua", "sim", "--port", String(port), "--pki", join(dir.path, "ua-sim")],
      { env: env(), stdout: "pipe", stderr: "pipe" },
    );
    procs.push(sim);
    const reader = sim.stdout.getReader();
    let out = "";
    while (!out.includes("Ctrl-C stops")) {
      const r = await reader.read();
      if (r.done)
        throw new Error(`opcua sim exited: ${out}${await new Response(sim.stderr).text()}`);
      out += new TextDecoder().decode(r.value);
    }
    expect(out).toContain(`opcua press simulator at opc.tcp://127.0.0.1:${port}`);
    // A press variable, and the server's BuildInfo.SoftwareVersion (i=2264, from the standard
    // nodeset) carrying node-opcua-server's real version, read back by the compiled CLI.
    const serverVersion = JSON.parse(
      readFileSync("node_modules/node-opcua-server/package.json", "utf8"),
    ).version;
    const r = await run([
      bin("nodi-edge"),
      "opcua",
      "read",
      "--url",
      `opc.tcp://127.0.0.1:${port}`,
      "ns=1;s=Press.Mode",
      "i=2264",
    ]);
    expect({ code: r.code, err: r.err }).toEqual({ code: 0, err: "" });
    expect(r.out).toMatch(/ns=1;s=Press.Mode\s+1\s+Good/);
    expect(r.out).toMatch(
      new RegExp(`i=2264\\s+"?${serverVersion.replaceAll(".", "\\.")}"?\\s+Good`),
    );
    sim.kill("SIGINT");
    await sim.exited;
  }, 90_000);

  test("ne-intf with the OPC UA driver (node-opcua in the compiled form)", async () => {
    const port = await freePort();
    const sim = await startOpcuaSim({ port, pkiDir: join(dir.path, "sim-pki"), tickMs: 200 });
    try {
      const cfg = join(dir.path, "cfg-ua");
      writeConfig(cfg, "unused", 1); // creates the directory
      writeFileSync(
        join(cfg, "connections.csv"),
        `conn_id,protocol,endpoint_url,security_mode,timeout_ms,connect_timeout_ms\nua-01,opcua,${sim.endpointUrl},None,3000,10000\n`,
      );
      writeFileSync(
        join(cfg, "blocks.csv"),
        "conn_id,block_id,table,period_ms,mode\nua-01,main,opcua_nodes,250,subscribe\n",
      );
      writeFileSync(
        join(cfg, "tags.csv"),
        "conn_id,tag_name,block_id,data_type,node_id\nua-01,running,main,bool,ns=1;s=Press.Running\nua-01,state,main,string,ns=1;s=Press.State\n",
      );
      const imp = await run([bin("nodi-edge"), "import", cfg]);
      expect(imp.code).toBe(0);
      const p = start([bin("ne-intf"), "--conn-id=ua-01"], { NE_DATA_DIR: join(dir.path, "data") });
      // Before the session is up the app publishes its tags bad (disconnected); then good.
      const st = await until(
        "/ua-01/state good in Redis",
        async () => {
          const v = await current("ua-01", "state");
          return v?.[1] === "good" ? v : undefined;
        },
        60_000,
      );
      expect(typeof st[0]).toBe("string");
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
    } finally {
      await sim.stop();
    }
  }, 120_000);
});

describe(`the .deb of this build (${target})`, () => {
  test("ne-north connects to a broker and publishes (MQTT.js in the compiled form; was 'Object is not a constructor')", async () => {
    const { Mosquitto } = await import("../support/mosquitto.ts");
    const mqtt = (await import("mqtt")).default;
    const broker = await new Mosquitto().start();
    try {
      await run([bin("nodi-edge"), "db", "init"]);
      const { openStore } = await import("../../src/store/store.ts");
      const store = openStore(env().NE_DB!);
      store.apply({
        origin: "test",
        putNorthbounds: [
          {
            north_id: "north-c",
            kind: "mqtt",
            broker_urls: broker.url,
            gateway: "gw",
            tag_selection: "/nosuch/*",
          },
        ],
      });
      store.close();
      const sub = await mqtt.connectAsync(broker.url);
      let status = "";
      sub.on("message", (_t, p) => {
        status = p.toString();
      });
      await sub.subscribeAsync("nodi-edge/gw/_status/north-c", { qos: 1 });
      const p = start([bin("ne-north"), "--north-id=north-c"], { NE_DATA_DIR: dir.path });
      await until("compiled ne-north online at the broker", async () => status === "online");
      p.kill("SIGTERM");
      expect(await p.exited).toBe(0);
      await until("offline after SIGTERM", async () => status === "offline");
      await sub.endAsync(true);
    } finally {
      await broker.shutdown();
    }
  }, 60_000);

  test("ships every docs/*.md in /usr/share/doc/nodi-edge/, the pages import --help and the web UI name", async () => {
    const deb = buildDeb(target, { compile: false, out: join(dir.path, "dist") });
    const list = await run(["dpkg-deb", "-c", deb.deb]);
    expect(list.code).toBe(0);
    // `-rw-r--r-- root/root  1234 2026-… ./usr/share/doc/nodi-edge/csv.md`
    const docs = list.out
      .split("\n")
      .map((l) => /\.\/usr\/share\/doc\/nodi-edge\/(\S+)$/.exec(l)?.[1])
      .filter((f): f is string => f?.endsWith(".md") === true)
      .sort();
    const pages = readdirSync("docs").filter((f) => f.endsWith(".md"));
    expect(docs).toEqual(["README.md", ...pages].sort());
    for (const named of ["csv.md", "cli.md", "web.md", "api.md", "supervisor.md"]) {
      expect(docs).toContain(named);
    }
    const csv = list.out.split("\n").find((l) => l.endsWith("/nodi-edge/csv.md"));
    expect(csv).toStartWith("-rw-r--r-- root/root");
  }, 120_000);
});
