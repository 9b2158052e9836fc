import { expect, test } from "bun:test";
import { loadSettings } from "../../src/core/settings.ts";
import { DEFAULT_STREAM_MAXAGE_MS } from "../../src/tagbus/redis-tagbus.ts";
import { sample } from "../contract/tagbus.contract.ts";
import { useBusFixture } from "../support/bus-fixture.ts";
import { uniquePrefix } from "../support/tmp.ts";

/**
 * Producer streams are bounded by age by default (issue 15, a footprint that fits a small
 * box): the count limit alone lets 50 producer streams grow Redis to gigabytes.
 */
const fx = useBusFixture();

test("NE_STREAM_MAXAGE_MS defaults to 5 minutes, and 0 still turns the age limit off", () => {
  expect(DEFAULT_STREAM_MAXAGE_MS).toBe(300_000);
  expect(loadSettings({}).streamMaxAgeMs).toBe(300_000);
  expect(loadSettings({ NE_STREAM_MAXAGE_MS: "0" }).streamMaxAgeMs).toBe(0);
});

test("a bus opened without streamMaxAgeMs trims entries older than the default age", async () => {
  const prefix = uniquePrefix("age-default");
  const key = `${prefix}s:mtc-01`;
  // 150 entries from 1970 (older than any age limit): more than one stream node (100 entries),
  // so the approximate trim (whole nodes) has one to remove
  for (let i = 1; i <= 150; i++) {
    await fx.raw.sendCommand(["XADD", key, `1000-${i}`, "p", "mtc-01", "old", String(i)]);
  }
  const bus = await fx.open(prefix, "mtc-01");
  const firstId = async () =>
    ((await fx.raw.sendCommand(["XRANGE", key, "-", "+", "COUNT", "1"])) as [string][])[0]?.[0];
  expect(await firstId()).toBe("1000-1");
  for (let i = 0; i < 3 && (await firstId()) === "1000-1"; i++) {
    await bus.publish([sample("/mtc-01/a", i)]);
    await Bun.sleep(600);
  }
  expect(await firstId()).not.toBe("1000-1");
});
