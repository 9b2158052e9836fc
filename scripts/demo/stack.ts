import { closeSync, mkdtempSync, openSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { importCsv, readInputs } from "../../src/loader/import.ts";
import { type ModbusSim, startModbusSim } from "../../src/sim/modbus/index.ts";
import type { ConnectionConfig } from "../../src/store/schema.ts";
import { openStore } from "../../src/store/store.ts";
import { demoNorthbounds, startBroker } from "./north.ts";
import { spawnOwned, stopProc } from "./procs.ts";
import { hasSocat, type SerialLine, startSerialLine } from "./serial-line.ts";
import { simMapFor } from "./sim-map.ts";

/** Options of {@link startStack}. */
export interface StackOptions {
  /** Folder with connections.csv, blocks.csv, tags.csv (and `../sim/{conn_id}.json` maps). */
  configDir: string;
  /**
   * Further configuration folders imported after `configDir`, each a whole import of its own
   * (e.g. `examples/rs485`: a line with devices and the profile they are instances of).
   */
  extraConfigDirs?: string[];
  /** Only these connections (default: all of the CSV). */
  only?: string[];
  /** Use this Redis (`NE_REDIS_URL`) with a private key prefix instead of starting one. */
  redisUrl?: string;
  /** Extra environment of the supervisor and its apps (e.g. `NE_LOG_LEVEL`). */
  env?: Record<string, string>;
  /** Replace the connections' configured ports by free ones (tests, benches). Default: only when taken. */
  freePorts?: boolean;
  /** Transforms each connection config before the import (benches: scale out). */
  configs?: (cfgs: ConnectionConfig[]) => ConnectionConfig[];
  /** The simulator map of a Modbus connection (default: {@link simMapFor}). */
  simMap?: (cfg: ConnectionConfig) => { map: Record<string, unknown> } | { mapFile: string };
  /** argv of the supervisor (default: `bun src/supervisor/main.ts`; e.g. `[dist/nodi-edge, "ne-supervisor"]`). */
  supervisorCmd?: string[];
  /** Skip the OPC UA simulator and connections (quick runs). */
  noOpcua?: boolean;
  /**
   * Serve `modbus-rtu` connections as RTU over TCP instead of on a socat pty pair (also what
   * happens, with a note, when socat is not installed).
   */
  noPty?: boolean;
  /**
   * Also start a private mosquitto and two northbounds on it (plain MQTT `demo-mqtt`,
   * Sparkplug `demo-spb`), which the supervisor runs as ne-north apps. Default false.
   */
  north?: boolean;
  /** Progress messages. */
  say?: (msg: string) => void;
}

/** Everything the demo started; {@link Stack.stop} stops all of it. */
export interface Stack {
  dir: string;
  dbPath: string;
  redisUrl: string;
  prefix: string;
  /** Settings environment (NE_*) of this stack, for the CLI or a TagBus. */
  env: Record<string, string>;
  /** The connections as imported (after port changes). */
  configs: ConnectionConfig[];
  sims: Map<string, ModbusSim>;
  /** The socat pty pairs of the `modbus-rtu` connections, by conn_id. */
  serialLines: Map<string, SerialLine>;
  supervisor: Subprocess;
  /** The supervisor's (and its apps') log file. */
  logFile: string;
  /** The private broker of the northbounds (with `north`). */
  brokerUrl?: string;
  /** Stops the supervisor (and so the apps), the simulators and Redis; removes the temp dir unless `keepDir`. */
  stop(keepDir?: boolean): Promise<void>;
}

async function portFree(port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const srv = createServer();
    srv.once("error", () => resolve(false));
    srv.listen(port, "127.0.0.1", () => srv.close(() => resolve(true)));
  });
}

async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const a = srv.address();
      const port = typeof a === "object" && a ? a.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Waits until `port` accepts TCP connections, up to `ms`. */
async function waitListening(port: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    try {
      const s = await Bun.connect({
        hostname: "127.0.0.1",
        port,
        socket: { data() {}, error() {} },
      });
      s.end();
      return true;
    } catch {
      await Bun.sleep(30);
    }
  }
  return false;
}

