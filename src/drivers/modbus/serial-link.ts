import { closeSync, constants, openSync, writeSync } from "node:fs";
import { NodiError } from "../../core/errors.ts";
import type { Link, LinkHandlers, LinkOpener } from "./link.ts";

/** Serial line settings (from the connection row). */
export interface SerialSettings {
  /** Device file, e.g. `/dev/ttyUSB0` or a pty such as `/dev/pts/3`. */
  path: string;
  baudRate: number;
  parity: "none" | "even" | "odd";
  dataBits: 7 | 8;
  stopBits: 1 | 2;
}

/**
 * `stty` arguments that put a serial device in raw mode with the given line settings.
 * Exported for tests.
 */
export function sttyArgs(s: SerialSettings): string[] {
  return [
    "-F",
    s.path,
    "raw",
    "-echo",
    "-echoe",
    "-echok",
    "-ixon",
    "-ixoff",
    "-crtscts",
    "clocal",
    "cread",
    String(s.baudRate),
    s.dataBits === 7 ? "cs7" : "cs8",
    s.parity === "none" ? "-parenb" : "parenb",
    s.parity === "odd" ? "parodd" : "-parodd",
    s.stopBits === 2 ? "cstopb" : "-cstopb",
  ];
}

/**
 * Applies line settings with `stty -F` (coreutils).
 * @throws NodiError `communication` when stty fails (no such device, not a tty).
 */
export function applyLineSettings(s: SerialSettings): void {
  const r = Bun.spawnSync(["stty", ...sttyArgs(s)], { stdout: "ignore", stderr: "pipe" });
  if (r.exitCode !== 0) {
    throw new NodiError(
      "communication",
      `stty on ${s.path} failed: ${r.stderr.toString().trim()}`,
      "serial_error",
    );
  }
}

/**
 * Opens a file-backed byte link: the device is opened non-blocking and read through
 * `Bun.file(fd).stream()`, written with `writeSync`. This works in a compiled Bun binary,
 * unlike the `serialport` package's native binding (see docs/modbus.md). Used for RTU on a
 * serial device by the driver and by the simulator.
 * @throws NodiError `communication` when the device cannot be opened.
 */
export function openFileLink(path: string, handlers: LinkHandlers): Link {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDWR | constants.O_NOCTTY | constants.O_NONBLOCK);
  } catch (e) {
    throw new NodiError(
      "communication",
      `cannot open ${path}: ${(e as Error).message}`,
      "serial_error",
      {},
      { cause: e },
    );
  }
  let closed = false;
  const reader = Bun.file(fd).stream().getReader();
  /** Stops reading and closes the device once; false when it was closed already. */
  const shutdown = (): boolean => {
    if (closed) return false;
    closed = true;
    reader.cancel().catch(() => {});
    try {
      closeSync(fd);
    } catch {}
    return true;
  };
  const fail = (err: Error) => {
    if (shutdown()) handlers.onClose(err);
  };
  (async () => {
    while (!closed) {
      const { value, done } = await reader.read();
      if (done) break;
      if (!closed && value && value.length > 0) handlers.onData(value);
    }
    fail(new Error(`${path}: end of file`));
  })().catch((e: unknown) => fail(e instanceof Error ? e : new Error(String(e))));
  return {
    write: (bytes) => {
      if (closed) return;
      let off = 0;
      let spins = 0;
      while (off < bytes.length) {
        try {
          off += writeSync(fd, bytes, off, bytes.length - off);
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === "EAGAIN" && spins++ < 1000) continue;
          fail(e as Error);
          return;
        }
      }
    },
    close: () => {
      shutdown();
    },
  };
}

/** A serial link opener: applies the line settings, then opens the device file. */
export function serialLinkOpener(s: SerialSettings): LinkOpener {
  return async (handlers: LinkHandlers) => {
    applyLineSettings(s);
    return openFileLink(s.path, handlers);
  };
}
