import { fullGC, heapStats } from "bun:jsc";
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import {
  CODE_RELEASE_DELAY_MS,
  CodeRelease,
  releaseCompiledCode,
} from "../../src/intf/code-release.ts";
import { RedisServer } from "../support/redis-server.ts";
import { tempDir } from "../support/tmp.ts";
import { AppUnderTest, connRows, waitFor } from "./harness.ts";

/** A release on a fake clock that counts its calls. */
function fake() {
  const s = { t: 0, releases: 0 };
  const code = new CodeRelease({ now: () => s.t, release: () => s.releases++ });
  return { s, code };
}

describe("CodeRelease", () => {
  test("releases once, at the first idle moment CODE_RELEASE_DELAY_MS after the blocks started", () => {
    const { s, code } = fake();
    s.t = 1_000;
    code.started();
    code.idle();
    s.t = 1_000 + CODE_RELEASE_DELAY_MS - 1;
    code.idle();
    expect(s.releases).toBe(0);
    s.t = 1_000 + CODE_RELEASE_DELAY_MS;
    code.idle();
    expect(s.releases).toBe(1);
    s.t += 10 * CODE_RELEASE_DELAY_MS;
    code.idle();
    expect(s.releases).toBe(1);
    expect(code.releases).toBe(1);
  });

  test("never before the blocks started; a second start (reload, reconnect) neither delays nor repeats it", () => {
    const { s, code } = fake();
    s.t = 10 * CODE_RELEASE_DELAY_MS;
    code.idle();
    expect(s.releases).toBe(0);
    code.started();
    s.t += CODE_RELEASE_DELAY_MS / 2;
    code.started(); // a restart of the blocks: the first start counts
    s.t += CODE_RELEASE_DELAY_MS / 2;
    code.idle();
    expect(s.releases).toBe(1);
    code.started();
    s.t += 2 * CODE_RELEASE_DELAY_MS;
    code.idle();
    expect(s.releases).toBe(1);
  });

  test("the default release drops the bytecode of functions that ran, which a full collection keeps", async () => {
    const counts = () => heapStats().objectTypeCounts.UnlinkedFunctionCodeBlock ?? 0;
    const fns: ((n: number) => number)[] = [];
    for (let i = 0; i < 300; i++) {
      fns.push(
        new Function("n", `let s = 0; for (let k = 0; k < n; k++) s += k * ${i}; return s;`) as (
          n: number,
        ) => number,
      );
    }
    for (const f of fns) f(10);
    fullGC();
    const before = counts();
    fullGC();
    expect(counts()).toBeGreaterThan(before - 30); // a full collection keeps them
    releaseCompiledCode();
    await Bun.sleep(20); // it runs when the engine is idle
    fullGC();
    expect(counts()).toBeLessThan(before - 250);
    for (const f of fns) f(10); // and they still run, compiled again
    expect(fns[7]!(3)).toBe(21);
  });
});

describe("IntfApp", () => {
  const redis = new RedisServer();
  const dir = tempDir("ne-code-release-");
  beforeAll(async () => {
    await redis.start();
  });
  afterAll(async () => {
    await redis.shutdown();
    dir.cleanup();
  });

  test("tells its code release after each publish, and once when its blocks started", async () => {
    let idle = 0;
    let started = 0;
    const t = await AppUnderTest.create("code1", join(dir.path, "sot.db"), redis, {
      codeRelease: { idle: () => idle++, started: () => started++ },
    });
    t.store.apply({ origin: "test", put: [connRows("code1")] });
    t.start();
    try {
      await t.waitState("EXECUTE");
      await waitFor(() => idle >= 3, "three idle calls");
      await t.waitTag("speed", () => true);
      expect(started).toBe(1);
    } finally {
      await t.stop();
    }
  });
});
