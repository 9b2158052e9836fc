import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { main } from "../../../src/cli/main.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { OpcuaDriver } from "../../../src/drivers/opcua/index.ts";
import { type OpcuaSim, startOpcuaSim } from "../../../src/sim/opcua/server.ts";
import { openStore } from "../../../src/store/store.ts";
import { freePort } from "../../support/ports.ts";
import { tempDir } from "../../support/tmp.ts";
import { opcuaBlock, opcuaConnection, opcuaTag } from "./fixture.ts";

const dir = tempDir("ne-opcua-cli-");
let sim: OpcuaSim;
const env = { NE_DB: join(dir.path, "absent.db"), NE_DATA_DIR: dir.path };

async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = "";
  let err = "";
  const code = await main(argv, {
    io: {
      out: (s) => {
        out += s;
      },
      err: (s) => {
        err += s;
      },
      env,
    },
  });
  return { code, out, err };
}

beforeAll(async () => {
  sim = await startOpcuaSim({
    port: await freePort(),
    pkiDir: join(dir.path, "sim-pki"),
    tickMs: 0,
  });
}, 60_000);
afterAll(async () => {
  await sim?.stop();
  dir.cleanup();
});

describe("nodi-edge opcua", () => {
  test("trust moves the rejected server certificate; the connection then works", async () => {
    const conn = opcuaConnection({
      endpoint_url: sim.endpointUrl,
      security_mode: "SignAndEncrypt",
      security_policy: "Basic256Sha256",
    });
    const driver = () => {
      const d = new OpcuaDriver(conn, { log: silentLogger, dataDir: dir.path });
      d.configure(
        [opcuaBlock("b", { mode: "poll" })],
        [opcuaTag("mode", "b", "ns=1;s=Press.Mode")],
      );
      return d;
    };
    const d1 = driver();
    await expect(d1.connect()).rejects.toThrow(/nodi-edge opcua trust press1/);
    await d1.close();
    const before = await cli("--json", "opcua", "certs", "press1");
    expect(JSON.parse(before.out).rejected).toHaveLength(1);
    const r = await cli("opcua", "trust", "press1");
    expect(r.code).toBe(0);
    expect(r.out).toContain("trusted for press1");
    expect((await cli("opcua", "trust", "press1")).code).toBe(66); // nothing left to trust
    const d2 = driver();
    await d2.connect();
    expect((await d2.read("b"))[0]?.value).toBe(1);
    await d2.close();
  }, 30_000);

  test("browse --url lists node ids with DataTypes", async () => {
    const r = await cli(
      "--json",
      "opcua",
      "browse",
      "--url",
      sim.endpointUrl,
      "--node",
      "ns=1;s=Press",
      "--depth",
      "1",
    );
    expect(r.code).toBe(0);
    const nodes = JSON.parse(r.out) as Array<{
      node_id: string;
      data_type: string;
      node_class: string;
    }>;
    expect(nodes.find((n) => n.node_id === "ns=1;s=Press.Speed")).toMatchObject({
      data_type: "Double",
      node_class: "Variable",
    });
    expect(nodes.find((n) => n.node_id === "ns=1;s=Press.Params")?.node_class).toBe("Object");
  }, 30_000);

  test("a `bun build --compile` executable of the driver connects (reflect polyfill, --external proper-lockfile)", async () => {
    const exe = join(dir.path, "opcua-smoke");
    const root = join(import.meta.dir, "../../..");
    const build = Bun.spawnSync(
      [
        process.execPath,
        "build",
        "--compile",
        "--external",
        "proper-lockfile",
        "bench/opcua/compile-smoke.ts",
        "--outfile",
        exe,
      ],
      { cwd: root, stdout: "pipe", stderr: "pipe" },
    );
    expect(build.exitCode).toBe(0);
    const run = Bun.spawn([exe, sim.endpointUrl], {
      cwd: dir.path,
      env: { ...process.env, NE_DATA_DIR: join(dir.path, "exe") },
      stdout: "pipe",
      stderr: "pipe",
    });
    const [out, code] = await Promise.all([new Response(run.stdout).text(), run.exited]);
    expect(code).toBe(0);
    expect(JSON.parse(out)).toEqual([
      expect.objectContaining({ tag_name: "mode", value: 1, quality: "good" }),
    ]);
  }, 60_000);

  test("read --url prints values and status names", async () => {
    const r = await cli(
      "opcua",
      "read",
      "--url",
      sim.endpointUrl,
      "ns=1;s=Press.Mode",
      "ns=1;s=Press.Nope",
    );
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ns=1;s=Press.Mode\s+1\s+Good/);
    expect(r.out).toContain("BadNodeIdUnknown");
  }, 30_000);

  test("read --url with ONE node id reads it (was: missing required argument 'node_id')", async () => {
    const r = await cli("opcua", "read", "--url", sim.endpointUrl, "ns=1;s=Press.Force");
    expect(r.err).toBe("");
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/ns=1;s=Press.Force\s+\S+\s+Good/);
  }, 30_000);

  test("read --conn names a configured connection; a node id alone names what is missing", async () => {
    const noDb = await cli("opcua", "read", "--conn", "press1", "ns=1;s=Press.Force");
    expect(noDb.code).toBe(66);
    expect(noDb.err).toContain("no database at");
    const none = await cli("opcua", "read", "ns=1;s=Press.Force");
    expect(none.code).toBe(64);
    expect(none.err).toContain("--conn CONN_ID or --url");
    const old = await cli("opcua", "read", "press1", "ns=1;s=Press.Force");
    expect(old.code).toBe(64);
    expect(old.err).toContain("--conn press1");
    const both = await cli("opcua", "read", "--conn", "p", "--url", sim.endpointUrl, "i=85");
    expect(both.code).toBe(64);
    const db = join(dir.path, "read-conn.db");
    const store = openStore(db);
    store.apply({
      origin: "test",
      putConnections: [opcuaConnection({ conn_id: "press9", endpoint_url: sim.endpointUrl })],
    });
    store.close();
    const one = await cli("--db", db, "opcua", "read", "--conn", "press9", "ns=1;s=Press.Mode");
    expect(one.err).toBe("");
    expect(one.out).toMatch(/ns=1;s=Press.Mode\s+1\s+Good/);
  }, 30_000);
});
