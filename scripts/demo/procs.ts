import type { Subprocess } from "bun";
import { parentDeathPrefix } from "../../src/supervisor/intf-command.ts";

/**
 * Spawns a helper of the demo in its own process group (so a Ctrl-C in the terminal reaches
 * only the demo, which then stops its helpers in order) with a parent-death signal (so it
 * dies with the demo even on `kill -9`). `logFd`: a file descriptor for stdout and stderr.
 */
export function spawnOwned(
  argv: string[],
  env: Record<string, string | undefined>,
  logFd: number | "ignore",
): Subprocess {
  return Bun.spawn([...parentDeathPrefix(), ...argv], {
    env,
    stdin: "ignore",
    stdout: logFd,
    stderr: logFd,
    detached: true,
  });
}

/** SIGTERM, then SIGKILL after `ms` (default 15 000 ms); resolves once the process has exited. */
export async function stopProc(p: Subprocess, ms = 15_000): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return;
  p.kill("SIGTERM");
  const t = setTimeout(() => p.kill("SIGKILL"), ms);
  await p.exited;
  clearTimeout(t);
}
