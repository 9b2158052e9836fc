import { afterAll, describe, expect, test } from "bun:test";
import { connect, createServer, type Socket } from "node:net";
import { isNodiError, type NodiError } from "../../../src/core/errors.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { createModbusDriver, type ModbusDriver } from "../../../src/drivers/modbus/index.ts";
import { type ModbusSim, startModbusSim } from "../../../src/sim/modbus/index.ts";
import type { Block, Connection, Tag } from "../../../src/store/schema.ts";
import { block, connection, tag, until } from "./helpers.ts";

const deps = { log: silentLogger, dataDir: "/tmp" };
const running: Array<{ stop(): Promise<void> }> = [];
const drivers: ModbusDriver[] = [];

afterAll(async () => {
  for (const d of drivers) await d.close();
  for (const s of running) await s.stop();
});

async function sim(opts: Parameters<typeof startModbusSim>[0] = {}): Promise<ModbusSim> {
  const s = await startModbusSim(opts);
  running.push(s);
  return s;
}

function driver(c: Connection, blocks: Block[], tags: Tag[]): ModbusDriver {
  const d = createModbusDriver(c, deps) as ModbusDriver;
  drivers.push(d);
  d.configure(blocks, tags);
  return d;
}

async function rejection(p: Promise<unknown>): Promise<NodiError> {
  try {
    await p;
  } catch (e) {
    if (isNodiError(e)) return e;
    throw e;
  }
  throw new Error("expected a rejection");
}

/**
 * A TCP proxy in front of `target` (127.0.0.1). `take(n, client)` may handle the n-th
 * connection itself (return true); `mapReply` may change what the target sends back.
 */
