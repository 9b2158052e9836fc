import { expect, test } from "bun:test";
import { Collector, sample, until } from "../contract/tagbus.contract.ts";
import { useBusFixture } from "../support/bus-fixture.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
 * `readGapMs` (issue 15, CPU per update): a subscriber that follows every producer's stream
 * for a few rare tags (the supervisor) issues one XREAD per gap, not one per publish; every
 * entry published meanwhile is still delivered, in order.
 */
const fx = useBusFixture();
const { open } = fx;

async function xreadCalls(): Promise<number> {
  const info = String(await fx.raw.sendCommand(["INFO", "commandstats"]));
  return Number(/cmdstat_xread:calls=(\d+)/.exec(info)?.[1] ?? 0);
}

test("with readGapMs, 20 publishes are delivered whole with a few XREADs, not one each", async () => {
  const prefix = uniquePrefix("gap");
  const app = await open(prefix, "mtc-01");
  const reader = await open(prefix, "supervisor");
  const c = new Collector();
  const sub = await reader.subscribe(["/system/*/config_reload"], c.handler, {
    readGapMs: 2000,
  });
  await app.publish([sample("/system/mtc-01/config_reload", 0)]);
  await until(() => c.values.length === 1, 10_000);
  const before = await xreadCalls();
  for (let i = 1; i <= 20; i++) {
    await app.publish([sample("/mtc-01/a", i), sample("/system/mtc-01/config_reload", i)]);
    await Bun.sleep(20);
  }
  await until(() => c.values.length === 21, 10_000);
  // without the gap: about one XREAD per publish (20); with it: the wait, then one read
  expect((await xreadCalls()) - before).toBeLessThanOrEqual(3);
  expect(c.values.map((v) => v.value)).toEqual(Array.from({ length: 21 }, (_, i) => i));
  await sub.close(); // ends a gap wait at once
});
