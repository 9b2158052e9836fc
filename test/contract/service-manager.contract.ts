import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { RestartPolicy } from "../../src/supervisor/process-instance.ts";
import { APP_TEMPLATES, type ServiceManager } from "../../src/supervisor/service-manager.ts";

/**
 * What a contract run needs from one implementation: a manager whose instances run
 * `fake-systemd/fixture-app.ts --conn-id=ID` (template `ne-intf`) or `--north-id=ID`
 * (template `ne-north`) with `FIXTURE_DIR=fixtureDir`, under `policy`.
 */
export interface ManagerHarness {
  make(policy: Partial<RestartPolicy>): Promise<ServiceManager>;
  fixtureDir: string;
  cleanup(): Promise<void>;
}

/** Polls `cond` every 50 ms until it is truthy; throws `what` after `ms`. */
export async function until<T>(
  what: string,
  cond: () => T | Promise<T>,
  ms = 20_000,
): Promise<Exclude<T, undefined | null | false | 0 | "">> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v) return v as Exclude<T, undefined | null | false | 0 | "">;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await Bun.sleep(50);
  }
}

/** True while a process with `pid` exists (and is not a zombie). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, "utf8"));
  } catch {
    return false;
  }
}

/**
 * The contract every {@link ServiceManager} must pass (run by
 * `test/supervisor/process-manager.test.ts` and `systemd-manager.test.ts`).
 */
