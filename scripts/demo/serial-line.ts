import { existsSync } from "node:fs";
import { join } from "node:path";
import { spawnOwned, stopProc } from "./procs.ts";

/**
 * A simulated serial cable: a `socat` pseudo-terminal pair whose ends are the symlinks
 * `{dir}/tty-{name}.sim` (the simulated device listens there) and `{dir}/tty-{name}` (the
 * connection's `serial_device`). Bytes written to one end come out of the other, like a
 * null-modem cable. Linux ptys ignore the baud rate and refuse parity (`stty parenb` fails
 * with EINVAL), so a connection on one must use parity `none`.
 */
export interface SerialLine {
  /** The end the simulator opens. */
  simEnd: string;
  /** The end the connection opens (its `serial_device`). */
  deviceEnd: string;
  /** socat's process id. */
  pid: number;
  /** Stops socat (which removes both symlinks). */
  stop(): Promise<void>;
}

/** Whether `socat` is on PATH. */
export function hasSocat(): boolean {
  return Bun.which("socat") !== null;
}

/**
 * Starts socat and waits (up to `ms`, default 10 000 ms) until both pty symlinks exist.
 * socat runs in its own process group with a parent-death signal (see {@link spawnOwned});
 * its diagnostics go to `logFd`.
 * @throws Error when socat exits or the links do not appear in time (socat is stopped).
 */
export async function startSerialLine(
  dir: string,
  name: string,
  logFd: number | "ignore",
  ms = 10_000,
): Promise<SerialLine> {
  const simEnd = join(dir, `tty-${name}.sim`);
  const deviceEnd = join(dir, `tty-${name}`);
  const p = spawnOwned(
    ["socat", `pty,raw,echo=0,link=${simEnd}`, `pty,raw,echo=0,link=${deviceEnd}`],
    process.env,
    logFd,
  );
  const end = Date.now() + ms;
  while (!(existsSync(simEnd) && existsSync(deviceEnd))) {
    if (p.exitCode !== null || p.signalCode !== null || Date.now() > end) {
      await stopProc(p, 2000);
      throw new Error(`socat did not create the pty pair ${simEnd} / ${deviceEnd}`);
    }
    await Bun.sleep(20);
  }
  return { simEnd, deviceEnd, pid: p.pid, stop: () => stopProc(p, 5000) };
}
