import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { isNodiError, type NodiError } from "../../../src/core/errors.ts";
import type { TagReading } from "../../../src/drivers/driver.ts";
import type { OpcuaDriver } from "../../../src/drivers/opcua/index.ts";
import { type OpcuaSim, startOpcuaSim } from "../../../src/sim/opcua/server.ts";
import type { Tag } from "../../../src/store/schema.ts";
import { freePort } from "../../support/ports.ts";
import { tempDir } from "../../support/tmp.ts";
import { Collector, connectedDriver, opcuaBlock, opcuaTag, waitFor } from "./fixture.ts";

// One simulator (security None, MaxNodesPerRead 100, MaxMonitoredItemsPerCall 50) and one
// driver for the whole file: node-opcua start-up and certificate creation are slow.
const dir = tempDir("ne-opcua-drv-");
let port = 0;
let sim: OpcuaSim;
let driver: OpcuaDriver;
let readRequests = 0;
const lost: NodiError[] = [];

const SENSORS = 200;
const PARAMS = [
  "Boolean",
  "SByte",
  "Byte",
  "Int16",
  "UInt16",
  "Int32",
  "UInt32",
  "Int64",
  "UInt64",
  "Float",
  "Double",
  "String",
];
const live: Tag[] = [
  opcuaTag("speed", "live", "ns=1;s=Press.Speed"),
  opcuaTag("strokes", "live", "ns=1;s=Press.StrokeCount", { data_type: "uint32" }),
  opcuaTag("state", "live", "ns=1;s=Press.State", { data_type: "string" }),
  opcuaTag("running", "live", "ns=1;s=Press.Running", { data_type: "bool" }),
  opcuaTag("force_n", "live", "ns=1;s=Press.Force", { scale: 1000 }),
  opcuaTag("missing", "live", "ns=1;s=Press.NoSuchVariable"),
  // Axis2.Position swings ±100 every few ticks: a deadband of 1000 lets only the first value through
  opcuaTag("axis2_db", "live", "ns=1;s=Press.Axis2.Position", { deadband: 1000 }),
  opcuaTag("axis2_fast", "live", "ns=1;s=Press.Axis2.Position", {
    sampling_interval_ms: 50,
    queue_size: 5,
  }),
  opcuaTag("missing_num", "live", "ns=1;i=999999"),
  ...Array.from({ length: 8 }, (_, i) =>
    opcuaTag(`axis${i + 1}_pos`, "live", `ns=1;s=Press.Axis${i + 1}.Position`),
  ),
];
const sensors: Tag[] = Array.from({ length: SENSORS }, (_, i) =>
  opcuaTag(`t${i + 1}`, "sensors", `ns=1;s=Press.Sensors.T${String(i + 1).padStart(3, "0")}`),
);
const counters: Tag[] = Array.from({ length: 50 }, (_, i) =>
  opcuaTag(`c${i + 1}`, "sensors", `ns=1;s=Press.Counters.C${String(i + 1).padStart(3, "0")}`),
);
const params: Tag[] = PARAMS.map((p) =>
  opcuaTag(`p_${p.toLowerCase()}`, "params", `ns=1;s=Press.Params.${p}`, { access: "read-write" }),
);
// a polled tag on a node that does not exist: bad on its own, the block's others stay good
params.push(opcuaTag("ghost", "params", "ns=1;s=Press.Params.Ghost"));
const blocks = [
  opcuaBlock("live", { period_ms: 100 }),
  opcuaBlock("sensors", { mode: "poll", period_ms: 1000 }),
  opcuaBlock("params", { mode: "poll", period_ms: null }),
];

async function startSim(): Promise<OpcuaSim> {
  const s = await startOpcuaSim({
    port,
    pkiDir: `${dir.path}/sim-pki`,
    tickMs: 100,
    maxNodesPerRead: 100,
    maxMonitoredItemsPerCall: 50,
  });
  s.server.on("request", (req: { schema?: { name?: string } }) => {
    if (req.schema?.name === "ReadRequest") readRequests++;
  });
  return s;
}

/** What the runtime does on link loss: close, then connect again until it works. */
async function reconnect(): Promise<void> {
  await driver.close();
  await waitFor(
    async () => {
      try {
        await driver.connect();
        return true;
      } catch {
        return false;
      }
    },
    30_000,
    "a new session",
  );
}

beforeAll(async () => {
  port = await freePort();
  sim = await startSim();
  driver = await connectedDriver({
    endpointUrl: sim.endpointUrl,
    dataDir: dir.path,
    blocks,
    tags: [...live, ...sensors, ...counters, ...params],
    onLinkLost: (e) => lost.push(e),
  });
}, 60_000);

afterAll(async () => {
  await driver?.close();
  await sim?.stop();
  dir.cleanup();
});

