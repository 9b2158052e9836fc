import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import { freePort } from "../support/ports.ts";
import { E2E, until } from "./harness.ts";

// `nodi-edge status` against the real supervisor and apps: a hint before any supervisor ran
// and after it stopped, the cause of RECOVER, refused writes apart from device errors,
// requested restarts (exit 75) apart from failures, and a hung app (SIGSTOP) as silent.

const ROOT = join(import.meta.dir, "../..");
const e2e = new E2E();
let sim: ModbusSim;

/** `nodi-edge ARGS` with the test's settings, whatever its exit code. */
async function cli(...args: string[]): Promise<{ code: number; out: string; err: string }> {
  const p = Bun.spawn([process.execPath, join(ROOT, "src/cli/main.ts"), ...args], {
    env: { ...process.env, ...e2e.env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([
    new Response(p.stdout).text(),
    new Response(p.stderr).text(),
    p.exited,
  ]);
  return { code, out, err };
}

// biome-ignore lint/suspicious/noExplicitAny: the JSON rows are read loosely
const row = async (id: string): Promise<any> =>
  (JSON.parse((await cli("--json", "status")).out) as { conn_id?: string }[]).find(
    (r) => r.conn_id === id,
  );

beforeAll(async () => {
  await e2e.start();
  const port = await freePort();
  sim = await startModbusSim({ map: { holding_registers: { "0": [5, 6] } }, port });
  await e2e.importCsv("cfg", {
    connections:
      "conn_id,protocol,host,port,serial_device,unit_id,timeout_ms,connect_timeout_ms,backoff_initial_ms,backoff_max_ms\n" +
      `m1,modbus-tcp,127.0.0.1,${port},,1,1000,1000,200,1000\n` +
      "s1,modbus-rtu,,,/dev/ttyNE-no-such-port,1,1000,1000,200,1000\n",
    blocks:
      "conn_id,block_id,table,address,count,period_ms\nm1,hr,holding_registers,0,2,100\ns1,hr,holding_registers,0,2,100\n",
    tags: "conn_id,tag_name,block_id,address,data_type,access\nm1,sp,hr,0,uint16,read-write\ns1,v,hr,0,uint16,read\n",
  });
}, 60_000);

afterAll(async () => {
  await e2e.shutdown();
  await sim?.stop();
}, 60_000);

test("status: hints, the cause of RECOVER, refused writes and requested restarts apart, a hung app silent", async () => {
  const before = await cli("status");
  expect(before.code).toBe(0);
  expect(before.err).toContain("note: no supervisor has run on this TagBus (");
  expect(before.err).toContain("start ne-supervisor");
  expect(before.out).toMatch(/^m1\s+modbus-tcp\s+unknown/m);

  e2e.startSupervisor();
  await e2e.goodValue("/m1/sp");
  const s1 = await until("s1 in RECOVER with a cause", async () => {
    const r = await row("s1");
    return r?.state === "RECOVER" && r.cause ? r : undefined;
  });
  expect(s1.cause).toStartWith("connect: ");
  expect(s1.cause).toContain("/dev/ttyNE-no-such-port");

  // A settings change the app applies by exiting 75 ("restart me"): a requested restart.
  const pid = await e2e.oneApp("m1");
  await e2e.cli("conn", "add", "--update", "m1", "timeout_ms=900");
  await until("m1 restarted", () => {
    const p = e2e.appPids("m1");
    return p.length === 1 && p[0] !== pid;
  });
  await e2e.goodValue("/m1/sp", () => true, Date.now());

  // A value the tag cannot take: refused by the app, nothing sent, not a device error.
  const refused = await cli("tag", "write", "/m1/sp", "abc");
  expect(refused.code).toBe(65);
  const m1 = await until(
    "m1's health to count the refused write",
    async () => {
      const r = await row("m1");
      return r?.writes_refused === 1 && r.restarts_requested === 1 ? r : undefined;
    },
    30_000,
  );
  expect(m1).toMatchObject({ state: "EXECUTE", error_total: 0, restarts: 0, cause: null });

  const text = await cli("status");
  expect(text.err).toBe("");
  const lines = text.out.split("\n");
  expect(lines[0]).toMatch(/\berrors\s+writes refused\s+restarts\s+cause$/);
  expect(lines.find((l) => l.startsWith("m1 "))).toMatch(/\s0\s+1\s+0 \(\+1 requested\)$/);
  expect(lines.find((l) => l.startsWith("s1 "))).toContain("connect: ");
  // m1's block polls every 100 ms but the app reports its last good poll every 5 s: shown as
  // the age it is at most ("≤ 3.1s ago"), not as a point in time
  expect(lines.find((l) => l.startsWith("m1 "))).toMatch(/\s≤ \d\.\ds ago\s/);
  const m1Now = await row("m1");
  expect(m1Now.reported_at).toBeGreaterThanOrEqual(m1Now.last_good_poll);

  // A hung app (SIGSTOP: the process runs, its event loop does not): no health report for
  // over 20 s (3 × 5 s + 5 s, the northbound apps' rule), so status says so instead of showing
  // its last figures as current.
  const hung = await e2e.oneApp("m1");
  process.kill(hung, "SIGSTOP");
  try {
    const silent = await until(
      "m1 silent",
      async () => {
        const r = await row("m1");
        return r?.state === "silent" ? r : undefined;
      },
      45_000,
    );
    expect(silent.reason).toMatch(/^no health for \d+s \(last: EXECUTE\)$/);
    expect(silent.service).toBe("active");
    expect((await cli("status")).out).toMatch(/^m1\s+modbus-tcp\s+silent\s+no health for \d+s/m);
  } finally {
    process.kill(hung, "SIGCONT");
  }
  await until("m1 reporting again", async () => (await row("m1"))?.state === "EXECUTE", 45_000);

  expect(await e2e.stopSupervisor("SIGTERM")).toBe(0);
  const after = await cli("status");
  expect(after.err).toMatch(/note: the supervisor stopped \d+s ago; /);
}, 120_000);
