import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { isNodiError, type NodiError } from "../../../src/core/errors.ts";
import { silentLogger } from "../../../src/core/log.ts";
import { createModbusDriver, type ModbusDriver } from "../../../src/drivers/modbus/index.ts";
import type { Tag } from "../../../src/store/schema.ts";
import { startPeer, tcpAccepts } from "../../support/peer.ts";
import { freePort } from "../../support/ports.ts";
import { block, connection, tag, until } from "./helpers.ts";

// End to end against an independent implementation: Debian's python3-pymodbus 3.0 server
// (`/usr/bin/python3`, which may not be the python3 first on PATH).
const PYTHON = "/usr/bin/python3";
const SCRIPT = join(import.meta.dir, "../../support/pymodbus_server.py");
const procs: Subprocess[] = [];
const drivers: ModbusDriver[] = [];

afterAll(async () => {
  for (const d of drivers) await d.close();
  for (const p of procs) {
    p.kill("SIGKILL");
    await p.exited;
  }
});

async function pymodbus(framer: "socket" | "rtu"): Promise<number> {
  if (!existsSync(PYTHON)) throw new Error(`${PYTHON} missing: apt-get install python3-pymodbus`);
  const port = await freePort();
  // Fails at once with the server's own stderr when it cannot start (e.g. pymodbus without
  // python3-serial-asyncio: "ModuleNotFoundError: No module named 'serial_asyncio'").
  procs.push(
    await startPeer([PYTHON, SCRIPT, String(port), framer], () => tcpAccepts(port), {
      name: "pymodbus server",
      timeoutMs: 20_000,
    }),
  );
  return port;
}

const blocks = [
  block("hr", "holding_registers", 0, 30),
  block("big", "holding_registers", 0, 200),
  block("ir", "input_registers", 0, 1),
  block("co", "coils", 0, 8),
  block("di", "discrete_inputs", 0, 8),
  block("beyond", "holding_registers", 190, 20),
];
const tags: Tag[] = [
  tag("r1", "hr", 1),
  tag("flow", "hr", 10, { data_type: "float32", byte_order: "CDAB" }),
  tag("name", "hr", 20, { data_type: "string", length: 4 }),
  tag("w", "hr", 25),
  tag("f", "hr", 26, { data_type: "float32" }),
  tag("last", "big", 199),
  tag("temp", "ir", 0, { data_type: "int16", scale: 0.1 }),
  tag("run", "co", 3, { data_type: "bool" }),
  tag("spare", "co", 4, { data_type: "bool" }),
  tag("door", "di", 5, { data_type: "bool" }),
  tag("x", "beyond", 190),
];
const t = (name: string) => tags.find((x) => x.tag_name === name) as Tag;
const values = (rs: Array<{ tag_name: string; value: unknown }>) =>
  Object.fromEntries(rs.map((r) => [r.tag_name, r.value]));

for (const [protocol, framer] of [
  ["modbus-tcp", "socket"],
  ["modbus-rtu-tcp", "rtu"],
] as const) {
  describe(`driver ↔ pymodbus 3.0 server (${protocol})`, () => {
    let d: ModbusDriver;

    test("connects and reads FC1/2/3/4", async () => {
      const port = await pymodbus(framer);
      d = createModbusDriver(connection({ protocol, port, max_registers_per_request: 60 }), {
        log: silentLogger,
        dataDir: "/tmp",
      }) as ModbusDriver;
      drivers.push(d);
      d.configure(blocks, tags);
      await until(
        async () => {
          try {
            await d.connect();
            await d.read("ir");
            return true;
          } catch {
            return false;
          }
        },
        20_000,
        "pymodbus server up",
      );
      expect(values(await d.read("hr"))).toMatchObject({ r1: 3, flow: 12.5, name: "PYMB" });
      expect(values(await d.read("big"))).toEqual({ last: 597 });
      expect(values(await d.read("ir"))).toEqual({ temp: 36.4 });
      expect(values(await d.read("co"))).toEqual({ run: true, spare: false });
      expect(values(await d.read("di"))).toEqual({ door: true });
    });

    test("writes FC5, FC6, FC16, FC15 and reads them back", async () => {
      await d.write(t("spare"), true);
      await d.write(t("w"), 4242);
      await d.write(t("f"), -0.5);
      await d.writeCoils(6, [true, true]);
      const hr = values(await d.read("hr"));
      expect(hr.w).toBe(4242);
      expect(hr.f).toBe(-0.5);
      expect(values(await d.read("co"))).toEqual({ run: true, spare: true });
    });

    test("ILLEGAL_DATA_ADDRESS from the server on a block past its end", async () => {
      try {
        await d.read("beyond");
        throw new Error("no exception");
      } catch (e) {
        expect(isNodiError(e, "device_exception")).toBe(true);
        expect((e as NodiError).reason).toBe("ILLEGAL_DATA_ADDRESS");
      }
      expect(values(await d.read("ir"))).toEqual({ temp: 36.4 });
    });
  });
}
