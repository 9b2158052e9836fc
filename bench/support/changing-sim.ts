import type { Stack } from "../../scripts/demo/stack.ts";
import type { ConnectionConfig } from "../../src/store/schema.ts";
import { createRedisTagBus } from "../../src/tagbus/index.ts";

/**
 * The simulator map of the memory and scale benches: every register of `cfg` is a uint16
 * counter that changes every `periodMs` (default 100), so every poll publishes every tag (no
 * deadband savings: the worst case of 300 values/s per 30-tag connection).
 */
export function changingMap(cfg: ConnectionConfig, periodMs = 100) {
  return {
    map: {
      tick_ms: periodMs,
      entries: cfg.tags.map((t, i) => ({
        table: "holding_registers",
        address: t.address,
        data_type: "uint16",
        generator: { type: "counter", start: i * 100, step: 1, every_ms: periodMs, max: 60_000 },
      })),
    },
  };
}

/**
 * Waits until `n` connections of `stack` have published a data value (not `/system/...`).
 * @throws Error naming how many did when not all have within `timeoutMs` (default 180 s).
 */
export async function waitForPublishers(stack: Stack, n: number, timeoutMs = 180_000) {
  const bus = await createRedisTagBus({
    url: stack.redisUrl,
    prefix: stack.prefix,
    producer: "bench",
  });
  const seen = new Set<string>();
  const sub = await bus.subscribe(["/**"], (ev) => {
    if (ev.kind === "value" && !ev.value.path.startsWith("/system/"))
      seen.add(ev.value.path.split("/")[1]!);
  });
  const t0 = Date.now();
  while (seen.size < n && Date.now() - t0 < timeoutMs) await Bun.sleep(200);
  await sub.close();
  await bus.close(500);
  if (seen.size < n) throw new Error(`only ${seen.size}/${n} connections published`);
}
