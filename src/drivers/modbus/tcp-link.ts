import type { Socket } from "bun";
import { NodiError } from "../../core/errors.ts";
import { socketErrorText } from "../socket-error.ts";
import type { Link, LinkHandlers, LinkOpener } from "./link.ts";

/**
 * A TCP link (Modbus TCP, or RTU framed over TCP to a serial device server), on Bun's native
 * sockets (`Bun.connect`; `node:net` would add ~5 MiB RSS to every app, docs/performance.md
 * "Footprint of ne-intf"). Nagle is off so each request leaves at once; bytes the kernel does
 * not take at once are kept and sent on `drain`.
 */
export function tcpLinkOpener(host: string, port: number): LinkOpener {
  return (handlers: LinkHandlers, timeoutMs: number) =>
    new Promise<Link>((resolve, reject) => {
      let up = false;
      let settled = false;
      let closedByUs = false;
      let reported = false;
      let pending: Uint8Array | undefined;
      let sock: Socket | undefined;
      const report = (err: Error) => {
        if (reported || closedByUs || !up) return;
        reported = true;
        handlers.onClose(err);
      };
      const fail = (err: NodiError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        reject(err);
      };
      const timer = setTimeout(() => {
        closedByUs = true;
        sock?.terminate();
        fail(
          new NodiError(
            "timeout",
            `connect to ${host}:${port} timed out after ${timeoutMs} ms`,
            "connect_timeout",
          ),
        );
      }, timeoutMs);
      const connectFailed = (err: Error) =>
        fail(
          new NodiError(
            "communication",
            `connect to ${host}:${port}: ${socketErrorText(err)}`,
            "connect_failed",
            {},
            { cause: err },
          ),
        );
      Bun.connect({
        hostname: host,
        port,
        socket: {
          open(s) {
            sock = s;
            if (settled) {
              s.terminate();
              return;
            }
            s.setNoDelay(true);
            up = true;
            settled = true;
            clearTimeout(timer);
            resolve({
              write: (bytes) => {
                if (closedByUs) return;
                if (pending) {
                  const all = new Uint8Array(pending.length + bytes.length);
                  all.set(pending);
                  all.set(bytes, pending.length);
                  pending = all;
                  return;
                }
                const n = s.write(bytes);
                if (n < bytes.length) pending = bytes.slice(Math.max(0, n));
              },
              close: () => {
                closedByUs = true;
                s.terminate();
              },
            });
          },
          data(_s, d) {
            handlers.onData(d);
          },
          drain(s) {
            if (!pending) return;
            const p = pending;
            pending = undefined;
            const n = s.write(p);
            if (n < p.length) pending = p.slice(Math.max(0, n));
          },
          error(_s, err) {
            report(err);
          },
          close(_s, err) {
            report(err ?? new Error(`connection to ${host}:${port} closed by the peer`));
          },
          end() {
            report(new Error(`connection to ${host}:${port} closed by the peer`));
          },
          connectError(_s, err) {
            connectFailed(err);
          },
        },
      }).catch((err: Error) => connectFailed(err));
    });
}
