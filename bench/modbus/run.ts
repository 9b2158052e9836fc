/**
 * Modbus benchmark: read requests/s and tag values/s through the driver beside a raw
 * modbus-serial loop, one request in flight, against a peer in its own process, plus decode
 * throughput. Run: `bun bench/modbus/run.ts [seconds-per-phase] [--sim]`.
 *
 * The peer is `bench/modbus/responder.ts`, a minimal Modbus TCP responder replying from a
 * prepared buffer, so that it answers faster than either client and the bench measures the
 * clients (the simulator bound both at ~9,800 req/s, issue 15). The bench reports the peer's
 * CPU during each phase (a peer well below 100 % of a core is not the bottleneck), and each
 * client's own CPU per request and the driver's per decoded tag. `--sim` adds the same phases
 * against the simulator (`nodi-edge sim modbus`) for comparison. Prints the load average.
 * The goal is driver overhead ≤ 15 % against the raw loop.
 */
import { join } from "node:path";
import ModbusRTU from "modbus-serial";
import { silentLogger } from "../../src/core/log.ts";
import { decodeRegisters } from "../../src/drivers/modbus/codec.ts";
import { createModbusDriver } from "../../src/drivers/modbus/index.ts";
import type { Block, Connection, Tag } from "../../src/store/schema.ts";
import { cpuSeconds, loadAverage } from "../support/proc-stats.ts";

const SECONDS = Number(process.argv.slice(2).find((a) => !a.startsWith("--")) ?? 2);
const WITH_SIM = process.argv.includes("--sim");
const ROUNDS = 3;
const REGS = 100;
const root = join(import.meta.dir, "../..");

