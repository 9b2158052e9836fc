import { expect, test } from "bun:test";
import { loadSettings } from "../../src/core/settings.ts";

test("defaults follow DESIGN.md §3", () => {
  const s = loadSettings({});
  expect(s.redisUrl).toBe("redis://127.0.0.1:6379");
  expect(s.redisPrefix).toBe("ne:");
  expect(s.serviceManager).toBe("auto");
  expect(s.streamMaxLen).toBe(100_000);
});

test("a bad value names the variable and what was expected", () => {
  expect(() => loadSettings({ NE_OUTBOX_MAX: "lots" })).toThrow(
    /NE_OUTBOX_MAX: must be a whole number ≥ 1 \(got "lots"\)/,
  );
  // "-1" is a whole number: the message says which ones are allowed
  expect(() => loadSettings({ NE_STREAM_MAXAGE_MS: "-1" })).toThrow(
    /NE_STREAM_MAXAGE_MS: must be a whole number ≥ 0 \(got "-1"\)/,
  );
  expect(() => loadSettings({ NE_STREAM_MAXLEN: "10" })).toThrow(
    /NE_STREAM_MAXLEN: must be a whole number ≥ 100/,
  );
  expect(() => loadSettings({ NE_REDIS_URL: "http://x" })).toThrow(/NE_REDIS_URL/);
});
