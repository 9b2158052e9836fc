import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import mqtt from "mqtt";
import { silentLogger } from "../../src/core/log.ts";
import { notifyChanges } from "../../src/store/notify.ts";
import { openStore, type Store } from "../../src/store/store.ts";
import { ProcessManager } from "../../src/supervisor/process-manager.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { alive, until } from "../contract/service-manager.contract.ts";
import { Mosquitto } from "../support/mosquitto.ts";
import { RedisServer } from "../support/redis-server.ts";
import { runCli } from "../support/run-cli.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";

// The supervisor runs one `ne-north --north-id=ID` per enabled northbound, following
// north_added / north_removed (real Redis TagBus, real SQLite SoT, the process manager). The
// app is the contract suite's fixture (an app that records its pid and runs until SIGTERM).
const fixtureApp = join(import.meta.dir, "../contract/fake-systemd/fixture-app.ts");
const dir = tempDir("ne-sup-north-");
const redis = new RedisServer();
const prefix = uniquePrefix("supn");
let store: Store;
let bus: RedisTagBus;

const north = (id: string, over: Record<string, unknown> = {}) => ({
  north_id: id,
  kind: "mqtt",
  broker_urls: "mqtt://127.0.0.1:1",
  ...over,
});
const conn = (id: string) => ({
  connection: { conn_id: id, protocol: "modbus-tcp", host: "127.0.0.1", port: 1502, unit_id: 1 },
  blocks: [],
  tags: [],
});
async function change(edit: Parameters<Store["apply"]>[0]) {
  await notifyChanges(bus, store.apply(edit));
}
const pidsOf = (file: string) =>
  existsSync(join(dir.path, `${file}.pids`))
    ? readFileSync(join(dir.path, `${file}.pids`), "utf8")
        .trim()
        .split("\n")
        .map(Number)
    : [];
const running = (file: string) => pidsOf(file).filter(alive);

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

test("north_added starts ne-north --north-id=ID, north_removed stops it; reconcile at start; service tag", async () => {
  // present before the supervisor starts: the first reconcile starts it (and not the disabled one)
  await change({
    origin: "test",
    put: [conn("plc1")],
    putNorthbounds: [north("early"), north("off", { enabled: false })],
  });
  const pm = new ProcessManager({
    command: [process.execPath, fixtureApp],
    northCommand: [process.execPath, fixtureApp],
    env: { ...process.env, FIXTURE_DIR: dir.path },
    sink: () => {},
  });
  const sbus = await createRedisTagBus({ url: redis.url, prefix, producer: "supervisor" });
  const sup = new Supervisor({
    store,
    bus: sbus,
    manager: pm,
    reconcileIntervalMs: 600_000,
    statusIntervalMs: 200,
    log: silentLogger,
  });
  await sup.start();
  expect(await pm.list("ne-north")).toEqual(["early"]);
  expect(await pm.list("ne-intf")).toEqual(["plc1"]);
  await until("early runs as --north-id", () => running("north.early").length === 1);
  expect(running("north.off")).toEqual([]);

  // added while running
  await change({ origin: "test", putNorthbounds: [north("cloud")] });
  await until("cloud runs", () => running("north.cloud").length === 1);
  const pid = running("north.cloud")[0]!;
  expect((await pm.status("cloud", "ne-north"))?.pid).toBe(pid);

  // a hot-reload change is announced to the app, the supervisor does not restart it
  await change({ origin: "test", putNorthbounds: [north("cloud", { tag_selection: "/plc1/*" })] });
  await until(
    "config_reload published",
    async () => !!(await bus.get("/system/cloud/config_reload")),
  );
  await Bun.sleep(300);
  expect(running("north.cloud")).toEqual([pid]);

  // the service tag of a northbound app
  await until("service tag", async () => {
    const t = await bus.get("/system/cloud/service");
    return t && JSON.parse(String(t.value)).state === "active";
  });

  // enabling is an addition; disabling and removing are removals
  await change({ origin: "test", putNorthbounds: [north("off")] });
  await until("off runs", () => running("north.off").length === 1);
  await change({
    origin: "test",
    removeNorthbounds: ["cloud"],
    putNorthbounds: [north("off", { enabled: false })],
  });
  await until(
    "cloud and off stopped",
    () => running("north.cloud").length === 0 && running("north.off").length === 0,
  );
  expect(alive(pid)).toBe(false);
  expect(await pm.list("ne-north")).toEqual(["early"]);
  expect(await pm.list("ne-intf")).toEqual(["plc1"]);

  // the process manager's apps end with the supervisor
  await sup.stop();
  await pm.close();
  await sbus.close(1000);
  expect(running("north.early")).toEqual([]);
  expect(running("plc1")).toEqual([]);
  // leave the SoT empty for the next test (its supervisor starts the real apps)
  await change({ origin: "test", remove: ["plc1"], removeNorthbounds: ["early", "off"] });
}, 60_000);

