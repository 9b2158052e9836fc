import { fullGC, heapStats } from "bun:jsc";
import { describe, expect, test } from "bun:test";
import {
  CODE_RELEASE_DELAY_MS,
  CodeRelease,
  releaseCompiledCode,
} from "../../src/intf/code-release.ts";

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
