import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import ModbusRTU from "modbus-serial";
import { main } from "../../src/cli/main.ts";
import { isNodiError } from "../../src/core/errors.ts";
import { createGenerator } from "../../src/sim/modbus/generators.ts";
import { type ModbusSim, parseSimMap, startModbusSim } from "../../src/sim/modbus/index.ts";
import { until } from "../drivers/modbus/helpers.ts";
import { tempDir } from "../support/tmp.ts";

const dir = tempDir("ne-sim-");
const sims: ModbusSim[] = [];
const clients: ModbusRTU[] = [];

afterAll(async () => {
  for (const c of clients)
    await Promise.race([new Promise<void>((r) => c.close(() => r())), Bun.sleep(200)]);
  for (const s of sims) await s.stop();
  dir.cleanup();
});

async function client(port: number, rtu = false, unit = 1): Promise<ModbusRTU> {
  const c = new ModbusRTU();
  clients.push(c);
  if (rtu) await c.connectTelnet("127.0.0.1", { port });
  else await c.connectTCP("127.0.0.1", { port });
  c.setID(unit);
  c.setTimeout(2000);
  return c;
}

const MAP = {
  unit_id: 1,
  tick_ms: 20,
  holding_registers: { "0": 364, "10": [1, 2, 3] },
  input_registers: { "5": 65535 },
  coils: { "0": [true, false, true] },
  discrete_inputs: { "2": 1 },
  entries: [
    {
      table: "holding_registers",
      address: 100,
      data_type: "float32",
      byte_order: "CDAB",
      value: 12.5,
    },
    { table: "holding_registers", address: 110, data_type: "string", length: 3, value: "LINE1" },
    { table: "input_registers", address: 0, data_type: "int16", scale: 0.1, value: 36.4 },
    {
      table: "holding_registers",
      address: 200,
      data_type: "uint16",
      generator: { type: "counter", every_ms: 20 },
    },
    { table: "coils", address: 50, generator: { type: "toggle", every_ms: 20 } },
  ],
  faults: { exceptions: [{ table: "holding_registers", from: 300, to: 399, code: 2 }] },
};

describe("Modbus simulator against modbus-serial (an independent client)", () => {
  for (const framing of ["tcp", "rtu"] as const) {
    test(`serves the map over ${framing === "tcp" ? "Modbus TCP" : "RTU over TCP"}: FC1-6, 15, 16, exceptions`, async () => {
      const s = await startModbusSim({ map: MAP, framing });
      sims.push(s);
      const c = await client(s.port, framing === "rtu");
      expect((await c.readHoldingRegisters(0, 1)).data).toEqual([364]);
      expect((await c.readHoldingRegisters(10, 3)).data).toEqual([1, 2, 3]);
      expect((await c.readHoldingRegisters(100, 2)).data).toEqual([0x0000, 0x4148]);
      expect((await c.readHoldingRegisters(110, 3)).data).toEqual([0x4c49, 0x4e45, 0x3100]);
      expect((await c.readInputRegisters(0, 1)).data).toEqual([364]);
      expect((await c.readInputRegisters(5, 1)).data).toEqual([65535]);
      expect((await c.readCoils(0, 3)).data.slice(0, 3)).toEqual([true, false, true]);
      expect((await c.readDiscreteInputs(0, 3)).data.slice(0, 3)).toEqual([false, false, true]);
      await c.writeCoil(7, true);
      expect(s.registers.coils[7]).toBe(1);
      await c.writeRegister(20, 0xbeef);
      expect(s.registers.holding_registers[20]).toBe(0xbeef);
      await c.writeCoils(30, [true, true, false, true]);
      expect(s.registers.get("coils", 30, 4)).toEqual([1, 1, 0, 1]);
      await c.writeRegisters(40, [7, 8, 9]);
      expect(s.registers.get("holding_registers", 40, 3)).toEqual([7, 8, 9]);
      const err = await c.readHoldingRegisters(390, 20).catch((e: { modbusCode?: number }) => e);
      expect((err as { modbusCode?: number }).modbusCode).toBe(2);
      s.faults.max_registers_per_request = 10;
      const tooMany = await c.readHoldingRegisters(0, 11).catch((e: { modbusCode?: number }) => e);
      expect((tooMany as { modbusCode?: number }).modbusCode).toBe(3);
      const first = (await c.readHoldingRegisters(200, 1)).data[0] ?? 0;
      await until(
        async () => ((await c.readHoldingRegisters(200, 1)).data[0] ?? 0) > first,
        10_000,
        "counter moves",
      );
    });
  }

  test("faults: drop after N requests, refuse a second client, idle close, unit filter", async () => {
    const s = await startModbusSim({
      map: MAP,
      faults: { drop_after_requests: 3, single_client: true },
    });
    sims.push(s);
    const a = await client(s.port);
    await a.readHoldingRegisters(0, 1);
    await a.readHoldingRegisters(0, 1);
    await expect(a.readHoldingRegisters(0, 1)).rejects.toBeDefined();
    await until(() => s.stats.connections === 1 && !a.isOpen, 10_000, "drop");
    const b = await client(s.port);
    await b.readHoldingRegisters(0, 1);
    const c = new ModbusRTU();
    clients.push(c);
    await c.connectTCP("127.0.0.1", { port: s.port }).catch(() => {});
    await until(() => s.stats.refused === 1, 10_000, "refusal");
    s.faults.idle_close_ms = 50;
    await b.readHoldingRegisters(0, 1);
    await until(() => !b.isOpen, 10_000, "idle close");
    s.faults.idle_close_ms = 0;
    const other = await client(s.port, false, 9);
    const e = await other.readHoldingRegisters(0, 1).catch((x: { modbusCode?: number }) => x);
    expect((e as { modbusCode?: number }).modbusCode).toBe(11);
  });
});

