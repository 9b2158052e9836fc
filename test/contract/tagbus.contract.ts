import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { isNodiError } from "../../src/core/errors.ts";
import type { TagSample, TagValue } from "../../src/core/tag-value.ts";
import type { BusEvent, Subscription, TagBus, WriteRequest } from "../../src/tagbus/tagbus.ts";

/**
 * The contract every TagBus implementation must pass (src/tagbus/tagbus.ts). Call
 * {@link tagBusContract} from a test file with a harness that opens buses on one shared,
 * fresh backend per test (e.g. a Redis key prefix).
 */
export interface TagBusHarness {
  /** Opens a bus that publishes as `producer`, on this test's backend. */
  open(producer: string): Promise<TagBus>;
  /** Closes what `open` opened and releases the backend. */
  cleanup(): Promise<void>;
}

/** Polls `cond` every 10 ms until it is true; fails after `timeoutMs`. */
export async function until(
  cond: () => boolean,
  timeoutMs = 10_000,
  what = "condition",
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(10);
  }
}

/** A sample with `ts` now and quality good. */
export function sample(
  path: string,
  value: TagSample["value"],
  extra: Partial<TagSample> = {},
): TagSample {
  return { path, value, quality: "good", ts: Date.now(), ...extra };
}

/** Collects the events of a subscription. */
export class Collector {
  events: BusEvent[] = [];
  handler = (e: BusEvent): void => {
    this.events.push(e);
  };
  get values(): TagValue[] {
    return this.events.flatMap((e) => (e.kind === "value" ? [e.value] : []));
  }
  kinds(): string[] {
    return this.events.map((e) => e.kind);
  }
}

