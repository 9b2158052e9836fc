import { Socket } from "node:net";
import { NodiError } from "../../core/errors.ts";
import type { Link, LinkHandlers, LinkOpener } from "./link.ts";

/**
 * A TCP link (Modbus TCP, or RTU framed over TCP to a serial device server), on `node:net`.
 * Nagle is off so each request leaves at once.
 */
export function tcpLinkOpener(host: string, port: number): LinkOpener {
  return (handlers: LinkHandlers, timeoutMs: number) =>
    new Promise<Link>((resolve, reject) => {
      const sock = new Socket();
      let up = false;
      let closedByUs = false;
      let reported = false;
      const report = (err: Error) => {
        if (reported || closedByUs) return;
        reported = true;
        handlers.onClose(err);
      };
      const timer = setTimeout(() => {
        sock.destroy();
        reject(
          new NodiError(
            "timeout",
            `connect to ${host}:${port} timed out after ${timeoutMs} ms`,
            "connect_timeout",
          ),
        );
      }, timeoutMs);
      sock.setNoDelay(true);
      sock.on("data", (d: Buffer) => handlers.onData(d));
      sock.on("error", (err) => {
        if (!up) {
          clearTimeout(timer);
          reject(
            new NodiError(
              "communication",
              `connect to ${host}:${port}: ${err.message}`,
              "connect_failed",
              {},
              { cause: err },
            ),
          );
          return;
        }
        report(err);
      });
      sock.on("close", () => report(new Error(`connection to ${host}:${port} closed by the peer`)));
      sock.connect({ host, port }, () => {
        up = true;
        clearTimeout(timer);
        resolve({
          write: (bytes) => {
            sock.write(bytes);
          },
          close: () => {
            closedByUs = true;
            sock.destroy();
          },
        });
      });
    });
}