export function serviceManagerContract(name: string, harness: () => Promise<ManagerHarness>): void {
  describe(`ServiceManager contract: ${name}`, () => {
    let h: ManagerHarness;
    let sm: ServiceManager;
    let slow: ServiceManager;
    const pids = (id: string) =>
      existsSync(join(h.fixtureDir, `${id}.pids`))
        ? readFileSync(join(h.fixtureDir, `${id}.pids`), "utf8")
            .trim()
            .split("\n")
            .map(Number)
        : [];

    beforeAll(async () => {
      h = await harness();
      sm = await h.make({ restartDelayMs: 300, startLimitBurst: 3, memoryCheckIntervalMs: 200 });
      slow = await h.make({ restartDelayMs: 120_000 });
    });
    afterAll(async () => {
      for (const m of [sm, slow]) {
        for (const t of APP_TEMPLATES) for (const id of await m.list(t)) await m.remove(id, t);
      }
      await sm.close();
      await slow.close();
      await h.cleanup();
    }, 30_000);

    test("add starts the app once, idempotently; remove stops and forgets it", async () => {
      await sm.add("a1");
      const st = await until("a1 active", async () => {
        const s = await sm.status("a1");
        return s?.state === "active" && s.pid ? s : undefined;
      });
      expect(st.restarts).toBe(0);
      expect(st.since).toBeGreaterThan(Date.now() - 120_000);
      await until("fixture pid", () => pids("a1").length === 1);
      await sm.add("a1");
      expect((await sm.status("a1"))?.pid).toBe(st.pid);
      expect(await sm.list()).toContain("a1");
      await sm.remove("a1");
      expect(alive(st.pid!)).toBe(false);
      expect(await sm.list()).not.toContain("a1");
      expect(await sm.status("a1")).toBeUndefined();
      expect(pids("a1")).toHaveLength(1);
      await sm.remove("a1"); // idempotent
    }, 30_000);

    test("a killed app is restarted and the restart is counted", async () => {
      await sm.add("k1");
      const first = await until("k1 active", async () => (await sm.status("k1"))?.pid);
      process.kill(first, "SIGKILL");
      const second = await until("k1 restarted", async () => {
        const s = await sm.status("k1");
        return s?.state === "active" && s.pid && s.pid !== first ? s : undefined;
      });
      expect(second.restarts).toBe(1);
      expect(alive(first)).toBe(false);
      await sm.remove("k1");
    }, 30_000);

    test('exit 75 ("restart me") restarts at once, without the restart delay', async () => {
      writeFileSync(join(h.fixtureDir, "r75.exit-once"), "75");
      await slow.add("r75");
      const s = await until("r75 restarted", async () => {
        const st = await slow.status("r75");
        return st?.state === "active" && st.restarts === 1 ? st : undefined;
      });
      expect(s.lastExitCode ?? 75).toBe(75);
      await until("second fixture pid", () => pids("r75").length === 2);
      await slow.remove("r75");
    }, 30_000);

    test("exit 80 (removed) and 78 (config) are not restarted", async () => {
      writeFileSync(join(h.fixtureDir, "e80.exit"), "80");
      writeFileSync(join(h.fixtureDir, "e78.exit"), "78");
      await sm.add("e80");
      await sm.add("e78");
      const s80 = await until("e80 stopped", async () => {
        const st = await sm.status("e80");
        return st && st.state !== "active" && st.state !== "activating" ? st : undefined;
      });
      const s78 = await until("e78 failed", async () => {
        const st = await sm.status("e78");
        return st?.state === "failed" ? st : undefined;
      });
      expect(s80.lastExitCode).toBe(80);
      expect(s78.lastExitCode).toBe(78);
      await Bun.sleep(900); // three restart delays: nothing may start again
      expect(pids("e80")).toHaveLength(1);
      expect(pids("e78")).toHaveLength(1);
      expect((await sm.status("e80"))?.restarts).toBe(0);
      // add after a failure starts the app afresh (like reset-failed + start)
      writeFileSync(join(h.fixtureDir, "e78.exit"), "0");
      const { rmSync } = await import("node:fs");
      rmSync(join(h.fixtureDir, "e78.exit"));
      await sm.add("e78");
      await until("e78 active again", async () => (await sm.status("e78"))?.state === "active");
      await sm.remove("e78");
      await sm.remove("e80");
    }, 30_000);

    test("a crash loop hits the start-rate limit and stays failed", async () => {
      writeFileSync(join(h.fixtureDir, "loop.exit"), "1");
      await sm.add("loop");
      const st = await until("loop failed", async () => {
        const s = await sm.status("loop");
        return s?.state === "failed" ? s : undefined;
      });
      expect(st.subState).toBe("start-limit-hit");
      expect(pids("loop")).toHaveLength(3);
      await sm.remove("loop");
    }, 30_000);

    test("ne-north instances: started with --north-id, apart from ne-intf instances, same restart and exit-code rules", async () => {
      writeFileSync(join(h.fixtureDir, "north.n78.exit"), "78");
      await sm.add("n1", { cpuQuota: "20%" }, "ne-north");
      await sm.add("n78", {}, "ne-north");
      await sm.add("i1");
      const st = await until("n1 active", async () => {
        const s = await sm.status("n1", "ne-north");
        return s?.state === "active" && s.pid ? s : undefined;
      });
      expect(st.template).toBe("ne-north");
      expect(st.limits.cpuQuota).toBe("20%");
      await until("n1 fixture pid", () => pids("north.n1").length === 1);
      expect(pids("n1")).toEqual([]); // started as --north-id=n1, not --conn-id=n1
      expect(await sm.list("ne-north")).toEqual(["n1", "n78"]);
      expect(await sm.list("ne-intf")).not.toContain("n1");
      expect(await sm.list()).toContain("i1");
      expect(await sm.status("n1")).toBeUndefined(); // no ne-intf@n1
      expect((await sm.status("i1"))?.template).toBe("ne-intf");
      // killed: restarted and counted
      process.kill(st.pid!, "SIGKILL");
      const again = await until("n1 restarted", async () => {
        const s = await sm.status("n1", "ne-north");
        return s?.state === "active" && s.pid && s.pid !== st.pid ? s : undefined;
      });
      expect(again.restarts).toBe(1);
      // exit 78: not restarted
      const f = await until("n78 failed", async () => {
        const s = await sm.status("n78", "ne-north");
        return s?.state === "failed" ? s : undefined;
      });
      expect(f.lastExitCode).toBe(78);
      expect(pids("north.n78")).toHaveLength(1);
      // removing ne-intf@n1 (which does not exist) leaves ne-north@n1 alone
      await sm.remove("n1");
      expect((await sm.status("n1", "ne-north"))?.state).toBe("active");
      await sm.remove("n1", "ne-north");
      expect(alive(again.pid!)).toBe(false);
      expect(await sm.status("n1", "ne-north")).toBeUndefined();
      await sm.remove("n78", "ne-north");
      await sm.remove("i1");
      expect(await sm.list("ne-north")).toEqual([]);
    }, 30_000);

    test("limits are applied: memory_max kills an app over it, the status reports them", async () => {
      await sm.add("mem", { memoryMax: "1M", cpuQuota: "50%" });
      const st = await until("mem killed", async () => {
        const s = await sm.status("mem");
        return s && (s.restarts > 0 || s.state === "failed") ? s : undefined;
      });
      expect(st.limits).toEqual({ memoryMax: "1M", cpuQuota: "50%" });
      await sm.remove("mem");
    }, 30_000);
  });
}
