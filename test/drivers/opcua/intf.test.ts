import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { type OpcuaSim, startOpcuaSim } from "../../../src/sim/opcua/server.ts";
import { openStore } from "../../../src/store/store.ts";
import { createRedisTagBus, type RedisTagBus } from "../../../src/tagbus/index.ts";
import { freePort } from "../../support/ports.ts";
import { RedisServer } from "../../support/redis-server.ts";
import { tempDir, uniquePrefix } from "../../support/tmp.ts";
import { waitFor } from "./fixture.ts";

// Black box: the real `ne-intf` process for an opcua connection, against the press simulator,
// publishing to a private Redis; values, bad node ids, writes through the TagBus, a server
// restart, SIGTERM.
const root = join(import.meta.dir, "../../..");
const dir = tempDir("ne-opcua-intf-");
const db = join(dir.path, "ne.db");
const redis = new RedisServer();
const prefix = uniquePrefix("opcua-intf");
let sim: OpcuaSim;
let port = 0;
let peer: RedisTagBus;
let proc: ReturnType<typeof Bun.spawn> | undefined;

const startSim = () => startOpcuaSim({ port, pkiDir: join(dir.path, "sim-pki"), tickMs: 100 });

beforeAll(async () => {
  await redis.start();
  port = await freePort();
  sim = await startSim();
  const store = openStore(db);
  store.apply({
    origin: "test",
    put: [
      {
        connection: {
          conn_id: "press1",
          protocol: "opcua",
          endpoint_url: sim.endpointUrl,
          timeout_ms: 2000,
          connect_timeout_ms: 5000,
          backoff_initial_ms: 100,
          backoff_max_ms: 1000,
        },
        blocks: [
          {
            conn_id: "press1",
            block_id: "live",
            table: "opcua_nodes",
            mode: "subscribe",
            period_ms: 200,
          },
          {
            conn_id: "press1",
            block_id: "params",
            table: "opcua_nodes",
            mode: "poll",
            period_ms: 500,
          },
        ],
        tags: [
          {
            conn_id: "press1",
            tag_name: "strokes",
            block_id: "live",
            data_type: "uint32",
            node_id: "ns=1;s=Press.StrokeCount",
          },
          {
            conn_id: "press1",
            tag_name: "speed",
            block_id: "live",
            data_type: "float64",
            node_id: "ns=1;s=Press.Speed",
          },
          {
            conn_id: "press1",
            tag_name: "missing",
            block_id: "live",
            data_type: "float64",
            node_id: "ns=1;s=Press.Missing",
          },
          {
            conn_id: "press1",
            tag_name: "int16",
            block_id: "params",
            data_type: "int16",
            node_id: "ns=1;s=Press.Params.Int16",
            access: "read-write",
          },
          {
            conn_id: "press1",
            tag_name: "mode",
            block_id: "params",
            data_type: "int16",
            node_id: "ns=1;s=Press.Mode",
          },
          {
            conn_id: "press1",
            tag_name: "sensor",
            block_id: "params",
            data_type: "float64",
            node_id: "ns=1;s=Press.Sensors.T001",
            access: "read-write",
          },
        ],
      },
    ],
  });
  store.close();
  peer = await createRedisTagBus({ url: redis.url, prefix, producer: "test" });
  proc = Bun.spawn([process.execPath, "run", join(root, "src/intf/main.ts"), "--conn-id=press1"], {
    cwd: root,
    env: {
      ...process.env,
      NE_DB: db,
      NE_REDIS_URL: redis.url,
      NE_REDIS_PREFIX: prefix,
      NE_DATA_DIR: dir.path,
      NE_LOG_LEVEL: "warn",
    },
    stdout: "ignore",
    stderr: "inherit",
  });
}, 60_000);

afterAll(async () => {
  proc?.kill("SIGKILL");
  await proc?.exited;
  await peer?.close(500);
  await sim?.stop();
  await redis.shutdown();
  dir.cleanup();
});

describe("ne-intf with an opcua connection", () => {
  test("subscribed and polled values reach the TagBus; a bad node id is bad with its status name", async () => {
    await waitFor(
      async () => (await peer.get("/press1/strokes"))?.quality === "good",
      40_000,
      "strokes on the bus",
    );
    const first = (await peer.get("/press1/strokes"))?.value as number;
    await waitFor(
      async () => ((await peer.get("/press1/strokes"))?.value as number) > first,
      20_000,
      "strokes changing",
    );
    expect(await peer.get("/press1/missing")).toMatchObject({
      quality: "bad",
      reason: "BadNodeIdUnknown",
    });
    await waitFor(async () => (await peer.get("/press1/mode"))?.value === 1, 20_000, "polled mode");
  }, 60_000);

  test("writes through the TagBus: converted to the node's type; the result reaches the writer", async () => {
    expect(await peer.write("/press1/int16", -1234, { timeoutMs: 10_000 })).toEqual({ ok: true });
    await waitFor(
      async () => (await peer.get("/press1/int16"))?.value === -1234,
      20_000,
      "written value polled back",
    );
    const tooBig = await peer.write("/press1/int16", 40_000, { timeoutMs: 10_000 });
    expect(tooBig).toMatchObject({ ok: false, reason: "out_of_range" });
    const ro = await peer.write("/press1/mode", 2, { timeoutMs: 10_000 });
    expect(ro.ok).toBe(false);
    // the server refuses: its status code name is the writer's reason
    const refused = await peer.write("/press1/sensor", 1, { timeoutMs: 10_000 });
    expect(refused).toMatchObject({ ok: false });
    expect((refused as { reason: string }).reason).toMatch(/^Bad(NotWritable|UserAccessDenied)$/);
  }, 40_000);

  test("server restart: the app reconnects and values flow again", async () => {
    await sim.stop();
    await waitFor(
      async () => (await peer.get("/press1/strokes"))?.quality === "bad",
      30_000,
      "bad while down",
    );
    sim = await startSim();
    const t0 = Date.now();
    await waitFor(
      async () => {
        const v = await peer.get("/press1/strokes");
        return v?.quality === "good" && v.ts > t0;
      },
      60_000,
      "fresh values after the restart",
    );
  }, 90_000);

  test("SIGTERM stops the app with exit code 0", async () => {
    proc?.kill("SIGTERM");
    expect(await proc?.exited).toBe(0);
    proc = undefined;
  }, 30_000);
});
