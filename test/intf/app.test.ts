import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { NodiError } from "../../src/core/errors.ts";
import { EXIT } from "../../src/core/exit-codes.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir } from "../support/tmp.ts";
import { AppUnderTest, connRows, waitFor } from "./harness.ts";

const redis = new RedisServer();
const dir = tempDir("ne-intf-");
const db = join(dir.path, "sot.db");
const live: AppUnderTest[] = [];

beforeAll(async () => {
  await redis.start();
});
afterAll(async () => {
  for (const a of live) await a.stop().catch(() => {});
  await redis.shutdown();
  dir.cleanup();
});

async function started(connId: string, rows = connRows(connId)): Promise<AppUnderTest> {
  const t = await AppUnderTest.create(connId, db, redis);
  live.push(t);
  t.store.apply({ origin: "test", put: [rows] });
  return t.start();
}

describe("IntfApp with a real store, real Redis and a simulated device", () => {
  test("reaches EXECUTE, publishes values with deadband and health", async () => {
    const t = await started("c-basic", {
      ...connRows("c-basic", {
        tags: [
          { tag_name: "speed", block_id: "b1" },
          { tag_name: "level", block_id: "b1", deadband: 5 },
          { tag_name: "temp", block_id: "b2" },
        ],
      }),
    });
    t.device.values.set("speed", 42).set("level", 100);
    await t.waitState("EXECUTE");
    const v = await t.waitTag("speed", (x) => x.value === 42);
    expect(v.quality).toBe("good");
    expect(v.producer).toBe("c-basic");
    await t.waitTag("level", (x) => x.value === 100);
    // within the deadband: not published
    t.device.values.set("level", 103);
    const n = t.device.readsOf("b1");
    await waitFor(() => t.device.readsOf("b1") >= n + 5, "5 more reads");
    expect((await t.get("level"))?.value).toBe(100);
    // beyond the deadband (from the last PUBLISHED value): published
    t.device.values.set("level", 106);
    await t.waitTag("level", (x) => x.value === 106);
    // state and health under /system/{app_id}/
    const st = await t.system("state");
    expect(st?.value).toBe("EXECUTE");
    expect(st?.quality).toBe("good");
    expect(typeof st?.reason).toBe("string");
    await waitFor(async () => ((await t.health())?.counters.reads ?? 0) > 0, "health with reads");
    const h = (await t.health())!;
    expect(h.state).toBe("EXECUTE");
    expect(h.blocks.b1?.timer?.periodMs).toBe(20);
    expect(h.blocks.b1?.timer?.ticks).toBeGreaterThan(0);
    expect(typeof h.blocks.b1?.timer?.lateness.p99).toBe("number");
    expect(h.lastGoodPoll).not.toBeNull();
    expect(t.device.maxInFlight).toBe(1);
    expect(await t.stop()).toBe(EXIT.OK);
  });

  test("block errors make only that block bad; 50 consecutive errors leave the loop alive", async () => {
    const t = await started("c-blockerr");
    t.device.values.set("speed", 7).set("temp", 21);
    await t.waitState("EXECUTE");
    await t.waitTag("temp", (x) => x.value === 21 && x.quality === "good");
    t.device.blockErrors.set(
      "b2",
      new NodiError("device_exception", "exception 2", "ILLEGAL_DATA_ADDRESS"),
    );
    const bad = await t.waitTag("temp", (x) => x.quality === "bad");
    expect(bad.reason).toBe("ILLEGAL_DATA_ADDRESS");
    expect(bad.value).toBeNull();
    await waitFor(() => t.app.health().blocks.b2!.consecutiveErrors >= 50, "50 errors");
    expect(t.app.state).toBe("EXECUTE");
    // the other block kept polling and stayed good
    t.device.values.set("speed", 8);
    await t.waitTag("speed", (x) => x.value === 8 && x.quality === "good");
    t.device.blockErrors.set("b2", new NodiError("timeout", "no reply", "timeout"));
    await t.waitTag("temp", (x) => x.reason === "timeout");
    t.device.blockErrors.delete("b2");
    await t.waitTag("temp", (x) => x.quality === "good" && x.value === 21);
    const le = JSON.parse(String((await t.system("last_error"))?.value));
    expect(le.where).toBe("block:b2");
    expect(t.app.counters.readErrors).toBeGreaterThanOrEqual(50);
  });

  test("link lost → RECOVER, tags bad (disconnected), back-off, reconnect → good again", async () => {
    const t = await started("c-link");
    t.device.values.set("speed", 5);
    await t.waitState("EXECUTE");
    await t.waitTag("speed", (x) => x.value === 5 && x.quality === "good");
    t.device.dropLink();
    const bad = await t.waitTag("speed", (x) => x.quality === "bad");
    expect(bad.reason).toBe("disconnected");
    expect(bad.value).toBeNull();
    const temp = await t.waitTag("temp", (x) => x.quality === "bad");
    expect(temp.reason).toBe("disconnected");
    expect(["RECOVER", "CONNECT"]).toContain(t.app.state);
    await waitFor(() => t.app.counters.connectFailures >= 2, "two failed reconnects");
    t.device.online = true;
    await t.waitState("EXECUTE");
    await t.waitTag("speed", (x) => x.quality === "good" && x.value === 5);
    expect(t.app.counters.reconnects).toBe(1);
    expect(t.app.counters.connectFailures).toBeGreaterThanOrEqual(2);
  });

  test("device offline at start: RECOVER until it answers", async () => {
    const t = await AppUnderTest.create("c-offline", db, redis);
    live.push(t);
    t.store.apply({ origin: "test", put: [connRows("c-offline")] });
    t.device.online = false;
    t.start();
    await t.waitTag("speed", (x) => x.quality === "bad" && x.reason === "disconnected");
    expect(["RECOVER", "CONNECT"]).toContain(t.app.state);
    await waitFor(async () => (await t.system("state"))?.value === "RECOVER", "state tag RECOVER");
    t.device.online = true;
    await t.waitState("EXECUTE");
    await t.waitTag("speed", (x) => x.quality === "good");
  });

  test("writes: ok, read_only, not_found, device errors mapped to reasons and counted apart", async () => {
    const t = await started("c-write");
    await t.waitState("EXECUTE");
    expect(await t.peer.write("/c-write/setpoint", 77, { timeoutMs: 10_000 })).toEqual({
      ok: true,
    });
    expect(t.device.values.get("setpoint")).toBe(77);
    await t.waitTag("setpoint", (x) => x.value === 77);
    const ro = await t.peer.write("/c-write/speed", 1, { timeoutMs: 10_000 });
    expect(ro.ok).toBe(false);
    expect(ro.ok ? "" : ro.reason).toBe("read_only");
    const nf = await t.peer.write("/c-write/nope", 1, { timeoutMs: 10_000 });
    expect(nf.ok ? "" : nf.reason).toBe("not_found");
    const oor = await t.peer.write("/c-write/setpoint", 70_000, { timeoutMs: 10_000 });
    expect(oor.ok ? "" : oor.reason).toBe("out_of_range");
    t.device.writeError = new NodiError("device_exception", "exception 4", "SLAVE_DEVICE_FAILURE");
    const dx = await t.peer.write("/c-write/setpoint", 3, { timeoutMs: 10_000 });
    expect(dx.ok ? "" : dx.reason).toBe("SLAVE_DEVICE_FAILURE");
    expect(t.app.counters.writes).toBe(1);
    // read_only, not_found, out_of_range: the request's fault, counted apart from the device's
    expect(t.app.counters.writesRefused).toBe(3);
    expect(t.app.counters.writeErrors).toBe(1);
    expect(t.device.maxInFlight).toBe(1);
  });

  test("hot reload keeps the link; removed tags go bad (removed)", async () => {
    const t = await started("c-reload");
    t.device.values.set("speed", 1).set("temp", 2).set("pressure", 3);
    await t.waitState("EXECUTE");
    await t.waitTag("temp", (x) => x.value === 2);
    expect(t.device.connects).toBe(1);
    const rows = connRows("c-reload", {
      blocks: [
        { block_id: "b1", count: 10 },
        { block_id: "b3", count: 10 },
      ],
      tags: [
        { tag_name: "speed", block_id: "b1" },
        { tag_name: "pressure", block_id: "b3" },
      ],
    });
    await t.reconfigure(rows);
    await t.waitTag("pressure", (x) => x.value === 3 && x.quality === "good");
    const gone = await t.waitTag("temp", (x) => x.quality === "bad");
    expect(gone.reason).toBe("removed");
    expect(t.app.state).toBe("EXECUTE");
    expect(t.device.connects).toBe(1);
    expect(t.device.closes).toBe(0);
    expect(t.device.configures).toBe(2);
    expect(t.app.counters.reloads).toBe(1);
    // the reload went EXECUTE → CONFIGURE → CONNECT → EXECUTE
    expect(t.app.health().blocks.b2).toBeUndefined();
  });

  test("a new configuration the driver refuses is not applied; last_error says why", async () => {
    const t = await started("c-refuse");
    t.device.maxCount = 50;
    await t.waitState("EXECUTE");
    await t.waitTag("temp", (x) => x.quality === "good");
    const rows = connRows("c-refuse", {
      blocks: [
        { block_id: "b1", count: 10 },
        { block_id: "b2", count: 60 },
      ],
    });
    await t.reconfigure(rows);
    await waitFor(() => t.app.counters.reloadsRefused === 1, "reload refused");
    await t.waitState("EXECUTE");
    // last_error is published after the refusal is counted: wait for it, do not read it once
    await waitFor(
      async () => String((await t.system("last_error"))?.value).includes("exceeds 50"),
      "last_error names the refusal",
    );
    const le = await t.system("last_error");
    expect(String(le?.value)).toContain("exceeds 50");
    expect(le?.reason).toBe("too_large");
    // still polling the old configuration, link kept
    const n = t.device.readsOf("b2");
    await waitFor(() => t.device.readsOf("b2") > n + 2, "old config polling");
    expect(t.device.connects).toBe(1);
  });

  test("connection settings changed → exit RESTART (75)", async () => {
    const t = await started("c-restart");
    await t.waitState("EXECUTE");
    await t.reconfigure(connRows("c-restart", { connection: { port: 5021 } }));
    expect(await t.exit).toBe(EXIT.RESTART);
  });

  test("connection disabled → tags bad (removed), exit REMOVED (80)", async () => {
    const t = await started("c-disable");
    t.device.values.set("speed", 9);
    await t.waitState("EXECUTE");
    await t.waitTag("speed", (x) => x.value === 9);
    await t.reconfigure(connRows("c-disable", { connection: { enabled: false } }));
    expect(await t.exit).toBe(EXIT.REMOVED);
    const v = await t.waitTag("speed", (x) => x.quality === "bad");
    expect(v.reason).toBe("removed");
  });

  test("connection deleted → exit REMOVED (80)", async () => {
    const t = await started("c-delete");
    await t.waitState("EXECUTE");
    t.store.apply({ origin: "test", remove: ["c-delete"] });
    await t.announceReload();
    expect(await t.exit).toBe(EXIT.REMOVED);
  });

  test("stop request: finishes the read in flight, tags bad (stopped), state STOP, exit 0", async () => {
    const t = await started("c-stop");
    t.device.values.set("speed", 4);
    await t.waitState("EXECUTE");
    await t.waitTag("speed", (x) => x.value === 4);
    t.device.readDelayMs.set("b1", 100);
    await waitFor(() => t.device.inFlight === 1, "a read in flight");
    t.app.requestStop("SIGTERM");
    expect(await t.exit).toBe(EXIT.OK);
    expect(t.device.inFlight).toBe(0);
    const v = await t.waitTag("speed", (x) => x.quality === "bad");
    expect(v.reason).toBe("stopped");
    expect((await t.system("state"))?.value).toBe("STOP");
    expect(t.device.log.at(-1)).toBe("close");
  });

  test("push blocks are delivered by the driver, not polled; stopped on reload", async () => {
    const t = await AppUnderTest.create("c-push", db, redis);
    live.push(t);
    t.store.apply({ origin: "test", put: [connRows("c-push")] });
    t.device.pushBlocks.add("b2");
    t.start();
    await t.waitState("EXECUTE");
    t.device.values.set("temp", 33);
    await waitFor(() => t.device.emit("b2", ["temp"]), "push started");
    await t.waitTag("temp", (x) => x.value === 33 && x.quality === "good");
    await waitFor(() => t.device.readsOf("b1") > 3, "b1 polled");
    expect(t.device.readsOf("b2")).toBe(0);
    expect(t.app.health().blocks.b2?.mode).toBe("push");
    await t.reconfigure(connRows("c-push", { periodMs: 25 }));
    await waitFor(() => t.app.counters.reloads === 1 && t.app.state === "EXECUTE", "reloaded");
    expect(t.device.log).toContain("push-stop:b2");
    expect(t.device.log.filter((l) => l === "push-start:b2").length).toBe(2);
  });

  test("sd_notify: READY once, STATUS on every state, WATCHDOG from the loop", async () => {
    const t = await AppUnderTest.create("c-notify", db, redis);
    live.push(t);
    t.store.apply({ origin: "test", put: [connRows("c-notify")] });
    const sent: string[] = [];
    t.notifier = { enabled: true, watchdogMs: 100, notify: (m) => sent.push(m) > 0 };
    t.start();
    await t.waitState("EXECUTE");
    t.device.dropLink();
    await waitFor(() => sent.some((m) => m.startsWith("STATUS=RECOVER")), "RECOVER status");
    t.device.online = true;
    await waitFor(() => sent.filter((m) => m.startsWith("STATUS=EXECUTE")).length >= 2, "back");
    await waitFor(() => sent.filter((m) => m === "WATCHDOG=1").length >= 3, "watchdog pings");
    expect(sent.filter((m) => m.startsWith("READY=1")).length).toBe(1);
    t.app.requestStop();
    await t.exit;
    expect(sent.some((m) => m.startsWith("STOPPING=1"))).toBe(true);
  });

  test("a link that dies silently is noticed by the next read; tags bad within two periods", async () => {
    const t = await started("c-silent");
    t.device.values.set("speed", 3);
    await t.waitState("EXECUTE");
    await t.waitTag("speed", (x) => x.value === 3 && x.quality === "good");
    t.device.online = false; // no onLinkLost callback: only the next request fails
    const v = await t.waitTag("speed", (x) => x.quality === "bad");
    expect(v.reason).toBe("disconnected");
    expect(["RECOVER", "CONNECT"]).toContain(t.app.state);
  });

  test("stop while the device is unreachable (RECOVER/CONNECT) → exit 0", async () => {
    const t = await AppUnderTest.create("c-stop-down", db, redis);
    live.push(t);
    t.store.apply({ origin: "test", put: [connRows("c-stop-down")] });
    t.device.online = false;
    t.start();
    await waitFor(() => t.app.counters.connectFailures >= 1, "a failed connect");
    t.app.requestStop("SIGTERM");
    expect(await t.exit).toBe(EXIT.OK);
    expect((await t.get("speed"))?.reason).toBe("stopped");
  });

  test("reload while the link is down: RECOVER → CONFIGURE → CONNECT with the new blocks", async () => {
    const t = await AppUnderTest.create("c-reload-down", db, redis);
    live.push(t);
    t.store.apply({ origin: "test", put: [connRows("c-reload-down")] });
    t.device.online = false;
    t.device.values.set("pressure", 11);
    t.start();
    await waitFor(() => t.app.counters.connectFailures >= 1, "a failed connect");
    await t.reconfigure(
      connRows("c-reload-down", {
        blocks: [{ block_id: "b3", count: 10 }],
        tags: [{ tag_name: "pressure", block_id: "b3" }],
      }),
    );
    await waitFor(() => t.app.counters.reloads === 1, "reload applied");
    t.device.online = true;
    await t.waitTag("pressure", (x) => x.value === 11 && x.quality === "good");
    expect((await t.get("speed"))?.reason).toBe("removed");
  });

  test("a new configuration that fails validation is refused; the old one keeps running", async () => {
    const t = await started("c-invalid");
    await t.waitState("EXECUTE");
    await t.waitTag("temp", (x) => x.quality === "good");
    // Bypass the store's own validation, as a hand-edited DB would: a tag outside its block.
    t.store.db.run(
      `UPDATE tags SET address = 500 WHERE conn_id = 'c-invalid' AND tag_name = 'temp'`,
    );
    await t.announceReload();
    await waitFor(() => t.app.counters.reloadsRefused === 1, "reload refused");
    const le = JSON.parse(String((await t.system("last_error"))?.value));
    expect(le.where).toBe("reload");
    expect(le.message).toContain("temp");
    expect(t.app.state).toBe("EXECUTE");
    const n = t.device.readsOf("b2");
    await waitFor(() => t.device.readsOf("b2") > n + 2, "still polling");
    expect(t.device.configures).toBe(1);
  });

  test("unknown connection at start → exit CONFIG (78)", async () => {
    const t = await AppUnderTest.create("c-missing", db, redis);
    live.push(t);
    t.start();
    expect(await t.exit).toBe(EXIT.CONFIG);
  });
});