test("the real ne-north: ne-supervisor starts it on north_added (online on the broker, EXECUTE), stops it on north_removed (offline)", async () => {
  const broker = await new Mosquitto().start();
  const statusTopic = "nodi-edge/gw1/_status/real";
  const seen: string[] = [];
  const sub = await mqtt.connectAsync(broker.url, { clientId: "test-sub", reconnectPeriod: 0 });
  sub.on("message", (topic, payload) => {
    if (topic === statusTopic) seen.push(payload.toString());
  });
  await sub.subscribeAsync(statusTopic, { qos: 1 });
  const env = {
    ...process.env,
    NE_DB: join(dir.path, "sot.db"),
    NE_DATA_DIR: dir.path,
    NE_REDIS_URL: redis.url,
    NE_REDIS_PREFIX: prefix,
    NE_SERVICE_MANAGER: "process",
    NE_LOG_LEVEL: "warn",
    FIXTURE_DIR: dir.path,
  };
  // NE_NORTH_CMD unset: the supervisor's default, `bun run src/north/main.ts --north-id=ID`
  delete (env as Record<string, string | undefined>).NE_NORTH_CMD;
  const mainTs = join(import.meta.dir, "../../src/supervisor/main.ts");
  const sup = Bun.spawn([process.execPath, mainTs], { env, stdout: "ignore", stderr: "inherit" });
  try {
    await change({
      origin: "test",
      putNorthbounds: [north("real", { broker_urls: broker.url, gateway: "gw1" })],
    });
    await until(
      "ne-north EXECUTE with the broker connected",
      async () =>
        (await bus.get("/system/real/state"))?.value === "EXECUTE" &&
        (await bus.get("/system/real/broker_connected"))?.value === true,
      30_000,
    );
    await until("online on the broker", () => seen.at(-1) === "online", 10_000);
    const svc = await until("service tag", async () => {
      const t = await bus.get("/system/real/service");
      const v = t && JSON.parse(String(t.value));
      return v?.state === "active" && v.pid ? v : undefined;
    });
    const argv = readFileSync(`/proc/${svc.pid}/cmdline`, "utf8").split("\0");
    expect(argv).toContain("--north-id=real");
    expect(argv.some((a) => a.endsWith("/src/north/main.ts"))).toBe(true);

    // nodi-edge status lists the northbound app with its health
    const cliEnv = { NE_REDIS_URL: redis.url, NE_REDIS_PREFIX: prefix };
    const st = await runCli(["--db", join(dir.path, "sot.db"), "--json", "status"], {
      env: cliEnv,
    });
    expect(st.code).toBe(0);
    expect(JSON.parse(st.out)).toEqual([
      expect.objectContaining({
        app: "ne-north",
        north_id: "real",
        state: "EXECUTE",
        service: "active",
        pid: svc.pid,
        broker_connected: true,
        buffered: 0,
        dropped: 0,
      }),
    ]);
    const text = await runCli(["--db", join(dir.path, "sot.db"), "status", "real"], {
      env: cliEnv,
    });
    expect(text.out).toMatch(/^north_id\s+kind\s+state\s+reason\s+broker\s+buffered/);
    expect(text.out).toMatch(
      /\nreal\s+mqtt\s+EXECUTE\s+connected to mqtt:\/\/127\.0\.0\.1:\d+\s+connected\s+0\s+0\s/,
    );

    await change({ origin: "test", removeNorthbounds: ["real"] });
    await until("ne-north gone", () => !alive(svc.pid), 30_000);
    await until("offline on the broker", () => seen.at(-1) === "offline", 10_000);
    expect((await bus.get("/system/real/state"))?.value).toBe("STOP");
  } finally {
    sup.kill("SIGTERM");
    await sup.exited;
    await sub.endAsync();
    await broker.shutdown();
  }
}, 90_000);
