import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { silentLogger } from "../../../src/core/log.ts";
import { HEAP_TRIM_SETTLE_MS, HeapTrimmer } from "../../../src/drivers/opcua/heap-trim.ts";
import { OpcuaDriver } from "../../../src/drivers/opcua/index.ts";
import { type OpcuaSim, startOpcuaSim } from "../../../src/sim/opcua/server.ts";
import { freePort } from "../../support/ports.ts";
import { tempDir } from "../../support/tmp.ts";
import { Collector, opcuaBlock, opcuaConnection, opcuaTag, waitFor } from "./fixture.ts";

describe("HeapTrimmer", () => {
  test("a tick collects only when enough notifications came since the last collection", () => {
    let gcs = 0;
    const t = new HeapTrimmer(
      () => gcs++,
      100,
      60_000,
      () => 0,
    );
    t.noteValues(99);
    t.tick();
    expect(gcs).toBe(0);
    t.noteValues(1);
    t.tick();
    expect(gcs).toBe(1);
    // the count starts again after a collection
    t.tick();
    expect(gcs).toBe(1);
    t.noteValues(150);
    t.tick();
    expect(gcs).toBe(2);
    expect(t.collections).toBe(2);
    t.stop();
  });

  test("collectNow collects whatever the count, and resets it", () => {
    let gcs = 0;
    const t = new HeapTrimmer(
      () => gcs++,
      100,
      60_000,
      () => 0,
    );
    t.noteValues(60);
    t.collectNow();
    expect(gcs).toBe(1);
    t.noteValues(60);
    t.tick();
    expect(gcs).toBe(1);
    t.stop();
  });

  test("a collection that took d ms lets the next tick collect only d / 3 % later", () => {
    let clock = 0;
    let gcs = 0;
    const t = new HeapTrimmer(
      () => {
        gcs++;
        clock += 90; // each collection takes 90 ms: the next one not before 3 s later
      },
      1,
      60_000,
      () => clock,
    );
    t.noteValues(10);
    t.tick();
    expect(gcs).toBe(1);
    t.noteValues(10);
    clock += 2_900;
    t.tick();
    expect(gcs).toBe(1);
    clock += 100;
    t.tick();
    expect(gcs).toBe(2);
    t.stop();
  });

  test("collectSoon: a burst of calls costs one collection, after the last", async () => {
    let gcs = 0;
    const t = new HeapTrimmer(
      () => gcs++,
      Number.MAX_SAFE_INTEGER,
      60_000,
      () => 0,
    );
    t.collectSoon(30);
    t.collectSoon(30);
    t.collectSoon(30);
    expect(gcs).toBe(0);
    await waitFor(() => gcs === 1, 5000, "the collection");
    await Bun.sleep(100);
    expect(gcs).toBe(1);
    t.stop();
  });

  test("its timer collects by itself once values are counted, until stopped", async () => {
    let gcs = 0;
    const t = new HeapTrimmer(() => gcs++, 1, 10);
    t.noteValues(5);
    await waitFor(() => gcs === 1, 5000, "a timer collection");
    t.stop();
    t.tick(); // stop also clears the count
    expect(gcs).toBe(1);
  });
});

describe("the OPC UA driver trims its heap while subscriptions deliver", () => {
  const dir = tempDir("ne-opcua-trim-");
  let sim: OpcuaSim;
  beforeAll(async () => {
    sim = await startOpcuaSim({
      port: await freePort(),
      pkiDir: `${dir.path}/sim-pki`,
      tickMs: 50,
    });
  }, 60_000);
  afterAll(async () => {
    await sim?.stop();
    dir.cleanup();
  });

  test("blocks started back to back get one collection after their items exist", async () => {
    let gcs = 0;
    // never from notifications: only the collection after the items were created counts
    const trimmer = new HeapTrimmer(() => gcs++, Number.MAX_SAFE_INTEGER, 20);
    const driver = new OpcuaDriver(
      opcuaConnection({ endpoint_url: sim.endpointUrl }),
      { log: silentLogger, dataDir: dir.path },
      trimmer,
    );
    const a = opcuaBlock("a", { period_ms: 50 });
    const b = opcuaBlock("b", { period_ms: 50 });
    driver.configure(
      [a, b],
      [opcuaTag("speed", "a", "ns=1;s=Press.Speed"), opcuaTag("force", "b", "ns=1;s=Press.Force")],
    );
    await driver.connect();
    try {
      const got = new Collector();
      await driver.push.start(a, got.emit);
      await driver.push.start(b, got.emit);
      await waitFor(() => gcs >= 1, 20_000, "the collection after the items were created");
      await waitFor(() => got.last.has("speed") && got.last.has("force"), 20_000, "values");
      await Bun.sleep(2 * HEAP_TRIM_SETTLE_MS);
      expect(gcs).toBe(1);
    } finally {
      await driver.close();
    }
  }, 60_000);

  test("collections follow as notifications arrive", async () => {
    let gcs = 0;
    const trimmer = new HeapTrimmer(() => gcs++, 1, 20);
    const driver = new OpcuaDriver(
      opcuaConnection({ endpoint_url: sim.endpointUrl }),
      { log: silentLogger, dataDir: dir.path },
      trimmer,
    );
    const block = opcuaBlock("live", { period_ms: 50 });
    driver.configure([block], [opcuaTag("speed", "live", "ns=1;s=Press.Speed")]);
    await driver.connect();
    try {
      const got = new Collector();
      await driver.push.start(block, got.emit);
      await waitFor(() => got.last.has("speed"), 20_000, "speed");
      await waitFor(() => gcs >= 3, 20_000, "collections after notifications");
      expect(trimmer.collections).toBe(gcs);
    } finally {
      await driver.close();
    }
  }, 60_000);
});
