/**
 * A data change notification for a subscription the driver already tore down (a rebuild:
 * watchdog or status change) must not reach the output. node-opcua dispatches a publish
 * response's notifications after a promise (`onNotificationMessage` →
 * `promoteOpaqueStructureInNotificationData(…).then`), and `teardown` gives the old
 * subscription's DeleteSubscriptions only 2 s: a response for the old subscription can be
 * handed to it after the block was declared dead and rebuilt. Before the fix its handler still
 * mapped the client handles to the block's tags, and such a value came out good, after the
 * block's `subscription_stalled`.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import {
  type ClientSubscription,
  DataChangeNotification,
  DataType,
  DataValue,
  StatusCodes,
} from "node-opcua-client";
import type { OpcuaDriver } from "../../../src/drivers/opcua/index.ts";
import { REASON_STALLED } from "../../../src/drivers/opcua/subscription.ts";
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

const dir = tempDir("ne-opcua-torn-");
let sim: OpcuaSim;
let driver: OpcuaDriver;
const tags = benchTags(3, "b");
const block = opcuaBlock("b", { period_ms: 100 });

beforeAll(async () => {
  sim = await startBenchSim({ pkiRoot: dir.path, items: 3 });
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

test("a notification handed to a torn-down subscription is dropped", async () => {
  const c = new Collector();
  await driver.push.start(block, c.emit);
  await waitFor(
    () => tags.every((t) => c.last.get(t.tag_name)?.quality === "good"),
    10_000,
    "values",
  );
  const bs = driver.subscriptions()[0];
  if (!bs) throw new Error("no subscription");
  const old = (bs as unknown as { subscription: ClientSubscription }).subscription;
  await bs.rebuild("test", REASON_STALLED);
  expect(bs.subscriptionId).not.toBe(old.subscriptionId);
  const seen: unknown[] = [];
  const emit = bs.emit;
  bs.emit = (readings) => {
    for (const r of readings) seen.push(r.value);
    emit(readings);
  };
  // what node-opcua's publish engine does with a publish response for the old subscription
  (old as unknown as { onNotificationMessage(m: unknown): void }).onNotificationMessage({
    sequenceNumber: 4242,
    publishTime: new Date(),
    notificationData: [
      new DataChangeNotification({
        monitoredItems: [1, 2, 3].map((clientHandle) => ({
          clientHandle,
          value: new DataValue({
            value: { dataType: DataType.Double, value: -4242 },
            statusCode: StatusCodes.Good,
          }),
        })),
      }),
    ],
  });
  // the new subscription's values still come, the old one's never
  await waitFor(
    () => seen.filter((v) => typeof v === "number" && v !== -4242).length >= 6,
    10_000,
    "values of the new subscription",
  );
  expect(seen.filter((v) => v === -4242)).toEqual([]);
}, 60_000);
