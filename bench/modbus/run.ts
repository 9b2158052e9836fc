/**
 * Modbus benchmark: read requests/s and tag values/s through the driver against the fast
 * simulator (in its own process), beside a raw modbus-serial loop against the same server in
 * the same run, plus decode throughput. Run: `bun bench/modbus/run.ts [seconds-per-phase]`.
 * Prints a table with ratios against the raw baseline; the goal is driver overhead ≤ 15 %.
 */
import { join } from "node:path";
import ModbusRTU from "modbus-serial";
import { silentLogger } from "../../src/core/log.ts";
import { decodeRegisters } from "../../src/drivers/modbus/codec.ts";
import { createModbusDriver } from "../../src/drivers/modbus/index.ts";
import type { Block, Connection, Tag } from "../../src/store/schema.ts";

const SECONDS = Number(process.argv[2] ?? 2);
const ROUNDS = 3;
const REGS = 100;
const root = join(import.meta.dir, "../..");

async function startSimProcess(): Promise<{ port: number; stop(): Promise<void> }> {
  const proc = Bun.spawn(
    [process.execPath, join(root, "src/cli/main.ts"), "--json", "sim", "modbus", "--port", "0"],
    {
      stdout: "pipe",
      stderr: "inherit",
    },
  );
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
    port,
    stop: async () => {
      proc.kill("SIGTERM");
      await proc.exited;
    },
  };
}

/** Runs `fn` repeatedly for `seconds`; returns calls per second. */
async function loop(seconds: number, fn: () => Promise<unknown>): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let n = 0;
  const t0 = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 50; i++) await fn();
    n += 50;
  }
  return n / ((performance.now() - t0) / 1000);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");

const sim = await startSimProcess();
try {
  const conn = {
    conn_id: "bench",
    protocol: "modbus-tcp",
    host: "127.0.0.1",
    port: sim.port,
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
  const driver = createModbusDriver(conn, { log: silentLogger, dataDir: "/tmp" });
  driver.configure([blk], tags);
  await driver.connect();
  const raw = new ModbusRTU();
  await raw.connectTCP("127.0.0.1", { port: sim.port });
  raw.setID(1);
  raw.setTimeout(2000);

  // warm-up
  await loop(0.3, () => raw.readHoldingRegisters(0, REGS));
  await loop(0.3, () => driver.read("b"));

  const rawRates: number[] = [];
  const drvRates: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    rawRates.push(await loop(SECONDS, () => raw.readHoldingRegisters(0, REGS)));
    drvRates.push(await loop(SECONDS, () => driver.read("b")));
  }
  await driver.close();
  await new Promise<void>((res) => raw.close(() => res()));

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

  const rawMed = median(rawRates);
  const drvMed = median(drvRates);
  const rows: Array<[string, string, string, string]> = [
    ["raw modbus-serial readHoldingRegisters(0, 100)", fmt(rawMed), "-", "1.00"],
    [
      "driver.read(block of 100 regs, 50 tags)",
      fmt(drvMed),
      fmt(drvMed * tags.length),
      (drvMed / rawMed).toFixed(2),
    ],
    ["decode only: 50 uint32/float32 tags (values/s)", "-", fmt(decodeRate), "-"],
    ["decode only: int16 × 0.1 (values/s)", "-", fmt(decode16), "-"],
  ];
  const w = [50, 14, 16, 18];
  const line = (c: string[]) =>
    c.map((x, i) => (i === 0 ? x.padEnd(w[i] ?? 10) : x.padStart(w[i] ?? 10))).join(" | ");
  console.log(
    `Modbus TCP on loopback, simulator in its own process, ${ROUNDS} rounds × ${SECONDS} s, medians`,
  );
  console.log(line(["case", "requests/s", "tag values/s", "ratio to raw loop"]));
  console.log(line(w.map((n) => "-".repeat(n))));
  for (const r of rows) console.log(line(r));
  console.log(
    `raw rounds: ${rawRates.map(fmt).join(", ")}; driver rounds: ${drvRates.map(fmt).join(", ")}`,
  );
  const overhead = 1 - drvMed / rawMed;
  console.log(
    `driver overhead vs raw loop: ${(overhead * 100).toFixed(1)} % (goal ≤ 15 %) → ${overhead <= 0.15 ? "OK" : "ABOVE GOAL"}`,
  );
  if (sink === 42) console.log("");
} finally {
  await sim.stop();
}
