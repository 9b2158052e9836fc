import type { Command } from "commander";
import { NodiError } from "../../core/errors.ts";
import { type ModbusSimOptions, startModbusSim } from "../../sim/modbus/index.ts";
import type { CliContext } from "../context.ts";

/** Parses a whole number option, or throws a configuration error naming it. */
function int(name: string, min: number, max: number) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new NodiError(
        "configuration",
        `--${name} must be a whole number ${min}-${max}, got ${JSON.stringify(v)}`,
      );
    }
    return n;
  };
}

/** Resolves on SIGINT or SIGTERM (the simulator runs until then). */
function untilSignal(): Promise<string> {
  return new Promise((resolve) => {
    const done = (sig: string) => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      resolve(sig);
    };
    const onInt = () => done("SIGINT");
    const onTerm = () => done("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
}

/**
 * `nodi-edge sim modbus --map FILE --port N [--rtu] [--serial PATH] …`: runs the Modbus
 * simulator (docs/simulator.md) until SIGINT/SIGTERM. Other simulators add subcommands here.
 */
export function register(program: Command, ctx: CliContext): void {
  const sim = program
    .command("sim")
    .description("device simulators for commissioning, demos and tests");
  sim
    .command("modbus")
    .description("serve a Modbus register map over TCP, RTU over TCP, or RTU on a serial device")
    .option("--map <file>", "register map (JSON, see docs/simulator.md); default: all zeros")
    .option("--host <addr>", "listen address", "127.0.0.1")
    .option("--port <n>", "TCP port (0 = any free port)", int("port", 0, 65535), 5020)
    .option("--rtu", "RTU framing (RTU over TCP, or on --serial)")
    .option("--serial <path>", "serve RTU on this serial device / pty instead of TCP")
    .option("--baud <n>", "baud rate for --serial", int("baud", 300, 1_000_000), 9600)
    .option(
      "--unit <n>",
      "answer only this unit id (default: the map's, else any)",
      int("unit", 0, 255),
    )
    .option("--delay-ms <n>", "fault: delay every reply", int("delay-ms", 0, 600_000))
    .option(
      "--max-registers <n>",
      "fault: device maximum registers per read",
      int("max-registers", 1, 125),
    )
    .option("--max-bits <n>", "fault: device maximum bits per read", int("max-bits", 1, 2000))
    .option("--drop-after <n>", "fault: close a client after N requests", int("drop-after", 1, 1e9))
    .option(
      "--idle-close-ms <n>",
      "fault: close clients idle this long",
      int("idle-close-ms", 1, 3_600_000),
    )
    .option("--single-client", "fault: refuse a second client")
    .action(async (o) => {
      const faults: ModbusSimOptions["faults"] = {};
      if (o.delayMs !== undefined) faults.delay_ms = o.delayMs;
      if (o.maxRegisters !== undefined) faults.max_registers_per_request = o.maxRegisters;
      if (o.maxBits !== undefined) faults.max_bits_per_request = o.maxBits;
      if (o.dropAfter !== undefined) faults.drop_after_requests = o.dropAfter;
      if (o.idleCloseMs !== undefined) faults.idle_close_ms = o.idleCloseMs;
      if (o.singleClient) faults.single_client = true;
      const s = await startModbusSim({
        mapFile: o.map,
        host: o.host,
        port: o.port,
        framing: o.rtu || o.serial ? "rtu" : "tcp",
        serialPath: o.serial,
        baudRate: o.baud,
        unitId: o.unit,
        faults,
      });
      const info = {
        simulator: "modbus",
        framing: o.rtu || o.serial ? "rtu" : "tcp",
        listen: o.serial ? o.serial : `${s.host}:${s.port}`,
        map: o.map ?? null,
      };
      ctx.print(
        info,
        () =>
          `modbus simulator (${info.framing}) serving ${info.listen}${o.map ? ` from ${o.map}` : ""}; Ctrl-C stops`,
      );
      await untilSignal();
      await s.stop();
    });
}