describe("register map files", () => {
  test("a bad map is refused with the file and field named", () => {
    const bad: Array<[unknown, RegExp]> = [
      [[], /top level/],
      [{ unit_id: 300 }, /unit_id: expected an integer 0-255/],
      [{ holding_registers: { x: 1 } }, /holding_registers\.x/],
      [{ holding_registers: { "0": 70000 } }, /holding_registers\.0/],
      [{ entries: [{ table: "nope", address: 0 }] }, /entries\[0\]\.table/],
      [
        { entries: [{ table: "coils", address: 0, generator: { type: "sine" } }] },
        /entries\[0\]\.generator\.min/,
      ],
      [
        { entries: [{ table: "holding_registers", address: 0, data_type: "string" }] },
        /entries\[0\]\.length/,
      ],
      [{ faults: { slow: 1 } }, /faults\.slow/],
    ];
    for (const [raw, re] of bad) {
      try {
        parseSimMap(raw, "line1.json");
        throw new Error(`accepted ${JSON.stringify(raw)}`);
      } catch (e) {
        expect(isNodiError(e, "configuration")).toBe(true);
        expect((e as Error).message).toMatch(/^line1\.json: /);
        expect((e as Error).message).toMatch(re);
      }
    }
  });

  test("unknown keys are refused with the file, the key and the accepted keys", () => {
    const cases: Array<[unknown, string, string[]]> = [
      [
        { registers: [{ table: "holding_registers", address: 0, value: 1 }] },
        "registers",
        ["unit_id", "tick_ms", "holding_registers", "entries", "faults"],
      ],
      [
        { entries: [{ table: "holding_registers", adress: 5, address: 0 }] },
        "entries[0].adress",
        ["table", "address", "data_type", "byte_order", "value", "generator"],
      ],
      [
        {
          entries: [
            {
              table: "holding_registers",
              address: 0,
              generator: { type: "sine", min: 0, max: 1, period_ms: 10, perod: 5 },
            },
          ],
        },
        "entries[0].generator.perod",
        ["type", "min", "max", "period_ms"],
      ],
    ];
    for (const [raw, key, accepted] of cases) {
      let err: unknown;
      try {
        parseSimMap(raw, "line1.json");
      } catch (e) {
        err = e;
      }
      expect(isNodiError(err, "configuration")).toBe(true);
      const msg = (err as Error).message;
      expect(msg).toStartWith(`line1.json: ${key}: unknown key`);
      for (const k of accepted) expect(msg).toContain(k);
    }
  });

  test("a map file is loaded by path; bad JSON names the file", async () => {
    const good = join(dir.path, "m.json");
    writeFileSync(good, JSON.stringify(MAP));
    const s = await startModbusSim({ mapFile: good });
    sims.push(s);
    expect(s.registers.holding_registers[0]).toBe(364);
    const broken = join(dir.path, "broken.json");
    writeFileSync(broken, "{ nope");
    await expect(startModbusSim({ mapFile: broken })).rejects.toThrow(
      /broken\.json: not valid JSON/,
    );
  });

  test("generators", () => {
    expect(createGenerator({ type: "ramp", from: 0, to: 100, period_ms: 1000 })(250)).toBe(25);
    const sine = createGenerator({ type: "sine", min: 10, max: 30, period_ms: 1000 });
    expect(sine(0)).toBeCloseTo(20);
    expect(sine(250)).toBeCloseTo(30);
    expect(
      createGenerator({ type: "counter", start: 5, step: 2, every_ms: 100, max: 9 })(350),
    ).toBe(5);
    expect(createGenerator({ type: "counter", every_ms: 100 })(350)).toBe(3);
    const walk = createGenerator(
      { type: "random_walk", start: 50, step: 1, min: 0, max: 51 },
      () => 1,
    );
    expect([walk(0), walk(0), walk(0)]).toEqual([51, 51, 51]);
    expect(createGenerator({ type: "toggle", every_ms: 100 })(150)).toBe(true);
  });
});

describe("nodi-edge sim modbus", () => {
  test("--map with a missing file exits 66 (not found) naming the file", async () => {
    let err = "";
    const missing = join(dir.path, "nope.json");
    const code = await main(["sim", "modbus", "--map", missing, "--port", "0"], {
      io: {
        out: () => {},
        err: (s) => {
          err += s;
        },
        env: {},
      },
    });
    expect(code).toBe(66);
    expect(err).toContain(missing);
  });

  test("runs from the CLI with a map and serves it; stops on SIGTERM", async () => {
    const file = join(dir.path, "cli.json");
    writeFileSync(file, JSON.stringify(MAP));
    const proc = Bun.spawn(
      [
        process.execPath,
        "src/cli/main.ts",
        "--json",
        "sim",
        "modbus",
        "--map",
        file,
        "--port",
        "0",
        "--rtu",
      ],
      { stdout: "pipe", stderr: "inherit" },
    );
    try {
      const reader = proc.stdout.getReader();
      let text = "";
      while (!text.includes("}")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      const info = JSON.parse(text) as { listen: string; framing: string };
      expect(info.framing).toBe("rtu");
      const port = Number(info.listen.split(":")[1]);
      const c = await client(port, true);
      expect((await c.readHoldingRegisters(100, 2)).data).toEqual([0x0000, 0x4148]);
      proc.kill("SIGTERM");
      expect(await proc.exited).toBe(0);
    } finally {
      proc.kill("SIGKILL");
    }
  });
});