/**
 * Starts a whole Nodi Edge on this machine, privately: Redis (unless `redisUrl`), a temp
 * SQLite SoT imported from `configDir`, one simulator per connection (Modbus TCP, RTU over
 * TCP, RTU on a serial line — a socat pty pair whose device end replaces the connection's
 * `serial_device` —, the OPC UA press), and `ne-supervisor` with the process manager. Used
 * by the demo, the end-to-end tests and the benches.
 */
export async function startStack(o: StackOptions): Promise<Stack> {
  const say = o.say ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), "nodi-edge-demo-"));
  const logFile = join(dir, "supervisor.log");
  const logFd = openSync(logFile, "a");
  const owned: Subprocess[] = [];
  const sims = new Map<string, ModbusSim>();
  const serialLines = new Map<string, SerialLine>();
  const stoppers: Array<() => Promise<void>> = [];
  const cleanup = async (keepDir = false) => {
    for (const p of owned.reverse()) await stopProc(p);
    for (const s of sims.values()) await s.stop().catch(() => {});
    for (const s of stoppers.reverse()) await s().catch(() => {});
    for (const l of serialLines.values()) await l.stop().catch(() => {});
    closeSync(logFd);
    if (!keepDir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    // 1. Redis
    let redisUrl = o.redisUrl;
    let prefix = "ne:";
    if (redisUrl) {
      prefix = `demo:${process.pid}:${Date.now().toString(36)}:`;
    } else {
      const port = await freePort();
      const redis = spawnOwned(
        [
          "redis-server",
          "--port",
          String(port),
          "--bind",
          "127.0.0.1",
          "--dir",
          dir,
          "--save",
          "",
          "--appendonly",
          "no",
        ],
        process.env,
        "ignore",
      );
      owned.push(redis);
      if (!(await waitListening(port, 10_000)))
        throw new Error(`redis-server did not start on port ${port}`);
      redisUrl = `redis://127.0.0.1:${port}`;
      say(`Redis (the TagBus), private to this demo, on ${redisUrl}`);
    }

    // 2. The SoT from the CSV files
    const dbPath = join(dir, "nodi-edge.db");
    const store = openStore(dbPath);
    const files = ["connections.csv", "blocks.csv", "tags.csv"].map((f) => join(o.configDir, f));
    let configs: ConnectionConfig[];
    let stackBroker: string | undefined;
    try {
      importCsv(store, readInputs(files), { origin: "demo" });
      for (const extra of o.extraConfigDirs ?? []) {
        importCsv(store, readInputs([extra]), { origin: "demo" });
      }
      let all = store.getAllConfigs();
      if (o.only) all = all.filter((c) => o.only?.includes(c.connection.conn_id));
      if (o.noOpcua) all = all.filter((c) => c.connection.protocol !== "opcua");
      if (o.configs) all = o.configs(all);
      // 3. Simulators, on the configured ports when free, else on ports the OS picks (the
      // connection is then pointed at the simulator's port before it is stored)
      const usePty = !o.noPty && hasSocat();
      let noted = false;
      const rtuFallback = new Set<string>();
      for (const c of all) {
        const conn = c.connection;
        if (conn.protocol === "modbus-rtu" && usePty) {
          // RTU on a serial line: the simulator on one end of a pty pair, the connection's
          // serial_device (e.g. /dev/ttyUSB0 in the examples) pointed at the other end
          const line = await startSerialLine(dir, conn.conn_id, logFd);
          serialLines.set(conn.conn_id, line);
          const configured = conn.serial_device;
          const sim = await startModbusSim({
            ...(o.simMap ? o.simMap(c) : simMapFor(c, join(o.configDir, ".."))),
            framing: "rtu",
            serialPath: line.simEnd,
            ...(conn.baud_rate ? { baudRate: conn.baud_rate } : {}),
            ...(conn.unit_id !== null && conn.unit_id !== undefined
              ? { unitId: conn.unit_id }
              : {}),
          });
          sims.set(conn.conn_id, sim);
          conn.serial_device = line.deviceEnd;
          // Linux ptys refuse parity (stty parenb: EINVAL); a real port takes it
          if (conn.parity && conn.parity !== "none") conn.parity = "none";
          say(
            `${conn.conn_id}: simulated Modbus RTU device on a serial line (a socat pty pair); ` +
              `serial_device ${configured ?? "(none)"} of examples/demo → ${line.deviceEnd}`,
          );
          continue;
        }
        if (conn.protocol === "modbus-rtu") {
          // no socat (or --no-pty): the same RTU frames over TCP, as behind a serial device server
          if (!o.noPty && !noted) {
            say(
              "note: socat is not installed, so RTU connections use RTU over TCP instead of a pty",
            );
            noted = true;
          }
          rtuFallback.add(conn.conn_id);
          conn.protocol = "modbus-rtu-tcp";
          conn.host = "127.0.0.1";
          conn.port = await freePort();
          conn.serial_device = null;
          conn.baud_rate = null;
          conn.parity = null;
          conn.data_bits = null;
          conn.stop_bits = null;
        }
        if (conn.protocol === "modbus-tcp" || conn.protocol === "modbus-rtu-tcp") {
          const keep = conn.port && !o.freePorts && (await portFree(conn.port));
          const sim = await startModbusSim({
            ...(o.simMap ? o.simMap(c) : simMapFor(c, join(o.configDir, ".."))),
            framing: conn.protocol === "modbus-tcp" ? "tcp" : "rtu",
            port: keep ? (conn.port ?? 0) : 0,
            ...(conn.unit_id !== null && conn.unit_id !== undefined
              ? { unitId: conn.unit_id }
              : {}),
          });
          conn.port = sim.port;
          sims.set(conn.conn_id, sim);
          say(
            `${conn.conn_id}: simulated ${conn.protocol === "modbus-tcp" ? "Modbus TCP" : "Modbus RTU over TCP"} device on 127.0.0.1:${sim.port}` +
              (rtuFallback.has(conn.conn_id) ? " (instead of its serial_device)" : ""),
          );
        } else if (conn.protocol === "opcua" && conn.endpoint_url) {
          const m = /^opc\.tcp:\/\/([^:/]+):(\d+)(.*)$/.exec(conn.endpoint_url);
          let port = Number(m?.[2] ?? 4841);
          if (o.freePorts || !(await portFree(port))) port = await freePort();
          conn.endpoint_url = `opc.tcp://${m?.[1] ?? "127.0.0.1"}:${port}${m?.[3] ?? ""}`;
          const { startOpcuaSim } = await import("../../src/sim/opcua/server.ts");
          const sim = await startOpcuaSim({ port, pkiDir: join(dir, "opcua-sim-pki") });
          stoppers.push(() => sim.stop());
          say(`${conn.conn_id}: simulated OPC UA press on ${sim.endpointUrl}`);
        }
      }
      let brokerUrl: string | undefined;
      if (o.north) {
        const broker = await startBroker(dir, logFd);
        owned.push(broker.proc);
        brokerUrl = broker.url;
        say(
          `MQTT broker (mosquitto), private to this demo, on ${broker.url}; northbounds demo-mqtt (plain MQTT) and demo-spb (Sparkplug B)`,
        );
      }
      store.apply({
        origin: "demo",
        put: all,
        replaceAll: true,
        ...(brokerUrl ? { putNorthbounds: demoNorthbounds(brokerUrl) } : {}),
      });
      stackBroker = brokerUrl;
      configs = store.getAllConfigs();
    } finally {
      store.close();
    }

    // 4. The supervisor (process manager) with its apps
    const env: Record<string, string> = {
      NE_DB: dbPath,
      NE_REDIS_URL: redisUrl,
      NE_REDIS_PREFIX: prefix,
      NE_DATA_DIR: dir,
      NE_SERVICE_MANAGER: "process",
      NE_LOG_LEVEL: "info",
      ...o.env,
    };
    const mainTs = join(import.meta.dir, "../../src/supervisor/main.ts");
    const supervisor = spawnOwned(
      o.supervisorCmd ?? [process.execPath, mainTs],
      { ...process.env, ...env },
      logFd,
    );
    owned.push(supervisor);
    say(
      `ne-supervisor started (pid ${supervisor.pid}); it starts one ne-intf app per connection; logs in ${logFile}`,
    );
    return {
      dir,
      dbPath,
      redisUrl,
      prefix,
      env,
      configs,
      sims,
      serialLines,
      supervisor,
      logFile,
      ...(stackBroker ? { brokerUrl: stackBroker } : {}),
      stop: cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}
