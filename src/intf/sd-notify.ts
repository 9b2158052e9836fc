/**
 * systemd notification (sd_notify(3)): `READY=1`, `WATCHDOG=1`, `STATUS=…`, `STOPPING=1`
 * sent as one datagram to the AF_UNIX socket named by `$NOTIFY_SOCKET`.
 *
 * Why bun:ffi: Bun's JS APIs have no AF_UNIX datagram sockets (`Bun.udpSocket` is UDP only,
 * `node:dgram` has no unix type), and spawning `systemd-notify` is unreliable (systemd
 * attributes the message to the short-lived child unless `NotifyAccess=all`) and needs the
 * binary. `bun:ffi` calls libc `socket`/`sendto`/`close` directly; it works in
 * `bun build --compile` executables since libc is loaded with `dlopen` at run time.
 * Address rules (sd_notify(3), unix(7)): a path (`/run/systemd/notify`) is NUL-terminated; a
 * name starting with `@` is in the abstract namespace (leading NUL, length without
 * terminator).
 */

/** Sends notifications; every method is a no-op when `NOTIFY_SOCKET` is unset. */
export interface Notifier {
  /** True when a notify socket is configured. */
  readonly enabled: boolean;
  /** Watchdog interval asked for by systemd (`WATCHDOG_USEC`), ms, or undefined. */
  readonly watchdogMs: number | undefined;
  /** Sends `message` (newline-separated `KEY=VALUE` lines). Returns true when sent. */
  notify(message: string): boolean;
}

const AF_UNIX = 1;
const SOCK_DGRAM = 2;
const SOCK_CLOEXEC = 0o2000000;
const MSG_NOSIGNAL = 0x4000;

type Libc = {
  socket: (domain: number, type: number, proto: number) => number;
  sendto: (
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
    addr: Uint8Array,
    addrlen: number,
  ) => number | bigint;
  close: (fd: number) => number;
};

let libc: Libc | null | undefined;

async function loadLibc(): Promise<Libc | null> {
  if (libc !== undefined) return libc;
  libc = null;
  try {
    const { dlopen, FFIType } = await import("bun:ffi");
    const symbols = {
      socket: { args: [FFIType.i32, FFIType.i32, FFIType.i32], returns: FFIType.i32 },
      sendto: {
        args: [FFIType.i32, FFIType.ptr, FFIType.u64, FFIType.i32, FFIType.ptr, FFIType.u32],
        returns: FFIType.i64,
      },
      close: { args: [FFIType.i32], returns: FFIType.i32 },
    } as const;
    for (const name of [
      "libc.so.6",
      "libc.so",
      "/lib/ld-musl-x86_64.so.1",
      "/lib/ld-musl-aarch64.so.1",
    ]) {
      try {
        const lib = dlopen(name, symbols);
        libc = lib.symbols as unknown as Libc;
        break;
      } catch {
        // try the next name
      }
    }
  } catch {
    libc = null;
  }
  return libc;
}

/** Encodes a `sockaddr_un` for `path` (`@name` = abstract). Returns the bytes and addrlen. */
export function sockaddrUn(path: string): { addr: Uint8Array; len: number } {
  const name = new TextEncoder().encode(path);
  if (name.length === 0 || name.length > 107)
    throw new Error(`bad NOTIFY_SOCKET ${JSON.stringify(path)}`);
  const addr = new Uint8Array(110);
  new DataView(addr.buffer).setUint16(0, AF_UNIX, true);
  addr.set(name, 2);
  if (path.startsWith("@")) {
    addr[2] = 0;
    return { addr, len: 2 + name.length };
  }
  return { addr, len: 2 + name.length + 1 };
}

/**
 * Creates the notifier from the environment (`NOTIFY_SOCKET`, `WATCHDOG_USEC`,
 * `WATCHDOG_PID`). Loads libc through bun:ffi only when a socket is set.
 * @param env environment (default `process.env`; read here because these variables are set
 *   by systemd, not by the user, and are not settings).
 */
export async function createNotifier(
  env: Record<string, string | undefined> = process.env,
): Promise<Notifier> {
  const path = env.NOTIFY_SOCKET;
  const usec = Number(env.WATCHDOG_USEC);
  const pidOk = !env.WATCHDOG_PID || Number(env.WATCHDOG_PID) === process.pid;
  const watchdogMs = Number.isFinite(usec) && usec > 0 && pidOk ? usec / 1000 : undefined;
  const lib = path ? await loadLibc() : null;
  if (!path || !lib) return { enabled: false, watchdogMs, notify: () => false };
  const { addr, len } = sockaddrUn(path);
  return {
    enabled: true,
    watchdogMs,
    notify(message: string): boolean {
      const fd = lib.socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return false;
      try {
        const buf = new TextEncoder().encode(message);
        const n = Number(lib.sendto(fd, buf, buf.length, MSG_NOSIGNAL, addr, len));
        return n === buf.length;
      } finally {
        lib.close(fd);
      }
    },
  };
}
