import { type Logger, silentLogger } from "../../src/core/log.ts";
import { SYSTEM_TAGS } from "../../src/core/paths.ts";
import type { TagValue } from "../../src/core/tag-value.ts";
import { IntfApp, type IntfAppOptions } from "../../src/intf/app.ts";
import { type IntfHealth, parseHealth } from "../../src/intf/health.ts";
import type { Notifier } from "../../src/intf/sd-notify.ts";
import type { AuditRecord } from "../../src/store/audit.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { FakeDevice } from "../support/fake-driver.ts";
import type { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";

/** Polls `pred` until true (generous deadline, robust under CPU load). */
export async function waitFor(
  pred: () => boolean | Promise<boolean>,
  what = "condition",
  timeoutMs = 20_000,
): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await pred()) return;
    await Bun.sleep(10);
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** A connection config as rows for `store.apply({ put })`. */
export function connRows(
  connId: string,
  opts: {
    periodMs?: number;
    blocks?: { block_id: string; count?: number; period_ms?: number | null }[];
    tags?: { tag_name: string; block_id: string; access?: string; deadband?: number }[];
    connection?: Record<string, unknown>;
  } = {},
) {
  const periodMs = opts.periodMs ?? 20;
  const blocks = opts.blocks ?? [
    { block_id: "b1", count: 10 },
    { block_id: "b2", count: 10 },
  ];
  const tags = opts.tags ?? [
    { tag_name: "speed", block_id: "b1" },
    { tag_name: "setpoint", block_id: "b1", access: "read-write" },
    { tag_name: "temp", block_id: "b2" },
  ];
  return {
    connection: {
      conn_id: connId,
      protocol: "modbus-tcp",
      host: "127.0.0.1",
      port: 5020,
      unit_id: 1,
      backoff_initial_ms: 30,
      backoff_max_ms: 120,
      ...opts.connection,
    },
    blocks: blocks.map((b) => ({
      conn_id: connId,
      table: "holding_registers",
      address: 0,
      count: 10,
      period_ms: periodMs,
      ...b,
    })),
    tags: tags.map((t, i) => ({
      conn_id: connId,
      data_type: "uint16",
      address: i % 10,
      ...t,
    })),
  };
}

/** One app under test: real store file, real Redis, fake device. */
export class AppUnderTest {
  readonly device = new FakeDevice();
  app!: IntfApp;
  bus!: RedisTagBus;
  /** A second client, as a reader / writer / change agent would be. */
  peer!: RedisTagBus;
  exit: Promise<number> | undefined;
  exitCode: number | undefined;
  /** Set before `start()` to receive sd_notify messages. */
  notifier: Notifier | undefined;
  /** Set before `start()` to see the app's log lines. */
  log: Logger = silentLogger;
  /** Set before `start()` to record the app's writes in the audit trail (an AuditQueue's push). */
  audit: ((r: AuditRecord) => void) | undefined;
  /** The Redis key prefix of this app's bus (for other clients: CLI, web). */
  prefix = "";

  constructor(
    readonly connId: string,
    readonly store: Store,
    readonly redis: RedisServer,
    private readonly options: IntfAppOptions = {},
  ) {}

  static async create(
    connId: string,
    dbPath: string,
    redis: RedisServer,
    options: IntfAppOptions = {},
  ): Promise<AppUnderTest> {
    const t = new AppUnderTest(connId, openStore(dbPath), redis, {
      healthIntervalMs: 100,
      random: () => 0.5,
      ...options,
    });
    const prefix = uniquePrefix(connId);
    t.prefix = prefix;
    t.bus = await createRedisTagBus({ url: redis.url, prefix, producer: connId });
    t.peer = await createRedisTagBus({ url: redis.url, prefix, producer: "test" });
    return t;
  }

  start(): this {
    this.app = new IntfApp({
      appId: this.connId,
      loadConfig: () => this.store.getConnectionConfig(this.connId),
      createDriver: (c) => this.device.factory(c, { log: silentLogger, dataDir: "/tmp" }),
      bus: this.bus,
      log: this.log,
      ...(this.notifier ? { notifier: this.notifier } : {}),
      ...(this.audit ? { audit: this.audit } : {}),
      options: this.options,
    });
    this.exit = this.app.run().then((c) => {
      this.exitCode = c;
      return c;
    });
    return this;
  }

  /** Writes rows to the SoT and announces the reload, as the CLI does. */
  async reconfigure(rows: ReturnType<typeof connRows>): Promise<void> {
    this.store.apply({ origin: "test", put: [rows] });
    await this.announceReload();
  }

  async announceReload(): Promise<void> {
    await this.peer.publish([
      {
        path: SYSTEM_TAGS.configReload(this.connId),
        value: Date.now(),
        quality: "good",
        ts: Date.now(),
      },
    ]);
  }

  async get(tagName: string): Promise<TagValue | undefined> {
    return await this.peer.get(`/${this.connId}/${tagName}`);
  }

  async system(name: string): Promise<TagValue | undefined> {
    return await this.peer.get(`/system/${this.connId}/${name}`);
  }

  async health(): Promise<IntfHealth | undefined> {
    return parseHealth((await this.system("health"))?.value);
  }

  async waitTag(tagName: string, pred: (v: TagValue) => boolean, what?: string): Promise<TagValue> {
    let last: TagValue | undefined;
    await waitFor(async () => {
      last = await this.get(tagName);
      return last !== undefined && pred(last);
    }, what ?? `tag ${tagName}`);
    return last!;
  }

  async waitState(state: string): Promise<void> {
    await waitFor(() => this.app.state === state, `state ${state} (now ${this.app?.state})`);
  }

  async stop(): Promise<number | undefined> {
    if (this.exitCode === undefined && this.app) {
      this.app.requestStop("test end");
      await this.exit;
    }
    await this.bus.close(1000);
    await this.peer.close(1000);
    this.store.close();
    return this.exitCode;
  }
}