async function tcpProxy(
  target: number,
  take?: (n: number, client: Socket) => boolean,
  mapReply: (chunk: Buffer) => Buffer = (c) => c,
): Promise<{ port: number; connections: () => number; closed: () => number }> {
  let n = 0;
  let closed = 0;
  const server = createServer((client) => {
    n++;
    client.on("error", () => {});
    client.on("close", () => closed++);
    if (take?.(n, client)) return;
    const up = connect(target, "127.0.0.1");
    up.on("error", () => client.destroy());
    up.on("data", (d: Buffer) => client.write(mapReply(d)));
    client.on("data", (d: Buffer) => up.write(d));
    client.on("close", () => up.destroy());
    up.on("close", () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  running.push({ stop: () => new Promise<void>((r) => server.close(() => r())) });
  return {
    port: (server.address() as { port: number }).port,
    connections: () => n,
    closed: () => closed,
  };
}

const byName = (rs: Array<{ tag_name: string; value: unknown }>) =>
  Object.fromEntries(rs.map((r) => [r.tag_name, r.value]));

for (const protocol of ["modbus-tcp", "modbus-rtu-tcp"] as const) {
  const framing = protocol === "modbus-tcp" ? "tcp" : "rtu";
  describe(`driver ↔ simulator over ${protocol}`, () => {
    const blocks = [
      block("hr", "holding_registers", 0, 20),
      block("ir", "input_registers", 100, 10),
      block("co", "coils", 0, 16),
      block("di", "discrete_inputs", 0, 8),
      block("big", "holding_registers", 1000, 300),
      block("straddle", "holding_registers", 190, 20),
      block("slow", "holding_registers", 500, 2),
    ];
    const tags = [
      tag("speed", "hr", 0, { data_type: "int16", scale: 0.1 }),
      tag("flow", "hr", 2, { data_type: "float32", byte_order: "CDAB" }),
      tag("count", "hr", 4, { data_type: "uint32" }),
      tag("name", "hr", 6, { data_type: "string", length: 4 }),
      tag("alarm", "hr", 10, { data_type: "bit", bit: 3 }),
      tag("energy", "hr", 12, { data_type: "float64", byte_order: "DCBA" }),
      tag("setpoint", "hr", 16, { data_type: "uint16" }),
      tag("temp", "ir", 100, { data_type: "int16", scale: 0.1, offset: -40, access: "read" }),
      tag("run", "co", 3, { data_type: "bool" }),
      tag("door", "di", 5, { data_type: "bool", access: "read" }),
      tag("first", "big", 1000),
      tag("last", "big", 1299),
      tag("mid", "big", 1124, { data_type: "float32" }),
      tag("s1", "straddle", 190),
      tag("w", "slow", 500),
    ];
    let s: ModbusSim;
    let d: ModbusDriver;

    test("connect and read FC1/2/3/4 with typed tags", async () => {
      s = await sim({
        framing,
        unitId: 7,
        faults: { exceptions: [{ from: 200, to: 299, code: 2 }] },
      });
      s.registers.holding_registers[0] = 364;
      s.setValue(
        { table: "holding_registers", address: 2, data_type: "float32", byte_order: "CDAB" },
        12.5,
      );
      s.setValue({ table: "holding_registers", address: 4, data_type: "uint32" }, 100_000);
      s.setValue(
        { table: "holding_registers", address: 6, data_type: "string", length: 4 },
        "PUMP-1",
      );
      s.registers.holding_registers[10] = 0b1000;
      s.setValue(
        { table: "holding_registers", address: 12, data_type: "float64", byte_order: "DCBA" },
        1234.5,
      );
      s.registers.input_registers[100] = 650;
      s.registers.coils[3] = 1;
      s.registers.discrete_inputs[5] = 1;
      d = driver(connection({ protocol, port: s.port, unit_id: 7 }), blocks, tags);
      await d.connect();
      expect(byName(await d.read("hr"))).toMatchObject({
        speed: 36.4,
        flow: 12.5,
        count: 100_000,
        name: "PUMP-1",
        alarm: true,
        energy: 1234.5,
      });
      expect(byName(await d.read("ir"))).toEqual({ temp: 25 });
      expect(byName(await d.read("co"))).toEqual({ run: true });
      expect(byName(await d.read("di"))).toEqual({ door: true });
      const r = await d.read("hr");
      expect(r.every((x) => x.quality === "good" && typeof x.ts === "number")).toBe(true);
    });

    test("writes: FC5 coil, FC6 register, FC16 multi-register value, bit by read-modify-write, FC15, FC16", async () => {
      const t = Object.fromEntries(tags.map((x) => [x.tag_name, x]));
      await d.write(t.run as Tag, false);
      expect(s.registers.coils[3]).toBe(0);
      await d.write(t.setpoint as Tag, 4321);
      expect(s.registers.holding_registers[16]).toBe(4321);
      await d.write(t.flow as Tag, -2.5);
      expect(s.registers.get("holding_registers", 2, 2)).toEqual([0x0000, 0xc020]);
      await d.write(t.speed as Tag, 12.3);
      expect(s.registers.holding_registers[0]).toBe(123);
      await d.write(t.name as Tag, "AB");
      expect(s.registers.get("holding_registers", 6, 4)).toEqual([0x4142, 0, 0, 0]);
      s.registers.holding_registers[10] = 0x00f0;
      await d.write(t.alarm as Tag, false);
      expect(s.registers.holding_registers[10]).toBe(0x00f8 & ~0x08);
      await d.writeCoils(8, [true, false, true]);
      expect(s.registers.get("coils", 8, 3)).toEqual([1, 0, 1]);
      await d.writeRegisters(40, [1, 2, 3]);
      expect(s.registers.get("holding_registers", 40, 3)).toEqual([1, 2, 3]);
      expect(byName(await d.read("hr"))).toMatchObject({
        speed: 12.3,
        flow: -2.5,
        name: "AB",
        alarm: false,
        setpoint: 4321,
      });
    });

    test("out-of-range and read-only writes are refused before anything goes on the wire", async () => {
      const before = s.stats.requests;
      const t = Object.fromEntries(tags.map((x) => [x.tag_name, x]));
      expect((await rejection(d.write(t.setpoint as Tag, 70000))).kind).toBe("out_of_range");
      expect((await rejection(d.write(t.speed as Tag, 5000))).kind).toBe("out_of_range");
      expect((await rejection(d.write(t.name as Tag, "TOO LONG NAME"))).kind).toBe("out_of_range");
      expect((await rejection(d.write(t.run as Tag, 7))).kind).toBe("out_of_range");
      expect((await rejection(d.write(t.temp as Tag, 1))).kind).toBe("read_only");
      expect((await rejection(d.write({ ...(t.temp as Tag), access: "read-write" }, 1))).kind).toBe(
        "read_only",
      );
      expect(s.stats.requests).toBe(before);
    });

    test("a 300-register block is split at the device maximum", async () => {
      s.faults.max_registers_per_request = 100;
      const e = await rejection(d.read("big"));
      expect(e.kind).toBe("device_exception");
      expect(e.reason).toBe("ILLEGAL_DATA_VALUE");
      const d2 = driver(
        connection({ protocol, port: s.port, unit_id: 7, max_registers_per_request: 100 }),
        blocks,
        tags,
      );
      await d2.connect();
      s.registers.holding_registers[1000] = 11;
      s.registers.holding_registers[1299] = 99;
      s.setValue({ table: "holding_registers", address: 1124, data_type: "float32" }, 3.25);
      const before = s.stats.requests;
      expect(byName(await d2.read("big"))).toEqual({ first: 11, last: 99, mid: 3.25 });
      expect(s.stats.requests - before).toBe(3);
      await d2.close();
      s.faults.max_registers_per_request = 125;
    });

    test("an exception on a straddling block makes that block bad with the exception name; others keep working", async () => {
      const e = await rejection(d.read("straddle"));
      expect(e.kind).toBe("device_exception");
      expect(e.reason).toBe("ILLEGAL_DATA_ADDRESS");
      expect((await d.read("hr")).length).toBe(7);
    });

    test("a slow reply times out; its late reply is never used for the next request", async () => {
      const slow = driver(
        connection({ protocol, port: s.port, unit_id: 7, timeout_ms: 150 }),
        blocks,
        tags,
      );
      await slow.connect();
      s.registers.holding_registers[500] = 1;
      s.faults.delay_ms = 600;
      const e = await rejection(slow.read("slow"));
      expect(e.kind).toBe("timeout");
      s.faults.delay_ms = 0;
      s.registers.holding_registers[500] = 2;
      // the late reply (value 1) arrives with no request in flight and is dropped (counted)
      await until(() => slow.strayReplies >= 1, 10_000, "late reply");
      expect(byName(await slow.read("slow"))).toEqual({ w: 2 });
      await slow.close();
    });

    test("stray replies (wrong transaction id / wrong unit) are ignored", async () => {
      s.faults.stray_replies = true;
      s.registers.holding_registers[500] = 77;
      for (let i = 0; i < 5; i++) expect(byName(await d.read("slow"))).toEqual({ w: 77 });
      expect(d.strayReplies).toBeGreaterThanOrEqual(framing === "tcp" ? 5 : 0);
      s.faults.stray_replies = false;
    });

    test("a connection dropped at every request fails the request (after one retry); connect() again and polling resumes", async () => {
      s.faults.drop_after_requests = 1;
      const before = s.stats.connections;
      const e = await rejection(d.read("hr"));
      expect(e.kind).toBe("communication");
      expect(e.details.sent).toBe(true);
      expect(s.stats.connections - before).toBe(1); // the one retry opened one new link
      s.faults.drop_after_requests = 0;
      await d.connect();
      expect((await d.read("hr")).length).toBe(7);
    });

    test("a device that closes idle sockets: every read succeeds on a reopened link, nothing fails", async () => {
      const idle = driver(connection({ protocol, port: s.port, unit_id: 7 }), blocks, tags);
      s.faults.idle_close_ms = 100;
      try {
        await idle.connect();
        const before = s.stats.connections;
        for (let i = 0; i < 4; i++) {
          await until(() => idle.linkStats.idleCloses > i, 10_000, `idle close ${i + 1}`);
          expect((await idle.read("co")).length).toBe(1);
        }
        expect(idle.linkStats.reopens).toBe(4);
        expect(s.stats.connections - before).toBe(4);
      } finally {
        s.faults.idle_close_ms = 0;
        await idle.close();
      }
    });
  });
}

describe("driver ↔ simulator: link faults", () => {
  const blocks = [block("hr", "holding_registers", 0, 4), block("bad", "holding_registers", 10, 2)];
  const tags = [tag("a", "hr", 0), tag("b", "bad", 10)];

  test("server killed and restarted: reads fail, then resume after reconnect, same process", async () => {
    const s1 = await startModbusSim({ faults: {} });
    const port = s1.port;
    s1.registers.holding_registers[0] = 5;
    const d = driver(connection({ port, connect_timeout_ms: 1000 }), blocks, tags);
    await d.connect();
    expect(byName(await d.read("hr"))).toEqual({ a: 5 });
    await s1.stop();
    await until(async () => {
      try {
        await d.read("hr");
        return false;
      } catch (e) {
        return isNodiError(e, "communication");
      }
    });
    expect((await rejection(d.connect())).kind).toBe("communication");
    const s2 = await sim({ port });
    s2.registers.holding_registers[0] = 6;
    await until(async () => {
      try {
        await d.connect();
        return true;
      } catch {
        return false;
      }
    });
    expect(byName(await d.read("hr"))).toEqual({ a: 6 });
  });

  test("a request that meets a freshly closed socket is sent once more on a new link, and succeeds", async () => {
    const s = await sim();
    s.registers.holding_registers[0] = 41;
    // The device's idle close crosses the request: the first link closes on the request's
    // bytes without a reply; later links reach the simulator.
    const p = await tcpProxy(s.port, (n, client) => {
      if (n !== 1) return false;
      client.once("data", () => client.destroy());
      return true;
    });
    const d = driver(connection({ port: p.port }), blocks, tags);
    await d.connect();
    expect(byName(await d.read("hr"))).toEqual({ a: 41 });
    expect(d.linkStats.retries).toBe(1);
    expect(p.connections()).toBe(2);
  });

  for (const [what, corrupt] of [
    ["protocol id 1", (b: Buffer) => b.writeUInt16BE(1, 2)],
    ["length 0", (b: Buffer) => b.writeUInt16BE(0, 4)],
    ["length 255", (b: Buffer) => b.writeUInt16BE(255, 4)],
  ] as const) {
    test(`a corrupt MBAP header (${what}) fails the read with framing_error and resets the link at once; the next read succeeds`, async () => {
      const s = await sim();
      s.registers.holding_registers[0] = 42;
      let corrupted = false;
      const p = await tcpProxy(s.port, undefined, (chunk) => {
        if (corrupted) return chunk;
        corrupted = true;
        const b = Buffer.from(chunk);
        corrupt(b);
        return b;
      });
      const d = driver(connection({ port: p.port }), blocks, tags);
      await d.connect();
      const e = await rejection(d.read("hr"));
      expect({ kind: e.kind, reason: e.reason }).toEqual({
        kind: "decode",
        reason: "framing_error",
      });
      expect(e.message).toContain("corrupt MBAP header");
      // Reset at once: closed and reopened before any further request.
      await until(() => p.connections() === 2 && p.closed() === 1, 10_000, "link reset");
      expect(byName(await d.read("hr"))).toEqual({ a: 42 });
      expect(p.connections()).toBe(2);
    });
  }

  test("address_base 1: address 1 reads and writes register 0 on the wire", async () => {
    const s = await sim();
    s.registers.holding_registers[0] = 1234;
    s.registers.holding_registers[1] = 99;
    s.registers.coils[0] = 1;
    const d = driver(
      connection({ port: s.port, address_base: 1 }),
      [block("hr", "holding_registers", 1, 2), block("co", "coils", 1, 1)],
      [tag("first", "hr", 1), tag("second", "hr", 2), tag("c", "co", 1, { data_type: "bool" })],
    );
    await d.connect();
    expect(byName(await d.read("hr"))).toEqual({ first: 1234, second: 99 });
    expect(byName(await d.read("co"))).toEqual({ c: true });
    await d.write(tag("second", "hr", 2), 7);
    expect(s.registers.get("holding_registers", 0, 2)).toEqual([1234, 7]);
    // the same addresses zero-based are one register further on
    const z = driver(
      connection({ port: s.port }),
      [block("hr", "holding_registers", 1, 2)],
      [tag("first", "hr", 1), tag("second", "hr", 2)],
    );
    await z.connect();
    expect(byName(await z.read("hr"))).toEqual({ first: 7, second: 0 });
  });

  test("a device accepting one client: the second is refused, the first keeps working", async () => {
    const s = await sim({ faults: { single_client: true } });
    const a = driver(connection({ port: s.port }), blocks, tags);
    const b = driver(connection({ port: s.port, timeout_ms: 300 }), blocks, tags);
    await a.connect();
    try {
      await b.connect();
      await b.read("hr");
      throw new Error("second client was served");
    } catch (e) {
      expect(isNodiError(e, "communication", "timeout")).toBe(true);
    }
    await until(() => s.stats.refused >= 1);
    expect((await a.read("hr")).length).toBe(1);
    await a.close();
    await until(async () => {
      try {
        await b.connect();
        return (await b.read("hr")).length === 1;
      } catch {
        return false;
      }
    });
  });

  test("fifty consecutive I/O errors of every kind leave the driver usable", async () => {
    const s = await sim({
      faults: { exceptions: [{ from: 10, to: 10, code: 4 }], silent: [{ from: 11, to: 11 }] },
    });
    const d = driver(
      connection({ port: s.port, timeout_ms: 80, connect_timeout_ms: 1000 }),
      blocks,
      tags,
    );
    await d.connect();
    const kinds = new Set<string>();
    for (let i = 0; i < 50; i++) {
      s.faults.exceptions = i % 2 === 0 ? [{ from: 10, to: 10, code: 4 }] : [];
      s.faults.silent = i % 2 === 1 ? [{ from: 11, to: 11 }] : [];
      s.faults.drop_after_requests = i % 10 === 9 ? 1 : 0; // closed at the request, and at its retry
      try {
        await d.read("bad");
        throw new Error("read succeeded");
      } catch (e) {
        if (!isNodiError(e)) throw e;
        kinds.add(e.kind);
        if (e.kind === "communication") await d.connect();
      }
    }
    s.faults.drop_after_requests = 0;
    expect([...kinds].sort(), JSON.stringify([...kinds])).toEqual([
      "communication",
      "device_exception",
      "timeout",
    ]);
    s.registers.holding_registers[0] = 9;
    expect(byName(await d.read("hr"))).toEqual({ a: 9 });
  });

  test("garbage from the device never crashes the process", async () => {
    const garbage = createServer((sock) => {
      sock.on("data", () => sock.write(new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff)));
      sock.on("error", () => {});
    });
    await new Promise<void>((r) => garbage.listen(0, "127.0.0.1", () => r()));
    running.push({ stop: () => new Promise<void>((r) => garbage.close(() => r())) });
    const port = (garbage.address() as { port: number }).port;
    for (const protocol of ["modbus-tcp", "modbus-rtu-tcp"] as const) {
      const d = driver(connection({ protocol, port, timeout_ms: 200 }), blocks, tags);
      await d.connect();
      const e = await rejection(d.read("hr"));
      expect(["communication", "timeout", "decode"]).toContain(e.kind);
      await d.close();
    }
  });

  test("configuration errors name the block or tag", () => {
    const d = createModbusDriver(connection(), deps);
    expect(() => d.configure(blocks, [tag("x", "nope", 0)])).toThrow(/block nope/);
    expect(() => d.configure(blocks, [tag("x", "hr", 3, { data_type: "float32" })])).toThrow(
      /tag x \(block hr\)/,
    );
    expect(() => createModbusDriver(connection({ host: null }), deps)).toThrow(/host and port/);
    expect(() => createModbusDriver(connection({ protocol: "modbus-rtu" }), deps)).toThrow(
      /serial_device/,
    );
  });

  test("inter-request delay and a unit the device does not serve (RTU: silence → timeout)", async () => {
    const s = await sim({ framing: "rtu", unitId: 3 });
    const ok = driver(
      connection({
        protocol: "modbus-rtu-tcp",
        port: s.port,
        unit_id: 3,
        inter_request_delay_ms: 5,
      }),
      blocks,
      tags,
    );
    await ok.connect();
    for (let i = 0; i < 3; i++) expect((await ok.read("hr")).length).toBe(1);
    const other = driver(
      connection({ protocol: "modbus-rtu-tcp", port: s.port, unit_id: 4, timeout_ms: 100 }),
      blocks,
      tags,
    );
    await other.connect();
    expect((await rejection(other.read("hr"))).kind).toBe("timeout");
  });
});
