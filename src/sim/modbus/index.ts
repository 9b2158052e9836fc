import { encodeRegisters, withBit } from "../../drivers/modbus/codec.ts";
import { defaultFaults, type Faults } from "./faults.ts";
import { createGenerator, type Generator } from "./generators.ts";
import { loadSimMap, parseSimMap, type SimEntry, type SimMap } from "./map.ts";
import {
  type Listener,
  listenSerial,
  listenTcp,
  type ServeContext,
  type ServedUnit,
  type SimStats,
  type UnitStats,
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
  /**
   * Several devices behind the one port or line, by unit id, each with its own map (registers,
   * generators, request faults): a serial gateway or an RS-485 bus with several meters. When
   * given, only these unit ids answer (`map` and `unitId` are ignored); the link faults
   * (drop, idle close, single client, stray, corrupt) come from `faults`.
   */
  units?: ReadonlyArray<{ unitId: number; map?: SimMap | Record<string, unknown> }>;
}

/** One simulated device of {@link ModbusSimOptions.units}. */
export interface SimUnit {
  registers: RegisterStore;
  /** Its request faults (e.g. `silent` over every address makes it unresponsive). */
  faults: Faults;
  setValue: ModbusSim["setValue"];
  /** Requests addressed to this unit id (`requests`) and those it answered (`answered`). */
  stats: UnitStats;
  /** Makes the device dead: it stops answering (every request times out), its registers kept. */
  kill(): void;
  /** Brings a killed device back: it answers again. */
  revive(): void;
  /** False while killed. */
  readonly alive: boolean;
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
  /** The devices of {@link ModbusSimOptions.units}, by unit id (empty without `units`). */
  units: ReadonlyMap<number, SimUnit>;
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
  const map = resolveMap(options.map, options.mapFile);
  const main = buildUnit(map, options.faults);
  const units = new Map<number, SimUnit & { stop: () => void }>();
  const served = new Map<number, ServedUnit>();
  for (const u of options.units ?? []) {
    const built = buildUnit(resolveMap(u.map, undefined));
    const stats: UnitStats = { requests: 0, answered: 0 };
    const entry: ServedUnit = { store: built.registers, faults: built.faults, stats, dead: false };
    served.set(u.unitId, entry);
    units.set(u.unitId, {
      ...built,
      stats,
      kill: () => {
        entry.dead = true;
      },
      revive: () => {
        entry.dead = false;
      },
      get alive() {
        return !entry.dead;
      },
    });
  }
  const stats: SimStats = { requests: 0, broadcasts: 0, connections: 0, refused: 0 };
  const ctx: ServeContext = {
    store: main.registers,
    faults: main.faults,
    unitId: options.unitId ?? map.unit_id,
    ...(options.units ? { units: served } : {}),
    stats,
  };
  const stopAll = () => {
    main.stop();
    for (const u of units.values()) u.stop();
  };
  const host = options.host ?? "127.0.0.1";
  let listener: Listener;
  try {
    listener = options.serialPath
      ? listenSerial(ctx, options.serialPath, options.baudRate)
      : await listenTcp(ctx, options.framing ?? "tcp", host, options.port ?? 0);
  } catch (e) {
    stopAll();
    throw e;
  }
  return {
    port: listener.port,
    host,
    registers: main.registers,
    faults: main.faults,
    stats,
    units,
    setValue: main.setValue,
    dropClients: () => listener.dropClients(),
    stop: async () => {
      stopAll();
      await listener.stop();
    },
  };
}

function resolveMap(
  given: SimMap | Record<string, unknown> | undefined,
  file: string | undefined,
): SimMap {
  if (given) {
    return "faults" in given && "entries" in given && "tables" in given
      ? (given as SimMap)
      : parseSimMap(given, "map");
  }
  return file ? loadSimMap(file) : parseSimMap({}, "map");
}

/** The registers, faults, setValue and running generators of one simulated device. */
function buildUnit(
  map: SimMap,
  extraFaults?: Partial<Faults>,
): Pick<SimUnit, "registers" | "faults" | "setValue"> & { stop: () => void } {
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
  const faults: Faults = { ...defaultFaults(), ...map.faults, ...extraFaults };
  return {
    registers,
    faults,
    setValue,
    stop: () => {
      if (timer) clearInterval(timer);
    },
  };
}
