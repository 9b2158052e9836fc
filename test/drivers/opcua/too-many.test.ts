import { afterAll, beforeAll, expect, test } from "bun:test";
import type { OpcuaDriver } from "../../../src/drivers/opcua/index.ts";
import type { OpcuaSim } from "../../../src/sim/opcua/server.ts";
import { tempDir } from "../../support/tmp.ts";
import {
  benchTags,
  Collector,
  connectedDriver,
  opcuaBlock,
  startBenchSim,
  waitFor,
} from "./fixture.ts";

// A server that refuses a whole CreateMonitoredItems call with BadTooManyOperations because it
// enforces a MaxMonitoredItemsPerCall it did not advertise (here: the limit is set to 5 after
// the driver read "none" at session open). Before the fix the block never started ("cannot
// create monitored items: BadTooManyOperations"): no tag of it ever got a value, and the
// runtime reconnected in a loop. The driver now sends the same items again in halves.

const dir = tempDir("ne-opcua-toomany-");
const ITEMS = 20;
let sim: OpcuaSim;
let driver: OpcuaDriver;
const tags = benchTags(ITEMS, "b");
const block = opcuaBlock("b", { period_ms: 100 });

beforeAll(async () => {
  sim = await startBenchSim({ pkiRoot: dir.path, items: ITEMS });
  driver = await connectedDriver({
    endpointUrl: sim.endpointUrl,
    dataDir: dir.path,
    blocks: [block],
    tags: tags,
  });
}, 60_000);

afterAll(async () => {
  await driver?.close();
  await sim?.stop();
  dir.cleanup();
});

test("a call refused with BadTooManyOperations is sent again in halves: every tag delivers", async () => {
  const limits = sim.server.engine.serverCapabilities.operationLimits as {
    maxMonitoredItemsPerCall: number;
  };
  limits.maxMonitoredItemsPerCall = 5;
  const c = new Collector();
  await driver.push.start(block, c.emit);
  await waitFor(
    () => tags.every((t) => (c.perTag.get(t.tag_name) ?? 0) >= 2),
    20_000,
    "two values of every tag",
  );
  expect(tags.filter((t) => c.last.get(t.tag_name)?.quality !== "good")).toEqual([]);
}, 60_000);
