/**
 * A subscribed block's monitored items are created with CreateMonitoredItems directly and
 * their notifications go from client handle to tag (src/drivers/opcua/subscription.ts): no
 * node-opcua ClientMonitoredItem per tag (docs/performance.md "OPC UA app memory, third
 * pass"), and every value the server sends reaches the driver's output.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { isNodiError } from "../../../src/core/errors.ts";
import type { OpcuaDriver } from "../../../src/drivers/opcua/index.ts";
import { installDataChangeHandler } from "../../../src/drivers/opcua/subscription.ts";
import { type OpcuaSim, startOpcuaSim } from "../../../src/sim/opcua/server.ts";
import { freePort } from "../../support/ports.ts";
import { tempDir } from "../../support/tmp.ts";
import { benchTags, Collector, connectedDriver, opcuaBlock, opcuaTag, waitFor } from "./fixture.ts";

const ITEMS = 120; // over the simulator's MaxMonitoredItemsPerCall (50): three calls
const dir = tempDir("ne-opcua-items-");
let sim: OpcuaSim;
let driver: OpcuaDriver;
/** Monitored item notifications the server sent in publish responses, per client handle. */
let sentItems = 0;

const tags = [
  ...benchTags(ITEMS, "fast"),
  opcuaTag("missing", "fast", "ns=1;s=Press.NoSuchVariable"),
];

beforeAll(async () => {
  sim = await startOpcuaSim({
    port: await freePort(),
    pkiDir: `${dir.path}/sim-pki`,
    tickMs: 100,
    benchItems: ITEMS,
    benchPeriodMs: 100,
    maxMonitoredItemsPerCall: 50,
  });
  sim.server.on("response", (res: unknown) => {
    const r = res as {
      schema?: { name?: string };
      notificationMessage?: {
        notificationData?: Array<{ monitoredItems?: unknown[] } | null> | null;
      };
    };
    if (r.schema?.name !== "PublishResponse") return;
    for (const n of r.notificationMessage?.notificationData ?? [])
      sentItems += n?.monitoredItems?.length ?? 0;
  });
  driver = await connectedDriver({
    endpointUrl: sim.endpointUrl,
    dataDir: dir.path,
    blocks: [opcuaBlock("fast", { period_ms: 100 })],
    tags,
  });
}, 60_000);

afterAll(async () => {
  await driver?.close();
  await sim?.stop();
  dir.cleanup();
});

test("every value the server publishes reaches the output, and node-opcua keeps no monitored item object per tag", async () => {
  const c = new Collector();
  const block = opcuaBlock("fast", { period_ms: 100 });
  await driver.push.start(block, c.emit);
  await waitFor(() => c.last.size === ITEMS + 1, 15_000, "every tag");
  await waitFor(() => (c.perTag.get("v0") ?? 0) >= 10, 15_000, "ten values of v0");
  expect(c.last.get("missing")).toMatchObject({ quality: "bad", reason: "BadNodeIdUnknown" });
  for (let i = 0; i < ITEMS; i++) expect(c.last.get(`v${i}`)?.quality).toBe("good");

  const sub = driver.subscriptions()[0];
  const nodeSub = (sub as unknown as { subscription: { monitoredItems: object } }).subscription;
  expect(Object.keys(nodeSub.monitoredItems)).toEqual([]);

  // values keep coming; between two publish responses every item the server sent has been
  // emitted (the one bad reading of "missing" is the driver's own). A lost value would keep
  // the two counts apart for good.
  await waitFor(
    () => sentItems > ITEMS * 10 && c.count - 1 === sentItems,
    15_000,
    "as many values out as the server sent",
  );
  await driver.push.stop(block.block_id);
}, 60_000);

test("a node-opcua subscription without the data change method is refused, not silently ignored", () => {
  let err: unknown;
  try {
    installDataChangeHandler({} as never, () => undefined);
  } catch (e) {
    err = e;
  }
  expect(isNodiError(err) && err.kind).toBe("internal");
});
