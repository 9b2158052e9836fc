import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { NodiError } from "../../src/core/errors.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir } from "../support/tmp.ts";
import { AppUnderTest, connRows, waitFor } from "./harness.ts";

/**
 * Writes whose outcome is unknown (docs/intf.md "Writes"), on an IntfApp with a real store and
 * Redis and a simulated device: what is sent and what is not, the answer by the writer's
 * deadline, and the read-back of the tag's block.
 */
const redis = new RedisServer();
const dir = tempDir("ne-intf-wout-");
const db = join(dir.path, "sot.db");
const live: AppUnderTest[] = [];
const ADVICE = "the device may have applied it; read back before retrying";

beforeAll(async () => {
  await redis.start();
});
afterAll(async () => {
  for (const a of live) await a.stop().catch(() => {});
  await redis.shutdown();
  dir.cleanup();
});

/** An app whose blocks are polled every `periodMs` (10 minutes by default: once at start). */
async function started(connId: string, periodMs = 600_000): Promise<AppUnderTest> {
  const t = await AppUnderTest.create(connId, db, redis);
  live.push(t);
  t.store.apply({ origin: "test", put: [connRows(connId, { periodMs })] });
  t.start();
  await t.waitState("EXECUTE");
  await waitFor(() => t.device.readsOf("b1") >= 1, "the first poll");
  return t;
}

const writesIn = (t: AppUnderTest) => t.device.log.filter((l) => l.startsWith("write:"));

describe("a write sent without a usable reply", () => {
  test("a device timeout is outcome_unknown, and the tag's block is read back at once despite its 10-minute period", async () => {
    const t = await started("w-timeout");
    const reads = t.device.readsOf("b1");
    const readsB2 = t.device.readsOf("b2");
    t.device.writeError = new NodiError(
      "timeout",
      "no reply from unit 1 within 1000 ms",
      "timeout",
      {
        sent: true,
      },
    );
    const r = await t.peer.write("/w-timeout/setpoint", 5, { timeoutMs: 10_000 });
    expect(r).toEqual({
      ok: false,
      reason: "outcome_unknown",
      message: `no reply from unit 1 within 1000 ms; ${ADVICE}`,
    });
    await waitFor(() => t.device.readsOf("b1") > reads, "the read-back of b1");
    expect(t.device.readsOf("b2")).toBe(readsB2); // only the written tag's block
    expect(t.app.counters.writeErrors).toBe(1);
  });

  test("which failures count as sent: a timeout without details does, an error with sent false or a device exception does not", async () => {
    const t = await started("w-kinds");
    const cases: [NodiError, string][] = [
      [new NodiError("timeout", "no reply", "timeout"), "outcome_unknown"],
      [
        new NodiError("communication", "reset after sending", "ECONNRESET", { sent: true }),
        "outcome_unknown",
      ],
      [new NodiError("decode", "bad echo", "decode_error", { sent: true }), "outcome_unknown"],
      [
        new NodiError("timeout", "reading the register failed", "timeout", { sent: false }),
        "timeout",
      ],
      [
        new NodiError("communication", "not connected", "disconnected", { sent: false }),
        "disconnected",
      ],
      [
        new NodiError("device_exception", "exception 3", "ILLEGAL_DATA_VALUE"),
        "ILLEGAL_DATA_VALUE",
      ],
    ];
    for (const [err, reason] of cases) {
      t.device.writeError = err;
      t.device.online = true;
      const r = await t.peer.write("/w-kinds/setpoint", 1, { timeoutMs: 10_000 });
      expect({ err: err.message, reason: r.ok ? "ok" : r.reason }).toEqual({
        err: err.message,
        reason,
      });
      await waitFor(() => t.app.state === "EXECUTE", "EXECUTE again");
    }
  });

  test("still on the wire at the writer's deadline: outcome_unknown at the deadline, the read-back after the device answers", async () => {
    const t = await started("w-slow");
    t.device.writeDelayMs = 3000;
    const reads = t.device.readsOf("b1");
    const r = await t.peer.write("/w-slow/setpoint", 9, { timeoutMs: 500 });
    expect(r).toEqual({
      ok: false,
      reason: "outcome_unknown",
      message: `sent, no reply before the writer's deadline; ${ADVICE}`,
    });
    expect(t.device.readsOf("b1")).toBe(reads); // the write still holds the link
    await waitFor(() => t.device.values.get("setpoint") === 9, "the device applied it");
    await waitFor(() => t.device.readsOf("b1") > reads, "the read-back of b1");
    t.device.writeDelayMs = 0;
  });
});

describe("a write that was not sent", () => {
  test("still waiting for the link at the writer's deadline: timeout, withdrawn, never written", async () => {
    const t = await started("w-busy", 50);
    t.device.readDelayMs.set("b1", 1500); // the link is busy with slow reads
    await waitFor(() => t.device.inFlight === 1, "a read in flight");
    const r = await t.peer.write("/w-busy/setpoint", 42, { timeoutMs: 300 });
    expect(r).toEqual({
      ok: false,
      reason: "timeout",
      message: "not sent: the link was busy until the writer's deadline",
    });
    const reads = t.device.readsOf("b1");
    await waitFor(() => t.device.readsOf("b1") >= reads + 2, "two more reads");
    expect(writesIn(t)).toEqual([]);
    t.device.readDelayMs.delete("b1");
  });

  test("waiting when the link is lost (the lost read had been sent): not outcome unknown, never written", async () => {
    const t = await started("w-lost", 50);
    t.device.readDelayMs.set("b1", 800);
    await waitFor(() => t.device.inFlight === 1, "a read in flight");
    const pending = t.peer.write("/w-lost/setpoint", 43, { timeoutMs: 10_000 });
    await Bun.sleep(100); // the write waits behind the read
    t.device.dropLink(new NodiError("communication", "peer closed", "ECONNRESET", { sent: true }));
    const r = await pending;
    expect(r.ok).toBe(false);
    expect(r.ok || r.reason).not.toBe("outcome_unknown");
    expect(writesIn(t)).toEqual([]);
    t.device.readDelayMs.delete("b1");
    t.device.online = true;
  });
});
