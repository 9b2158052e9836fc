import { encodeRegisters, withBit } from "../../drivers/modbus/codec.ts";
import { defaultFaults, type Faults } from "./faults.ts";
import { createGenerator, type Generator } from "./generators.ts";
import { loadSimMap, parseSimMap, type SimEntry, type SimMap } from "./map.ts";
import {
  type Listener,
  listenSerial,
  listenTcp,
  type ServeContext,
  type SimStats,
} from "./server.ts";
import { MODBUS_TABLES, RegisterStore } from "./store.ts";

export type { Faults } from "./faults.ts";
export type { SimEntry, SimMap } from "./map.ts";
export { loadSimMap, parseSimMap } from "./map.ts";
export { RegisterStore } from "./store.ts";

/** Options of {@link startModbusSim}. */
export interface ModbusSimOptions {
  /** A parsed map, or a raw object to validate. */
  map?: SimMap | Record<string, unknown>;
  /** A map file (JSON); used when `map` is absent. */
  mapFile?: string;
  /** `tcp` = Modbus TCP (MBAP); `rtu` = RTU frames (over TCP, or on `serialPath`). Default `tcp`. */
  framing?: "tcp" | "rtu";
  /** Listen address (default 127.0.0.1). */
  host?: string;
  /** TCP port; 0 or absent = a free port. Ignored with `serialPath`. */
  port?: number;
  /** Serve RTU on this serial device / pty instead of TCP. */
  serialPath?: string;
  /** Baud rate for `serialPath` (default 9600). */
  baudRate?: number;
  /** Overrides the map's unit id (answer only this unit). */
  unitId?: number;
  /** Overrides / adds to the map's faults. */
  faults?: Partial<Faults>;
}

/** A running simulator. */
export interface ModbusSim {
  /** TCP port served (0 on serial). */
  port: number;
  host: string;
  /** The data tables: read and change them directly. */
  registers: RegisterStore;
  /** The scripted faults; change fields at any time. */
  faults: Faults;
  stats: SimStats;
  /** Writes a typed engineering value the way a map entry does (codec, byte order, scale). */
  setValue(
    entry: Omit<SimEntry, "byte_order" | "scale" | "offset"> & Partial<SimEntry>,
    value: number | boolean | string,
  ): void;
  /** Closes every client connection now. */
  dropClients(): void;
  /** Stops generators and the listener; closes clients. */
  stop(): Promise<void>;
}

/**
 * Starts a Modbus simulator serving a register map over TCP, RTU over TCP, or RTU on a serial
 * device, with generators and scripted faults (see docs/simulator.md).
 * @throws NodiError `configuration` for a bad map; the listen error when the port is taken.
 */
export async function startModbusSim(options: ModbusSimOptions = {}): Promise<ModbusSim> {
  const map: SimMap = options.map
    ? "faults" in options.map && "entries" in options.map && "tables" in options.map
      ? (options.map as SimMap)
      : parseSimMap(options.map, "map")
    : options.mapFile
      ? loadSimMap(options.mapFile)
      : parseSimMap({}, "map");
  const registers = new RegisterStore();
  for (const t of MODBUS_TABLES) {
    for (const [k, v] of Object.entries(map.tables[t] ?? {})) {
      registers.set(t, Number(k), Array.isArray(v) ? v : [v]);
    }
  }
  const setValue: ModbusSim["setValue"] = (e, value) => {
    const entry: SimEntry = { byte_order: "ABCD", scale: 1, offset: 0, ...e };
    if (entry.table === "coils" || entry.table === "discrete_inputs") {
      registers[entry.table][entry.address] = value === true || value === 1 ? 1 : 0;
    } else if (entry.data_type === "bit") {
      const arr = registers[entry.table];
      arr[entry.address] = withBit(
        arr[entry.address] ?? 0,
        entry.bit ?? 0,
        value === true || value === 1,
      );
    } else {
      const regs = encodeRegisters(
        entry,
        entry.data_type === "string" ? value : typeof value === "boolean" ? Number(value) : value,
      );
      registers.set(entry.table, entry.address, regs);
    }
  };
  const generated: Array<{ entry: SimEntry; gen: Generator }> = [];
  for (const entry of map.entries) {
    if (entry.value !== undefined) setValue(entry, entry.value);
    if (entry.generator) generated.push({ entry, gen: createGenerator(entry.generator) });
  }
  const t0 = performance.now();
  const tick = () => {
    const t = performance.now() - t0;
    for (const { entry, gen } of generated) {
      try {
        let v = gen(t);
        if (
          typeof v === "number" &&
          entry.data_type !== "float32" &&
          entry.data_type !== "float64"
        ) {
          v = Math.round((v - entry.offset) / entry.scale) * entry.scale + entry.offset;
        }
        setValue(entry, v);
      } catch {
        // a generated value outside the data type is skipped (the register keeps its value)
      }
    }
  };
  tick();
  const timer = generated.length > 0 ? setInterval(tick, map.tick_ms) : undefined;

  const faults: Faults = { ...defaultFaults(), ...map.faults, ...options.faults };
  const stats: SimStats = { requests: 0, connections: 0, refused: 0 };
  const ctx: ServeContext = {
    store: registers,
    faults,
    unitId: options.unitId ?? map.unit_id,
    stats,
  };
  const host = options.host ?? "127.0.0.1";
  let listener: Listener;
  try {
    listener = options.serialPath
      ? listenSerial(ctx, options.serialPath, options.baudRate)
      : await listenTcp(ctx, options.framing ?? "tcp", host, options.port ?? 0);
  } catch (e) {
    if (timer) clearInterval(timer);
    throw e;
  }
  return {
    port: listener.port,
    host,
    registers,
    faults,
    stats,
    setValue,
    dropClients: () => listener.dropClients(),
    stop: async () => {
      if (timer) clearInterval(timer);
      await listener.stop();
    },
  };
}
