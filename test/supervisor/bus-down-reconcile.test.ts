import { afterAll, expect, test } from "bun:test";
import { join } from "node:path";
import { NodiError } from "../../src/core/errors.ts";
import { openStore } from "../../src/store/store.ts";
import type { ServiceManager } from "../../src/supervisor/service-manager.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import type { TagBus } from "../../src/tagbus/index.ts";
import { captureLog } from "../support/capture-log.ts";
import { tempDir } from "../support/tmp.ts";

// A reconcile while the tag bus is down (Redis SIGSTOPped or killed under a running
// ne-supervisor): looking for configuration changes never announced to a running app needs the
// bus, and it failed as `error` "service manager failed", though the service manager did
// nothing wrong and nothing was changed (seen in the supervisor's journal during a Redis
// outage). It is now a `warn` that says what was not done and that the next reconcile tries.

const dir = tempDir("ne-sup-busdown-");
afterAll(() => dir.cleanup());

test("a reconcile with the tag bus down does not blame the service manager", async () => {
  const store = openStore(join(dir.path, "sot.db"));
  store.apply({
    origin: "test",
    put: [
      {
        connection: {
          conn_id: "m1",
          protocol: "modbus-tcp",
          host: "127.0.0.1",
          port: 1502,
          unit_id: 1,
          enabled: true,
        },
        blocks: [],
        tags: [],
      },
    ],
  });
  // what a RedisTagBus does while Redis is unreachable
  const down = () =>
    Promise.reject(
      new NodiError("communication", "redis not reachable at redis://127.0.0.1:1", "disconnected"),
    );
  const bus = { get: down, publish: down, stats: () => ({ connected: false }) };
  const calls: string[] = [];
  const manager = {
    list: async (template?: string) => (template === "ne-north" ? [] : ["m1"]),
    status: async () => ({ state: "active", subState: "running", since: 1 }),
    add: async (id: string) => void calls.push(`add ${id}`),
    remove: async (id: string) => void calls.push(`remove ${id}`),
  };
  const { log, lines } = captureLog();
  const sup = new Supervisor({
    store,
    bus: bus as unknown as TagBus,
    manager: manager as unknown as ServiceManager,
    reconcileIntervalMs: 600_000,
    log,
  });
  try {
    await sup.reconcile();
  } finally {
    store.close();
  }
  expect(calls).toEqual([]);
  expect(lines.filter((l) => l.msg === "service manager failed")).toEqual([]);
  const warned = lines.filter((l) => l.level === 40 && l.conn === "m1");
  expect(warned.map((l) => l.msg)).toEqual([
    "configuration changes never announced: not looked for; the next reconcile tries again",
  ]);
});
