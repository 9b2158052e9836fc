import { afterAll, beforeAll, expect, test } from "bun:test";
import { join } from "node:path";
import { openStore, type Store } from "../../src/store/store.ts";
import { ProcessManager } from "../../src/supervisor/process-manager.ts";
import { Supervisor } from "../../src/supervisor/supervisor.ts";
import { sample, until } from "../contract/tagbus.contract.ts";
import { useBusFixture } from "../support/bus-fixture.ts";
import { captureLog } from "../support/capture-log.ts";
import { tempDir, uniquePrefix } from "../support/tmp.ts";

/**
 * What the supervisor logs about its tag-bus subscription: the snapshot every fresh gateway
 * starts with is not a "delivery gap" warning (fresh-user check, 2026-12-02: every first
 * start logged one); a real gap still is, with its producer and reason.
 */
const fx = useBusFixture();
const dir = tempDir("ne-sup-log-");
let store: Store;
beforeAll(() => {
  store = openStore(join(dir.path, "sot.db"));
});
afterAll(() => {
  store.close();
  dir.cleanup();
});

test("first start: the snapshot is logged at info, no gap warning; a seq jump is a warning", async () => {
  const prefix = uniquePrefix("suplog");
  const sbus = await fx.open(prefix, "supervisor");
  const app = await fx.open(prefix, "mtc-01");
  const { log, lines } = captureLog();
  const manager = new ProcessManager({ command: ["true"], env: {}, sink: () => {} });
  const sup = new Supervisor({
    store,
    bus: sbus,
    manager,
    reconcileIntervalMs: 600_000,
    statusIntervalMs: 60_000,
    log,
  });
  try {
    await sup.start();
    await until(() => lines.some((l) => l.msg === "tag bus snapshot; full reconcile"));
    expect(lines.filter((l) => Number(l.level) >= 40).map((l) => l.msg)).toEqual([]);

    // a seq the stream never shows (as if trimmed): a gap the supervisor must warn of
    await app.publish([sample("/system/mtc-01/config_reload", "1")]);
    await Bun.sleep(600); // past the supervisor's read gap, so the next entry is read alone
    await fx.raw.sendCommand(["HINCRBY", `${prefix}seq`, "mtc-01", "1"]);
    await app.publish([sample("/system/mtc-01/config_reload", "2")]);
    await until(() => lines.some((l) => String(l.msg).startsWith("delivery gap")));
    const warn = lines.find((l) => String(l.msg).startsWith("delivery gap"))!;
    expect(warn).toMatchObject({ level: 40, producer: "mtc-01", reason: "trimmed", dropped: 1 });
  } finally {
    await sup.stop();
  }
});