/** Registers the contract tests under `describe(name)`. */
export function tagBusContract(name: string, makeHarness: () => Promise<TagBusHarness>): void {
  describe(`TagBus contract: ${name}`, () => {
    let h: TagBusHarness;
    const subs: Subscription[] = [];
    beforeEach(async () => {
      h = await makeHarness();
    });
    afterEach(async () => {
      for (const s of subs.splice(0)) await s.close();
      await h.cleanup();
    });

    test("publish then get: value, quality, ts, producer, seq", async () => {
      const bus = await h.open("mtc-01");
      await bus.publish([
        sample("/mtc-01/speed", 12.5, { ts: 1000 }),
        sample("/mtc-01/alarm", null, { quality: "bad", reason: "timeout", ts: 1001 }),
      ]);
      expect(await bus.get("/mtc-01/speed")).toEqual({
        path: "/mtc-01/speed",
        value: 12.5,
        quality: "good",
        ts: 1000,
        producer: "mtc-01",
        seq: 1,
      });
      const alarm = await bus.get("/mtc-01/alarm");
      expect(alarm?.quality).toBe("bad");
      expect(alarm?.reason).toBe("timeout");
      expect(alarm?.value).toBeNull();
      expect(alarm?.seq).toBe(2);
      expect(await bus.get("/mtc-01/never")).toBeUndefined();
      expect(bus.stats().published).toBe(2);
    });

    test("seq increases by one per sample, across a restart of the producer", async () => {
      const a = await h.open("mtc-01");
      await a.publish([sample("/mtc-01/x", 1), sample("/mtc-01/x", 2)]);
      await a.close();
      const b = await h.open("mtc-01");
      await b.publish([sample("/mtc-01/x", 3)]);
      const v = await b.get("/mtc-01/x");
      expect(v?.value).toBe(3);
      expect(v?.seq).toBe(3);
    });

    test("list returns the latest values under a prefix, sorted by path", async () => {
      const a = await h.open("mtc-01");
      const b = await h.open("mtc-02");
      await a.publish([
        sample("/mtc-01/b", 1),
        sample("/mtc-01/a", 1),
        sample("/system/mtc-01/state", "EXECUTE"),
      ]);
      await a.publish([sample("/mtc-01/a", 2)]);
      await b.publish([sample("/mtc-02/a", 9)]);
      const l = await a.list("/mtc-01/");
      expect(l.map((v) => [v.path, v.value])).toEqual([
        ["/mtc-01/a", 2],
        ["/mtc-01/b", 1],
      ]);
      expect((await a.list("/system/")).map((v) => v.path)).toEqual(["/system/mtc-01/state"]);
      expect((await a.list("/")).length).toBe(4);
    });

    test("subscribe: resync of current values first, then matching updates in order", async () => {
      const bus = await h.open("mtc-01");
      await bus.publish([sample("/mtc-01/a", 0), sample("/mtc-02x/ignored", 0)]);
      const c = new Collector();
      subs.push(await bus.subscribe(["/mtc-01/*"], c.handler));
      for (let i = 1; i <= 50; i++)
        await bus.publish([sample("/mtc-01/a", i), sample("/system/mtc-01/state", i)]);
      await until(() => c.values.length === 50, 10_000, "50 values");
      const first = c.events[0];
      expect(first?.kind).toBe("resync");
      if (first?.kind === "resync") expect(first.values.map((v) => v.value)).toEqual([0]);
      expect(c.values.map((v) => v.value)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
      expect(c.values.every((v) => v.path === "/mtc-01/a")).toBe(true);
      const seqs = c.values.map((v) => v.seq);
      expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    });

    test("subscribe: patterns across producers (system tags), order per producer", async () => {
      const sup = await h.open("supervisor");
      const cli = await h.open("cli");
      const a = await h.open("mtc-01");
      const c = new Collector();
      subs.push(await sup.subscribe(["/system/supervisor/*", "/system/*/state"], c.handler));
      await cli.publish([sample("/system/supervisor/conn_added", "mtc-01")]);
      await a.publish([sample("/system/mtc-01/state", "CONNECT"), sample("/mtc-01/x", 1)]);
      await a.publish([sample("/system/mtc-01/state", "EXECUTE")]);
      await cli.publish([sample("/system/supervisor/conn_removed", "mtc-01")]);
      await until(() => c.values.length === 4, 10_000, "4 values");
      const byProducer = (p: string) =>
        c.values.filter((v) => v.producer === p).map((v) => v.value);
      expect(byProducer("cli")).toEqual(["mtc-01", "mtc-01"]);
      expect(byProducer("mtc-01")).toEqual(["CONNECT", "EXECUTE"]);
      expect(c.values.some((v) => v.path === "/mtc-01/x")).toBe(false);
    });

    test("a subscriber sees a producer that appears after it subscribed", async () => {
      const watcher = await h.open("web");
      const c = new Collector();
      subs.push(await watcher.subscribe(["/**"], c.handler));
      const late = await h.open("mtc-07");
      await late.publish([sample("/mtc-07/a", 1)]);
      await late.publish([sample("/mtc-07/a", 2)]);
      await until(() => c.values.length === 2, 10_000, "2 values");
      expect(c.values.map((v) => v.value)).toEqual([1, 2]);
    });

    test("durable subscriber resumes across its restart: nothing lost, nothing twice", async () => {
      const bus = await h.open("mtc-01");
      const reader = await h.open("historian");
      const c1 = new Collector();
      const s1 = await reader.subscribe(["/mtc-01/*"], c1.handler, { durable: "historian" });
      await bus.publish([sample("/mtc-01/a", 1)]);
      await until(() => c1.values.length === 1);
      await s1.close();
      await bus.publish([sample("/mtc-01/a", 2)]);
      await bus.publish([sample("/mtc-01/a", 3)]);
      const c2 = new Collector();
      subs.push(await reader.subscribe(["/mtc-01/*"], c2.handler, { durable: "historian" }));
      await until(() => c2.values.length === 2);
      expect(c2.values.map((v) => v.value)).toEqual([2, 3]);
      expect(c2.kinds().includes("gap")).toBe(false);
    });

    test("manualAck: the saved position moves only by ack, one whole entry at a time", async () => {
      const bus = await h.open("mtc-01");
      const reader = await h.open("north");
      const opts = { durable: "north-a", manualAck: true } as const;
      const c1 = new Collector();
      const s1 = await reader.subscribe(["/mtc-01/*"], c1.handler, opts);
      await bus.publish([sample("/mtc-01/a", 1), sample("/mtc-01/b", 1)]);
      await bus.publish([sample("/mtc-01/a", 2)]);
      await bus.publish([sample("/mtc-01/a", 3)]);
      await until(() => c1.values.length === 4);
      expect(c1.kinds()).toEqual(["resync", "value", "value", "value", "value"]);
      expect(c1.events.map((e) => e.position)).toEqual([1, 2, 3, 4, 5]);
      s1.ack(2); // half of the first entry: not committed
      await s1.close();

      const c2 = new Collector();
      const s2 = await reader.subscribe(["/mtc-01/*"], c2.handler, opts);
      await until(() => c2.values.length === 4);
      expect(c2.values.map((v) => `${v.path}=${v.value}`)).toEqual([
        "/mtc-01/a=1",
        "/mtc-01/b=1",
        "/mtc-01/a=2",
        "/mtc-01/a=3",
      ]);
      expect(c2.kinds().includes("resync")).toBe(false);
      expect(c2.events.map((e) => e.position)).toEqual([1, 2, 3, 4]);
      s2.ack(2); // the whole first entry
      expect(s2.acked).toBe(2);
      await s2.close();

      const c3 = new Collector();
      const s3 = await reader.subscribe(["/mtc-01/*"], c3.handler, opts);
      await until(() => c3.values.length === 2);
      expect(c3.values.map((v) => v.value)).toEqual([2, 3]);
      s3.ack(100); // beyond what was delivered: acks what was delivered
      expect(s3.acked).toBe(2);
      await bus.publish([sample("/mtc-01/a", 4)]);
      await until(() => c3.values.length === 3);
      await s3.close();

      const c4 = new Collector();
      subs.push(await reader.subscribe(["/mtc-01/*"], c4.handler, opts));
      await until(() => c4.values.length === 1);
      expect(c4.values.map((v) => v.value)).toEqual([4]);
      expect(c4.kinds()).toEqual(["value"]);
    });

    test("manualAck: a new subscriber's starting cut holds without an ack", async () => {
      const bus = await h.open("mtc-01");
      const reader = await h.open("north");
      const opts = { durable: "north-b", manualAck: true } as const;
      const c1 = new Collector();
      const s1 = await reader.subscribe(["/mtc-01/*"], c1.handler, opts);
      await until(() => c1.events.length === 1);
      await s1.close();
      await bus.publish([sample("/mtc-01/a", 1)]);
      const c2 = new Collector();
      subs.push(await reader.subscribe(["/mtc-01/*"], c2.handler, opts));
      await until(() => c2.values.length === 1);
      expect(c2.kinds()).toEqual(["value"]);
    });

    test("manualAck needs a durable name", async () => {
      const bus = await h.open("north");
      const opts = { manualAck: true } as unknown as { durable: string; manualAck: true };
      await expect(bus.subscribe(["/mtc-01/*"], () => {}, opts)).rejects.toThrow(/durable/);
    });

    test("from: retained replays what is retained", async () => {
      const bus = await h.open("mtc-01");
      await bus.publish([sample("/mtc-01/a", 1)]);
      await bus.publish([sample("/mtc-01/a", 2)]);
      const c = new Collector();
      subs.push(await bus.subscribe(["/mtc-01/*"], c.handler, { from: "retained" }));
      await until(() => c.values.length === 2);
      expect(c.values.map((v) => v.value)).toEqual([1, 2]);
    });

    test("close stops delivery", async () => {
      const bus = await h.open("mtc-01");
      const c = new Collector();
      const s = await bus.subscribe(["/mtc-01/*"], c.handler);
      await bus.publish([sample("/mtc-01/a", 1)]);
      await until(() => c.values.length === 1);
      await s.close();
      await bus.publish([sample("/mtc-01/a", 2)]);
      await Bun.sleep(200);
      expect(c.values.length).toBe(1);
    });

    test("write reaches the owner once and returns its result; origin is stamped", async () => {
      const owner = await h.open("mtc-01");
      const cli = await h.open("cli");
      const seen: WriteRequest[] = [];
      subs.push(
        await owner.serveWrites("mtc-01", async (req) => {
          seen.push(req);
          if (req.path === "/mtc-01/ro") return { ok: false, reason: "read_only" };
          return { ok: true };
        }),
      );
      expect(await cli.write("/mtc-01/sp", 42, { origin: "web:alice", timeoutMs: 10_000 })).toEqual(
        { ok: true },
      );
      expect(await cli.write("/mtc-01/ro", true, { timeoutMs: 10_000 })).toEqual({
        ok: false,
        reason: "read_only",
      });
      expect(seen.length).toBe(2);
      expect(seen[0]).toMatchObject({ path: "/mtc-01/sp", value: 42, origin: "web:alice" });
      expect(seen[1]?.origin).toBe("cli");
    });

    test("write: a handler's thrown error becomes a failed result", async () => {
      const owner = await h.open("mtc-01");
      const { NodiError } = await import("../../src/core/errors.ts");
      subs.push(
        await owner.serveWrites("mtc-01", async () => {
          throw new NodiError("device_exception", "exception 2", "ILLEGAL_DATA_ADDRESS");
        }),
      );
      const r = await owner.write("/mtc-01/x", 1, { timeoutMs: 10_000 });
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.reason).toBe("ILLEGAL_DATA_ADDRESS");
    });

    test("write with no owner running times out (nothing was sent)", async () => {
      const cli = await h.open("cli");
      expect(await cli.write("/mtc-09/x", 1, { timeoutMs: 300 })).toMatchObject({
        ok: false,
        reason: "timeout",
        message: expect.stringMatching(/^no result within 300 ms/),
      });
    });

    test("an owner that took the request and gave no answer in time: outcome_unknown, not timeout", async () => {
      const owner = await h.open("mtc-01");
      const cli = await h.open("cli");
      let release!: () => void;
      const held = new Promise<void>((r) => {
        release = r;
      });
      subs.push(
        await owner.serveWrites("mtc-01", async () => {
          await held;
          return { ok: true };
        }),
      );
      const r = await cli.write("/mtc-01/sp", 1, { timeoutMs: 300 });
      release();
      expect(r).toMatchObject({ ok: false, reason: "outcome_unknown" });
      if (!r.ok)
        expect(r.message).toContain("the device may have applied it; read back before retrying");
    });

    test("requests sent before the owner starts are served; expired ones are not", async () => {
      const cli = await h.open("cli");
      const expired = cli.write("/mtc-01/old", 1, { timeoutMs: 100 });
      await expired;
      const waiting = cli.write("/mtc-01/new", 2, { timeoutMs: 10_000 });
      await Bun.sleep(100);
      const owner = await h.open("mtc-01");
      const seen: string[] = [];
      subs.push(
        await owner.serveWrites("mtc-01", async (req) => {
          seen.push(req.path);
          return { ok: true };
        }),
      );
      expect(await waiting).toEqual({ ok: true });
      expect(seen).toEqual(["/mtc-01/new"]);
    });

    test("bad input: invalid path, oversized value, bad quality → configuration error, nothing published", async () => {
      const bus = await h.open("mtc-01");
      const cases: TagSample[] = [
        sample("mtc-01/no-slash", 1),
        sample("/MTC/x", 1),
        // `/mtc-01/a/b` is a device's tag (device `a`, issue 14); a device segment is lower case
        // and no segment is empty.
        sample("/mtc-01/A/b", 1),
        sample("/mtc-01/a//b", 1),
        sample("/mtc-01/big", "x".repeat(64 * 1024 + 1)),
        sample("/mtc-01/nan", Number.NaN),
        sample("/mtc-01/q", 1, { quality: "excellent" as never }),
        sample("/mtc-01/null", null),
      ];
      for (const bad of cases) {
        const err = await bus.publish([sample("/mtc-01/ok", 1), bad]).catch((e) => e);
        expect(isNodiError(err, "configuration")).toBe(true);
      }
      expect(await bus.get("/mtc-01/ok")).toBeUndefined();
      await bus.publish([sample("/mtc-01/a/b", 1)]);
      expect((await bus.get("/mtc-01/a/b"))?.value).toBe(1);
      await bus.publish([sample("/mtc-01/max", "x".repeat(64 * 1024))]);
      expect((await bus.get("/mtc-01/max"))?.value).toHaveLength(64 * 1024);
      const werr = await bus.write("/system/mtc-01/config_reload", 1).catch((e) => e);
      expect(isNodiError(werr, "configuration")).toBe(true);
      const gerr = await bus.get("not a path").catch((e) => e);
      expect(isNodiError(gerr, "configuration")).toBe(true);
    });
  });
}
