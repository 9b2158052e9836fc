import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { silentLogger } from "../../src/core/log.ts";
import { notifyChanges } from "../../src/store/notify.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { ProcessManager } from "../../src/supervisor/process-manager.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { alive, until } from "../contract/service-manager.contract.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";

// The supervisor against a real Redis TagBus and a real SQLite SoT; the apps are the
// contract suite's fixture app (ne-intf itself is covered by test/e2e/).
const fixtureApp = join(import.meta.dir, "../contract/fake-systemd/fixture-app.ts");
const dir = tempDir("ne-sup-");
const redis = new RedisServer();
const prefix = uniquePrefix("sup");
let store: Store;
let bus: RedisTagBus;

const conn = (id: string, enabled = true) => ({
  connection: {
    conn_id: id,
    protocol: "modbus-tcp",
    host: "127.0.0.1",
    port: 1502,
    unit_id: 1,
    enabled,
  },
  blocks: [],
  tags: [],
});
async function change(edit: Parameters<Store["apply"]>[0]) {
  const r = store.apply(edit);
  await notifyChanges(bus, r.changes);
}
const pidsOf = (id: string) =>
  existsSync(join(dir.path, `${id}.pids`))
    ? readFileSync(join(dir.path, `${id}.pids`), "utf8")
        .trim()
        .split("\n")
        .map(Number)
    : [];
const running = (id: string) => pidsOf(id).filter(alive);

beforeAll(async () => {
  await redis.start();
  store = openStore(join(dir.path, "sot.db"));
  bus = await createRedisTagBus({ url: redis.url, prefix, producer: "cli" });
});
afterAll(async () => {
  await bus.close(1000);
  store.close();
  await redis.shutdown();
  dir.cleanup();
});

function makeSupervisor(pm: ProcessManager, sbus: RedisTagBus) {
  return new Supervisor({
    store,
    bus: sbus,
    manager: pm,
    reconcileIntervalMs: 600_000,
    statusIntervalMs: 200,
    log: silentLogger,
  });
}
const makeManager = () =>
  new ProcessManager({
    command: [process.execPath, fixtureApp],
    env: { ...process.env, FIXTURE_DIR: dir.path },
    sink: () => {},
  });

test("reconcile, follow changes durably, publish service tags, never duplicate", async () => {
  await change({ origin: "test", put: [conn("a1"), conn("b1", false)] });
  // an orphan instance the SoT does not know: reconcile must stop it
  const pm = makeManager();
  await pm.add("orphan");
  const sbus = await createRedisTagBus({ url: redis.url, prefix, producer: "supervisor" });
  const sup = makeSupervisor(pm, sbus);
  await sup.start();
  expect(await pm.list()).toEqual(["a1"]);
  await until("a1 runs", () => running("a1").length === 1);

  // added while running
  await change({ origin: "test", put: [conn("c1")] });
  await until("c1 runs", () => running("c1").length === 1);

  // enabling b1 is an addition; removing a1 and disabling c1 are removals
  await change({ origin: "test", putConnections: [{ ...conn("b1").connection, enabled: true }] });
  await until("b1 runs", () => running("b1").length === 1);
  await change({
    origin: "test",
    remove: ["a1"],
    putConnections: [{ ...conn("c1").connection, enabled: false }],
  });
  await until("a1 and c1 stopped", () => running("a1").length === 0 && running("c1").length === 0);
  expect(await pm.list()).toEqual(["b1"]);

  // service tags: b1 active, a1 removed
  await until("service tags", async () => {
    const b = await bus.get("/system/b1/service");
    const a = await bus.get("/system/a1/service");
    return (
      b &&
      a &&
      JSON.parse(String(b.value)).state === "active" &&
      JSON.parse(String(a.value)).state === "removed"
    );
  });

  // the supervisor goes down; a connection is added meanwhile; a new supervisor (same
  // durable name) gets the missed conn_added and the apps run exactly once
  await sup.stop();
  await pm.close();
  await sbus.close(1000);
  expect(running("b1")).toEqual([]);
  await change({ origin: "test", put: [conn("d1")] });
  const pm2 = makeManager();
  const sbus2 = await createRedisTagBus({ url: redis.url, prefix, producer: "supervisor" });
  const sup2 = makeSupervisor(pm2, sbus2);
  const handled: string[] = [];
  const orig = sup2.reconcileOne.bind(sup2);
  sup2.reconcileOne = (id, why) => {
    handled.push(`${why}:${id}`);
    return orig(id, why);
  };
  await sup2.start();
  await until("missed conn_added delivered", () => handled.includes("conn_added:d1"));
  await until("b1 and d1 run", () => running("b1").length === 1 && running("d1").length === 1);
  expect(await pm2.list()).toEqual(["b1", "d1"]);
  await sup2.reconcile(); // again: nothing changes
  expect(running("b1")).toHaveLength(1);
  expect(running("d1")).toHaveLength(1);
  await sup2.stop();
  await pm2.close();
  await sbus2.close(1000);
}, 60_000);

test("ne-supervisor process: SIGKILL leaves no orphan (pdeathsig), a restart runs each app once, SIGTERM stops all", async () => {
  await change({ origin: "test", put: [conn("p1"), conn("p2")] });
  const env = {
    ...process.env,
    NE_DB: join(dir.path, "sot.db"),
    NE_REDIS_URL: redis.url,
    NE_REDIS_PREFIX: prefix,
    NE_SERVICE_MANAGER: "process",
    NE_INTF_CMD: JSON.stringify([process.execPath, fixtureApp]),
    NE_LOG_LEVEL: "warn",
    FIXTURE_DIR: dir.path,
  };
  const mainTs = join(import.meta.dir, "../../src/supervisor/main.ts");
  const start = () =>
    Bun.spawn([process.execPath, mainTs], { env, stdout: "ignore", stderr: "inherit" });
  const ids = ["b1", "d1", "p1", "p2"];
  const s1 = start();
  await until("all apps run", () => ids.every((id) => running(id).length === 1), 30_000);
  s1.kill("SIGKILL");
  await s1.exited;
  await until(
    "apps died with the supervisor",
    () => ids.every((id) => running(id).length === 0),
    30_000,
  );
  const s2 = start();
  await until("all apps run again", () => ids.every((id) => running(id).length === 1), 30_000);
  await Bun.sleep(500);
  for (const id of ids) expect(running(id)).toHaveLength(1);
  s2.kill("SIGTERM");
  expect(await s2.exited).toBe(0);
  for (const id of ids) expect(running(id)).toHaveLength(0);
}, 90_000);
