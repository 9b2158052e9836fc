import { describe, expect, test } from "bun:test";
import { exitFromSystemdEnv, exitReason, isCleanExit } from "../../src/intf/exit-report.ts";

describe("how an app ended → the reason on its tags", () => {
  test("systemd's ExecStopPost= variables (systemd.exec(5))", () => {
    const cases: [Record<string, string>, string][] = [
      [
        { SERVICE_RESULT: "signal", EXIT_CODE: "killed", EXIT_STATUS: "KILL" },
        "app_exited: killed by SIGKILL",
      ],
      [
        { SERVICE_RESULT: "oom-kill", EXIT_CODE: "killed", EXIT_STATUS: "KILL" },
        "app_exited: killed by SIGKILL (out of memory)",
      ],
      [
        { SERVICE_RESULT: "watchdog", EXIT_CODE: "dumped", EXIT_STATUS: "ABRT" },
        "app_exited: killed by SIGABRT (watchdog timeout)",
      ],
      [
        { SERVICE_RESULT: "core-dump", EXIT_CODE: "dumped", EXIT_STATUS: "SEGV" },
        "app_exited: killed by SIGSEGV (core dumped)",
      ],
      [
        { SERVICE_RESULT: "exit-code", EXIT_CODE: "exited", EXIT_STATUS: "1" },
        "app_exited: exit code 1",
      ],
      [
        { SERVICE_RESULT: "exit-code", EXIT_CODE: "exited", EXIT_STATUS: "75" },
        "app_exited: exit code 75 (restart requested)",
      ],
      [{ SERVICE_RESULT: "success", EXIT_CODE: "exited", EXIT_STATUS: "0" }, "app_stopped"],
    ];
    for (const [env, reason] of cases) {
      const e = exitFromSystemdEnv(env);
      expect(e && exitReason(e)).toBe(reason);
    }
    expect(exitFromSystemdEnv({})).toBeUndefined(); // the main process never ran
  });

  test("clean exits are those after which the app published its own end", () => {
    expect(isCleanExit({ code: 0, signal: null })).toBe(true);
    expect(isCleanExit({ code: 80, signal: null })).toBe(true);
    expect(isCleanExit({ code: 1, signal: null })).toBe(false);
    expect(isCleanExit({ code: null, signal: "SIGKILL" })).toBe(false);
    expect(isCleanExit({ code: 0, signal: null, cause: "oom" })).toBe(false);
  });
});
