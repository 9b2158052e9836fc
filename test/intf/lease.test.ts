import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hostname } from "node:os";
import { silentLogger } from "../../src/core/log.ts";
import { ConnLease, holderId, holderIsDead, leaseKey } from "../../src/intf/lease.ts";
import { createRedisTagBus, type RedisTagBus } from "../../src/tagbus/index.ts";
import { RedisServer } from "../support/redis-server.ts";
import { uniquePrefix } from "../support/tmp.ts";
import { waitFor } from "./harness.ts";

const redis = new RedisServer();
let bus: RedisTagBus;
const prefix = uniquePrefix("lease");

beforeAll(async () => {
  await redis.start();
  bus = await createRedisTagBus({ url: redis.url, prefix, producer: "test" });
});
afterAll(async () => {
  await bus?.close(500);
  await redis.shutdown();
});

async function get(key: string): Promise<string | null> {
  return (await bus.client.sendCommand(["GET", key])) as string | null;
}

function lease(conn: string, ttlMs = 400): ConnLease {
  return new ConnLease(bus.client, leaseKey(prefix, conn), holderId(), silentLogger, {
    ttlMs,
    retryMs: 20,
  });
}

describe("ConnLease (real Redis)", () => {
  test("key and holder id shapes", () => {
    expect(leaseKey("ne:", "line1")).toBe("ne:lock:line1");
    expect(holderId()).toMatch(new RegExp(`^${process.pid}@.+:[0-9a-f]{8}$`));
  });

  test("a second instance waits while the first renews, and starts once it releases", async () => {
    const a = lease("l1", 1000);
    const b = lease("l1", 1000);
    expect(await a.tryAcquire()).toEqual({ ok: true });
    expect(await a.tryAcquire()).toEqual({ ok: true }); // our own lease: renewed
    const seen = await b.tryAcquire();
    expect(seen).toMatchObject({ ok: false, holder: a.holder });
    a.startRefresh(() => {
      throw new Error("a lost its lease");
    });
    const waits: string[] = [];
    let bGot = false;
    const bDone = b
      .acquire(
        () => false,
        (h) => waits.push(h),
      )
      .then((ok) => {
        bGot = ok;
      });
    // several TTLs pass: a's renewals keep b waiting
    await waitFor(() => waits.length >= 100, "b retried for a while");
    expect(bGot).toBe(false);
    expect(new Set(waits)).toEqual(new Set([a.holder]));
    await a.release();
    await bDone;
    expect(bGot).toBe(true);
    expect(await get(b.key)).toBe(b.holder);
    await b.release();
    expect(await get(b.key)).toBe(null);
  }, 30_000);

  test("a holder killed without release (no renewal) blocks the next one for at most the TTL", async () => {
    const dead = lease("l2", 300);
    expect(await dead.tryAcquire()).toEqual({ ok: true });
    const next = lease("l2", 300);
    const r = await next.tryAcquire();
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.ttlMs).toBeLessThanOrEqual(300);
    expect(await next.acquire(() => false)).toBe(true);
    await next.release();
  }, 30_000);

  test("a holder that is a dead process of this host is taken over at once (SIGKILL)", async () => {
    const key = leaseKey(prefix, "l5");
    // a real process that held the lease and was killed with SIGKILL
    const child = Bun.spawn(["sleep", "60"]);
    const deadHolder = `${child.pid}@${hostname()}:0badc0de`;
    await bus.client.sendCommand(["SET", key, deadHolder, "PX", "60000"]);
    const next = lease("l5", 60_000);
    // while it lives, it is respected
    expect(holderIsDead(deadHolder)).toBe(false);
    expect(await next.tryAcquire()).toMatchObject({ ok: false, holder: deadHolder });
    child.kill("SIGKILL");
    await child.exited;
    expect(holderIsDead(deadHolder)).toBe(true);
    // without the take-over this waits the remaining ~60 s TTL
    const t0 = Date.now();
    expect(await next.acquire(() => Date.now() - t0 > 20_000)).toBe(true);
    expect(await get(key)).toBe(next.holder);
    await next.release();
  }, 30_000);

  test("holders of other hosts, live pids and malformed ids are never taken as dead", () => {
    expect(holderIsDead(`${process.pid}@${hostname()}:00000000`)).toBe(false); // ourselves
    expect(holderIsDead(`1@${hostname()}:00000000`)).toBe(false); // init: alive (EPERM or not)
    expect(holderIsDead("4194304@some-other-host:00000000")).toBe(false);
    expect(holderIsDead("garbage")).toBe(false);
    expect(holderIsDead(`4194999@${hostname()}:00000000`)).toBe(true); // above pid_max: no such pid
  });

  test("stop while waiting gives up; release never deletes another holder's key", async () => {
    const a = lease("l3", 5000);
    const b = lease("l3", 5000);
    expect(await a.tryAcquire()).toEqual({ ok: true });
    let stop = false;
    const p = b.acquire(() => stop);
    await Bun.sleep(50);
    stop = true;
    expect(await p).toBe(false);
    await b.release();
    expect(await get(a.key)).toBe(a.holder);
    await a.release();
  });

  test("renewal re-takes a vanished key, and reports a take-over by another holder", async () => {
    const a = lease("l4", 150);
    expect(await a.tryAcquire()).toEqual({ ok: true });
    let lostTo: string | undefined;
    a.startRefresh((h) => {
      lostTo = h;
    });
    await bus.client.sendCommand(["DEL", a.key]); // e.g. Redis restarted without its data
    await waitFor(async () => (await get(a.key)) === a.holder, "a re-took the key");
    expect(lostTo).toBeUndefined();
    await bus.client.sendCommand(["SET", a.key, "999@elsewhere:deadbeef", "PX", "5000"]);
    await waitFor(() => lostTo !== undefined, "onLost");
    expect(lostTo).toBe("999@elsewhere:deadbeef");
    a.stopRefresh();
    await bus.client.sendCommand(["DEL", a.key]);
  });
});