describe("opcua driver against the press simulator", () => {
  test("the simulator has a few hundred variables", () => {
    expect(sim.variableCount).toBeGreaterThan(300);
  });

  test("subscription: values flow; bad node ids are bad, the block's other items keep working", async () => {
    const c = new Collector();
    expect(driver.push.pushes(blocks[0]!)).toBe(true);
    expect(driver.push.pushes(blocks[1]!)).toBe(false);
    await driver.push.start(blocks[0]!, c.emit);
    const firstStrokes = await waitFor(() => c.last.get("strokes"), 10_000, "strokes");
    await waitFor(
      () => (c.last.get("strokes")?.value as number) > (firstStrokes?.value as number) + 3,
      10_000,
      "strokes changing",
    );
    const speed = c.last.get("speed");
    expect(speed?.quality).toBe("good");
    expect(typeof speed?.value).toBe("number");
    expect(Math.abs(Date.now() - (speed?.ts ?? 0))).toBeLessThan(60_000);
    expect(c.last.get("state")).toMatchObject({ value: "Running", quality: "good" });
    expect(c.last.get("running")).toMatchObject({ value: true, quality: "good" });
    const force = c.last.get("force_n")?.value as number;
    expect(force).toBeGreaterThan(700_000); // Force in kN × scale 1000
    expect(c.last.get("missing")).toMatchObject({
      quality: "bad",
      reason: "BadNodeIdUnknown",
      value: null,
    });
    expect(c.last.get("missing_num")).toMatchObject({ quality: "bad", reason: "BadNodeIdUnknown" });
    for (let a = 1; a <= 8; a++) expect(c.last.get(`axis${a}_pos`)?.quality).toBe("good");
    // the absolute deadband filter is applied by the server
    await waitFor(() => (c.perTag.get("axis2_fast") ?? 0) > 5, 10_000, "axis2 changing");
    expect(c.last.get("axis2_db")?.quality).toBe("good");
    expect(c.perTag.get("axis2_db")).toBe(1);
    // calling start again for the unchanged block keeps the subscription
    const before = driver.subscriptions()[0];
    await driver.push.start(blocks[0]!, c.emit);
    expect(driver.subscriptions()[0]).toBe(before);
  });

  test("poll: 250 nodes against MaxNodesPerRead 100 are three Read requests", async () => {
    const sensorsBlock = blocks[1]!;
    const before = readRequests;
    const readings = await driver.read(sensorsBlock.block_id);
    expect(readRequests - before).toBe(3);
    expect(driver.stats.readRequests).toBeGreaterThanOrEqual(3);
    expect(readings).toHaveLength(SENSORS + 50);
    expect(readings.every((r) => r.quality === "good")).toBe(true);
    expect(readings[0]).toMatchObject({ tag_name: "t1", value: 20.1 });
    expect(readings.at(-1)).toMatchObject({ tag_name: "c50", value: 50 });
  });

  test("writes of each basic type convert to the node's DataType and read back", async () => {
    const values: Record<string, number | boolean | string> = {
      Boolean: true,
      SByte: -100,
      Byte: 200,
      Int16: -30000,
      UInt16: 60000,
      Int32: -2_000_000_000,
      UInt32: 4_000_000_000,
      Int64: -9_007_199_254_740_991,
      UInt64: "18446744073709551615",
      Float: 1.5,
      Double: Math.PI,
      String: "Coil 4711",
    };
    for (const [i, p] of PARAMS.entries()) await driver.write(params[i]!, values[p]!);
    const back = new Map((await driver.read("params")).map((r) => [r.tag_name, r]));
    expect(back.get("ghost")).toMatchObject({
      quality: "bad",
      reason: "BadNodeIdUnknown",
      value: null,
    });
    for (const p of PARAMS) {
      const r = back.get(`p_${p.toLowerCase()}`);
      expect(r?.quality).toBe("good");
      expect(r?.value).toBe(values[p]!);
    }
    // numbers given as strings / booleans as 0/1 are converted too
    await driver.write(params[0]!, 0);
    await driver.write(params[5]!, "1234");
    const again = new Map((await driver.read("params")).map((r) => [r.tag_name, r.value]));
    expect(again.get("p_boolean")).toBe(false);
    expect(again.get("p_int32")).toBe(1234);
  });

  test("write errors: out of range before the wire, read-only, status code of the server", async () => {
    const err = async (p: Promise<unknown>) => {
      try {
        await p;
      } catch (e) {
        return e as NodiError;
      }
      throw new Error("expected a rejection");
    };
    expect(await err(driver.write(params[2]!, 256))).toMatchObject({ kind: "out_of_range" });
    expect(await err(driver.write(params[0]!, "maybe"))).toMatchObject({ kind: "out_of_range" });
    expect(await err(driver.write(sensors[0]!, 1))).toMatchObject({ kind: "read_only" });
    const ghost = opcuaTag("ghost", "params", "ns=1;s=Press.Ghost", { access: "read-write" });
    expect(await err(driver.write(ghost, 1))).toMatchObject({
      kind: "device_exception",
      reason: "BadNodeIdUnknown",
    });
    // a read-only node written anyway: the server's status reaches the writer
    const ro = opcuaTag("ro", "params", "ns=1;s=Press.Sensors.T001", { access: "read-write" });
    const e = await err(driver.write(ro, 1));
    expect(isNodiError(e, "device_exception")).toBe(true);
    expect(e.reason).toMatch(/^Bad(NotWritable|UserAccessDenied)$/);
  });

  test("a subscription that stops delivering keep-alives is rebuilt on the same session", async () => {
    const sub = driver.subscriptions()[0]!;
    const c = new Collector();
    sub.emit = c.emit;
    // delete the subscription on the server behind the client's back: no more publish
    // responses for it (neither data nor keep-alives)
    const engine = sim.server.engine as unknown as { _sessions: Record<string, ServerSessionLike> };
    let deleted = 0;
    const id = sub.subscriptionId as number;
    for (const s of Object.values(engine._sessions)) {
      if (s.getSubscription(id)) {
        s.deleteSubscription(id);
        deleted++;
      }
    }
    expect(deleted).toBeGreaterThan(0);
    const sessionsBefore = driver.stats.sessions;
    await waitFor(() => sub.rebuilds > 0, 30_000, "the watchdog to rebuild the subscription");
    const t0 = Date.now();
    await waitFor(() => (c.last.get("strokes")?.ts ?? 0) > t0, 20_000, "values after the rebuild");
    expect(driver.stats.sessions).toBe(sessionsBefore);
    expect(lost).toHaveLength(0);
  }, 60_000);

  test("publish responses stop: once the watchdog declares the subscription dead its tags are bad (subscription_stalled) for the rest of the stall", async () => {
    const sub = driver.subscriptions()[0]!;
    const history: TagReading[] = [];
    const c = new Collector();
    sub.emit = (rs) => {
      history.push(...rs);
      c.emit(rs);
    };
    await waitFor(() => c.last.get("strokes")?.quality === "good", 10_000, "good values first");
    // stall the server's publishing: its PublishRequest handler swallows every request, so
    // neither data nor keep-alives reach the client (the session, Read and Write still work)
    const server = sim.server as unknown as Record<string, unknown>;
    const original = server._on_PublishRequest;
    server._on_PublishRequest = () => {};
    const stalledAt = Date.now();
    const rebuildsBefore = sub.rebuilds;
    try {
      await waitFor(
        () =>
          ["speed", "strokes", "running"].every(
            (t) => c.last.get(t)?.reason === "subscription_stalled",
          ),
        30_000,
        "the stalled subscription's tags bad",
      );
      const declared = Date.now();
      console.log(`publish stalled → tags bad after ${declared - stalledAt} ms (watchdog)`);
      expect(sub.rebuilds).toBeGreaterThan(rebuildsBefore);
      expect(c.last.get("strokes")).toMatchObject({ quality: "bad", value: null });
      // still stalled: nothing good arrives (the rebuilt subscription gets no publish responses either)
      await Bun.sleep(2000);
      const sinceDeclared = history.slice(
        history.findIndex((r) => r.reason === "subscription_stalled"),
      );
      expect(sinceDeclared.filter((r) => r.quality === "good")).toEqual([]);
      expect(lost).toHaveLength(0);
    } finally {
      server._on_PublishRequest = original;
    }
    const resumed = Date.now();
    await waitFor(
      () =>
        c.last.get("strokes")?.quality === "good" &&
        (c.last.get("strokes")?.ts ?? 0) > resumed - 1000,
      45_000,
      "good values after publishing resumes",
    );
  }, 90_000);

  test("server restart on the same port: link lost, new session, all monitored items back", async () => {
    const c = new Collector();
    await driver.push.start(blocks[0]!, c.emit);
    await waitFor(() => c.last.get("strokes"), 10_000, "values before the restart");
    const lostBefore = lost.length;
    await sim.stop();
    await waitFor(() => lost.length > lostBefore, 20_000, "onLinkLost");
    expect(lost.at(-1)?.kind).toBe("communication");
    await expect(driver.read("sensors")).rejects.toMatchObject({ kind: "communication" });
    sim = await startSim();
    c.last.clear();
    const t0 = Date.now();
    await reconnect();
    await waitFor(
      () => (c.last.get("strokes")?.ts ?? 0) >= t0 - 1000 && c.last.get("speed"),
      20_000,
      "values after restart",
    );
    for (let a = 1; a <= 8; a++) {
      await waitFor(() => c.last.get(`axis${a}_pos`)?.quality === "good", 10_000, `axis ${a}`);
    }
    expect(c.last.get("missing")?.reason).toBe("BadNodeIdUnknown");
    const readings = await driver.read("sensors");
    expect(readings).toHaveLength(SENSORS + 50);
  }, 90_000);

  test("stop ends delivery", async () => {
    await driver.push.stop("live");
    expect(driver.subscriptions()).toHaveLength(0);
  });
});

interface ServerSessionLike {
  getSubscription(id: number): unknown;
  deleteSubscription(id: number): unknown;
}