interface Peer {
  name: string;
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Starts a peer process that prints `{"listen":"host:port"}` on its first line. */
async function startPeerProcess(name: string, argv: string[]): Promise<Peer> {
  const proc = Bun.spawn([process.execPath, ...argv], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = proc.stdout.getReader();
  let text = "";
  while (!text.includes("}")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("simulator exited");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const port = Number((JSON.parse(text) as { listen: string }).listen.split(":")[1]);
  return {
    name,
    port,
    pid: proc.pid,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** One timed phase: calls per second, this process's CPU µs per call, the peer's CPU % of a core. */
interface Phase {
  rate: number;
  cpuUs: number;
  peerPct: number;
}

/** Runs `fn` repeatedly for `seconds`, one call in flight. */
async function loop(seconds: number, fn: () => Promise<unknown>, peerPid = 0): Promise<Phase> {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const p0 = peerPid ? cpuSeconds(peerPid) : 0;
  const u0 = process.cpuUsage();
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) await fn();
    n += 50;
  }
  const dt = (performance.now() - t0) / 1000;
  const u = process.cpuUsage(u0);
  const p1 = peerPid ? cpuSeconds(peerPid) : 0;
  return { rate: n / dt, cpuUs: (u.user + u.system) / n, peerPct: ((p1 - p0) / dt) * 100 };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

const loadStart = loadAverage();
const peers: Peer[] = [
  await startPeerProcess("responder", [join(import.meta.dir, "responder.ts"), "--port", "0"]),
];
if (WITH_SIM) {
  peers.push(
    await startPeerProcess("simulator", [
      join(root, "src/cli/main.ts"),
      "--json",
      "sim",
      "modbus",
      "--port",
      "0",
    ]),
  );
}

const tags: Tag[] = [];
for (let i = 0; i < REGS / 2; i++) {
  tags.push({
    conn_id: "bench",
    tag_name: `t${i}`,
    block_id: "b",
    address: 2 * i,
    data_type: i % 2 ? "float32" : "uint32",
    byte_order: i % 4 === 1 ? "CDAB" : "ABCD",
    scale: 1,
    offset: 0,
    deadband: 0,
    access: "read",
  } as Tag);
}

/** Medians of ROUNDS alternating raw / driver phases against one peer. */
async function measurePeer(peer: Peer): Promise<{ raw: Phase[]; drv: Phase[] }> {
  const conn = {
    conn_id: "bench",
    protocol: "modbus-tcp",
    host: "127.0.0.1",
    port: peer.port,
    unit_id: 1,
    timeout_ms: 2000,
    connect_timeout_ms: 3000,
    inter_request_delay_ms: 0,
    max_registers_per_request: 125,
    max_bits_per_request: 2000,
  } as Connection;
  const blk = {
    conn_id: "bench",
    block_id: "b",
    table: "holding_registers",
    address: 0,
    count: REGS,
    enabled: true,
  } as Block;
  const driver = createModbusDriver(conn, { log: silentLogger, dataDir: "/tmp" });
  driver.configure([blk], tags);
  await driver.connect();
  const raw = new ModbusRTU();
  await raw.connectTCP("127.0.0.1", { port: peer.port });
  raw.setID(1);
  raw.setTimeout(2000);
  // warm-up
  await loop(0.3, () => raw.readHoldingRegisters(0, REGS));
  await loop(0.3, () => driver.read("b"));
  const out = { raw: [] as Phase[], drv: [] as Phase[] };
  for (let r = 0; r < ROUNDS; r++) {
    out.raw.push(await loop(SECONDS, () => raw.readHoldingRegisters(0, REGS), peer.pid));
    out.drv.push(await loop(SECONDS, () => driver.read("b"), peer.pid));
  }
  await driver.close();
  await new Promise<void>((res) => raw.close(() => res()));
  return out;
}

try {
  const results = new Map<string, { raw: Phase[]; drv: Phase[] }>();
  for (const p of peers) results.set(p.name, await measurePeer(p));

  // decode throughput: the block's 50 tags decoded from an in-memory register array
  const regs = new Uint16Array(REGS).map((_, i) => (i * 7919) & 0xffff);
  let sink = 0;
  const t0 = performance.now();
  let decoded = 0;
  while (performance.now() - t0 < SECONDS * 1000) {
    for (let k = 0; k < 200; k++) {
      for (const t of tags) {
        const v = decodeRegisters(t, regs, t.address);
        if (typeof v === "number") sink += v;
      }
    }
    decoded += 200 * tags.length;
  }
  const decodeRate = decoded / ((performance.now() - t0) / 1000);
  const intTag = { data_type: "int16", byte_order: "ABCD", scale: 0.1, offset: 0 } as const;
  const t1 = performance.now();
  let n16 = 0;
  while (performance.now() - t1 < SECONDS * 1000) {
    for (let k = 0; k < 10_000; k++) sink += decodeRegisters(intTag, regs, k % REGS) as number;
    n16 += 10_000;
  }
  const decode16 = n16 / ((performance.now() - t1) / 1000);

  const med = (ps: Phase[], k: keyof Phase) => median(ps.map((p) => p[k]));
  console.log(
    `Modbus TCP on loopback, peer in its own process, one request in flight, ${ROUNDS} rounds × ${SECONDS} s, medians; ${loadStart} at the start, ${loadAverage()} at the end`,
  );
  console.log(
    "\n| peer | case | requests/s | tag values/s | ratio to raw loop | client CPU µs per request | client CPU µs per tag | peer CPU % of a core |",
  );
  console.log("|---|---|---:|---:|---:|---:|---:|---:|");
  for (const [name, r] of results) {
    const rawRate = med(r.raw, "rate");
    const drvRate = med(r.drv, "rate");
    const rawUs = med(r.raw, "cpuUs");
    const drvUs = med(r.drv, "cpuUs");
    console.log(
      `| ${name} | raw modbus-serial readHoldingRegisters(0, ${REGS}) | ${fmt(rawRate)} | - | 1.00 | ${rawUs.toFixed(1)} | - | ${med(r.raw, "peerPct").toFixed(0)} |`,
    );
    console.log(
      `| ${name} | driver.read(block of ${REGS} regs, ${tags.length} tags) | ${fmt(drvRate)} | ${fmt(drvRate * tags.length)} | ${(drvRate / rawRate).toFixed(2)} | ${drvUs.toFixed(1)} (${(drvUs / rawUs).toFixed(2)}× raw) | ${(drvUs / tags.length).toFixed(2)} | ${med(r.drv, "peerPct").toFixed(0)} |`,
    );
    console.log(
      `  ${name} rounds (req/s): raw ${r.raw.map((p) => fmt(p.rate)).join(", ")}; driver ${r.drv.map((p) => fmt(p.rate)).join(", ")}`,
    );
  }
  console.log(
    `\n| decode only | values/s | µs per value |\n|---|---:|---:|\n| 50 uint32/float32 tags | ${fmt(decodeRate)} | ${(1e6 / decodeRate).toFixed(3)} |\n| int16 × 0.1 | ${fmt(decode16)} | ${(1e6 / decode16).toFixed(3)} |`,
  );
  const r0 = results.get("responder")!;
  const overhead = 1 - med(r0.drv, "rate") / med(r0.raw, "rate");
  console.log(
    `\ndriver overhead vs raw loop (responder): ${(overhead * 100).toFixed(1)} % of throughput (goal ≤ 15 %) → ${overhead <= 0.15 ? "OK" : "ABOVE GOAL"}; peer busy ${med(r0.raw, "peerPct").toFixed(0)} / ${med(r0.drv, "peerPct").toFixed(0)} % of a core (raw / driver)`,
  );
  if (sink === 42) console.log("");
} finally {
  for (const p of peers) await p.stop();
}
