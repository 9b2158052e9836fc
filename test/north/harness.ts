import { openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import mqtt, { type MqttClient } from "mqtt";
import * as v from "valibot";
import { type Northbound, NorthboundSchema } from "../../src/store/northbound-schema.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { Mosquitto } from "../support/mosquitto.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir } from "../support/tmp.ts";

const ROOT = join(import.meta.dir, "../..");

/** Polls `cond` every 50 ms until truthy; throws naming `what` after `ms`. */
export async function until<T>(what: string, cond: () => T | Promise<T>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const r = await cond();
    if (r) return r;
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** One MQTT message as a test subscriber got it. */
export interface Got {
  topic: string;
  text: string;
  retain: boolean;
  at: number;
}

/** A test MQTT subscriber (MQTT.js) that records every message. */
export class Sub {
  readonly got: Got[] = [];
  private constructor(readonly client: MqttClient) {}
  /**
   * Connects and subscribes. `persistent`: a session that the broker keeps (and, with
   * persistence, restores after its restart), so nothing published while this subscriber is
   * reconnecting is missed.
   */
  static async open(url: string, filters: string[], persistent = false): Promise<Sub> {
    const client = await mqtt.connectAsync(url, {
      clientId: `test-sub-${Math.random().toString(36).slice(2, 8)}`,
      reconnectPeriod: 200,
      protocolVersion: 5,
      clean: !persistent,
      ...(persistent ? { properties: { sessionExpiryInterval: 3600 } } : {}),
    });
    const s = new Sub(client);
    client.on("message", (topic, payload, packet) =>
      s.got.push({ topic, text: payload.toString("utf8"), retain: packet.retain, at: Date.now() }),
    );
    client.on("connect", () => {
      client.subscribe(filters, { qos: 1 });
    });
    await client.subscribeAsync(filters, { qos: 1 });
    return s;
  }
  on(topic: string): Got[] {
    return this.got.filter((g) => g.topic === topic);
  }
  last(topic: string): Got | undefined {
    const l = this.on(topic);
    return l[l.length - 1];
  }
  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/**
 * One private Nodi Edge for northbound tests: Redis, mosquitto, a SQLite SoT in a temp dir,
 * real `ne-intf` and `ne-north` processes (started from source).
 */
export class NorthRig {
  readonly dir = tempDir("ne-north-");
  readonly redis: RedisServer;
  readonly broker: Mosquitto;
  readonly dbPath = join(this.dir.path, "nodi-edge.db");
  store!: Store;
  bus!: RedisTagBus;
  private procs = new Map<string, Subprocess>();

  /** `persistence`: the broker keeps sessions across restarts; `appendonly`: Redis keeps its data (the shipped AOF settings). */
  constructor(opts: { persistence?: boolean; appendonly?: boolean } = {}) {
    this.broker = new Mosquitto({ persistence: opts.persistence ?? false });
    this.redis = new RedisServer({ appendonly: opts.appendonly ?? false });
  }

  env(extra: Record<string, string> = {}): Record<string, string> {
    return {
      NE_DB: this.dbPath,
      NE_REDIS_URL: this.redis.url,
      NE_REDIS_PREFIX: "ne:",
      NE_DATA_DIR: this.dir.path,
      NE_LOG_LEVEL: "info",
      ...extra,
    };
  }

  async start(): Promise<this> {
    await this.redis.start();
    await this.broker.start();
    this.store = openStore(this.dbPath, { create: true });
    this.bus = await createRedisTagBus({ url: this.redis.url, prefix: "ne:", producer: "test" });
    return this;
  }

  /** Adds a Modbus TCP connection `id` polling holding registers 0..count-1 every `periodMs`, one uint16 tag per register (`r0`, `r1`, …). */
  addModbus(
    id: string,
    port: number,
    periodMs: number,
    count: number,
    extraTags: Record<string, unknown>[] = [],
  ): void {
    this.store.apply({
      origin: "test",
      put: [
        {
          connection: {
            conn_id: id,
            protocol: "modbus-tcp",
            host: "127.0.0.1",
            port,
            unit_id: 1,
            timeout_ms: 1000,
            connect_timeout_ms: 1000,
            backoff_initial_ms: 200,
            backoff_max_ms: 1000,
          },
          blocks: [
            {
              conn_id: id,
              block_id: "hr",
              table: "holding_registers",
              address: 0,
              count,
              period_ms: periodMs,
            },
          ],
          tags: [
            ...Array.from({ length: count }, (_, i) => ({
              conn_id: id,
              tag_name: `r${i}`,
              block_id: "hr",
              address: i,
              data_type: "uint16",
            })),
            ...extraTags,
          ],
        },
      ] as never,
    });
  }

  /** Adds or replaces a northbound row (defaults filled by NorthboundSchema). */
  putNorth(row: Record<string, unknown>): Northbound {
    this.store.apply({ origin: "test", putNorthbounds: [row] });
    return v.parse(NorthboundSchema, row);
  }

  /** Starts `ne-intf --conn-id=id` (output in `{dir}/intf-{id}.log`). */
  startIntf(id: string): Subprocess {
    return this.spawn(`intf-${id}`, ["src/intf/main.ts", `--conn-id=${id}`]);
  }

  /** Starts `ne-north --north-id=id` (output in `{dir}/north-{id}.log`). */
  startNorth(id: string, env: Record<string, string> = {}): Subprocess {
    return this.spawn(`north-${id}`, ["src/north/main.ts", `--north-id=${id}`], env);
  }

  private spawn(name: string, args: string[], env: Record<string, string> = {}): Subprocess {
    const fd = openSync(join(this.dir.path, `${name}.log`), "a");
    const p = Bun.spawn([process.execPath, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...this.env(env) },
      stdout: fd,
      stderr: fd,
    });
    this.procs.set(name, p);
    return p;
  }

  /** The log of a started process (`intf-ID` / `north-ID`). */
  log(name: string): string {
    try {
      return readFileSync(join(this.dir.path, `${name}.log`), "utf8");
    } catch {
      return "";
    }
  }

  /** A started process (`intf-ID` / `north-ID`), while it is tracked. */
  proc(name: string): Subprocess | undefined {
    return this.procs.get(name);
  }

  /** Sends `sig` to a started process and waits for its exit code. */
  async kill(name: string, sig: "SIGTERM" | "SIGKILL" = "SIGTERM"): Promise<number | null> {
    const p = this.procs.get(name);
    if (!p) return null;
    this.procs.delete(name);
    p.kill(sig);
    return await p.exited;
  }

  async shutdown(): Promise<void> {
    for (const name of [...this.procs.keys()]) await this.kill(name, "SIGKILL");
    await this.bus?.close(500);
    this.store?.close();
    await this.broker.shutdown();
    await this.redis.shutdown();
    if (!process.env.KEEP_NORTH_RIG) this.dir.cleanup();
    else console.error(`kept ${this.dir.path}`);
  }
}
